//! Shared harness of the executor end-to-end tests: the real `dce` binary launched by the
//! `mesos-agent` stand-in, against the real Docker engine, with every pod's objects removed by
//! label even when a test fails.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptions, ListNetworksOptions, ListVolumesOptions,
};
use bollard::Docker;
use mesos::{CapabilityType, TaskInfo, TaskState};
use mesos_agent::{
    Agent, AgentConfig, CgroupPlacement, ExecutorExit, ExecutorLaunch, ExecutorProcess,
    TaskBuilder, UpdateRecord,
};
use testkit::TestRun;

/// Hang guard for one expected update (generous: the machine is loaded).
pub const WAIT: Duration = Duration::from_secs(120);

/// The test image (busybox on scratch, built offline).
pub const IMAGE: &str = testkit::BUSYBOX_IMAGE;

/// A service command that serves `/www` on `port` and stops cleanly on SIGTERM.
pub fn httpd_command(port: u16) -> String {
    format!(
        r#"["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www && echo hello-dce > /www/index.html && httpd -f -p {port} -h /www & wait"]"#
    )
}

/// A service command that runs until SIGTERM.
pub const SLEEPER: &str =
    r#"["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]"#;

static NEXT_PORTS: AtomicU64 = AtomicU64::new(0);

/// A block of 10 free host ports, distinct from every other block this test process hands out.
/// Blocks lie below Linux's ephemeral range (32768+) so outgoing connections cannot take them,
/// and a block with a port in use (another process, a leftover) is skipped.
pub fn port_block() -> (u64, u64) {
    loop {
        let slot = NEXT_PORTS.fetch_add(1, Ordering::Relaxed);
        let base = 20000 + (u64::from(std::process::id()) % 12) * 1000 + (slot % 100) * 10;
        let free = (base..base + 10).all(|port| {
            u16::try_from(port)
                .is_ok_and(|port| std::net::TcpListener::bind(("0.0.0.0", port)).is_ok())
        });
        if free {
            return (base, base + 9);
        }
    }
}

/// One agent, one `dce executor`, its sandbox, and the cleanup guard.
pub struct Harness {
    pub agent: Agent,
    pub executor: ExecutorProcess,
    pub run: TestRun,
    pub docker: Docker,
    _sandbox_root: tempfile::TempDir,
}

/// How to start a harness.
pub struct Setup {
    pub config: AgentConfig,
    pub cgroup: Option<CgroupPlacement>,
    pub env: Vec<(String, String)>,
    /// A command the executor is started through (program, then arguments; the `dce` binary
    /// and `executor` are appended), e.g. `unshare -m sh -c '…; exec "$0" "$@"'`. Empty: none.
    pub wrapper: Vec<String>,
}

impl Default for Setup {
    fn default() -> Self {
        let config = AgentConfig {
            capabilities: vec![CapabilityType::TaskKillingState],
            ..AgentConfig::default()
        };
        Setup {
            config,
            cgroup: None,
            env: Vec::new(),
            wrapper: Vec::new(),
        }
    }
}

impl Harness {
    /// Starts an agent and the executor with default settings.
    pub async fn start() -> Harness {
        Harness::start_with(Setup::default()).await
    }

    /// Starts an agent and the executor.
    pub async fn start_with(setup: Setup) -> Harness {
        let docker = testkit::docker().await.expect("docker");
        testkit::ensure_busybox_image(&docker)
            .await
            .expect("test image");
        let run = TestRun::new();
        let agent = Agent::start(setup.config).await.expect("agent");
        let sandbox_root = tempfile::tempdir().expect("sandbox root");
        let dce = env!("CARGO_BIN_EXE_dce");
        let mut launch = match setup.wrapper.split_first() {
            None => ExecutorLaunch::new(dce),
            Some((program, args)) => {
                let mut launch = ExecutorLaunch::new(program);
                launch.args = args.iter().map(Into::into).collect();
                launch.args.push(dce.into());
                launch
            }
        };
        launch.args.push("executor".into());
        launch.sandbox_root = Some(sandbox_root.path().to_path_buf());
        launch.cgroup = setup.cgroup;
        launch = launch.env("DCE_LOG", "info,dce=debug");
        for (key, value) in setup.env {
            launch = launch.env(key, value);
        }
        let executor = agent.launch_executor(launch).await.expect("executor");
        Harness {
            agent,
            executor,
            run,
            docker,
            _sandbox_root: sandbox_root,
        }
    }

    /// The executor's sandbox.
    pub fn sandbox(&self) -> PathBuf {
        self.executor.sandbox().to_path_buf()
    }

