//! The agent's model of its one framework/executor and the executor's tasks, mirroring
//! `Slave::Framework`/`Executor` (ref §6.1, §8.1), and the status update path of ref §5.5.

use std::collections::HashSet;
use std::time::Instant;

use bytes::Bytes;
use mesos::{CapabilityType, Event, Reason, Subscribed, TaskId, TaskInfo, TaskState};

use crate::config::{AckPolicy, AgentConfig};
use crate::journal::{RequestRecord, SentEvent, SubscriptionRecord, UpdateOrigin, UpdateRecord};
use crate::process::{ExecutorExit, ExecutorProcess, ProcessOwner};
use crate::stream::{ChunkMode, EventStream};

mod update_path;

/// The executor as the agent sees it (ref §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorPhase {
    /// Launched (or recovered after a restart) and not subscribed yet.
    Registering,
    /// Subscribed; stays so when the stream breaks.
    Running,
    /// SHUTDOWN sent or being destroyed.
    Terminating,
    /// The process is gone.
    Terminated,
}

/// Where the agent is in a (simulated) restart (ref §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryPhase {
    /// Normal operation.
    Running,
    /// The agent process is gone: connections are refused.
    Down,
    /// Containerizer recovery: every call gets `503 Agent has not finished recovery`.
    ContainerizerRecovering,
    /// Reregistration window: SUBSCRIBE accepted, other calls 503.
    Reregistering,
}

/// Where a task is on the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskPlace {
    /// Waiting for the executor to subscribe.
    Queued,
    /// Sent to the executor (LAUNCH / LAUNCH_GROUP).
    Launched,
    /// Terminal update acknowledged by the scheduler: unknown for update lookups.
    Completed,
}

#[derive(Debug)]
struct TaskEntry {
    info: TaskInfo,
    place: TaskPlace,
    /// The agent's view of the task state (`TASK_STAGING` until the executor reports).
    state: TaskState,
    terminal_uuid: Option<Vec<u8>>,
    terminal: bool,
    seen_uuids: HashSet<Vec<u8>>,
}

/// A queued LAUNCH or LAUNCH_GROUP.
#[derive(Debug, Clone)]
enum Pending {
    Task(TaskId),
    Group(Vec<TaskId>),
}

/// A terminal state and reason the agent assigns to live tasks when it destroys the executor.
#[derive(Debug, Clone)]
pub(crate) struct Termination {
    pub(crate) state: TaskState,
    pub(crate) reason: Reason,
    pub(crate) message: String,
}

/// A delayed ACK to schedule after the state lock is released.
#[derive(Debug, Clone)]
pub(crate) struct DelayedAck {
    pub(crate) record: usize,
    pub(crate) delay: std::time::Duration,
}

/// Everything the agent knows; guarded by one mutex in [`crate::shared::Shared`].
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: AgentConfig,
    pub(crate) recovery: RecoveryPhase,
    pub(crate) executor: ExecutorPhase,
    pub(crate) framework_known: bool,
    /// The framework is being torn down: its executors' updates are ignored, never ACKed.
    pub(crate) framework_terminating: bool,
    pub(crate) stream: Option<(u64, EventStream)>,
    pub(crate) chunk_mode: ChunkMode,
    pub(crate) ack_policy: AckPolicy,
    pub(crate) stalled: bool,
    tasks: Vec<TaskEntry>,
    pending: Vec<Pending>,
    ever_launched: bool,
    pub(crate) journal: Vec<UpdateRecord>,
    pub(crate) requests: Vec<RequestRecord>,
    pub(crate) subscriptions: Vec<SubscriptionRecord>,
    pub(crate) events: Vec<SentEvent>,
    pub(crate) messages: Vec<Vec<u8>>,
    pub(crate) process: Option<(ProcessOwner, ExecutorProcess)>,
    pub(crate) exit: Option<ExecutorExit>,
    pub(crate) termination: Option<Termination>,
    pub(crate) destroyed_by_agent: bool,
    /// Counts executor launches, so a timer can tell whether its launch is still current.
    pub(crate) launch_generation: u64,
    /// Whether the executor subscribed since it was launched.
    pub(crate) subscribed_since_launch: bool,
    /// Live feed of journaled updates (for `dce up`).
    pub(crate) feed: tokio::sync::broadcast::Sender<UpdateRecord>,
    pub(crate) delayed_acks: Vec<DelayedAck>,
}

