//! Snapshot tests of generated compose files: dce-go's manifests and test file (adapted to dce's
//! rules), multi-file overrides, extends, every port syntax, healthchecks with depends_on
//! conditions, compose networking. Every generated file must load back into an equal project;
//! the dce-go cases must also pass `docker-compose config -q` (v1.29) when it is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use compose::{ComposeSource, InterpolationEnv, ProjectLoader};
use pod::cgroup::{CgroupDriver, CgroupVersion, ExecutorCgroup};
use pod::ports::parse_port_ranges;
use pod::{Config, PluginChain, PodPlan, TaskContext};

const CONTAINER_ID: &str = "9dfb4f24-cdd9-42c1-8324-c0bb3fc470d6";

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(case)
}

fn task(sandbox: &Path, config: Config) -> TaskContext {
    TaskContext {
        task_id: "docker-compose-demo.fa8db2e8-4639-11e7-b4d3-866758312cc8".into(),
        executor_id: "marathon-docker-compose-demo.fa8db2e8-4639-11e7-b4d3-866758312cc8".into(),
        framework_id: "fw-0000".into(),
        agent_id: "agent-S1".into(),
        container_id: CONTAINER_ID.into(),
        executor_pid: 4242,
        executor_start: 123456,
        offered_ports: parse_port_ranges("31000-31009,32000-32009").unwrap(),
        sandbox: sandbox.to_path_buf(),
        cgroup: Some(ExecutorCgroup {
            version: CgroupVersion::V1,
            path: format!("/mesos/{CONTAINER_ID}"),
        }),
        docker_cgroup_driver: Some(CgroupDriver::Cgroupfs),
        labels: Default::default(),
        config,
    }
}

fn load(sandbox: &Path, files: &[&str]) -> compose::Project {
    let sources: Vec<_> = files
        .iter()
        .map(|f| ComposeSource::File(f.into()))
        .collect();
    ProjectLoader::new(sandbox, InterpolationEnv::empty())
        .load(&sources)
        .unwrap()
}

fn plan_case(case: &str, files: &[&str], config: Config) -> PodPlan {
    let sandbox = fixture(case);
    let project = load(&sandbox, files);
    let task = task(&sandbox, config);
    let chain = PluginChain::from_config(&task.config, Vec::new()).unwrap();
    pod::plan_pod(project, &task, &chain).unwrap()
}

/// The generated file plus the rewrite explanations, with the machine's paths replaced.
fn rendered(case: &str, plan: &PodPlan) -> String {
    let mut text = plan.generated_compose();
    text.push_str("\n# rewrites\n");
    for rewrite in &plan.rewrites {
        text.push_str(&format!("# - {rewrite}\n"));
    }
    text.replace(&fixture(case).display().to_string(), "<sandbox>")
}

/// Loads the generated file back through compose: it must give the same project.
fn assert_round_trip(case: &str, plan: &PodPlan) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("generated-compose.yml");
    std::fs::write(&path, plan.generated_compose()).unwrap();
    let loaded = load(&dir, &["generated-compose.yml"]);
    assert_eq!(loaded, plan.compose_project(), "{case}: round trip");
    path
}

/// `docker-compose -f <file> config -q` (v1.29), when installed.
fn assert_compose_v1_accepts(path: &Path) {
    let binary = Path::new("/usr/bin/docker-compose");
    if !binary.exists() {
        eprintln!("docker-compose v1 not installed; skipping its check");
        return;
    }
    let output = Command::new(binary)
        .arg("-f")
        .arg(path)
        .args(["config", "-q"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "docker-compose config -q rejected {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn check(case: &str, files: &[&str], config: Config, v1: bool) -> String {
    let plan = plan_case(case, files, config);
    let path = assert_round_trip(case, &plan);
    if v1 {
        assert_compose_v1_accepts(&path);
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    rendered(case, &plan)
}

fn allowing_host_network() -> Config {
    let mut config = Config::default();
    config.admission.allow_host_network = true;
    config
}

#[test]
fn dce_go_bridge_manifest() {
    insta::assert_snapshot!(check(
        "bridge",
        &["docker-compose.yml"],
        Config::default(),
        true
    ));
}

#[test]
fn dce_go_host_manifest() {
    insta::assert_snapshot!(check(
        "host",
        &["docker-compose.yml"],
        allowing_host_network(),
        true
    ));
}

#[test]
fn dce_go_none_manifest() {
    insta::assert_snapshot!(check(
        "none",
        &["docker-compose.yml"],
        Config::default(),
        true
    ));
}

#[test]
fn dce_go_general_test_file() {
    insta::assert_snapshot!(check("general", &["test.yml"], Config::default(), true));
}

#[test]
fn multi_file_overrides() {
    let files = ["docker-compose.yml", "docker-compose.override.yml"];
    insta::assert_snapshot!(check("overrides", &files, Config::default(), true));
}

#[test]
fn extends() {
    insta::assert_snapshot!(check(
        "extends",
        &["docker-compose.yml"],
        Config::default(),
        true
    ));
}

#[test]
fn every_port_syntax() {
    insta::assert_snapshot!(check(
        "ports",
        &["docker-compose.yml"],
        Config::default(),
        true
    ));
}

#[test]
fn healthcheck_and_depends_on_conditions() {
    insta::assert_snapshot!(check(
        "health",
        &["docker-compose.yml"],
        Config::default(),
        true
    ));
}

#[test]
fn compose_networking() {
    insta::assert_snapshot!(check(
        "compose-net",
        &["docker-compose.yml"],
        Config::default(),
        true
    ));
}

#[test]
fn pre_existing_network_and_moved_settings() {
    let config = Config::from_yaml(
        "infracontainer:\n  image: registry.local/pause:3\n  networks:\n    pre_existing: true\n    name: net\n",
        "test",
    )
    .unwrap();
    insta::assert_snapshot!(check("pre-existing", &["docker-compose.yml"], config, true));
}
