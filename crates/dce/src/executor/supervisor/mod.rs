//! One `Supervisor` per task: the lifecycle state machine
//! `Launching → Running → Killing → Terminal(state, reason)` (ARCHITECTURE.md).
//!
//! Every input — Mesos KILL, launch progress and result, pod events, timers, the end of a
//! teardown — is an [`Input`] in the supervisor's inbox. Docker work (launch, restarts,
//! teardown) runs in tasks of its own that report back through the inbox, so a KILL during a
//! slow pull or health wait is handled at once.

mod active_pod;
mod transitions;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use bollard::Docker;
use docker::PodEvent;
use mesos::{Reason, Session, TaskId, TaskInfo, TaskState};
use pod::TaskContext;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

use super::launch::{LaunchFailure, Launched};
use super::pod_files::TaskFiles;
use super::status::task_status;
use super::task_setup::ExecutorIdentity;
use active_pod::ActivePod;

/// Everything a supervisor receives.
pub enum Input {
    /// Kill the task. `grace` is the KILL's kill policy; `cap` bounds the grace (shutdown).
    Kill {
        grace: Option<Duration>,
        cap: Option<Duration>,
    },
    /// A launch progress line (TASK_STARTING message).
    Progress(String),
    /// The launch task ended.
    Launched(Result<Box<Launched>, LaunchFailure>),
    /// Something happened to the pod.
    Pod(PodEvent),
    /// `launchtask.timeout` elapsed.
    LaunchTimeout,
    /// The task's `max_completion_time` elapsed.
    CompletionDeadline,
    /// Restarting a container failed.
    RestartFailed { service: String, error: String },
    /// Stopping and removing the pod finished.
    TornDown,
}

/// What every supervisor of one executor shares.
#[derive(Clone)]
pub struct SupervisorEnv {
    /// The Mesos session (status updates).
    pub session: Session,
    /// The engine, or why it cannot be reached.
    pub docker: Result<Docker, String>,
    /// Who runs the task.
    pub identity: ExecutorIdentity,
    /// The framework has `TASK_KILLING_STATE`.
    pub killing_state: Arc<AtomicBool>,
    /// Binary of the built-in infra image (`None`: this executable).
    pub infra_binary: Option<PathBuf>,
}

/// The executor's side of a supervisor: its inbox.
#[derive(Clone)]
pub struct SupervisorHandle {
    inbox: UnboundedSender<Input>,
}

impl SupervisorHandle {
    /// Asks the supervisor to kill its task (a repeated request never extends the grace).
    pub fn kill(&self, grace: Option<Duration>, cap: Option<Duration>) {
        let _ = self.inbox.send(Input::Kill { grace, cap });
    }
}

/// Starts supervising `task`; `ended` receives the task id once the task is terminal and its
/// pod is gone. `first` marks the executor's first task (sandbox file layout).
pub fn spawn(
    task: TaskInfo,
    env: SupervisorEnv,
    first: bool,
    ended: UnboundedSender<TaskId>,
) -> SupervisorHandle {
    let (inbox, receiver) = mpsc::unbounded_channel();
    let project = pod::naming::project_name(task.task_id.as_str());
    let files = TaskFiles::new(&env.identity.sandbox, &project, first);
    let inbox_for_task = inbox.clone();
    tokio::spawn(async move {
        let task_id = task.task_id.clone();
        let mut reporter = Reporter {
            task_id: task_id.clone(),
            session: env.session.clone(),
            terminal_sent: false,
        };
        // TASK_STARTING at once, before anything that can take time.
        reporter.send(
            TaskState::Starting,
            format!("launching pod {project}"),
            None,
            None,
            None,
        );
        match set_up(&task, &env) {
            Ok((docker, context, sources)) => {
                let mut supervisor = Supervisor {
                    task_id: task_id.clone(),
                    task,
                    env,
                    files,
                    inbox: inbox_for_task,
                    reporter,
                    docker,
                    context,
                    launch_timer: None,
                    completion_timer: None,
                };
                let phase = supervisor.start(sources);
                supervisor.run(phase, receiver).await;
            }
            Err((reason, message)) => {
                tracing::warn!(task_id = %task_id, reason = reason.as_str(), %message, "launch failed");
                reporter.send(TaskState::Failed, message, Some(reason), None, None);
            }
        }
        let _ = ended.send(task_id);
    });
    SupervisorHandle { inbox }
}

