//! The transitions of the task state machine: `(Phase, Input) → Phase`.

use std::time::Duration;

use tokio::time::Instant;

use mesos::{Reason, TaskState};

use super::active_pod::{force_kill_at, tear_down_launched, ActivePod};
use super::{Awaiting, Ending, Input, Killing, Launching, Phase, Supervisor};
use crate::executor::pod_view::{FailureKind, Verdict};

impl Supervisor {
    /// Applies one input.
    pub(super) fn on(&mut self, phase: Phase, input: Input) -> Phase {
        match phase {
            Phase::Launching(Launching::Preparing { cancel }) => match input {
                Input::Progress(line) => {
                    self.send(TaskState::Starting, line, None, None);
                    Phase::Launching(Launching::Preparing { cancel })
                }
                Input::Launched(Ok(launched)) => {
                    let pod = ActivePod::watch(
                        &self.docker,
                        *launched,
                        &self.files.logs_dir,
                        self.inbox.clone(),
                    );
                    Phase::Launching(Launching::Starting(Box::new(pod)))
                }
                Input::Launched(Err(failure)) => self.fail_now(failure.reason, failure.message),
                Input::Kill { grace, cap } => {
                    cancel.cancel();
                    self.announce_killing(None);
                    Phase::Killing(Killing::new(
                        Ending::Killed,
                        Awaiting::Launch,
                        self.kill_grace(grace, cap),
                        None,
                    ))
                }
                Input::LaunchTimeout => {
                    cancel.cancel();
                    let (reason, message) = self.timeout_failure();
                    self.send(TaskState::Failed, message, Some(reason.clone()), None);
                    Phase::Killing(Killing::new(
                        Ending::Reported(TaskState::Failed, Some(reason)),
                        Awaiting::Launch,
                        self.kill_grace(None, None),
                        None,
                    ))
                }
                Input::CompletionDeadline => {
                    cancel.cancel();
                    let message = self.completion_message();
                    let reason = Reason::MaxCompletionTimeReached;
                    self.send(TaskState::Failed, message, Some(reason.clone()), None);
                    Phase::Killing(Killing::new(
                        Ending::Reported(TaskState::Failed, Some(reason)),
                        Awaiting::Launch,
                        Duration::ZERO,
                        None,
                    ))
                }
                Input::Pod(_) | Input::RestartFailed { .. } | Input::TornDown => {
                    Phase::Launching(Launching::Preparing { cancel })
                }
            },
            Phase::Launching(Launching::Starting(pod)) => self.on_pod_input(pod, false, input),
            Phase::Running(pod) => self.on_pod_input(pod, true, input),
            Phase::Killing(killing) => self.on_killing(killing, input),
            terminal @ Phase::Terminal(..) => terminal,
        }
    }

    /// Inputs while the pod exists (starting or running).
    fn on_pod_input(&mut self, mut pod: Box<ActivePod>, running: bool, input: Input) -> Phase {
        match input {
            Input::Pod(event) => {
                let outcome = pod.view.apply(&event);
                if let docker::PodEvent::Started { service, .. } = &event {
                    let restarted = pod
                        .view
                        .services()
                        .get(service)
                        .is_some_and(|s| s.restarts > 0);
                    if restarted {
                        pod.follow_again(&self.docker, &self.files.logs_dir, service);
                    }
                }
                let unhealthy_failure = matches!(
                    outcome.verdict,
                    Verdict::Fail {
                        kind: FailureKind::Unhealthy,
                        ..
                    }
                );
                if outcome.health_changed && (running || unhealthy_failure) {
                    let state = if running {
                        TaskState::Running
                    } else {
                        TaskState::Starting
                    };
                    let message = health_message(&pod);
                    self.send(
                        state,
                        message,
                        Some(Reason::TaskHealthCheckStatusUpdated),
                        Some(&pod),
                    );
                }
                self.on_verdict(pod, running, outcome.verdict)
            }
            Input::RestartFailed { service, error } => {
                let message = format!("restarting service `{service}` failed: {error}");
                self.fail_pod(pod, Some(Reason::ContainerLaunchFailed), message)
            }
            Input::Kill { grace, cap } => {
                self.announce_killing(Some(&pod));
                let grace = self.kill_grace(grace, cap);
                let running = pod.pod.clone();
                self.tear_down(*pod, grace);
                Phase::Killing(Killing::new(
                    Ending::Killed,
                    Awaiting::Teardown,
                    grace,
                    Some(running),
                ))
            }
            Input::LaunchTimeout if !running => {
                let (reason, message) = self.timeout_failure();
                self.fail_pod(pod, Some(reason), message)
            }
            Input::CompletionDeadline => {
                // No TASK_KILLING and no grace (ref §7.1).
                let message = self.completion_message();
                self.end_pod(
                    pod,
                    Some(Reason::MaxCompletionTimeReached),
                    message,
                    Duration::ZERO,
                )
            }
            Input::LaunchTimeout | Input::Progress(_) | Input::Launched(_) | Input::TornDown => {
                self.keep(pod, running)
            }
        }
    }

