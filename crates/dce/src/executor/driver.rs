//! The executor process: one Mesos session, one supervisor per task, and the rules for when the
//! process ends (SPEC §7): SHUTDOWN or SIGTERM kill every pod within the shutdown grace period;
//! a lost agent kills every pod; the process exits once no task is live and every terminal
//! update is acknowledged (bounded wait).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mesos::{
    CapabilityType, ExecutorEnv, Reason, Session, SessionEvent, TaskId, TaskInfo, TaskState,
    TaskStatus,
};
use pod::cgroup::CgroupDriver;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::supervisor::{self, SupervisorEnv, SupervisorHandle};
use super::task_setup::{sandbox_dir, ExecutorIdentity};

/// Longest wait for the ACK of the last terminal update when exiting on its own (the built-in
/// executors' failsafe).
const FINAL_ACK_WAIT: Duration = Duration::from_secs(60);

/// What the command line adds to the Mesos environment.
#[derive(Debug, Clone, Default)]
pub struct ExecutorOptions {
    /// Explicit config file.
    pub config: Option<PathBuf>,
}

/// Whether the executor still takes work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Serving,
    /// SHUTDOWN or SIGTERM: every pod is being killed; exit by the deadline.
    ShuttingDown {
        deadline: Instant,
    },
    /// The agent is gone for good: kill every pod, exit.
    Lost {
        deadline: Instant,
    },
}

struct Executor {
    env: ExecutorEnv,
    session: Session,
    supervisor_env: SupervisorEnv,
    tasks: HashMap<TaskId, SupervisorHandle>,
    ended: mpsc::UnboundedSender<TaskId>,
    launched_any: bool,
    /// Supervisors started so far (the first one gets the sandbox's `pod/` and `logs/`).
    tasks_started: usize,
    mode: Mode,
}

/// Runs the executor until it has to exit; returns the exit code.
pub async fn run(env: ExecutorEnv, options: ExecutorOptions) -> i32 {
    let docker = docker::connect(&docker::EngineEndpoint::from_env())
        .await
        .map_err(|e| e.to_string());
    if let Err(error) = &docker {
        tracing::error!(%error, "the Docker engine is not reachable; every task will fail");
    }
    let cgroup_driver = match &docker {
        Ok(docker) => docker
            .info()
            .await
            .ok()
            .and_then(|info| info.cgroup_driver)
            .and_then(|driver| CgroupDriver::parse(driver.as_ref())),
        Err(_) => None,
    };
    let (session, mut events) = Session::start(env.clone());
    let (ended, mut ended_rx) = mpsc::unbounded_channel();
    let identity = ExecutorIdentity {
        executor_id: env.executor_id.as_str().to_string(),
        framework_id: env.framework_id.as_str().to_string(),
        agent_id: env
            .agent_id
            .as_ref()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default(),
        container_id: env
            .container_id_hint()
            .unwrap_or_else(|| env.executor_id.as_str().to_string()),
        sandbox: sandbox_dir(&env),
        config_file: options.config,
        cgroup_driver,
    };
    let mut executor = Executor {
        supervisor_env: SupervisorEnv {
            session: session.clone(),
            docker,
            identity,
            killing_state: Arc::new(AtomicBool::new(false)),
            infra_binary: None,
        },
        env,
        session,
        tasks: HashMap::new(),
        ended,
        launched_any: false,
        tasks_started: 0,
        mode: Mode::Serving,
    };
    let mut terminate = signal(SignalKind::terminate()).ok();
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut events_open = true;
    loop {
        let deadline = match executor.mode {
            Mode::Serving => None,
            Mode::ShuttingDown { deadline } | Mode::Lost { deadline } => Some(deadline),
        };
        tokio::select! {
            event = events.recv(), if events_open => match event {
                Some(event) => executor.on_event(event),
                None => {
                    events_open = false;
                    executor.lose("the executor session ended");
                }
            },
            Some(task_id) = ended_rx.recv() => {
                executor.tasks.remove(&task_id);
            }
            Some(()) = recv_signal(&mut terminate) => executor.shut_down("SIGTERM"),
            Some(()) = recv_signal(&mut interrupt) => executor.shut_down("SIGINT"),
            _ = sleep_until(deadline) => {
                tracing::error!(live_tasks = executor.tasks.len(), "shutdown grace period over; exiting with pods still being removed");
                executor.session.close();
                return 1;
            }
        }
        if let Some(code) = executor.exit_code().await {
            executor.session.close();
            return code;
        }
    }
}

