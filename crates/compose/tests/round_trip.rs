//! `to_yaml()` output loads back into an equal project, and docker-compose v1 accepts it.

mod common;

use std::process::Command;

use common::{load_case, load_in, CASES};
use compose::Project;

/// What `to_yaml` cannot carry (documented): the top-level name, depends_on `restart`.
fn comparable(mut project: Project) -> Project {
    project.name = None;
    for service in project.services.values_mut() {
        for dep in service.depends_on.values_mut() {
            dep.restart = false;
        }
    }
    project
}

#[test]
fn every_fixture_round_trips() {
    for (case, files) in CASES {
        let (project, _dir) = load_case(case, files);
        let yaml = project.to_yaml();
        let again_dir = tempfile::tempdir().unwrap();
        std::fs::write(again_dir.path().join("compose.yml"), &yaml).unwrap();
        let again = load_in(again_dir.path(), &["compose.yml"])
            .unwrap_or_else(|e| panic!("{case}: reloading failed: {e}\n{yaml}"));
        assert_eq!(comparable(again), comparable(project), "{case}:\n{yaml}");
    }
}

#[test]
fn docker_compose_v1_accepts_every_fixture() {
    let binary = "/usr/bin/docker-compose";
    if !std::path::Path::new(binary).exists() {
        println!("skipped: {binary} is not installed");
        return;
    }
    for (case, files) in CASES {
        let (project, _dir) = load_case(case, files);
        let out_dir = tempfile::tempdir().unwrap();
        let path = out_dir.path().join("generated.yml");
        std::fs::write(&path, project.to_yaml()).unwrap();
        let output = Command::new(binary)
            .arg("-f")
            .arg(&path)
            .args(["config", "-q"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{case}: docker-compose config rejected the output:\n{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(&path).unwrap()
        );
    }
}
