//! Launching an executor binary the way the Mesos containerizer does: exactly the constructed
//! environment, a fresh sandbox, its own process group, stdout/stderr captured to
//! `sandbox/stdout` and `sandbox/stderr`, optionally its own cgroups; destroy = SIGKILL of the
//! process group.

use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::cgroup::{self, CgroupPlacement, ContainerCgroup};
use crate::error::AgentError;

/// What to launch as the executor.
#[derive(Debug, Clone)]
pub struct ExecutorLaunch {
    /// The executor binary.
    pub binary: PathBuf,
    /// Arguments (without argv[0]).
    pub args: Vec<OsString>,
    /// Extra environment variables, set after (and so overriding) the Mesos ones.
    pub env: Vec<(String, String)>,
    /// Variables to leave out of the Mesos environment (to test refusal on a missing one).
    pub env_remove: Vec<String>,
    /// Directory under which the Mesos sandbox layout is created; a temporary one when `None`.
    pub sandbox_root: Option<PathBuf>,
    /// Use exactly this directory as the sandbox (created if missing), e.g. a directory that
    /// already holds the task's files; overrides `sandbox_root`.
    pub sandbox_dir: Option<PathBuf>,
    /// Place the executor in per-container cgroups like the Mesos cgroups isolator.
    pub cgroup: Option<CgroupPlacement>,
}

impl ExecutorLaunch {
    /// A launch of `binary` with no arguments, temporary sandbox and no cgroups.
    pub fn new(binary: impl Into<PathBuf>) -> ExecutorLaunch {
        ExecutorLaunch {
            binary: binary.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            sandbox_root: None,
            sandbox_dir: None,
            cgroup: None,
        }
    }

    /// Adds an environment variable (overrides a Mesos one of the same name).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> ExecutorLaunch {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// How the executor process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorExit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl ExecutorExit {
    fn from_status(status: ExitStatus) -> ExecutorExit {
        match (status.code(), status.signal()) {
            (Some(code), _) => ExecutorExit::Code(code),
            (None, Some(sig)) => ExecutorExit::Signal(sig),
            (None, None) => ExecutorExit::Code(-1),
        }
    }
}

/// A running (or finished) executor process launched by the agent.
///
/// Cloning shares the same process. Dropping the last [`crate::Agent`] handle destroys it.
#[derive(Debug, Clone)]
pub struct ExecutorProcess {
    inner: Arc<ProcessInner>,
}

#[derive(Debug)]
struct ProcessInner {
    pid: u32,
    sandbox: PathBuf,
    exit: watch::Receiver<Option<ExecutorExit>>,
    cgroup_dirs: Vec<PathBuf>,
    _tempdir: Option<tempfile::TempDir>,
}

impl ExecutorProcess {
    /// The executor's pid (= its process group id).
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// The sandbox directory (`MESOS_DIRECTORY`).
    pub fn sandbox(&self) -> &Path {
        &self.inner.sandbox
    }

    /// The cgroup directories the executor was placed in (empty without cgroup placement).
    pub fn cgroup_dirs(&self) -> &[PathBuf] {
        &self.inner.cgroup_dirs
    }

    /// What the executor wrote to its stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.inner.sandbox.join("stdout")).unwrap_or_default()
    }

    /// What the executor wrote to its stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.inner.sandbox.join("stderr")).unwrap_or_default()
    }

    /// The exit, if the process has ended.
    pub fn exit(&self) -> Option<ExecutorExit> {
        *self.inner.exit.borrow()
    }

    /// Waits for the process to end, at most `timeout`.
    pub async fn wait(&self, timeout: Duration) -> Result<ExecutorExit, AgentError> {
        let mut rx = self.inner.exit.clone();
        let waited = tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(exit)) => Ok(exit.unwrap_or(ExecutorExit::Code(-1))),
            _ => Err(AgentError::Timeout {
                what: format!("executor pid {} to exit", self.inner.pid),
                timeout,
            }),
        }
    }

    /// Sends `signal` to the executor process only (e.g. SIGTERM).
    pub fn signal(&self, signal: rustix::process::Signal) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.inner.pid as i32) {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }
}

/// Agent-side ownership of a launched executor: destroys it when asked or when dropped.
#[derive(Debug)]
pub(crate) struct ProcessOwner {
    pid: u32,
    exit: watch::Receiver<Option<ExecutorExit>>,
}

