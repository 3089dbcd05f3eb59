//! Snapshot of the normalized (typed) project for each syntax family in `tests/fixtures`.

mod common;

use common::{load_case, normalized, CASES};

fn snapshot(case: &str) {
    let files = CASES.iter().find(|(c, _)| *c == case).unwrap().1;
    let (project, dir) = load_case(case, files);
    insta::assert_snapshot!(case, normalized(&project, dir.path()));
}

#[test]
fn ports() {
    snapshot("ports");
}

#[test]
fn volumes() {
    snapshot("volumes");
}

#[test]
fn environment() {
    snapshot("environment");
}

#[test]
fn healthcheck() {
    snapshot("healthcheck");
}

#[test]
fn depends_on() {
    snapshot("depends_on");
}

#[test]
fn multi_file_override() {
    snapshot("multi_file");
}

#[test]
fn extends() {
    snapshot("extends");
}

#[test]
fn interpolation() {
    snapshot("interpolation");
}

#[test]
fn extensions_and_merge_keys() {
    snapshot("extensions");
}

#[test]
fn misc() {
    snapshot("misc");
}