    fn on_verdict(&mut self, mut pod: Box<ActivePod>, running: bool, verdict: Verdict) -> Phase {
        match verdict {
            Verdict::Nothing => {}
            Verdict::Restart {
                service,
                container_id,
                delay,
            } => {
                tracing::info!(task_id = %self.task_id, %service, delay_ms = delay.as_millis() as u64, "restarting container");
                pod.restart_later(
                    &self.docker,
                    service,
                    container_id,
                    delay,
                    false,
                    self.inbox.clone(),
                );
            }
            Verdict::RestartRunning {
                service,
                container_id,
            } => {
                tracing::info!(task_id = %self.task_id, %service, "restarting unhealthy container");
                pod.restart_later(
                    &self.docker,
                    service,
                    container_id,
                    Duration::ZERO,
                    true,
                    self.inbox.clone(),
                );
            }
            Verdict::Fail { kind, message } => {
                // A plain exit of a running service has no reason, as with Mesos' built-in
                // executors (REASON_COMMAND_EXECUTOR_FAILED is deprecated); during the launch it
                // is a launch failure.
                let reason = match (kind, running) {
                    (FailureKind::Exited, true) => None,
                    (FailureKind::Exited, false) => Some(Reason::ContainerLaunchFailed),
                    (FailureKind::OutOfMemory, _) => Some(Reason::ContainerLimitationMemory),
                    (FailureKind::Unhealthy, _) => Some(Reason::TaskHealthCheckStatusUpdated),
                };
                return self.fail_pod(pod, reason, message);
            }
            Verdict::Finish => {
                let message = format!(
                    "pod {}: every service completed with exit code 0",
                    pod.plan.project_name
                );
                self.send(TaskState::Finished, message, None, Some(&pod));
                let grace = self.kill_grace(None, None);
                let running = pod.pod.clone();
                self.tear_down(*pod, grace);
                return Phase::Killing(Killing::new(
                    Ending::Reported(TaskState::Finished, None),
                    Awaiting::Teardown,
                    grace,
                    Some(running),
                ));
            }
        }
        if !running && pod.view.is_ready() {
            return self.became_ready(pod);
        }
        self.keep(pod, running)
    }

    fn became_ready(&mut self, pod: Box<ActivePod>) -> Phase {
        if let Some(timer) = self.launch_timer.take() {
            timer.abort();
        }
        if let Err(error) = pod.chain.post_launch(&pod.plan, &self.context) {
            return self.fail_pod(pod, Some(Reason::TaskInvalid), error.to_string());
        }
        let services: Vec<&str> = pod.view.services().keys().map(String::as_str).collect();
        let message = format!(
            "pod {} running: {}",
            pod.plan.project_name,
            services.join(", ")
        );
        self.send(TaskState::Running, message, None, Some(&pod));
        Phase::Running(pod)
    }

    fn on_killing(&mut self, mut killing: Killing, input: Input) -> Phase {
        match (input, killing.awaiting) {
            (Input::Launched(Ok(launched)), Awaiting::Launch) => {
                killing.pod = Some(launched.pod.clone());
                let remaining = killing.deadline.saturating_duration_since(Instant::now());
                tear_down_launched(
                    &self.docker,
                    *launched,
                    &self.context,
                    remaining,
                    self.inbox.clone(),
                );
                killing.awaiting = Awaiting::Teardown;
                Phase::Killing(killing)
            }
            (Input::Launched(Err(_)), Awaiting::Launch) | (Input::TornDown, Awaiting::Teardown) => {
                self.finish(killing.ending.clone())
            }
            (Input::Kill { grace, cap }, _) => {
                self.kill_again(&mut killing, grace, cap);
                Phase::Killing(killing)
            }
            _ => Phase::Killing(killing),
        }
    }

