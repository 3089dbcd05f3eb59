//! The executor session (ref §2, §5, §6): SUBSCRIBE on a dedicated connection and read its
//! RecordIO event stream; every other call on a second connection; acknowledgement bookkeeping;
//! resubscription with everything unacknowledged; back-off and recovery timeout.
//!
//! Two tasks run per session: the *subscription* (subscribe, read events, decide what a
//! disconnection means) and the *outbox* (send UPDATE/MESSAGE calls one at a time, so the updates
//! of a task reach the agent in order). They share [`Shared`]; events go to the application over an
//! unbounded channel so delivery never waits for the consumer.

mod ledger;
mod outbox;
mod subscription;
mod transport;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch, Notify};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::env::ExecutorEnv;
use crate::types::{
    AgentId, AgentInfo, ContainerId, ExecutorInfo, FrameworkInfo, KillPolicy, Source, TaskId,
    TaskInfo, TaskStatus,
};
use ledger::Ledger;

/// What the session tells the application.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // rare events; boxing would only burden the consumer
pub enum SessionEvent {
    /// The agent accepted a (re)subscription.
    Subscribed {
        /// This executor as the framework described it.
        executor_info: ExecutorInfo,
        /// The framework, incl. its capabilities.
        framework_info: FrameworkInfo,
        /// The agent, incl. its id.
        agent_info: AgentInfo,
        /// The executor's container (Mesos >= 1.1).
        container_id: Option<ContainerId>,
    },
    /// Run one task.
    Launch(TaskInfo),
    /// Run a group of tasks (each must be answered individually).
    LaunchGroup(Vec<TaskInfo>),
    /// Kill one task; `kill_policy` overrides the task's own.
    Kill {
        /// The task.
        task_id: TaskId,
        /// Override of the task's kill policy.
        kill_policy: Option<KillPolicy>,
    },
    /// An update sent by [`Session::update`] was acknowledged.
    Acknowledged {
        /// Its task.
        task_id: TaskId,
        /// The uuid [`Session::update`] returned.
        uuid: Uuid,
    },
    /// Opaque data from the scheduler.
    Message(Vec<u8>),
    /// Kill every task and exit.
    Shutdown,
    /// An ERROR event, or a call the agent rejected as malformed (an executor bug).
    Error(String),
    /// The stream broke; the session is resubscribing (checkpoint=1 only).
    Disconnected,
    /// The session gave up: disconnected without checkpointing, `MESOS_RECOVERY_TIMEOUT` elapsed
    /// since the first disconnection, or the agent refused the subscription for good.
    Lost {
        /// Why.
        reason: String,
    },
}

/// State of the subscription, watched by the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Not subscribed (yet, or again).
    Down,
    /// Subscribed; the number counts successful subscriptions.
    Up(u64),
    /// The session ended.
    Stopped,
}

/// A call waiting in the outbox.
#[derive(Debug, Clone)]
enum Outgoing {
    Update(Uuid),
    Message(Vec<u8>),
}

#[derive(Debug, Default)]
struct State {
    ledger: Ledger,
    outbox: VecDeque<Outgoing>,
    agent_id: Option<AgentId>,
    stopped: bool,
}

/// What both session tasks and every [`Session`] handle share.
struct Shared {
    env: ExecutorEnv,
    state: Mutex<State>,
    /// Wakes the outbox when a call is queued.
    outbox_ready: Notify,
    /// Wakes `wait_acknowledged` on every ACK and on stop.
    acked: Notify,
    link: watch::Sender<Link>,
    /// The subscription generation for which the agent answered 403 "not subscribed".
    resubscribe: watch::Sender<u64>,
    cancel: CancellationToken,
    /// Dropped on stop, so the application's receiver ends after the last event.
    events: Mutex<Option<mpsc::UnboundedSender<SessionEvent>>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn emit(&self, event: SessionEvent) {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(events) = events.as_ref() {
            // A consumer that went away does not stop the session.
            let _ = events.send(event);
        }
    }

