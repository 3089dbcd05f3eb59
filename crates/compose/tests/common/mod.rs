//! Shared helpers: copy a fixture into a fresh sandbox, load it with a fixed environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use compose::{ComposeError, ComposeSource, InterpolationEnv, Project, ProjectLoader};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary sandbox holding a copy of `fixtures/<case>`.
pub fn sandbox(case: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join(case), dir.path());
    dir
}

/// The environment every fixture is interpolated with.
pub fn test_env() -> InterpolationEnv {
    InterpolationEnv::from_vars([
        ("NAME", "demo"),
        ("EMPTY", ""),
        ("TAG", "1.0"),
        ("PORT", "8080"),
        ("FROM_HOST", "host-value"),
        ("HOME", "/home/test"),
    ])
}

pub fn files(names: &[&str]) -> Vec<ComposeSource> {
    names
        .iter()
        .map(|n| ComposeSource::File(n.into()))
        .collect()
}

pub fn load_in(dir: &Path, names: &[&str]) -> Result<Project, ComposeError> {
    ProjectLoader::new(dir, test_env()).load(&files(names))
}

/// Loads `fixtures/<case>` and returns the project and the sandbox (kept alive).
pub fn load_case(case: &str, names: &[&str]) -> (Project, tempfile::TempDir) {
    let dir = sandbox(case);
    let project = load_in(dir.path(), names).unwrap_or_else(|e| panic!("{case}: {e}"));
    (project, dir)
}

fn prune(value: &mut yaml_serde::Value) {
    use yaml_serde::Value;
    match value {
        Value::Mapping(m) => {
            m.iter_mut().for_each(|(_, v)| prune(v));
            m.retain(|_, v| match v {
                Value::Null => false,
                Value::Sequence(s) => !s.is_empty(),
                Value::Mapping(m) => !m.is_empty(),
                _ => true,
            });
        }
        Value::Sequence(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

/// The project's typed form as YAML (unset fields left out), with the sandbox path replaced
/// by `[SANDBOX]`.
pub fn normalized(project: &Project, sandbox: &Path) -> String {
    let mut value = yaml_serde::to_value(project).unwrap();
    prune(&mut value);
    let text = yaml_serde::to_string(&value).unwrap();
    let root = sandbox.canonicalize().unwrap();
    text.replace(root.to_str().unwrap(), "[SANDBOX]")
}

/// Every fixture project: (case, files).
pub const CASES: &[(&str, &[&str])] = &[
    ("ports", &["compose.yml"]),
    ("volumes", &["compose.yml"]),
    ("environment", &["compose.yml"]),
    ("healthcheck", &["compose.yml"]),
    ("depends_on", &["compose.yml"]),
    ("multi_file", &["base.yml", "override.yml"]),
    ("extends", &["compose.yml"]),
    ("interpolation", &["compose.yml"]),
    ("extensions", &["compose.yml"]),
    ("misc", &["compose.yml"]),
];
