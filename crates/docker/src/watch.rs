//! One events subscription per pod, turned into a channel of [`PodEvent`]s for the executor.
//!
//! No polling: the watcher sleeps in the events stream. When the stream breaks (daemon restart,
//! read error) it reconnects with `since=<last event time>`, re-inspects every container and
//! reports what changed during the gap, each change once (see [`crate::events::PodState`]).

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::events::{
    pod_filters, time::now_nanos, EngineAction, EngineEvent, EventSource, PodEvent, PodState,
    RunState,
};
use crate::labels;
use crate::running::RunningPod;

/// Capacity of the event channel; the watcher waits (it does not drop events) when it is full.
const CHANNEL_CAPACITY: usize = 256;
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// The engine may record an OOM kill (its `oom` event, `State.OOMKilled`) just after the
/// container's `die` (cgroup v1 reports the OOM asynchronously), so a SIGKILL exit that is not
/// yet marked as OOM is inspected once more after this pause.
const OOM_SETTLE: Duration = Duration::from_millis(100);
/// Exit code of a process killed by SIGKILL, which is how the OOM killer ends it.
const SIGKILL_EXIT: i64 = 128 + 9;

/// A running watch over one pod. Dropping it stops the watch.
pub struct PodWatcher {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl PodWatcher {
    /// Watches `pod` on the engine. The first events describe each container's state when
    /// watching began (`Started`, then `Exited` if it already stopped, and `Health`), then every
    /// change as it happens. Containers that carry the pod's labels but are not in `pod` are
    /// reported too (by their service label).
    pub fn start(docker: Docker, pod: &RunningPod) -> (Self, mpsc::Receiver<PodEvent>) {
        Self::start_with(docker, pod)
    }

    /// Like [`PodWatcher::start`] with any [`EventSource`]; the seam tests use to break the
    /// stream.
    pub fn start_with<S: EventSource>(
        source: S,
        pod: &RunningPod,
    ) -> (Self, mpsc::Receiver<PodEvent>) {
        let (events_tx, events_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (stop_tx, stop_rx) = oneshot::channel();
        let run = WatchRun {
            source,
            pod: pod.clone(),
            state: PodState::new(pod),
            events: events_tx,
            connected: false,
            outage_reported: false,
        };
        let task = tokio::spawn(run.run(stop_rx));
        let watcher = Self {
            stop: Some(stop_tx),
            task,
        };
        (watcher, events_rx)
    }

    /// Stops watching and waits until the subscription is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for PodWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why one connected period ended.
enum Ended {
    /// Stop requested or nobody listens any more.
    Finished,
    /// The stream or an inspection failed; reconnect.
    Broken(String),
}

struct WatchRun<S> {
    source: S,
    pod: RunningPod,
    state: PodState,
    events: mpsc::Sender<PodEvent>,
    /// The current period got past its reconciliation (the engine answered).
    connected: bool,
    /// An outage was reported and `DaemonReconnected` is still owed.
    outage_reported: bool,
}

impl<S: EventSource> WatchRun<S> {
    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let task_id = self.task_id().await;
        let filters = pod_filters(&self.pod.project, task_id.as_deref());
        let mut since = Some(now_nanos());
        let mut retry = FIRST_RETRY;
        loop {
            let ended = tokio::select! {
                _ = &mut stop => Ended::Finished,
                ended = self.connected_period(filters.clone(), since) => ended,
            };
            let Ended::Broken(reason) = ended else {
                return;
            };
            if self.connected {
                retry = FIRST_RETRY;
            }
            if !self.outage_reported {
                warn!(project = %self.pod.project, %reason, "docker events stream broke; reconnecting");
                if !self.send(PodEvent::DaemonDisconnected { reason }).await {
                    return;
                }
                self.outage_reported = true;
            } else {
                debug!(project = %self.pod.project, %reason, "events stream attempt failed");
            }
            self.connected = false;
            since = self.state.last_event_nanos().or(since);
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(MAX_RETRY);
        }
    }

    /// Subscribes, reconciles, then forwards events until the stream breaks.
    async fn connected_period(
        &mut self,
        filters: HashMap<String, Vec<String>>,
        since: Option<i64>,
    ) -> Ended {
        let mut stream = self.source.subscribe(filters, since);
        let mut changes = Vec::new();
        for id in self.state.container_ids() {
            match self.source.snapshot(&id).await {
                Ok(snapshot) => changes.extend(self.state.reconcile(&id, snapshot)),
                Err(error) => return Ended::Broken(format!("inspect {id}: {error}")),
            }
        }
        self.connected = true;
        if self.outage_reported {
            info!(project = %self.pod.project, changes = changes.len(), "docker events stream reconnected");
            self.outage_reported = false;
            if !self.send(PodEvent::DaemonReconnected).await {
                return Ended::Finished;
            }
        }
        for change in changes {
            if !self.send(change).await {
                return Ended::Finished;
            }
        }
        loop {
            let message = match stream.next().await {
                Some(Ok(message)) => message,
                Some(Err(error)) => return Ended::Broken(error.to_string()),
                None => return Ended::Broken("events stream closed by the engine".to_string()),
            };
            let Some(event) = EngineEvent::from_message(&message) else {
                continue;
            };
            let oom = self.state.needs_oom_check(&event) && self.oom_killed_at_die(&event).await;
            for change in self.state.apply_event(&event, oom) {
                if !self.send(change).await {
                    return Ended::Finished;
                }
            }
        }
    }

    /// The pod's task id from its first container's labels, to narrow the subscription; `None`
    /// when unavailable (the compose project label alone still selects the pod).
    async fn task_id(&self) -> Option<String> {
        let first = self.pod.containers.first()?;
        match self.source.container_labels(&first.id).await {
            Ok(labels) => labels?.remove(labels::TASK_ID),
            Err(error) => {
                debug!(project = %self.pod.project, %error, "cannot read the pod's task id label");
                None
            }
        }
    }

    /// Whether the container that `die`d was OOM-killed, giving the engine [`OOM_SETTLE`] to
    /// record it when the exit was a SIGKILL.
    async fn oom_killed_at_die(&self, event: &EngineEvent) -> bool {
        if self.oom_killed(&event.container_id).await {
            return true;
        }
        let EngineAction::Die { exit_code } = event.action else {
            return false;
        };
        if exit_code != SIGKILL_EXIT {
            return false;
        }
        tokio::time::sleep(OOM_SETTLE).await;
        self.oom_killed(&event.container_id).await
    }

    /// `State.OOMKilled` of an exited container; false when it cannot be inspected.
    async fn oom_killed(&self, container_id: &str) -> bool {
        match self.source.snapshot(container_id).await {
            Ok(Some(snapshot)) => matches!(
                snapshot.state,
                RunState::Exited {
                    oom_killed: true,
                    ..
                }
            ),
            Ok(None) => false,
            Err(error) => {
                debug!(container_id, %error, "inspect after die failed");
                false
            }
        }
    }

    /// Delivers an event; false when the receiver is gone (the watch then ends).
    async fn send(&self, event: PodEvent) -> bool {
        self.events.send(event).await.is_ok()
    }
}