impl State {
    pub(crate) fn new(config: AgentConfig) -> State {
        State {
            recovery: RecoveryPhase::Running,
            executor: ExecutorPhase::Registering,
            framework_known: true,
            framework_terminating: false,
            stream: None,
            chunk_mode: config.chunk_mode,
            ack_policy: config.ack_policy,
            stalled: false,
            tasks: Vec::new(),
            pending: Vec::new(),
            ever_launched: false,
            journal: Vec::new(),
            requests: Vec::new(),
            subscriptions: Vec::new(),
            events: Vec::new(),
            messages: Vec::new(),
            process: None,
            exit: None,
            termination: None,
            destroyed_by_agent: false,
            launch_generation: 0,
            subscribed_since_launch: false,
            feed: tokio::sync::broadcast::channel(1024).0,
            delayed_acks: Vec::new(),
            config,
        }
    }

    fn partition_aware(&self) -> bool {
        self.config.has_capability(&CapabilityType::PartitionAware)
    }

    /// Writes an event to the current stream; without one it is dropped (ref §0.6).
    pub(crate) fn send_event(&mut self, event: &Event) -> bool {
        match serde_json::to_vec(event) {
            Ok(json) => self.send_record(event.type_name().to_string(), &json),
            Err(e) => {
                tracing::error!(error = %e, "cannot encode event");
                false
            }
        }
    }

    /// Writes one RecordIO record with the given JSON (which may be any JSON at all).
    pub(crate) fn send_record(&mut self, kind: String, json: &[u8]) -> bool {
        let subscription = self.live_stream().map(|(seq, stream)| {
            stream.push_record(json);
            seq
        });
        self.note_event(kind, subscription)
    }

    /// Writes bytes as they are, without RecordIO framing.
    pub(crate) fn send_raw(&mut self, bytes: Bytes) -> bool {
        let subscription = self.live_stream().map(|(seq, stream)| {
            stream.push_raw(bytes);
            seq
        });
        self.note_event("RAW".to_string(), subscription)
    }

    fn live_stream(&mut self) -> Option<(u64, &mut EventStream)> {
        match &mut self.stream {
            Some((seq, stream)) if stream.is_open() => Some((*seq, stream)),
            _ => None,
        }
    }

    fn note_event(&mut self, kind: String, subscription: Option<u64>) -> bool {
        let seq = self.events.len() as u64 + 1;
        tracing::debug!(%kind, delivered = subscription.is_some(), "event");
        self.events.push(SentEvent {
            seq,
            kind,
            delivered: subscription.is_some(),
            subscription,
        });
        subscription.is_some()
    }

    /// Sends what is queued on the stream, unless the agent is stalled.
    pub(crate) fn flush(&mut self) {
        if self.stalled {
            return;
        }
        let mode = self.chunk_mode;
        if let Some((_, stream)) = &mut self.stream {
            stream.flush(mode);
        }
    }

    /// A LAUNCH from the scheduler: sent now to a subscribed executor, else queued.
    pub(crate) fn launch(&mut self, mut tasks: Vec<TaskInfo>, group: bool) {
        for task in &mut tasks {
            if task.agent_id.is_none() {
                task.agent_id = Some(self.config.agent_id.clone());
            }
            if task.executor.is_none() {
                task.executor = Some(self.config.effective_executor_info());
            }
            task.forget_raw();
        }
        let ids: Vec<TaskId> = tasks.iter().map(|t| t.task_id.clone()).collect();
        for info in tasks {
            self.tasks.retain(|t| t.info.task_id != info.task_id);
            self.tasks.push(TaskEntry {
                info,
                place: TaskPlace::Queued,
                state: TaskState::Staging,
                terminal_uuid: None,
                terminal: false,
                seen_uuids: HashSet::new(),
            });
        }
        let pending = if group {
            Pending::Group(ids)
        } else {
            Pending::Task(ids[0].clone())
        };
        match self.executor {
            ExecutorPhase::Running => self.deliver(pending),
            ExecutorPhase::Registering => self.pending.push(pending),
            ExecutorPhase::Terminating | ExecutorPhase::Terminated => {
                let ids = match pending {
                    Pending::Task(id) => vec![id],
                    Pending::Group(ids) => ids,
                };
                let lost = if self.partition_aware() {
                    TaskState::Dropped
                } else {
                    TaskState::Lost
                };
                for id in ids {
                    self.agent_update(
                        &id,
                        lost.clone(),
                        Reason::ExecutorTerminated,
                        "Executor terminating",
                    );
                }
            }
        }
    }

