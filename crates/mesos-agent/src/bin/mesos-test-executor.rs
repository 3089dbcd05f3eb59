//! A minimal executor built on the `mesos` session, for the protocol conformance tests.
//!
//! Policy: LAUNCH → TASK_STARTING, then TASK_RUNNING (after `TEST_EXECUTOR_LAUNCH_DELAY`, in the
//! background, so KILL/SHUTDOWN are handled meanwhile); KILL → TASK_KILLING (only with the
//! framework's `TASK_KILLING_STATE`) then TASK_KILLED; SHUTDOWN → TASK_KILLED for every live task,
//! then exit; LAUNCH_GROUP → TASK_FAILED per task; MESSAGE events are echoed back as MESSAGE
//! calls. It exits 0 once every task is terminal and every update is acknowledged, waiting at
//! most `TEST_EXECUTOR_ACK_TIMEOUT` (default 60secs) for missing ACKs. When the session reports
//! the agent lost it exits with code 2; a bad environment exits with code 1.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mesos::{
    CapabilityType, ExecutorEnv, Reason, Session, SessionEvent, TaskId, TaskInfo, TaskState,
    TaskStatus,
};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Exit code when the agent is lost (recovery timeout, or a disconnection without checkpoint).
const EXIT_AGENT_LOST: u8 = 2;

/// Behaviour knobs from the environment.
struct Knobs {
    launch_delay: Duration,
    ack_timeout: Duration,
}

impl Knobs {
    fn from_env() -> Result<Knobs, String> {
        let duration = |var: &str, default: Duration| match std::env::var(var) {
            Ok(text) => mesos::parse_duration(&text).map_err(|e| format!("{var}={text:?}: {e}")),
            Err(_) => Ok(default),
        };
        Ok(Knobs {
            launch_delay: duration("TEST_EXECUTOR_LAUNCH_DELAY", Duration::ZERO)?,
            ack_timeout: duration("TEST_EXECUTOR_ACK_TIMEOUT", Duration::from_secs(60))?,
        })
    }
}

/// A task as this executor sees it.
enum Task {
    /// TASK_STARTING sent; TASK_RUNNING pending in the background.
    Launching(AbortHandle),
    Running,
    Terminal,
}

struct TestExecutor {
    session: Session,
    knobs: Knobs,
    killing_state: bool,
    tasks: HashMap<TaskId, Task>,
    started: mpsc::UnboundedSender<TaskId>,
}

/// What the event loop should do next.
enum Next {
    Continue,
    /// Every task is terminal: wait (bounded) for the outstanding ACKs, then exit 0.
    Drain,
    Exit(u8),
}

impl TestExecutor {
    fn status(&self, task_id: &TaskId, state: TaskState, message: &str) {
        let mut status = TaskStatus::new(task_id.clone(), state);
        status.message = Some(message.to_string());
        self.session.update(status);
    }

