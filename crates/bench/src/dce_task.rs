//! One dce pod as Mesos would run it: an agent stand-in, the real `dce executor` binary launched
//! by it as a subprocess, and one task whose compose file is in the sandbox.
//!
//! The executor is started and subscribed before anything is timed; a timing starts when the
//! stand-in sends LAUNCH or KILL and ends at the `received_at` of the matching update in the
//! stand-in's journal.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mesos::TaskState;
use mesos_agent::{Agent, AgentConfig, ExecutorLaunch, ExecutorProcess, TaskBuilder, UpdateRecord};

use crate::error::BenchError;

/// Hang guard for one launch, kill or executor start (the machine may be loaded).
pub const WAIT: Duration = Duration::from_secs(180);

const COMPOSE_FILE: &str = "docker-compose.yml";

/// A subscribed executor with one task prepared (not launched yet).
pub struct DceTask {
    agent: Agent,
    executor: ExecutorProcess,
    task_id: String,
    _sandbox_root: tempfile::TempDir,
}

impl DceTask {
    /// Starts a stand-in and `dce executor` (`binary`), waits for its SUBSCRIBE and writes
    /// `compose` (and `dce_config`, dce's `config.yaml`, if given) into the sandbox for task
    /// `task_id`.
    pub async fn start(
        binary: &Path,
        task_id: &str,
        compose: &str,
        dce_config: Option<&str>,
    ) -> Result<DceTask, BenchError> {
        let agent_config = AgentConfig {
            // An executor orphaned by an interrupted benchmark exits instead of waiting 15 min
            // for its agent to come back.
            checkpoint: false,
            ..AgentConfig::default()
        };
        let agent = Agent::start(agent_config).await?;
        let sandbox_root = tempfile::tempdir().map_err(|e| BenchError::io("sandbox root", e))?;
        let mut launch = ExecutorLaunch::new(binary);
        launch.args = vec!["executor".into()];
        launch.sandbox_root = Some(sandbox_root.path().to_path_buf());
        launch = launch.env("DCE_LOG", "info").env("DCE_LOG_FORMAT", "json");
        let executor = agent.launch_executor(launch).await?;
        write(&executor.sandbox().join(COMPOSE_FILE), compose)?;
        if let Some(config) = dce_config {
            write(&executor.sandbox().join("config.yaml"), config)?;
        }
        agent.wait_subscribed(1, WAIT).await?;
        Ok(DceTask {
            agent,
            executor,
            task_id: task_id.to_string(),
            _sandbox_root: sandbox_root,
        })
    }

    /// The executor's pid.
    pub fn pid(&self) -> u32 {
        self.executor.pid()
    }

    /// The task id.
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// Sends LAUNCH; returns when it was sent.
    pub fn launch(&self) -> Instant {
        let task = TaskBuilder::new(&self.task_id)
            .label("fileName", Some(COMPOSE_FILE))
            .build();
        let at = Instant::now();
        self.agent.launch(task);
        at
    }

    /// Sends KILL (no kill policy: dce's default grace); returns when it was sent.
    pub fn kill(&self) -> Instant {
        let at = Instant::now();
        self.agent.kill(&self.task_id, None);
        at
    }

    /// Waits for the first update in `state`, failing on any other terminal update.
    pub async fn wait_state(&self, state: TaskState) -> Result<UpdateRecord, BenchError> {
        let record = self.wait_terminal_or(Some(&state)).await?;
        if *record.state() == state {
            Ok(record)
        } else {
            Err(self.unexpected(&record, &state))
        }
    }

    /// Waits for TASK_RUNNING or a terminal update, whichever comes first.
    pub async fn wait_running_or_end(&self) -> Result<UpdateRecord, BenchError> {
        self.wait_terminal_or(Some(&TaskState::Running)).await
    }

    /// Waits for the terminal update, whatever its state.
    pub async fn wait_terminal(&self) -> Result<UpdateRecord, BenchError> {
        self.wait_terminal_or(None).await
    }

    async fn wait_terminal_or(
        &self,
        state: Option<&TaskState>,
    ) -> Result<UpdateRecord, BenchError> {
        let wanted = |r: &UpdateRecord| r.is_terminal() || Some(r.state()) == state;
        Ok(self
            .agent
            .wait_for_update(&self.task_id, WAIT, wanted)
            .await?)
    }

    fn unexpected(&self, record: &UpdateRecord, wanted: &TaskState) -> BenchError {
        let message = record.status.message.clone().unwrap_or_default();
        let stderr = self.executor.stderr();
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        BenchError::Check(format!(
            "task {}: wanted {wanted}, got {} ({message}); executor log tail:\n{}",
            self.task_id,
            record.state(),
            tail.join("\n")
        ))
    }

    /// The `*_ms` fields of the executor's `pod created` log line (its launch step timings),
    /// in log order; empty when the executor does not log them.
    pub fn launch_steps(&self) -> Vec<(String, u64)> {
        self.executor
            .stderr()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|entry| entry["fields"]["message"] == "pod created")
            .and_then(|entry| entry["fields"].as_object().cloned())
            .map(|fields| {
                fields
                    .iter()
                    .filter(|(key, _)| key.ends_with("_ms"))
                    .filter_map(|(key, value)| Some((key.clone(), value.as_u64()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits for the executor to exit (it does once its task is terminal and acknowledged).
    pub async fn finish(self) -> Result<(), BenchError> {
        self.executor.wait(WAIT).await?;
        Ok(())
    }
}

fn write(path: &Path, text: &str) -> Result<(), BenchError> {
    std::fs::write(path, text).map_err(|e| BenchError::io(format!("writing {}", path.display()), e))
}

/// The release `dce` binary next to this benchmark's own executable, built with `cargo build
/// --release -p dce` into the same target directory first.
pub async fn build_release_dce() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe().map_err(|e| BenchError::io("locating dce-bench", e))?;
    let dir = exe
        .parent()
        .ok_or_else(|| BenchError::Check("dce-bench has no directory".into()))?;
    // <target>/<triple>/release/dce-bench → <target>
    let target = dir
        .ancestors()
        .nth(2)
        .ok_or_else(|| BenchError::Check(format!("no target directory above {}", dir.display())))?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = tokio::process::Command::new(cargo);
    command
        .args(["build", "--release", "-p", "dce"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(workspace);
    crate::compose_cli::run(command).await?;
    Ok(dir.join("dce"))
}