    /// Ends the session: no more subscribing, sending or events.
    fn stop(&self) {
        self.state().stopped = true;
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.cancel.cancel();
        self.link.send_replace(Link::Stopped);
        self.acked.notify_waiters();
    }

    /// Upper bound of one SUBSCRIBE retry interval.
    fn backoff_max(&self) -> Duration {
        self.env
            .subscription_backoff_max
            .unwrap_or(DEFAULT_BACKOFF_MAX)
    }
}

/// Retry interval bound when `MESOS_SUBSCRIPTION_BACKOFF_MAX` is not set (the official library
/// retries the first SUBSCRIBE every second).
const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A cheap, cloneable handle on the executor session.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("executor_id", &self.shared.env.executor_id)
            .field("unacknowledged", &self.unacknowledged())
            .finish()
    }
}

impl Session {
    /// Spawns the session tasks on the current tokio runtime and starts subscribing.
    ///
    /// Must be called from within a tokio runtime.
    pub fn start(env: ExecutorEnv) -> (Session, mpsc::UnboundedReceiver<SessionEvent>) {
        let (events, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            env,
            state: Mutex::new(State::default()),
            outbox_ready: Notify::new(),
            acked: Notify::new(),
            link: watch::Sender::new(Link::Down),
            resubscribe: watch::Sender::new(0),
            cancel: CancellationToken::new(),
            events: Mutex::new(Some(events)),
        });
        match transport::Endpoint::new(&shared.env) {
            Ok(endpoint) => {
                tokio::spawn(subscription::run(shared.clone(), endpoint.clone()));
                tokio::spawn(outbox::run(shared.clone(), endpoint));
            }
            Err(error) => {
                shared.emit(SessionEvent::Lost {
                    reason: error.to_string(),
                });
                shared.stop();
            }
        }
        (Session { shared }, receiver)
    }

    /// Fills uuid (fresh v4, 16 raw bytes), source=SOURCE_EXECUTOR, timestamp (when unset),
    /// executor_id and agent_id (when unset and known); queues the UPDATE; keeps it until
    /// ACKNOWLEDGED; never blocks; returns the uuid.
    pub fn update(&self, mut status: TaskStatus) -> Uuid {
        let uuid = Uuid::new_v4();
        status.uuid = Some(uuid.as_bytes().to_vec());
        status.source = Some(Source::Executor);
        status.executor_id = Some(self.shared.env.executor_id.clone());
        if status.timestamp.is_none() {
            status.timestamp = Some(now_seconds());
        }
        {
            let mut state = self.shared.state();
            if status.agent_id.is_none() {
                status.agent_id = state.agent_id.clone();
            }
            tracing::debug!(task_id = %status.task_id, state = %status.state, %uuid, "queueing status update");
            state.ledger.add_update(uuid, status);
            state.outbox.push_back(Outgoing::Update(uuid));
        }
        self.shared.outbox_ready.notify_one();
        uuid
    }

    /// Queues a MESSAGE call to the scheduler (best effort; never blocks).
    pub fn send_message(&self, data: Vec<u8>) {
        self.shared
            .state()
            .outbox
            .push_back(Outgoing::Message(data));
        self.shared.outbox_ready.notify_one();
    }

    /// Number of updates not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.shared.state().ledger.pending()
    }

    /// Resolves when every update sent so far is acknowledged (true), or after `timeout` or when
    /// the session has ended with some still unacknowledged (false).
    pub async fn wait_acknowledged(&self, timeout: Duration) -> bool {
        let waiting = self.shared.state().ledger.pending_uuids();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.acked.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.shared.state();
                if !waiting.iter().any(|u| state.ledger.is_pending(*u)) {
                    return true;
                }
                if state.stopped {
                    return false;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let state = self.shared.state();
                return !waiting.iter().any(|u| state.ledger.is_pending(*u));
            }
        }
    }

    /// Stops the session: closes the subscription, stops retrying and sending, and ends the event
    /// channel (after the events already in it).
    pub fn close(&self) {
        self.shared.stop();
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
