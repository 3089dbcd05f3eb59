//! The config reference (`docs/config.md`) and the code's key table (`pod::config::config_keys`)
//! agree: every documented key exists with the documented default and task-label rule, and every
//! key in the code is documented. The other docs only mention keys that exist.
//!
//! `DCE_BLESS_DOCS=1 cargo test -p dce --test docs_config_keys` regenerates the table in
//! `docs/config.md` from the code (`pod::config::reference_markdown`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const BEGIN: &str = "<!-- config-keys:begin (generated from pod::config::config_keys; see tests/docs_config_keys.rs) -->";
const END: &str = "<!-- config-keys:end -->";

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// One documented row: default cell and task-label cell, as written.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    default: String,
    task_override: String,
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

fn unquote(cell: &str) -> String {
    cell.trim_matches('`').to_string()
}

/// The rows of the generated table in `text`.
fn documented_rows(text: &str) -> BTreeMap<String, Row> {
    let start = text
        .find(BEGIN)
        .expect("docs/config.md has no generated key table marker");
    let end = text.find(END).expect("docs/config.md has no end marker");
    text[start + BEGIN.len()..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells = cells(line);
            assert!(cells.len() >= 4, "malformed row: {line}");
            (
                unquote(&cells[0]),
                Row {
                    default: cells[1].clone(),
                    task_override: cells[2].clone(),
                },
            )
        })
        .collect()
}

fn code_rows() -> BTreeMap<String, Row> {
    pod::config::config_keys()
        .iter()
        .map(|key| {
            let default = if key.default.is_empty() {
                "(unset)".to_string()
            } else {
                format!("`{}`", key.default)
            };
            let task_override = if key.task_override { "yes" } else { "no" }.to_string();
            (
                key.name.to_string(),
                Row {
                    default,
                    task_override,
                },
            )
        })
        .collect()
}

#[test]
fn config_reference_matches_the_key_table() {
    let path = docs_dir().join("config.md");
    let mut text = std::fs::read_to_string(&path).unwrap();
    if std::env::var_os("DCE_BLESS_DOCS").is_some() {
        let start = text.find(BEGIN).unwrap() + BEGIN.len();
        let end = text.find(END).unwrap();
        text.replace_range(
            start..end,
            &format!("\n{}", pod::config::reference_markdown()),
        );
        std::fs::write(&path, &text).unwrap();
    }
    let documented = documented_rows(&text);
    let code = code_rows();
    let undocumented: Vec<&String> = code
        .keys()
        .filter(|k| !documented.contains_key(*k))
        .collect();
    let unknown: Vec<&String> = documented
        .keys()
        .filter(|k| !code.contains_key(*k))
        .collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "keys in code but not in docs/config.md: {undocumented:?}; keys in docs/config.md but not \
         in code: {unknown:?} (regenerate with DCE_BLESS_DOCS=1)"
    );
    for (name, row) in &code {
        assert_eq!(
            &documented[name], row,
            "docs/config.md disagrees with the code about `{name}` (regenerate with DCE_BLESS_DOCS=1)"
        );
    }
}

/// Config-key-looking words in backquotes (`launchtask.timeout`, `config.cleanpod.timeout=5s`).
fn mentioned_keys(text: &str) -> Vec<String> {
    const PREFIXES: [&str; 8] = [
        "launchtask.",
        "cleanpod.",
        "infracontainer.",
        "network.",
        "cgroup.",
        "policy.",
        "plugins.",
        "yaml.",
    ];
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|quoted| {
            let quoted = quoted.strip_prefix("config.").unwrap_or(quoted);
            let key = quoted.split(['=', ':', ' ']).next().unwrap_or("");
            key.to_ascii_lowercase()
        })
        .filter(|key| PREFIXES.iter().any(|p| key.starts_with(p)))
        .filter(|key| !key.contains('*') && !key.contains('<'))
        .collect()
}

#[test]
fn every_key_the_docs_mention_exists() {
    for entry in std::fs::read_dir(docs_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The migration guide names dce-go keys that dce dropped, on purpose.
        if !name.ends_with(".md") || name.starts_with("migrating") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for key in mentioned_keys(&text) {
            assert!(
                pod::config::find_key(&key).is_some(),
                "docs/{name} mentions `{key}`, which is not a config key"
            );
        }
    }
}

#[test]
fn mentioned_keys_are_found_in_backquotes() {
    let keys = mentioned_keys(
        "set `config.launchtask.timeout=60s` or `policy.mode: privileged`; not launchtask.x",
    );
    assert_eq!(keys, vec!["launchtask.timeout", "policy.mode"]);
}

/// The bodies of the ```yaml blocks of `text`.
fn yaml_blocks(text: &str) -> Vec<String> {
    text.split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(body, _)| body.to_string()))
        .collect()
}

#[test]
fn config_examples_in_the_docs_are_valid_config_files() {
    let mut checked = 0;
    for name in ["config.md", "admission-policy.md"] {
        let text = std::fs::read_to_string(docs_dir().join(name)).unwrap();
        for block in yaml_blocks(&text) {
            pod::Config::from_yaml(&block, name)
                .unwrap_or_else(|e| panic!("docs/{name}: example does not load: {e}\n{block}"));
            checked += 1;
        }
    }
    assert!(checked >= 2, "the config examples disappeared");
}
