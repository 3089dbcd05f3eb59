//! The pod watcher against the real engine: start/exit with exit codes, health transitions, OOM
//! kills, and the reconnect-and-reconcile path through an injected stream failure.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::errors::Error as EngineError;
use bollard::query_parameters::WaitContainerOptions;
use bollard::Docker;
use docker::events::{ContainerSnapshot, EventSource, EventStream, HealthStatus};
use docker::remove::{remove_pod, RemoveOptions};
use docker::{stop_pod, PodEvent, PodWatcher};
use futures_util::{stream, StreamExt};
use support::handmade::*;
use tokio::sync::{oneshot, watch};

fn exited(event: &PodEvent, service: &str) -> bool {
    matches!(event, PodEvent::Exited { service: s, .. } if s == service)
}

#[tokio::test]
async fn reports_starts_and_exit_codes() {
    let (docker, run) = engine().await;
    let project = run.name("exits");
    let pod = create_live_pod(
        &docker,
        &run,
        &project,
        &[
            Spec::infra(),
            Spec::new("fails", sh("exit 3")),
            Spec::new("succeeds", sh("exit 0")),
        ],
    )
    .await;
    let (watcher, mut events) = PodWatcher::start(docker.clone(), &pod);
    start_all(&docker, &pod).await;

    let mut seen = Vec::new();
    while !(seen.iter().any(|e| exited(e, "fails")) && seen.iter().any(|e| exited(e, "succeeds"))) {
        seen.push(next(&mut events).await);
    }
    for service in ["infra", "fails", "succeeds"] {
        let starts = seen
            .iter()
            .filter(|e| matches!(e, PodEvent::Started { service: s, .. } if s == service))
            .count();
        assert_eq!(starts, 1, "{service}: {seen:?}");
    }
    let exit_of = |service: &str| {
        seen.iter().find_map(|e| match e {
            PodEvent::Exited {
                service: s,
                exit_code,
                oom_killed,
                ..
            } if s == service => Some((*exit_code, *oom_killed)),
            _ => None,
        })
    };
    assert_eq!(exit_of("fails"), Some((3, false)));
    assert_eq!(exit_of("succeeds"), Some((0, false)));
    assert_eq!(exit_of("infra"), None);

    // Removing the pod reports each container removed, once.
    stop_pod(&docker, &pod, Duration::from_secs(5)).await;
    remove_pod(&docker, &pod, &RemoveOptions::default()).await;
    let mut removed = Vec::new();
    while removed.len() < pod.containers.len() {
        if let PodEvent::Removed { service, .. } = next(&mut events).await {
            removed.push(service);
        }
    }
    removed.sort();
    assert_eq!(removed, vec!["fails", "infra", "succeeds"]);
    watcher.stop().await;
}

#[tokio::test]
async fn reports_health_transitions() {
    let (docker, run) = engine().await;
    let shared = tempfile::tempdir().unwrap();
    let marker = shared.path().join("ok");
    std::fs::write(&marker, "").unwrap();
    let project = run.name("health");
    let pod = create_live_pod(
        &docker,
        &run,
        &project,
        &[Spec {
            healthcheck: Some(health("test -f /shared/ok")),
            binds: vec![format!("{}:/shared", shared.path().display())],
            ..Spec::new("web", trap_exit("TERM", 0))
        }],
    )
    .await;
    start_all(&docker, &pod).await;
    let (watcher, mut events) = PodWatcher::start(docker.clone(), &pod);

    let is_health = |status: HealthStatus| move |e: &PodEvent| matches!(e, PodEvent::Health { status: s, .. } if *s == status);
    let before = until(&mut events, is_health(HealthStatus::Healthy)).await;
    assert!(
        before.iter().any(|e| matches!(e, PodEvent::Started { .. })),
        "{before:?}"
    );
    std::fs::remove_file(&marker).unwrap();
    let after = until(&mut events, is_health(HealthStatus::Unhealthy)).await;
    assert_eq!(after.len(), 1, "only the transition is reported: {after:?}");
    watcher.stop().await;
}