    /// A KILL during the kill: never extends the grace; a shorter one brings SIGKILL forward
    /// (ref §7.1: deadline = min(current, kill start + new grace)).
    fn kill_again(&self, killing: &mut Killing, grace: Option<Duration>, cap: Option<Duration>) {
        let deadline = killing.started + self.kill_grace(grace, cap);
        if deadline >= killing.deadline {
            tracing::info!(task_id = %self.task_id, "task is already being killed; the grace period is not extended");
            return;
        }
        tracing::info!(task_id = %self.task_id, "a later KILL shortened the grace period");
        killing.deadline = deadline;
        if let Some(pod) = &killing.pod {
            if let Some(previous) = killing.force.take() {
                previous.abort();
            }
            killing.force = Some(force_kill_at(&self.docker, pod.clone(), deadline));
        }
    }

    fn finish(&mut self, ending: Ending) -> Phase {
        match ending {
            Ending::Killed => {
                let project = pod::naming::project_name(self.task_id.as_str());
                self.send(
                    TaskState::Killed,
                    format!("pod {project} killed and removed"),
                    None,
                    None,
                );
                Phase::Terminal(TaskState::Killed, None)
            }
            Ending::Reported(state, reason) => Phase::Terminal(state, reason),
        }
    }

    /// TASK_FAILED now (the failure is reported at once), then the teardown.
    fn fail_pod(&mut self, pod: Box<ActivePod>, reason: Option<Reason>, message: String) -> Phase {
        let grace = self.kill_grace(None, None);
        self.end_pod(pod, reason, message, grace)
    }

    /// TASK_FAILED now, then the teardown within `grace`.
    fn end_pod(
        &mut self,
        pod: Box<ActivePod>,
        reason: Option<Reason>,
        message: String,
        grace: Duration,
    ) -> Phase {
        tracing::warn!(task_id = %self.task_id, reason = ?reason.as_ref().map(Reason::as_str), %message, "pod failed");
        self.send(TaskState::Failed, message, reason.clone(), Some(&pod));
        let running = pod.pod.clone();
        self.tear_down(*pod, grace);
        Phase::Killing(Killing::new(
            Ending::Reported(TaskState::Failed, reason),
            Awaiting::Teardown,
            grace,
            Some(running),
        ))
    }

    fn announce_killing(&mut self, pod: Option<&ActivePod>) {
        if self.killing_state() {
            let message = "killing the pod".to_string();
            self.send(TaskState::Killing, message, None, pod);
        }
    }

    fn tear_down(&mut self, pod: ActivePod, grace: Duration) {
        if let Some(timer) = self.launch_timer.take() {
            timer.abort();
        }
        pod.tear_down(&self.docker, &self.context, grace, self.inbox.clone());
    }

    fn keep(&self, pod: Box<ActivePod>, running: bool) -> Phase {
        if running {
            Phase::Running(pod)
        } else {
            Phase::Launching(Launching::Starting(pod))
        }
    }

    fn completion_message(&self) -> String {
        let limit = self
            .task
            .max_completion_time
            .as_ref()
            .map(|d| d.to_duration())
            .unwrap_or_default();
        format!(
            "the task reached its max_completion_time ({} ms); the pod was killed",
            limit.as_millis()
        )
    }

    fn timeout_failure(&self) -> (Reason, String) {
        let timeout = self.context.config.launch_timeout;
        (
            Reason::ContainerLaunchFailed,
            format!(
                "the pod did not become ready within launchtask.timeout ({}s)",
                timeout.as_secs()
            ),
        )
    }
}

fn health_message(pod: &ActivePod) -> String {
    let parts: Vec<String> = pod
        .view
        .services()
        .iter()
        .filter_map(|(name, s)| {
            s.health
                .map(|h| format!("{name}: {}", format!("{h:?}").to_lowercase()))
        })
        .collect();
    format!("health changed ({})", parts.join(", "))
}