async fn recv_signal(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Executor {
    fn on_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Subscribed {
                framework_info,
                agent_info,
                container_id,
                ..
            } => {
                let killing = framework_info.has_capability(&CapabilityType::TaskKillingState);
                self.supervisor_env
                    .killing_state
                    .store(killing, Ordering::Relaxed);
                let identity = &mut self.supervisor_env.identity;
                if let Some(agent_id) = agent_info.id {
                    identity.agent_id = agent_id.as_str().to_string();
                }
                if let Some(container_id) = container_id {
                    identity.container_id = container_id.value.clone();
                }
                tracing::info!(agent_id = %identity.agent_id, task_killing_state = killing, "subscribed");
            }
            SessionEvent::Launch(task) => self.launch(task),
            SessionEvent::LaunchGroup(tasks) => {
                self.launched_any = true;
                for task in tasks {
                    tracing::warn!(task_id = %task.task_id, "LAUNCH_GROUP is not supported");
                    self.reject(
                        &task,
                        "task groups are not supported by dce; launch each pod as its own task",
                    );
                }
            }
            SessionEvent::Kill {
                task_id,
                kill_policy,
            } => match self.tasks.get(&task_id) {
                Some(handle) => {
                    tracing::info!(%task_id, "KILL");
                    handle.kill(kill_policy.and_then(|p| p.grace()), None);
                }
                None => tracing::info!(%task_id, "KILL for an unknown or finished task ignored"),
            },
            SessionEvent::Shutdown => self.shut_down("SHUTDOWN"),
            SessionEvent::Lost { reason } => self.lose(&reason),
            SessionEvent::Disconnected => {
                tracing::warn!("agent connection lost; pods keep running while resubscribing")
            }
            SessionEvent::Acknowledged { task_id, uuid } => {
                tracing::debug!(%task_id, %uuid, "update acknowledged")
            }
            SessionEvent::Message(data) => {
                tracing::info!(bytes = data.len(), "framework message ignored")
            }
            SessionEvent::Error(message) => tracing::error!(%message, "agent reported an error"),
        }
    }

    fn launch(&mut self, task: TaskInfo) {
        self.launched_any = true;
        if self.mode != Mode::Serving {
            self.reject(&task, "the executor is shutting down");
            return;
        }
        if self.tasks.contains_key(&task.task_id) {
            tracing::warn!(task_id = %task.task_id, "duplicate LAUNCH of a live task ignored");
            return;
        }
        tracing::info!(task_id = %task.task_id, "LAUNCH");
        let first = self.tasks_started == 0;
        self.tasks_started += 1;
        let task_id = task.task_id.clone();
        let handle =
            supervisor::spawn(task, self.supervisor_env.clone(), first, self.ended.clone());
        self.tasks.insert(task_id, handle);
    }

    fn reject(&self, task: &TaskInfo, message: &str) {
        let mut status = TaskStatus::new(task.task_id.clone(), TaskState::Failed);
        status.message = Some(message.to_string());
        status.reason = Some(Reason::TaskInvalid);
        self.session.update(status);
    }

    fn shut_down(&mut self, why: &str) {
        if self.mode != Mode::Serving {
            return;
        }
        let grace = self.env.shutdown_grace_period;
        tracing::info!(
            why,
            grace_ms = grace.as_millis() as u64,
            live_tasks = self.tasks.len(),
            "shutting down"
        );
        self.mode = Mode::ShuttingDown {
            deadline: Instant::now() + grace,
        };
        self.kill_all(grace);
    }

    fn lose(&mut self, reason: &str) {
        if matches!(self.mode, Mode::Lost { .. }) {
            return;
        }
        tracing::error!(
            reason,
            live_tasks = self.tasks.len(),
            "agent lost; killing every pod"
        );
        let grace = self.env.shutdown_grace_period;
        self.mode = Mode::Lost {
            deadline: Instant::now() + grace,
        };
        self.kill_all(grace);
    }

    /// Kills every task with half the shutdown grace as the stop deadline, leaving the rest
    /// for removal and the final updates.
    fn kill_all(&self, grace: Duration) {
        let cap = grace / 2;
        for handle in self.tasks.values() {
            handle.kill(None, Some(cap));
        }
    }

    /// The exit code once the executor should exit.
    async fn exit_code(&self) -> Option<i32> {
        if !self.tasks.is_empty() {
            return None;
        }
        match self.mode {
            Mode::Serving if !self.launched_any => None,
            Mode::Serving => {
                tracing::info!("no live task left; exiting once the last updates are acknowledged");
                Some(self.wait_acknowledged(FINAL_ACK_WAIT).await)
            }
            Mode::ShuttingDown { deadline } => {
                let left = deadline.saturating_duration_since(Instant::now());
                Some(self.wait_acknowledged(left).await)
            }
            Mode::Lost { .. } => Some(1),
        }
    }

    /// Waits (bounded) for the last ACKs; the exit is clean either way, as every pod is gone.
    async fn wait_acknowledged(&self, timeout: Duration) -> i32 {
        if !self.session.wait_acknowledged(timeout).await {
            tracing::warn!(
                unacknowledged = self.session.unacknowledged(),
                "exiting without every acknowledgement"
            );
        }
        0
    }
}