/// What the launch needs before it can start: the engine, the task context and the compose
/// sources; an error is the task's failure.
fn set_up(
    task: &TaskInfo,
    env: &SupervisorEnv,
) -> Result<(Docker, TaskContext, Vec<compose::ComposeSource>), (Reason, String)> {
    let docker = env
        .docker
        .clone()
        .map_err(|error| (Reason::ContainerLaunchFailed, error))?;
    let context = super::task_setup::task_context(&env.identity, task).map_err(|error| {
        let failure = LaunchFailure::from_pod(&error);
        (failure.reason, failure.message)
    })?;
    let sources = super::task_setup::compose_sources(task)
        .map_err(|message| (Reason::TaskInvalid, message))?;
    Ok((docker, context, sources))
}

/// Sends a task's updates and makes sure nothing follows the terminal one.
struct Reporter {
    task_id: TaskId,
    session: Session,
    terminal_sent: bool,
}

impl Reporter {
    fn send(
        &mut self,
        state: TaskState,
        message: String,
        reason: Option<Reason>,
        pod: Option<&ActivePod>,
        context: Option<&TaskContext>,
    ) {
        if self.terminal_sent {
            tracing::error!(task_id = %self.task_id, %state, "update after the terminal update suppressed");
            return;
        }
        self.terminal_sent = state.is_terminal();
        let facts = pod.map(|p| (&p.facts, &p.view));
        let status = task_status(&self.task_id, state.clone(), &message, reason, facts);
        tracing::info!(task_id = %self.task_id, %state, %message, "status update");
        self.session.update(status);
        if let (Some(pod), Some(context)) = (pod, context) {
            let note = pod::plugin::StatusNote {
                state: state.to_string(),
                message,
            };
            for error in pod.chain.on_status(&pod.plan, context, &note) {
                tracing::warn!(task_id = %self.task_id, %error, "on-status hook failed");
            }
        }
    }
}

/// The lifecycle of a task.
enum Phase {
    /// From LAUNCH until every long-running service runs (and is healthy).
    Launching(Launching),
    /// The pod runs.
    Running(Box<ActivePod>),
    /// The pod is being stopped and removed.
    Killing(Killing),
    /// Done; the terminal update was sent.
    Terminal(TaskState, Option<Reason>),
}

/// The two steps of a launch.
enum Launching {
    /// The launch task prepares and creates the pod.
    Preparing { cancel: CancellationToken },
    /// Every container was started; waiting for running/healthy.
    Starting(Box<ActivePod>),
}

/// Teardown of a task.
struct Killing {
    ending: Ending,
    awaiting: Awaiting,
    /// When the kill began; a later KILL's grace counts from here.
    started: Instant,
    /// When every container gets SIGKILL; a later KILL may only bring it forward.
    deadline: Instant,
    /// The pod being stopped, once it exists.
    pod: Option<docker::RunningPod>,
    /// SIGKILL at a deadline a later KILL brought forward.
    force: Option<tokio::task::AbortHandle>,
}

impl Killing {
    fn new(
        ending: Ending,
        awaiting: Awaiting,
        grace: Duration,
        pod: Option<docker::RunningPod>,
    ) -> Self {
        let started = Instant::now();
        Killing {
            ending,
            awaiting,
            started,
            deadline: started + grace,
            pod,
            force: None,
        }
    }
}

impl Drop for Killing {
    fn drop(&mut self) {
        if let Some(force) = self.force.take() {
            force.abort();
        }
    }
}

