//! `dce reap` as an operator runs it, against the real engine: a pod whose executor process was
//! SIGKILLed is removed entirely (containers, network, volume) once older than the grace
//! period; a pod whose executor is alive is kept; `--dry-run` removes nothing; objects without
//! dce's labels are never touched. Every run is scoped with `--label` to this test's objects.
//! End to end: the pod of a real `dce executor` that was SIGKILLed is reaped.

use std::collections::HashMap;
use std::process::{Child, Command, Output};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, ListContainersOptions};
use bollard::Docker;
use docker::labels;
use docker::reap::start_ticks;
use testkit::TestRun;

/// A stand-in executor: a process whose pid and start time label a pod.
struct FakeExecutor {
    child: Child,
    pid: u32,
    start: u64,
}

impl FakeExecutor {
    fn spawn() -> FakeExecutor {
        let child = Command::new("sleep").arg("1000").spawn().unwrap();
        let pid = child.id();
        let start = start_ticks(pid).unwrap().unwrap();
        FakeExecutor { child, pid, start }
    }

    fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for FakeExecutor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The labels the executor puts on a pod's objects, plus the run label.
fn pod_labels(run: &TestRun, task: &str, executor: &FakeExecutor) -> HashMap<String, String> {
    let mut map = run.labels();
    for (key, value) in [
        (labels::TASK_ID, task.to_string()),
        (labels::LEGACY_TASK_ID, task.to_string()),
        (labels::COMPOSE_PROJECT, format!("dce-{task}")),
        (labels::EXECUTOR_PID, executor.pid.to_string()),
        (labels::EXECUTOR_START, executor.start.to_string()),
    ] {
        map.insert(key.to_string(), value);
    }
    map
}

/// The ids of a pod's objects: containers, network, volume.
struct PodObjects {
    containers: Vec<String>,
    network: String,
    volume: String,
}

async fn create_pod(
    docker: &Docker,
    run: &TestRun,
    task: &str,
    executor: &FakeExecutor,
) -> PodObjects {
    let labels = pod_labels(run, task, executor);
    let network = docker
        .create_network(bollard::models::NetworkCreateRequest {
            name: format!("dce-{task}"),
            labels: Some(labels.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .id;
    let volume = docker
        .create_volume(bollard::models::VolumeCreateRequest {
            name: Some(format!("dce-{task}_data")),
            labels: Some(labels.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .name;
    let mut containers = Vec::new();
    for service in ["infra", "web"] {
        let body = ContainerCreateBody {
            image: Some(testkit::BUSYBOX_IMAGE.to_string()),
            cmd: Some(vec![
                "sh".into(),
                "-c".into(),
                "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done".into(),
            ]),
            labels: Some(labels.clone()),
            host_config: Some(HostConfig {
                network_mode: Some(network.clone()),
                binds: Some(vec![format!("{volume}:/data")]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(format!("dce-{task}-{service}-1")),
            ..Default::default()
        };
        let id = docker
            .create_container(Some(options), body)
            .await
            .unwrap()
            .id;
        docker.start_container(&id, None).await.unwrap();
        containers.push(id);
    }
    PodObjects {
        containers,
        network,
        volume,
    }
}

async fn exists(docker: &Docker, pod: &PodObjects) -> (usize, bool, bool) {
    let mut containers = 0;
    for id in &pod.containers {
        if docker.inspect_container(id, None).await.is_ok() {
            containers += 1;
        }
    }
    let network = docker
        .inspect_network(
            &pod.network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .is_ok();
    let volume = docker.inspect_volume(&pod.volume).await.is_ok();
    (containers, network, volume)
}

/// `dce reap` scoped to this test run's objects.
fn reap(run: &TestRun, args: &[&str]) -> Output {
    let filter = run.label_filter();
    let mut scoped = vec!["--label", filter.as_str()];
    scoped.extend_from_slice(args);
    reap_with(&scoped)
}

/// `dce reap` with exactly `args`.
fn reap_with(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_dce"))
        .arg("reap")
        .args(args)
        .output()
        .unwrap();
    eprintln!(
        "dce reap {args:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn reaps_a_pod_whose_executor_was_sigkilled_and_keeps_the_rest() {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let dead_task = run.name("dead");
    let live_task = run.name("live");

    let mut dead_executor = FakeExecutor::spawn();
    let live_executor = FakeExecutor::spawn();
    let dead = create_pod(&docker, &run, &dead_task, &dead_executor).await;
    let live = create_pod(&docker, &run, &live_task, &live_executor).await;
    dead_executor.sigkill();

    // Not dce's (no task-id label): must never be listed or touched.
    let foreign = docker
        .create_container(
            None::<CreateContainerOptions>,
            ContainerCreateBody {
                image: Some(testkit::BUSYBOX_IMAGE.into()),
                cmd: Some(vec!["true".into()]),
                labels: Some(run.labels()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;

    // Within the grace period: the orphan is listed as waiting, nothing is removed.
    let young = reap(&run, &["--grace", "1h"]);
    assert!(young.status.success());
    let text = stdout(&young);
    assert!(
        text.contains(&format!("kept container dce-{dead_task}-web-1")),
        "{text}"
    );
    assert!(text.contains("within the grace period"), "{text}");
    assert!(!text.contains("removed container"), "{text}");
    assert!(!text.contains(&live_task), "live pods are quiet: {text}");
    assert_eq!(exists(&docker, &dead).await, (2, true, true));

    // Dry run: every object of the dead pod would be removed, with the reason; none is.
    let dry = reap(&run, &["--dry-run", "--grace", "0s", "--verbose"]);
    assert!(dry.status.success());
    let text = stdout(&dry);
    let would: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("would remove"))
        .collect();
    assert_eq!(would.len(), 4, "2 containers, network, volume: {text}");
    let gone = format!("executor pid {} (started at tick", dead_executor.pid);
    assert!(
        would
            .iter()
            .all(|l| l.contains(&dead_task) && l.contains(&gone) && l.ends_with("is gone")),
        "{text}"
    );
    assert!(
        text.contains(&format!("kept container dce-{live_task}-web-1")),
        "{text}"
    );
    assert!(text.contains("is alive"), "{text}");
    assert!(!text.contains(&foreign[..12]), "{text}");
    assert_eq!(exists(&docker, &dead).await, (2, true, true));

    // The real pass removes the dead pod entirely and keeps the live one.
    let pass = reap(&run, &["--grace", "0s"]);
    assert!(pass.status.success());
    let text = stdout(&pass);
    let removed: Vec<&str> = text.lines().filter(|l| l.starts_with("removed ")).collect();
    assert_eq!(removed.len(), 4, "{text}");
    assert!(removed.iter().any(|l| l.starts_with("removed volume")));
    assert!(removed.iter().any(|l| l.starts_with("removed network")));
    assert_eq!(exists(&docker, &dead).await, (0, false, false));
    assert_eq!(exists(&docker, &live).await, (2, true, true));
    assert!(docker.inspect_container(&foreign, None).await.is_ok());

    // Nothing left to do: a quiet, successful pass.
    let again = reap(&run, &["--grace", "0s"]);
    assert!(again.status.success());
    assert_eq!(stdout(&again), "");

    drop(live_executor);
    run.cleanup().await.unwrap();
    let left = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![run.label_filter()],
            )])),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[test]
fn bad_arguments_are_explained() {
    let output = Command::new(env!("CARGO_BIN_EXE_dce"))
        .args(["reap", "--grace", "60"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("`60` is not a duration"), "{text}");

    let help = Command::new(env!("CARGO_BIN_EXE_dce"))
        .args(["reap", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Examples:") && text.contains("--dry-run"),
        "{text}"
    );
}

#[test]
fn watch_mode_runs_until_sigterm() {
    let run = TestRun::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dce"))
        .args(["reap", "--watch", "1s", "--grace", "0s", "--label"])
        .arg(run.label_filter())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(child.try_wait().unwrap().is_none(), "still watching");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "no exit on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

/// Everything carrying `io.dce.task-id=<task_id>`: containers, networks, volumes.
async fn objects_of_task(docker: &Docker, task_id: &str) -> usize {
    let filters = || {
        Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{}={task_id}", labels::TASK_ID)],
        )]))
    };
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: filters(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .len();
    let networks = docker
        .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
            filters: filters(),
        }))
        .await
        .unwrap()
        .len();
    let volumes = docker
        .list_volumes(Some(bollard::query_parameters::ListVolumesOptions {
            filters: filters(),
        }))
        .await
        .unwrap()
        .volumes
        .unwrap_or_default()
        .len();
    containers + networks + volumes
}

#[tokio::test]
async fn reaps_the_pod_of_a_real_executor_that_was_sigkilled() {
    use mesos_agent::{Agent, AgentConfig, ExecutorLaunch, TaskBuilder};

    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let task_id = run.name("e2e");
    run.also_clean_label(labels::TASK_ID, &task_id);

    // The real executor, launched by the agent stand-in, runs a pod with a named volume.
    let agent = Agent::start(AgentConfig::default()).await.unwrap();
    let sandbox = tempfile::tempdir().unwrap();
    std::fs::write(
        sandbox.path().join("pod.yml"),
        format!(
            "services:\n  web:\n    image: {}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done\"]\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {{}}\n",
            testkit::BUSYBOX_IMAGE
        ),
    )
    .unwrap();
    let mut launch = ExecutorLaunch::new(env!("CARGO_BIN_EXE_dce"));
    launch.args = vec!["executor".into()];
    launch.sandbox_dir = Some(sandbox.path().to_path_buf());
    let executor = agent.launch_executor(launch).await.unwrap();
    agent.launch(
        TaskBuilder::new(task_id.clone())
            .label("fileName", Some("pod.yml"))
            .build(),
    );
    let wait = std::time::Duration::from_secs(240);
    let running = agent
        .wait_for_update(&task_id, wait, |r| {
            *r.state() == mesos::TaskState::Running || r.is_terminal()
        })
        .await
        .unwrap();
    assert_eq!(
        *running.state(),
        mesos::TaskState::Running,
        "{}",
        executor.stderr()
    );

    // SIGKILL: the executor cannot clean up; its pod stays on the engine.
    executor.signal(rustix::process::Signal::KILL);
    executor.wait(wait).await.unwrap();
    let left = objects_of_task(&docker, &task_id).await;
    assert!(left >= 4, "infra + web containers, network, volume: {left}");

    let scope = format!("{}={task_id}", labels::TASK_ID);
    let dry = reap_with(&["--label", &scope, "--grace", "0s", "--dry-run"]);
    assert!(dry.status.success());
    assert_eq!(
        stdout(&dry)
            .lines()
            .filter(|l| l.starts_with("would remove"))
            .count(),
        left
    );
    assert_eq!(objects_of_task(&docker, &task_id).await, left);

    let pass = reap_with(&["--label", &scope, "--grace", "0s"]);
    assert!(pass.status.success());
    let text = stdout(&pass);
    let gone = format!("executor pid {} (started at tick", executor.pid());
    let removed: Vec<&str> = text.lines().filter(|l| l.starts_with("removed ")).collect();
    assert_eq!(removed.len(), left, "{text}");
    assert!(removed.iter().all(|l| l.contains(&gone)), "{text}");
    assert_eq!(objects_of_task(&docker, &task_id).await, 0);
}