    fn deliver(&mut self, pending: Pending) {
        let ids = match &pending {
            Pending::Task(id) => vec![id.clone()],
            Pending::Group(ids) => ids.clone(),
        };
        let mut infos: Vec<TaskInfo> = Vec::new();
        for task in self
            .tasks
            .iter_mut()
            .filter(|t| ids.contains(&t.info.task_id))
        {
            task.place = TaskPlace::Launched;
            infos.push(task.info.clone());
        }
        if infos.is_empty() {
            return;
        }
        self.ever_launched = true;
        let event = match pending {
            Pending::Task(_) => Event::Launch(Box::new(infos[0].clone())),
            Pending::Group(_) => Event::LaunchGroup(infos),
        };
        self.send_event(&event);
    }

    fn task_mut(&mut self, id: &TaskId) -> Option<&mut TaskEntry> {
        self.tasks.iter_mut().find(|t| &t.info.task_id == id)
    }

    /// A scheduler's KILL (ref §7.1).
    pub(crate) fn kill(&mut self, task_id: &TaskId, kill_policy: Option<mesos::KillPolicy>) {
        if matches!(
            self.executor,
            ExecutorPhase::Terminating | ExecutorPhase::Terminated
        ) {
            return;
        }
        let place = self.task_mut(task_id).map(|t| t.place);
        match place {
            Some(TaskPlace::Queued) => {
                self.unqueue(task_id);
                self.agent_update(
                    task_id,
                    TaskState::Killed,
                    Reason::TaskKilledDuringLaunch,
                    "Killed before delivery to the executor",
                );
                // All queued tasks killed before any was sent: SHUTDOWN without SUBSCRIBED.
                if self.pending.is_empty() && !self.ever_launched {
                    self.executor = ExecutorPhase::Terminating;
                }
            }
            Some(TaskPlace::Launched) => {
                let event = Event::Kill(mesos::Kill {
                    task_id: task_id.clone(),
                    kill_policy,
                });
                self.send_event(&event);
            }
            Some(TaskPlace::Completed) | None => {
                tracing::info!(task = %task_id, "KILL for an unknown task ignored");
            }
        }
    }

    /// Removes a task from the queued LAUNCH/LAUNCH_GROUPs.
    fn unqueue(&mut self, task_id: &TaskId) {
        self.pending.retain_mut(|p| match p {
            Pending::Task(id) => id != task_id,
            Pending::Group(ids) => {
                ids.retain(|id| id != task_id);
                !ids.is_empty()
            }
        });
    }

    /// The scheduler acknowledged the task's terminal update: the task becomes unknown.
    pub(crate) fn complete_task(&mut self, task_id: &TaskId) {
        if let Some(task) = self.task_mut(task_id) {
            if task.terminal {
                task.place = TaskPlace::Completed;
            }
        }
    }

