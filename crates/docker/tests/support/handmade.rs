//! Shared by the watch/stop/reap integration tests: a pod built by hand with plain bollard calls
//! (so these tests do not depend on `create`), labelled like dce labels pods plus the test run id.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, HealthConfig, HostConfig, NetworkCreateRequest, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, StartContainerOptions,
};
use bollard::Docker;
use docker::labels;
use docker::reap::ProcessIdentity;
use docker::{ContainerRole, PodContainer, RunningPod};
use testkit::{TestRun, BUSYBOX_IMAGE};
use tokio::sync::mpsc;

/// Bounds every wait in these tests so that a bug fails the test instead of hanging it.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A shell loop that exits with `code` on `signal`, and stays responsive to it (`wait` is
/// interrupted by a trapped signal, `sleep` in the foreground would not be).
pub fn trap_exit(signal: &str, code: i32) -> Vec<String> {
    sh(&format!(
        "trap 'exit {code}' {signal}; while true; do sleep 1 & wait $!; done"
    ))
}

/// `sh -c <script>`.
pub fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

/// One container to create.
#[derive(Default, Clone)]
pub struct Spec {
    pub service: String,
    pub cmd: Vec<String>,
    pub infra: bool,
    pub depends_on: Vec<String>,
    pub stop_signal: Option<String>,
    pub stop_grace_period: Option<Duration>,
    pub healthcheck: Option<HealthConfig>,
    pub memory: Option<i64>,
    pub binds: Vec<String>,
    pub cgroup_parent: Option<String>,
    /// Network of the infra container (services share its namespace).
    pub network: Option<String>,
}

impl Spec {
    pub fn new(service: &str, cmd: Vec<String>) -> Self {
        Self {
            service: service.into(),
            cmd,
            ..Default::default()
        }
    }

    /// The infra container, exiting 0 on SIGTERM.
    pub fn infra() -> Self {
        Self {
            infra: true,
            ..Self::new("infra", trap_exit("TERM", 0))
        }
    }
}

/// Engine, test image and run guard.
pub async fn engine() -> (Docker, TestRun) {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    (docker, TestRun::new())
}

/// The labels dce puts on a pod's objects, owned by `executor`, plus the run label.
pub fn pod_labels(
    run: &TestRun,
    project: &str,
    executor: ProcessIdentity,
) -> HashMap<String, String> {
    let mut labels = run.labels();
    for (key, value) in [
        (labels::LEGACY_TASK_ID, project.to_string()),
        (labels::TASK_ID, project.to_string()),
        (labels::EXECUTOR_ID, "test-executor".to_string()),
        (labels::COMPOSE_PROJECT, project.to_string()),
        (labels::EXECUTOR_PID, executor.pid.to_string()),
        (labels::EXECUTOR_START, executor.start_ticks.to_string()),
    ] {
        labels.insert(key.to_string(), value);
    }
    labels
}

/// Creates the containers of `specs` (the infra one first; services join its network
/// namespace), without starting them.
pub async fn create_pod(
    docker: &Docker,
    run: &TestRun,
    project: &str,
    executor: ProcessIdentity,
    specs: &[Spec],
) -> RunningPod {
    let mut containers = Vec::new();
    let mut infra_id: Option<String> = None;
    let cgroup_parent = specs.iter().find_map(|s| s.cgroup_parent.clone());
    for spec in specs {
        let mut labels = pod_labels(run, project, executor);
        labels.insert(labels::COMPOSE_SERVICE.into(), spec.service.clone());
        let name = format!("{project}-{}", spec.service);
        let host_config = HostConfig {
            network_mode: infra_id
                .as_ref()
                .map(|id| format!("container:{id}"))
                .or_else(|| spec.network.clone()),
            memory: spec.memory,
            memory_swap: spec.memory,
            binds: Some(spec.binds.clone()),
            cgroup_parent: spec.cgroup_parent.clone(),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(BUSYBOX_IMAGE.into()),
            cmd: Some(spec.cmd.clone()),
            labels: Some(labels),
            healthcheck: spec.healthcheck.clone(),
            host_config: Some(host_config),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(name.clone()),
            platform: String::new(),
        };
        let id = docker
            .create_container(Some(options), body)
            .await
            .unwrap()
            .id;
        if spec.infra {
            infra_id = Some(id.clone());
        }
        containers.push(PodContainer {
            service: spec.service.clone(),
            id,
            name,
            role: if spec.infra {
                ContainerRole::Infra
            } else {
                ContainerRole::Service
            },
            depends_on: spec.depends_on.clone(),
            stop_signal: spec.stop_signal.clone(),
            stop_grace_period: spec.stop_grace_period,
        });
    }
    RunningPod {
        project: project.into(),
        containers,
        networks: Vec::new(),
        volumes: Vec::new(),
        cgroup_parent,
    }
}

