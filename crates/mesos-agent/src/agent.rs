//! The driver API: start a stand-in agent, launch an executor under it, act as the scheduler
//! (launch, kill, shutdown, messages), inject faults and read what the agent observed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use mesos::{Event, KillPolicy, TaskId, TaskInfo};
use tokio::task::AbortHandle;

use crate::config::{AckPolicy, AgentConfig};
use crate::env;
use crate::error::AgentError;
use crate::journal::{RequestRecord, SentEvent, SubscriptionRecord, UpdateRecord};
use crate::process::{self, ExecutorExit, ExecutorLaunch, ExecutorProcess, SandboxIds};
use crate::restart::{self, RestartPlan};
use crate::server::Server;
use crate::shared::{lock, Shared};
use crate::state::{ExecutorPhase, RecoveryPhase, Termination};
use crate::stream::ChunkMode;

/// A running stand-in agent. Cloning shares it; dropping the last clone stops the server and
/// destroys the executor it launched.
#[derive(Debug, Clone)]
pub struct Agent {
    inner: Arc<AgentInner>,
}

#[derive(Debug)]
struct AgentInner {
    shared: Arc<Shared>,
    server: Arc<Server>,
    background: Mutex<Vec<AbortHandle>>,
}

impl Drop for AgentInner {
    fn drop(&mut self) {
        for task in lock(&self.background).drain(..) {
            task.abort();
        }
        self.server.stop();
        // Dropping the owner SIGKILLs the executor's process group if it still runs.
        drop(self.shared.with(|st| st.process.take()));
    }
}