/// How a teardown ends the task.
#[derive(Debug, Clone, PartialEq)]
enum Ending {
    /// TASK_KILLED once the pod is gone.
    Killed,
    /// The terminal update was already sent when the pod ended.
    Reported(TaskState, Option<Reason>),
}

/// What the teardown waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    /// The cancelled launch task to return (it removes what it created).
    Launch,
    /// The stop and removal of the pod.
    Teardown,
}

struct Supervisor {
    task_id: TaskId,
    task: TaskInfo,
    env: SupervisorEnv,
    files: TaskFiles,
    inbox: UnboundedSender<Input>,
    reporter: Reporter,
    docker: Docker,
    context: TaskContext,
    launch_timer: Option<tokio::task::AbortHandle>,
    completion_timer: Option<tokio::task::AbortHandle>,
}

impl Supervisor {
    async fn run(mut self, mut phase: Phase, mut inbox: UnboundedReceiver<Input>) {
        while !matches!(phase, Phase::Terminal(..)) {
            let Some(input) = inbox.recv().await else {
                break;
            };
            phase = self.on(phase, input);
        }
        for timer in [self.launch_timer.take(), self.completion_timer.take()]
            .into_iter()
            .flatten()
        {
            timer.abort();
        }
        if let Phase::Terminal(state, reason) = &phase {
            tracing::info!(task_id = %self.task_id, %state, reason = ?reason.as_ref().map(Reason::as_str), "task ended");
        }
    }

    /// Spawns the launch task and the launch timer.
    fn start(&mut self, sources: Vec<compose::ComposeSource>) -> Phase {
        let timeout = self.context.config.launch_timeout;
        let job = super::launch::LaunchJob {
            docker: self.docker.clone(),
            task: self.context.clone(),
            sources,
            files: self.files.clone(),
            infra_binary: self.env.infra_binary.clone(),
        };
        let cancel = CancellationToken::new();
        let inbox = self.inbox.clone();
        let progress_inbox = self.inbox.clone();
        let launch_cancel = cancel.clone();
        tokio::spawn(async move {
            let progress = move |line: String| {
                let _ = progress_inbox.send(Input::Progress(line));
            };
            let result = super::launch::launch(job, launch_cancel, progress).await;
            let _ = inbox.send(Input::Launched(result.map(Box::new)));
        });
        let timer_inbox = self.inbox.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let _ = timer_inbox.send(Input::LaunchTimeout);
        });
        self.launch_timer = Some(timer.abort_handle());
        if let Some(limit) = self.task.max_completion_time.as_ref() {
            let limit = limit.to_duration();
            let completion_inbox = self.inbox.clone();
            let timer = tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                let _ = completion_inbox.send(Input::CompletionDeadline);
            });
            self.completion_timer = Some(timer.abort_handle());
        }
        Phase::Launching(Launching::Preparing { cancel })
    }

    /// A failure before the pod exists: TASK_FAILED, done.
    fn fail_now(&mut self, reason: Reason, message: String) -> Phase {
        tracing::warn!(task_id = %self.task_id, reason = reason.as_str(), %message, "launch failed");
        self.send(TaskState::Failed, message, Some(reason.clone()), None);
        Phase::Terminal(TaskState::Failed, Some(reason))
    }

    fn send(
        &mut self,
        state: TaskState,
        message: impl Into<String>,
        reason: Option<Reason>,
        pod: Option<&ActivePod>,
    ) {
        self.reporter
            .send(state, message.into(), reason, pod, Some(&self.context));
    }

    fn killing_state(&self) -> bool {
        self.env.killing_state.load(Ordering::Relaxed)
    }

    /// Kill grace: the KILL's policy, else the task's, else the config's; capped by `cap`.
    fn kill_grace(&self, requested: Option<Duration>, cap: Option<Duration>) -> Duration {
        let grace = requested
            .or_else(|| self.task.kill_grace())
            .unwrap_or(self.context.config.kill_grace);
        match cap {
            Some(cap) => grace.min(cap),
            None => grace,
        }
    }
}