/// [`create_pod`] owned by this test process, which is alive.
pub async fn create_live_pod(
    docker: &Docker,
    run: &TestRun,
    project: &str,
    specs: &[Spec],
) -> RunningPod {
    let executor = ProcessIdentity::current().unwrap();
    create_pod(docker, run, project, executor, specs).await
}

/// What [`start_networked_pod`] made.
pub struct NetworkedPod {
    /// `infra` and `web`, started; networks and volumes not listed.
    pub pod: RunningPod,
    /// The infra container's network id.
    pub network: String,
    /// The named volume's name.
    pub volume: String,
}

/// A started pod of the shared layout owned by `executor`: `infra` on a labelled network of its
/// own and `web` (trapping SIGTERM), both under cgroup parent `parent`, and a labelled named
/// volume, mounted in `web` at `/data` when `mount_volume`.
pub async fn start_networked_pod(
    docker: &Docker,
    run: &TestRun,
    project: &str,
    executor: ProcessIdentity,
    parent: &str,
    mount_volume: bool,
) -> NetworkedPod {
    let network = create_network(docker, run, project, executor).await;
    let volume = create_volume(docker, run, project, executor).await;
    let binds = if mount_volume {
        vec![format!("{volume}:/data")]
    } else {
        Vec::new()
    };
    let specs = [
        Spec {
            network: Some(network.clone()),
            cgroup_parent: Some(parent.to_string()),
            ..Spec::infra()
        },
        Spec {
            cgroup_parent: Some(parent.to_string()),
            binds,
            ..Spec::new("web", trap_exit("TERM", 0))
        },
    ];
    let pod = create_pod(docker, run, project, executor, &specs).await;
    start_all(docker, &pod).await;
    NetworkedPod {
        pod,
        network,
        volume,
    }
}

/// Starts every container in order.
pub async fn start_all(docker: &Docker, pod: &RunningPod) {
    for container in &pod.containers {
        start(docker, &container.id).await;
    }
}

pub async fn start(docker: &Docker, id: &str) {
    docker
        .start_container(id, None::<StartContainerOptions>)
        .await
        .unwrap();
}

/// Sends `signal` (e.g. `SIGTERM`) to a container.
pub async fn kill(docker: &Docker, id: &str, signal: &str) {
    docker
        .kill_container(
            id,
            Some(KillContainerOptions {
                signal: signal.into(),
            }),
        )
        .await
        .unwrap();
}

/// Next event from a watcher, bounded.
pub async fn next<T>(events: &mut mpsc::Receiver<T>) -> T {
    tokio::time::timeout(HANG_GUARD, events.recv())
        .await
        .expect("no event in time")
        .expect("watcher ended")
}

/// Receives until `wanted` matches, returning everything received (the match last).
pub async fn until<T: std::fmt::Debug>(
    events: &mut mpsc::Receiver<T>,
    wanted: impl Fn(&T) -> bool,
) -> Vec<T> {
    let mut seen = Vec::new();
    loop {
        let event = next(events).await;
        let done = wanted(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// A healthcheck running `script` every 200 ms, unhealthy after 2 failures.
pub fn health(script: &str) -> HealthConfig {
    HealthConfig {
        test: Some(vec!["CMD-SHELL".into(), script.into()]),
        interval: Some(200_000_000),
        timeout: Some(2_000_000_000),
        retries: Some(2),
        start_period: Some(0),
        start_interval: None,
    }
}

/// Creates a network labelled like the pod's objects; returns its id.
pub async fn create_network(
    docker: &Docker,
    run: &TestRun,
    project: &str,
    executor: ProcessIdentity,
) -> String {
    let request = NetworkCreateRequest {
        name: format!("{project}-net"),
        labels: Some(pod_labels(run, project, executor)),
        ..Default::default()
    };
    docker.create_network(request).await.unwrap().id
}

/// Creates a named volume labelled like the pod's objects; returns its name.
pub async fn create_volume(
    docker: &Docker,
    run: &TestRun,
    project: &str,
    executor: ProcessIdentity,
) -> String {
    let request = VolumeCreateRequest {
        name: Some(format!("{project}-data")),
        labels: Some(pod_labels(run, project, executor)),
        ..Default::default()
    };
    docker.create_volume(request).await.unwrap().name
}

/// The directories a cgroup parent `/<name>` has on every mounted hierarchy.
pub fn cgroup_dirs(parent: &str) -> Vec<std::path::PathBuf> {
    let hierarchies = docker::cgroup::Hierarchies::detect().unwrap();
    hierarchies
        .hierarchies
        .iter()
        .map(|h| h.mount_point.join(parent.trim_start_matches('/')))
        .filter(|dir| dir.exists())
        .collect()
}

/// Removes a test's cgroup parent directories (one level) when the test ends, even if it failed
/// before dce's own removal ran.
pub struct CgroupGuard(pub String);

impl CgroupGuard {
    /// The guard of the run's own cgroup parent, `/dce-test-<run id>`.
    pub fn for_run(run: &TestRun) -> Self {
        Self(format!("/dce-test-{}", run.id()))
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        for dir in cgroup_dirs(&self.0) {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
