//! Every relative link in `docs/*.md` and `README.md` points at a file that exists, and every
//! `#anchor` at a heading of that file (GitHub's anchor rules).

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Targets of Markdown links `](target)`.
fn link_targets(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target.to_string()))
        .collect()
}

/// GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to dashes.
fn anchor_of(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor_of(l.trim_start_matches('#')))
        .collect()
}

fn check(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let dir = file.parent().unwrap();
    for target in link_targets(&text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (target.as_str(), None),
        };
        let linked = if path.is_empty() {
            file.to_path_buf()
        } else {
            dir.join(path)
        };
        assert!(
            linked.exists(),
            "{}: link to missing {}",
            file.display(),
            linked.display()
        );
        if let Some(anchor) = anchor {
            let headings = anchors(&std::fs::read_to_string(&linked).unwrap());
            assert!(
                headings.iter().any(|h| h == anchor),
                "{}: no heading for #{anchor} in {} (headings: {headings:?})",
                file.display(),
                linked.display()
            );
        }
    }
}

#[test]
fn relative_links_and_anchors_resolve() {
    check(&repo().join("README.md"));
    for entry in std::fs::read_dir(repo().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            check(&path);
        }
    }
}

#[test]
fn anchors_follow_github_rules() {
    assert_eq!(anchor_of(" 5. Cgroups"), "5-cgroups");
    assert_eq!(anchor_of("Operating `dce reap`"), "operating-dce-reap");
    assert_eq!(
        link_targets("see [a](b.md#c) and [d](e)"),
        vec!["b.md#c", "e"]
    );
}