    /// SUBSCRIBE (ref §6.2 step 3, §6.4 step 4). Returns false when only SHUTDOWN is sent.
    pub(crate) fn subscribe(
        &mut self,
        subscribe: mesos::Subscribe,
        conn_id: u64,
        stream: EventStream,
    ) -> bool {
        let seq = self.subscriptions.len() as u64 + 1;
        let shutdown_only = matches!(
            self.executor,
            ExecutorPhase::Terminating | ExecutorPhase::Terminated
        );
        self.subscriptions.push(SubscriptionRecord {
            seq,
            connection: conn_id,
            unacknowledged_tasks: subscribe
                .unacknowledged_tasks
                .iter()
                .map(|t| t.task_id.clone())
                .collect(),
            unacknowledged_updates: subscribe
                .unacknowledged_updates
                .iter()
                .map(|u| u.status.clone())
                .collect(),
            during_recovery: self.recovery == RecoveryPhase::Reregistering,
            shutdown_only,
            received_at: Instant::now(),
        });
        // Replacing the stream drops the previous one, which ends its body cleanly (ref §0.7).
        self.stream = Some((seq, stream));
        if shutdown_only {
            self.send_event(&Event::Shutdown);
            self.flush();
            self.stream = None;
            return false;
        }
        self.executor = ExecutorPhase::Running;
        self.subscribed_since_launch = true;

        let listed: HashSet<&TaskId> = subscribe
            .unacknowledged_tasks
            .iter()
            .map(|t| &t.task_id)
            .collect();
        let stale: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|t| t.place == TaskPlace::Launched && t.state == TaskState::Staging)
            .filter(|t| !listed.contains(&t.info.task_id))
            .map(|t| t.info.task_id.clone())
            .collect();
        let lost = if self.partition_aware() {
            TaskState::Dropped
        } else {
            TaskState::Lost
        };
        for id in stale {
            self.agent_update(
                &id,
                lost.clone(),
                Reason::AgentRestarted,
                "Task launched during agent restart",
            );
        }

        let subscribed = Subscribed {
            executor_info: self.config.effective_executor_info(),
            framework_info: self.config.effective_framework_info(),
            agent_info: self.config.effective_agent_info(),
            container_id: Some(self.config.container_id.clone()),
        };
        self.send_event(&Event::Subscribed(Box::new(subscribed)));
        for update in subscribe.unacknowledged_updates {
            self.status_update(update.status, UpdateOrigin::Resubscribe);
        }
        for pending in std::mem::take(&mut self.pending) {
            self.deliver(pending);
        }
        true
    }

    /// SHUTDOWN of the executor (ref §7.2); the caller arms the destroy after the grace period.
    pub(crate) fn shutdown(&mut self) {
        if matches!(self.executor, ExecutorPhase::Terminated) {
            return;
        }
        self.executor = ExecutorPhase::Terminating;
        self.send_event(&Event::Shutdown);
    }

    /// The executor process is gone (ref §6.5): terminal updates for every live task.
    pub(crate) fn executor_terminated(&mut self, exit: Option<ExecutorExit>) {
        if self.executor == ExecutorPhase::Terminated {
            return;
        }
        self.executor = ExecutorPhase::Terminated;
        self.exit = exit;
        self.stream = None;
        self.pending.clear();
        if !self.framework_known {
            return;
        }
        let termination = self.termination.clone().unwrap_or(Termination {
            state: TaskState::Failed,
            reason: Reason::ExecutorTerminated,
            message: "Executor terminated".to_string(),
        });
        let live: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|t| !t.terminal && t.place != TaskPlace::Completed)
            .map(|t| t.info.task_id.clone())
            .collect();
        for id in live {
            self.agent_update(
                &id,
                termination.state.clone(),
                termination.reason.clone(),
                &termination.message,
            );
        }
    }

    /// The agent decided to destroy the executor: SIGKILL its process group. Without a process
    /// (an in-process executor) the termination takes effect at once.
    pub(crate) fn destroy(&mut self, termination: Termination) {
        if self.executor == ExecutorPhase::Terminated {
            return;
        }
        self.termination = Some(termination);
        self.destroyed_by_agent = true;
        self.executor = ExecutorPhase::Terminating;
        match &self.process {
            Some((owner, _)) => owner.destroy(),
            None => self.executor_terminated(None),
        }
    }

    /// Termination used when an executor missed the reregistration window (ref §6.4 step 6).
    pub(crate) fn reregistration_timeout(&self) -> Termination {
        Termination {
            state: if self.partition_aware() {
                TaskState::Gone
            } else {
                TaskState::Lost
            },
            reason: Reason::ExecutorReregistrationTimeout,
            message: "Executor did not reregister within the reregistration window".to_string(),
        }
    }
}