#[tokio::test]
async fn oom_kill_is_reported_as_oom() {
    let (docker, run) = engine().await;
    let project = run.name("oom");
    let pod = create_live_pod(
        &docker,
        &run,
        &project,
        &[Spec {
            memory: Some(8 * 1024 * 1024),
            ..Spec::new("hog", sh("x=a; while true; do x=$x$x; done"))
        }],
    )
    .await;
    let (watcher, mut events) = PodWatcher::start(docker.clone(), &pod);
    start_all(&docker, &pod).await;
    let seen = until(&mut events, |e| exited(e, "hog")).await;
    assert!(
        matches!(
            seen.last(),
            Some(PodEvent::Exited {
                exit_code: 137,
                oom_killed: true,
                ..
            })
        ),
        "{seen:?}"
    );
    watcher.stop().await;
}

/// The real engine, with a first events stream that breaks when told to, and a reconnection
/// (subscription and inspections) held back until the test opens the gate.
#[derive(Clone)]
struct FlakyEngine {
    docker: Docker,
    subscriptions: Arc<AtomicUsize>,
    sinces: Arc<Mutex<Vec<Option<i64>>>>,
    breaker: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
    gate: watch::Receiver<bool>,
}

impl FlakyEngine {
    /// The engine, the sender that breaks the first stream, and the sender that opens the gate.
    fn new(docker: &Docker) -> (Self, oneshot::Sender<()>, watch::Sender<bool>) {
        let (break_tx, break_rx) = oneshot::channel();
        let (gate_tx, gate_rx) = watch::channel(false);
        let engine = FlakyEngine {
            docker: docker.clone(),
            subscriptions: Arc::new(AtomicUsize::new(0)),
            sinces: Arc::new(Mutex::new(Vec::new())),
            breaker: Arc::new(Mutex::new(Some(break_rx))),
            gate: gate_rx,
        };
        (engine, break_tx, gate_tx)
    }

    async fn wait_gate_if_reconnecting(&self) {
        if self.subscriptions.load(Ordering::SeqCst) > 1 {
            let mut gate = self.gate.clone();
            let _ = gate.wait_for(|open| *open).await;
        }
    }
}

impl EventSource for FlakyEngine {
    fn subscribe(&self, filters: HashMap<String, Vec<String>>, since: Option<i64>) -> EventStream {
        let n = self.subscriptions.fetch_add(1, Ordering::SeqCst);
        self.sinces.lock().unwrap().push(since);
        let real = self.docker.subscribe(filters, since);
        if n == 0 {
            let breaker = self.breaker.lock().unwrap().take().unwrap();
            let injected: Result<_, EngineError> = Err(EngineError::IOError {
                err: std::io::Error::other("injected stream failure"),
            });
            return real
                .take_until(breaker)
                .chain(stream::once(async move { injected }))
                .boxed();
        }
        let mut gate = self.gate.clone();
        stream::once(async move {
            let _ = gate.wait_for(|open| *open).await;
            real
        })
        .flatten()
        .boxed()
    }

    async fn snapshot(&self, id: &str) -> Result<Option<ContainerSnapshot>, EngineError> {
        self.wait_gate_if_reconnecting().await;
        self.docker.snapshot(id).await
    }

    async fn container_labels(
        &self,
        id: &str,
    ) -> Result<Option<HashMap<String, String>>, EngineError> {
        self.docker.container_labels(id).await
    }
}