    /// Writes a file into the sandbox.
    pub fn write(&self, name: &str, text: &str) {
        let path = self.sandbox().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    /// A task id unique to this test; its pod's objects are removed at the end.
    pub fn task_id(&self, name: &str) -> String {
        let id = format!("{}-{name}", self.run.id());
        self.run.also_clean_label("io.dce.task-id", &id);
        id
    }

    /// A task running the compose file `file` of the sandbox, offering `ports`.
    pub fn task(&self, task_id: &str, file: &str, ports: (u64, u64)) -> TaskBuilder {
        TaskBuilder::new(task_id)
            .label("fileName", Some(file))
            .ports(&[ports])
            .kill_grace(Duration::from_secs(5))
    }

    /// Launches `task`.
    pub fn launch(&self, task: TaskInfo) {
        self.agent.launch(task);
    }

    /// Waits for an update of `task_id` in `state` (failing early on another terminal update).
    pub async fn wait_state(&self, task_id: &str, state: TaskState) -> UpdateRecord {
        let result = self
            .agent
            .wait_for_update(task_id, WAIT, |r| *r.state() == state || r.is_terminal())
            .await;
        match result {
            Ok(record) if *record.state() == state => record,
            Ok(other) => panic!(
                "wanted {state}, got {}; updates: {:#?}\nexecutor stderr:\n{}",
                other.state(),
                self.states(task_id),
                self.executor.stderr()
            ),
            Err(error) => panic!(
                "{error}; updates: {:#?}\nexecutor stderr:\n{}",
                self.states(task_id),
                self.executor.stderr()
            ),
        }
    }

    /// Waits for the terminal update of `task_id`.
    pub async fn wait_terminal(&self, task_id: &str) -> UpdateRecord {
        let result = self
            .agent
            .wait_for_update(task_id, WAIT, |r| r.is_terminal())
            .await;
        match result {
            Ok(record) => record,
            Err(error) => panic!(
                "{error}; updates: {:#?}\nexecutor stderr:\n{}",
                self.states(task_id),
                self.executor.stderr()
            ),
        }
    }

    /// The states of the updates of `task_id`, with messages.
    pub fn states(&self, task_id: &str) -> Vec<(TaskState, String)> {
        self.agent
            .updates(task_id)
            .into_iter()
            .map(|r| {
                let message = r.status.message.clone().unwrap_or_default();
                (r.status.state, message)
            })
            .collect()
    }

    /// Waits for the executor to exit.
    pub async fn wait_exit(&self) -> ExecutorExit {
        match self.executor.wait(WAIT).await {
            Ok(exit) => exit,
            Err(error) => panic!("{error}\nexecutor stderr:\n{}", self.executor.stderr()),
        }
    }

    /// Containers, networks and volumes of the task's pod still on the engine.
    pub async fn leftovers(&self, task_id: &str) -> Vec<String> {
        let filter = HashMap::from([(
            "label".to_string(),
            vec![format!("io.dce.task-id={task_id}")],
        )]);
        let mut left = Vec::new();
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filter.clone()),
                ..Default::default()
            }))
            .await
            .unwrap();
        left.extend(
            containers
                .into_iter()
                .map(|c| format!("container {:?}", c.names)),
        );
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filter.clone()),
            }))
            .await
            .unwrap();
        left.extend(
            networks
                .into_iter()
                .map(|n| format!("network {:?}", n.name)),
        );
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filter),
            }))
            .await
            .unwrap();
        left.extend(
            volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| format!("volume {}", v.name)),
        );
        left
    }

    /// Inspects every container of the task's pod.
    pub async fn containers(
        &self,
        task_id: &str,
    ) -> Vec<bollard::models::ContainerInspectResponse> {
        let filter = HashMap::from([(
            "label".to_string(),
            vec![format!("io.dce.task-id={task_id}")],
        )]);
        let list = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filter),
                ..Default::default()
            }))
            .await
            .unwrap();
        let mut out = Vec::new();
        for container in list {
            let id = container.id.unwrap_or_default();
            // A container removed between the listing and its inspection is skipped.
            match self
                .docker
                .inspect_container(&id, None::<InspectContainerOptions>)
                .await
            {
                Ok(inspect) => out.push(inspect),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(error) => panic!("inspect {id}: {error}"),
            }
        }
        out
    }

    /// Kills the task and waits for TASK_KILLED.
    pub async fn kill(&self, task_id: &str) -> UpdateRecord {
        self.agent.kill(task_id, None);
        self.wait_state(task_id, TaskState::Killed).await
    }

    /// A label of an update.
    pub fn label(record: &UpdateRecord, key: &str) -> Option<String> {
        record
            .status
            .labels
            .as_ref()
            .and_then(|l| l.get(key))
            .map(str::to_string)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("DCE_TEST_DUMP").is_some() {
            eprintln!(
                "--- executor stderr ---\n{}\n--- end ---",
                self.executor.stderr()
            );
        }
        self.executor.signal(rustix::process::Signal::KILL);
    }
}

/// Sends one HTTP/1.0 GET to 127.0.0.1:`port` and returns the whole answer.
pub async fn http_get(port: u16) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer)
}

/// Retries [`http_get`] until it answers (the server may still be binding), bounded.
pub async fn http_get_eventually(port: u16) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match http_get(port).await {
            Ok(answer) if answer.contains("200") => return answer,
            Ok(answer) if tokio::time::Instant::now() > deadline => {
                panic!("unexpected answer: {answer}")
            }
            Err(error) if tokio::time::Instant::now() > deadline => {
                panic!("no answer on port {port}: {error}")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Whether `path` exists in the sandbox.
pub fn exists(sandbox: &Path, path: &str) -> bool {
    sandbox.join(path).exists()
}