impl ProcessOwner {
    /// SIGKILLs the executor's process group (Mesos' container destroy).
    pub(crate) fn destroy(&self) {
        if self.exit.borrow().is_some() {
            return;
        }
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for ProcessOwner {
    fn drop(&mut self) {
        self.destroy();
    }
}

/// A spawned executor: the test's handle, the agent's owner handle, and the exit watch that the
/// agent uses to generate its terminal updates.
pub(crate) struct Spawned {
    pub(crate) process: ExecutorProcess,
    pub(crate) owner: ProcessOwner,
    pub(crate) exit: watch::Receiver<Option<ExecutorExit>>,
}

/// Builds the sandbox path `<root>/slaves/<agent>/frameworks/<fw>/executors/<eid>/runs/<cid>`,
/// whose last component is the ContainerID as on a real agent.
pub(crate) fn sandbox_path(root: &Path, ids: &SandboxIds<'_>) -> PathBuf {
    root.join("slaves")
        .join(ids.agent_id)
        .join("frameworks")
        .join(ids.framework_id)
        .join("executors")
        .join(ids.executor_id)
        .join("runs")
        .join(ids.container_id)
}

/// The ids that name a sandbox.
pub(crate) struct SandboxIds<'a> {
    pub(crate) agent_id: &'a str,
    pub(crate) framework_id: &'a str,
    pub(crate) executor_id: &'a str,
    pub(crate) container_id: &'a str,
}

/// Creates the sandbox, spawns the executor and starts a watcher that records its exit and
/// removes its cgroups afterwards. `env_for` receives the sandbox path and returns the Mesos
/// environment.
pub(crate) fn spawn(
    launch: &ExecutorLaunch,
    ids: &SandboxIds<'_>,
    env_for: impl FnOnce(&Path) -> Vec<(String, String)>,
) -> Result<Spawned, AgentError> {
    let (tempdir, root) = match (&launch.sandbox_dir, &launch.sandbox_root) {
        (Some(dir), _) => (None, dir.clone()),
        (None, Some(root)) => (None, root.clone()),
        (None, None) => {
            let dir = tempfile::Builder::new()
                .prefix("mesos-agent-")
                .tempdir()
                .map_err(|source| AgentError::Sandbox {
                    path: std::env::temp_dir(),
                    source,
                })?;
            let root = dir.path().to_path_buf();
            (Some(dir), root)
        }
    };
    let sandbox = match &launch.sandbox_dir {
        Some(dir) => dir.clone(),
        None => sandbox_path(&root, ids),
    };
    std::fs::create_dir_all(&sandbox).map_err(|source| AgentError::Sandbox {
        path: sandbox.clone(),
        source,
    })?;
    let open_log = |name: &str| {
        let path = sandbox.join(name);
        std::fs::File::create(&path).map_err(|source| AgentError::Sandbox { path, source })
    };
    let (stdout, stderr) = (open_log("stdout")?, open_log("stderr")?);

    let mut env = env_for(&sandbox);
    env.retain(|(k, _)| !launch.env_remove.contains(k));
    let mut cmd = std::process::Command::new(&launch.binary);
    cmd.args(&launch.args)
        .env_clear()
        .envs(env)
        .envs(launch.env.iter().cloned())
        .current_dir(&sandbox)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .process_group(0);

    let cgroup = match &launch.cgroup {
        Some(placement) => Some(ContainerCgroup::create(placement, ids.container_id)?),
        None => None,
    };
    let procs_files = match &cgroup {
        Some(cg) => cg.open_procs_files()?,
        None => Vec::new(),
    };
    if !procs_files.is_empty() {
        let fds: Vec<std::os::fd::OwnedFd> = procs_files
            .iter()
            .map(|f| f.try_clone().map(std::os::fd::OwnedFd::from))
            .collect::<Result<_, _>>()
            .map_err(|source| AgentError::Spawn {
                binary: launch.binary.clone(),
                source,
            })?;
        // SAFETY: the closure only calls write(2) on fds opened before the fork, which is
        // async-signal-safe, and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                for fd in &fds {
                    cgroup::join_from_child(std::os::fd::AsFd::as_fd(fd))?;
                }
                Ok(())
            });
        }
    }
    let mut child = tokio::process::Command::from(cmd)
        .kill_on_drop(false)
        .spawn()
        .map_err(|source| AgentError::Spawn {
            binary: launch.binary.clone(),
            source,
        })?;
    drop(procs_files);
    let pid = child.id().unwrap_or(0);
    tracing::info!(pid, sandbox = %sandbox.display(), "executor launched");

    let (exit_tx, exit_rx) = watch::channel(None);
    let cgroup_dirs = cgroup
        .as_ref()
        .map(|c| c.dirs().to_vec())
        .unwrap_or_default();
    tokio::spawn(async move {
        let exit = match child.wait().await {
            Ok(status) => ExecutorExit::from_status(status),
            Err(e) => {
                tracing::warn!(error = %e, "waiting for the executor failed");
                ExecutorExit::Code(-1)
            }
        };
        tracing::info!(pid, ?exit, "executor exited");
        // Like Mesos' destroy: whatever is left in the container goes with it.
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        if let Some(mut cg) = cgroup {
            let _ = tokio::task::spawn_blocking(move || cg.destroy()).await;
        }
        let _ = exit_tx.send(Some(exit));
    });

    let process = ExecutorProcess {
        inner: Arc::new(ProcessInner {
            pid,
            sandbox,
            exit: exit_rx.clone(),
            cgroup_dirs,
            _tempdir: tempdir,
        }),
    };
    Ok(Spawned {
        process,
        owner: ProcessOwner {
            pid,
            exit: exit_rx.clone(),
        },
        exit: exit_rx,
    })
}