#[tokio::test]
async fn broken_stream_reconnects_without_false_failures_and_reports_a_missed_exit_once() {
    let (docker, run) = engine().await;
    let project = run.name("reconnect");
    let pod = create_live_pod(
        &docker,
        &run,
        &project,
        &[
            Spec::infra(),
            Spec::new("steady", trap_exit("TERM", 0)),
            Spec::new("victim", trap_exit("USR1", 3)),
        ],
    )
    .await;
    let (flaky, break_tx, gate_tx) = FlakyEngine::new(&docker);
    let (watcher, mut events) = PodWatcher::start_with(flaky.clone(), &pod);
    start_all(&docker, &pod).await;
    // Each container once, live or found by the initial inspection.
    for _ in 0..3 {
        let event = next(&mut events).await;
        assert!(matches!(event, PodEvent::Started { .. }), "{event:?}");
    }

    break_tx.send(()).unwrap();
    let broke = next(&mut events).await;
    assert!(
        matches!(broke, PodEvent::DaemonDisconnected { .. }),
        "{broke:?}"
    );

    // While the watcher is disconnected, the victim exits.
    let victim = &pod.containers[2].id;
    kill(&docker, victim, "SIGUSR1").await;
    let _ = docker
        .wait_container(victim, None::<WaitContainerOptions>)
        .next()
        .await;
    gate_tx.send(true).unwrap();

    // Then the steady service stops, as a marker that everything before it was delivered.
    let reconnected = next(&mut events).await;
    assert_eq!(reconnected, PodEvent::DaemonReconnected);
    kill(&docker, &pod.containers[1].id, "SIGTERM").await;
    let after = until(&mut events, |e| exited(e, "steady")).await;
    let victim_exits: Vec<&PodEvent> = after.iter().filter(|e| exited(e, "victim")).collect();
    assert_eq!(victim_exits.len(), 1, "{after:?}");
    assert!(
        matches!(
            victim_exits[0],
            PodEvent::Exited {
                exit_code: 3,
                oom_killed: false,
                ..
            }
        ),
        "{after:?}"
    );
    assert!(
        !after
            .iter()
            .any(|e| matches!(e, PodEvent::Started { .. }) || exited(e, "infra")),
        "no replayed or false events: {after:?}"
    );
    let sinces = flaky.sinces.lock().unwrap().clone();
    assert!(
        sinces.len() >= 2 && sinces[1].is_some(),
        "reconnect used since=: {sinces:?}"
    );
    watcher.stop().await;
}

#[tokio::test]
async fn container_removed_during_a_gap_is_reported_lost_once() {
    let (docker, run) = engine().await;
    let project = run.name("lost");
    let pod = create_live_pod(
        &docker,
        &run,
        &project,
        &[
            Spec::new("keeper", trap_exit("TERM", 0)),
            Spec::new("goner", trap_exit("TERM", 0)),
        ],
    )
    .await;
    let (flaky, break_tx, gate_tx) = FlakyEngine::new(&docker);
    start_all(&docker, &pod).await;
    let (watcher, mut events) = PodWatcher::start_with(flaky, &pod);
    for _ in 0..2 {
        assert!(matches!(next(&mut events).await, PodEvent::Started { .. }));
    }

    break_tx.send(()).unwrap();
    assert!(matches!(
        next(&mut events).await,
        PodEvent::DaemonDisconnected { .. }
    ));
    let options = bollard::query_parameters::RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    docker
        .remove_container(&pod.containers[1].id, Some(options))
        .await
        .unwrap();
    gate_tx.send(true).unwrap();
    assert_eq!(next(&mut events).await, PodEvent::DaemonReconnected);

    // The keeper's exit marks the end of everything the gap produced.
    kill(&docker, &pod.containers[0].id, "SIGTERM").await;
    let after = until(&mut events, |e| exited(e, "keeper")).await;
    let about_goner: Vec<&PodEvent> = after
        .iter()
        .filter(|e| e.service() == Some("goner"))
        .collect();
    assert_eq!(about_goner.len(), 1, "{after:?}");
    assert!(
        matches!(about_goner[0], PodEvent::ContainerLost { .. }),
        "{after:?}"
    );
    watcher.stop().await;
}