impl Agent {
    /// Starts the agent's HTTP server(s); must run inside a tokio runtime.
    pub async fn start(config: AgentConfig) -> Result<Agent, AgentError> {
        let server = Arc::new(Server::new(config.listen, config.unix_socket.clone()));
        let heartbeat = config.heartbeat_interval;
        let shared = Shared::new(config);
        server.listen(&shared)?;
        let agent = Agent {
            inner: Arc::new(AgentInner {
                shared,
                server,
                background: Mutex::new(Vec::new()),
            }),
        };
        if let Some(interval) = heartbeat {
            let weak = Arc::downgrade(&agent.inner.shared);
            let task = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    let Some(shared) = weak.upgrade() else { return };
                    shared.with(|st| {
                        if st.stream.is_some() {
                            st.send_event(&Event::Heartbeat);
                        }
                    });
                }
            });
            agent.background(task.abort_handle());
        }
        tracing::info!(endpoint = %agent.endpoint(), "agent stand-in listening");
        Ok(agent)
    }

    fn background(&self, task: AbortHandle) {
        let mut tasks = lock(&self.inner.background);
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The TCP address (`MESOS_AGENT_ENDPOINT`).
    pub fn endpoint(&self) -> SocketAddr {
        self.inner.server.tcp_addr()
    }

    /// The Unix socket path (`MESOS_DOMAIN_SOCKET`), if configured.
    pub fn socket_path(&self) -> Option<PathBuf> {
        self.inner.server.unix_path().cloned()
    }

    /// The configuration the agent runs with.
    pub fn config(&self) -> AgentConfig {
        self.shared().read(|st| st.config.clone())
    }

    /// The environment a real agent would give an executor with sandbox `sandbox` (ref §1);
    /// e.g. for `mesos::ExecutorEnv::from_vars` in an in-process test.
    pub fn executor_env(&self, sandbox: &Path) -> Vec<(String, String)> {
        let socket = self.socket_path();
        self.shared().read(|st| {
            env::executor_environment(&st.config, self.endpoint(), socket.as_deref(), sandbox)
        })
    }

    /// Launches the executor binary as the Mesos containerizer would (ref §1, §8.1). One
    /// executor per agent; a new one may be launched after the previous one exited.
    pub async fn launch_executor(
        &self,
        launch: ExecutorLaunch,
    ) -> Result<ExecutorProcess, AgentError> {
        let running = self
            .shared()
            .read(|st| st.process.is_some() && st.executor != ExecutorPhase::Terminated);
        if running {
            return Err(AgentError::ExecutorRunning);
        }
        let config = self.config();
        let ids = SandboxIds {
            agent_id: config.agent_id.as_str(),
            framework_id: config.framework_id.as_str(),
            executor_id: config.executor_id.as_str(),
            container_id: &config.container_id.value,
        };
        let spawned = process::spawn(&launch, &ids, |sandbox| self.executor_env(sandbox))?;
        let handle = spawned.process.clone();
        let (generation, timeout) = self.shared().with(|st| {
            st.process = Some((spawned.owner, spawned.process));
            st.executor = ExecutorPhase::Registering;
            st.exit = None;
            st.termination = None;
            st.destroyed_by_agent = false;
            st.subscribed_since_launch = false;
            st.launch_generation += 1;
            (st.launch_generation, st.config.registration_timeout)
        });
        self.inner.shared.watch_exit(spawned.exit);
        self.inner
            .shared
            .arm_registration_timeout(generation, timeout);
        Ok(handle)
    }

    /// The scheduler launches a task: LAUNCH now if the executor is subscribed, else queued
    /// until it subscribes.
    pub fn launch(&self, task: TaskInfo) {
        self.shared().with(|st| st.launch(vec![task], false));
    }

    /// The scheduler launches a task group (one LAUNCH_GROUP event).
    pub fn launch_group(&self, tasks: Vec<TaskInfo>) {
        if !tasks.is_empty() {
            self.shared().with(|st| st.launch(tasks, true));
        }
    }

    /// The scheduler kills a task: KILL to the executor, or TASK_KILLED from the agent for a
    /// task not delivered yet (ref §7.1).
    pub fn kill(&self, task_id: &str, kill_policy: Option<KillPolicy>) {
        let id = TaskId::new(task_id);
        self.shared().with(|st| st.kill(&id, kill_policy));
    }

    /// Shuts the executor down: SHUTDOWN now, destroy after the shutdown grace period.
    pub fn shutdown(&self) {
        let grace = self.shared().with(|st| {
            st.shutdown();
            st.config.shutdown_grace_period
        });
        self.inner.shared.arm_shutdown_destroy(grace);
    }

    /// The framework is torn down: like [`Agent::shutdown`], but from now on the executor's
    /// updates are ignored and never ACKed (ref §0.14, §7.2), so it must exit without them.
    pub fn teardown_framework(&self) {
        self.shared().with(|st| st.framework_terminating = true);
        self.shutdown();
    }

    /// Destroys the executor now (SIGKILL of its process group); its live tasks get
    /// `TASK_FAILED` + `REASON_EXECUTOR_TERMINATED` from the agent.
    pub fn destroy_executor(&self) {
        self.shared().with(|st| {
            st.destroy(Termination {
                state: mesos::TaskState::Failed,
                reason: mesos::Reason::ExecutorTerminated,
                message: "Executor terminated".to_string(),
            })
        });
    }

    /// The scheduler acknowledged the task's terminal update: later updates for the task are
    /// never ACKed (ref §0.14).
    pub fn complete_task(&self, task_id: &str) {
        let id = TaskId::new(task_id);
        self.shared().with(|st| st.complete_task(&id));
    }

    /// Sends a framework message (MESSAGE event). Returns whether a stream took it.
    pub fn send_message(&self, data: impl Into<Vec<u8>>) -> bool {
        self.send_event(Event::Message(data.into()))
    }

    /// Sends any typed event (HEARTBEAT, ERROR, ACKNOWLEDGED with a made-up UUID…).
    pub fn send_event(&self, event: Event) -> bool {
        self.shared().with(|st| st.send_event(&event))
    }

    /// Sends any JSON as one RecordIO record (unknown event types, extra fields…).
    pub fn send_json(&self, json: &serde_json::Value) -> bool {
        let kind = json
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("UNTYPED")
            .to_string();
        let bytes = json.to_string();
        self.shared()
            .with(|st| st.send_record(kind, bytes.as_bytes()))
    }

    /// Writes bytes to the stream as they are (malformed RecordIO, partial records).
    pub fn inject_raw(&self, bytes: impl Into<Bytes>) -> bool {
        let bytes = bytes.into();
        self.shared().with(|st| st.send_raw(bytes))
    }

    /// Ends the current event stream cleanly (terminal chunk); the connection stays open.
    pub fn close_stream(&self) {
        self.shared().with(|st| st.stream = None);
    }

    /// Drops the subscription connection; `reset` closes it with a TCP RST.
    pub fn drop_stream_connection(&self, reset: bool) {
        let conn = self.shared().with(|st| {
            let conn = st.stream.as_ref().map(|(_, s)| s.conn_id());
            st.stream = None;
            conn
        });
        if let Some(conn) = conn {
            self.inner.server.drop_connection(conn, reset);
        }
    }

    /// The agent forgets that the executor subscribed (as a restarted agent whose restart the
    /// executor did not notice): non-SUBSCRIBE calls get `403 Executor is not subscribed` until
    /// it subscribes again. The current stream stays open.
    pub fn forget_subscription(&self) {
        self.shared().with(|st| {
            if st.executor == ExecutorPhase::Running {
                st.executor = ExecutorPhase::Registering;
            }
        });
    }

    /// Stalls the stream: it stays open but carries no data until [`Agent::resume`]; events
    /// meanwhile are held, not dropped.
    pub fn stall(&self) {
        self.shared().with(|st| st.stalled = true);
    }

    /// Ends a stall and sends the held events.
    pub fn resume(&self) {
        self.shared().with(|st| st.stalled = false);
    }

    /// Changes the ACK policy for updates that arrive from now on.
    pub fn set_ack_policy(&self, policy: AckPolicy) {
        self.shared().with(|st| st.ack_policy = policy);
    }

    /// Changes how the stream is cut into HTTP chunks.
    pub fn set_chunk_mode(&self, mode: ChunkMode) {
        self.shared().with(|st| st.chunk_mode = mode);
    }

    /// Simulates an agent restart (ref §6.4): connections drop now and are refused for
    /// `plan.down_for`; then 503 for every call for `plan.recovering_for`; then the
    /// reregistration window; an executor that did not resubscribe is then destroyed and its
    /// tasks become TASK_LOST (TASK_GONE if PARTITION_AWARE). Returns at once.
    pub fn restart(&self, plan: RestartPlan) {
        let task = restart::begin(&self.inner.shared, &self.inner.server, plan);
        self.background(task);
    }

    /// Every update for `task_id`, in arrival order.
    pub fn updates(&self, task_id: &str) -> Vec<UpdateRecord> {
        self.shared().read(|st| {
            st.journal
                .iter()
                .filter(|r| r.task_id.as_str() == task_id)
                .cloned()
                .collect()
        })
    }

    /// A live feed of every update the agent journals from now on (e.g. for `dce up` to print
    /// them as they arrive). A receiver that falls more than 1024 updates behind loses the
    /// oldest ones (`RecvError::Lagged`); [`Agent::journal`] always has them all.
    pub fn update_feed(&self) -> tokio::sync::broadcast::Receiver<UpdateRecord> {
        self.shared().read(|st| st.feed.subscribe())
    }

    /// Every update of every task, in arrival order.
    pub fn journal(&self) -> Vec<UpdateRecord> {
        self.shared().read(|st| st.journal.clone())
    }

    /// Every request to the executor API, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared().read(|st| st.requests.clone())
    }

    /// Every accepted SUBSCRIBE.
    pub fn subscriptions(&self) -> Vec<SubscriptionRecord> {
        self.shared().read(|st| st.subscriptions.clone())
    }

    /// Every event the agent tried to send.
    pub fn events(&self) -> Vec<SentEvent> {
        self.shared().read(|st| st.events.clone())
    }

    /// The data of every MESSAGE call, in order.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.shared().read(|st| st.messages.clone())
    }

    /// The executor's state as the agent sees it.
    pub fn executor_phase(&self) -> ExecutorPhase {
        self.shared().read(|st| st.executor)
    }

    /// Where the agent is in a simulated restart.
    pub fn recovery_phase(&self) -> RecoveryPhase {
        self.shared().read(|st| st.recovery)
    }

    /// Whether the agent had to destroy the executor (it did not exit by itself).
    pub fn destroyed_executor(&self) -> bool {
        self.shared().read(|st| st.destroyed_by_agent)
    }

    /// How the launched executor ended, once the agent noticed.
    pub fn executor_exit(&self) -> Option<ExecutorExit> {
        self.shared().read(|st| st.exit)
    }

    /// Waits until `check` returns `Some`, re-evaluating on every change of the agent's state;
    /// at most `timeout` (a hang guard, not an assertion).
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Agent) -> Option<T>,
    ) -> Result<T, AgentError> {
        let mut changes = self.inner.shared.changes();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if let Some(found) = check(self) {
                return Ok(found);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    return Err(AgentError::Timeout {
                        what: what.to_string(),
                        timeout,
                    })
                }
            }
        }
    }

    /// Waits for an update of `task_id` matching `matches`.
    pub async fn wait_for_update(
        &self,
        task_id: &str,
        timeout: Duration,
        mut matches: impl FnMut(&UpdateRecord) -> bool,
    ) -> Result<UpdateRecord, AgentError> {
        let what = format!("an update of task {task_id}");
        self.wait_for(&what, timeout, |agent| {
            agent.updates(task_id).into_iter().find(|r| matches(r))
        })
        .await
    }

    /// Waits until `count` SUBSCRIBEs have been accepted.
    pub async fn wait_subscribed(&self, count: usize, timeout: Duration) -> Result<(), AgentError> {
        let what = format!("{count} subscription(s)");
        self.wait_for(&what, timeout, |agent| {
            (agent.subscriptions().len() >= count).then_some(())
        })
        .await
    }
}