    fn launch(&mut self, task: TaskInfo) {
        if self.tasks.contains_key(&task.task_id) {
            tracing::warn!(task = %task.task_id, "duplicate LAUNCH ignored");
            return;
        }
        self.status(&task.task_id, TaskState::Starting, "starting");
        let (id, delay, started) = (
            task.task_id.clone(),
            self.knobs.launch_delay,
            self.started.clone(),
        );
        let work = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = started.send(id);
        });
        self.tasks
            .insert(task.task_id, Task::Launching(work.abort_handle()));
    }

    fn started(&mut self, task_id: TaskId) {
        if let Some(task @ Task::Launching(_)) = self.tasks.get_mut(&task_id) {
            *task = Task::Running;
            self.status(&task_id, TaskState::Running, "running");
        }
    }

    fn kill(&mut self, task_id: &TaskId) {
        match self.tasks.get(task_id) {
            Some(Task::Launching(work)) => work.abort(),
            Some(Task::Running) => {}
            Some(Task::Terminal) | None => {
                tracing::info!(task = %task_id, "KILL for an unknown or finished task ignored");
                return;
            }
        }
        if self.killing_state {
            self.status(task_id, TaskState::Killing, "killing");
        }
        self.status(task_id, TaskState::Killed, "killed");
        self.tasks.insert(task_id.clone(), Task::Terminal);
    }

    fn live_tasks(&self) -> Vec<TaskId> {
        self.tasks
            .iter()
            .filter(|(_, t)| !matches!(t, Task::Terminal))
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn after_change(&self) -> Next {
        if !self.tasks.is_empty() && self.live_tasks().is_empty() {
            Next::Drain
        } else {
            Next::Continue
        }
    }

    fn handle(&mut self, event: SessionEvent) -> Next {
        match event {
            SessionEvent::Subscribed { framework_info, .. } => {
                self.killing_state =
                    framework_info.has_capability(&CapabilityType::TaskKillingState);
                Next::Continue
            }
            SessionEvent::Launch(task) => {
                self.launch(task);
                Next::Continue
            }
            SessionEvent::LaunchGroup(tasks) => {
                for task in tasks {
                    let mut status = TaskStatus::new(task.task_id.clone(), TaskState::Failed);
                    status.message = Some("task groups are not supported".to_string());
                    status.reason = Some(Reason::TaskGroupInvalid);
                    self.session.update(status);
                    self.tasks.insert(task.task_id, Task::Terminal);
                }
                self.after_change()
            }
            SessionEvent::Kill { task_id, .. } => {
                self.kill(&task_id);
                self.after_change()
            }
            SessionEvent::Message(data) => {
                self.session.send_message(data);
                Next::Continue
            }
            SessionEvent::Shutdown => {
                for id in self.live_tasks() {
                    self.kill(&id);
                }
                Next::Drain
            }
            SessionEvent::Lost { reason } => {
                tracing::warn!(%reason, "agent lost; abandoning tasks");
                Next::Exit(EXIT_AGENT_LOST)
            }
            SessionEvent::Error(message) => {
                tracing::warn!(%message, "ERROR event");
                Next::Continue
            }
            SessionEvent::Acknowledged { .. } | SessionEvent::Disconnected => Next::Continue,
        }
    }
}

async fn run(env: ExecutorEnv, knobs: Knobs) -> u8 {
    let (session, mut events) = Session::start(env);
    let (started_tx, mut started_rx) = mpsc::unbounded_channel();
    let ack_timeout = knobs.ack_timeout;
    let mut executor = TestExecutor {
        session: session.clone(),
        knobs,
        killing_state: false,
        tasks: HashMap::new(),
        started: started_tx,
    };
    // Set while every task is terminal: exit once all ACKs arrived or at this deadline.
    let mut drain_until: Option<Instant> = None;
    loop {
        let remaining = drain_until.map(|d| d.saturating_duration_since(Instant::now()));
        let next = tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    tracing::info!(?event, "session event");
                    executor.handle(event)
                }
                None => Next::Exit(EXIT_AGENT_LOST),
            },
            Some(task_id) = started_rx.recv() => {
                executor.started(task_id);
                Next::Continue
            }
            acked = session.wait_acknowledged(remaining.unwrap_or_default()), if remaining.is_some() => {
                if !acked {
                    tracing::warn!(unacknowledged = session.unacknowledged(), "exiting without every ACK");
                }
                Next::Exit(0)
            }
        };
        match next {
            Next::Continue => {
                if !executor.live_tasks().is_empty() {
                    drain_until = None;
                }
            }
            Next::Drain => {
                drain_until.get_or_insert_with(|| Instant::now() + ack_timeout);
            }
            Next::Exit(code) => {
                session.close();
                return code;
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let setup = ExecutorEnv::from_env()
        .map_err(|e| e.to_string())
        .and_then(|env| Knobs::from_env().map(|knobs| (env, knobs)));
    match setup {
        Ok((env, knobs)) => ExitCode::from(run(env, knobs).await),
        Err(e) => {
            eprintln!("mesos-test-executor: {e}");
            ExitCode::from(1)
        }
    }
}
