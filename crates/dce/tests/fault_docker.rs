//! Faults on the Docker side, against the real `dce` binary, the agent stand-in and the real
//! engine: the events stream breaking mid-pod and an engine outage (the shared dockerd is never
//! restarted: the executor reaches the engine through a socket proxy of the test, via
//! `DOCKER_HOST`, which cuts connections on demand), a container that ignores SIGTERM, an image
//! that does not exist, the executor SIGKILLed mid-launch and `dce reap` afterwards.

mod executor_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::query_parameters::KillContainerOptions;
use executor_support::*;
use mesos::{Reason, TaskState};
use mesos_agent::ExecutorExit;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::AbortHandle;

const ENGINE_SOCKET: &str = "/var/run/docker.sock";

/// A Unix-socket proxy in front of the engine that can cut the connections carrying an events
/// stream, or refuse everything for a while (an engine outage as the executor sees it).
struct EngineProxy {
    dir: tempfile::TempDir,
    state: Arc<ProxyState>,
    accept: AbortHandle,
}

#[derive(Default)]
struct ProxyState {
    down: AtomicBool,
    events_requests: AtomicUsize,
    connections: Mutex<Vec<(Arc<AtomicBool>, AbortHandle)>>,
}

impl EngineProxy {
    async fn start() -> EngineProxy {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("docker.sock")).unwrap();
        let state = Arc::new(ProxyState::default());
        let accept_state = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if accept_state.down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let events = Arc::new(AtomicBool::new(false));
                let task = tokio::spawn(pump(client, events.clone(), accept_state.clone()));
                let mut connections = accept_state.connections.lock().unwrap();
                connections.retain(|(_, handle)| !handle.is_finished());
                connections.push((events, task.abort_handle()));
            }
        })
        .abort_handle();
        EngineProxy { dir, state, accept }
    }

    fn docker_host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    fn events_requests(&self) -> usize {
        self.state.events_requests.load(Ordering::SeqCst)
    }

    /// Cuts every connection that carried an events request.
    fn break_event_streams(&self) -> usize {
        let connections = self.state.connections.lock().unwrap();
        let mut cut = 0;
        for (events, handle) in connections.iter() {
            if events.load(Ordering::SeqCst) && !handle.is_finished() {
                handle.abort();
                cut += 1;
            }
        }
        cut
    }

    /// An outage: every connection cut, new ones refused until [`EngineProxy::up`].
    fn down(&self) {
        self.state.down.store(true, Ordering::SeqCst);
        for (_, handle) in self.state.connections.lock().unwrap().iter() {
            handle.abort();
        }
    }

    fn up(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.accept.abort();
        for (_, handle) in self.state.connections.lock().unwrap().iter() {
            handle.abort();
        }
    }
}

/// Copies both ways between a client and the engine, marking the connection as an events
/// connection when a request for `/events` goes through it.
async fn pump(mut client: UnixStream, events: Arc<AtomicBool>, state: Arc<ProxyState>) {
    let Ok(mut engine) = UnixStream::connect(ENGINE_SOCKET).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut engine_read, mut engine_write) = engine.split();
    let upstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            if chunk.starts_with(b"GET ") && contains(chunk, b"/events") {
                events.store(true, Ordering::SeqCst);
                state.events_requests.fetch_add(1, Ordering::SeqCst);
            }
            if engine_write.write_all(chunk).await.is_err() {
                break;
            }
        }
        let _ = engine_write.shutdown().await;
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut engine_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn through_proxy() -> (Harness, EngineProxy) {
    let proxy = EngineProxy::start().await;
    let mut setup = Setup::default();
    setup.env.push(("DOCKER_HOST".into(), proxy.docker_host()));
    (Harness::start_with(setup).await, proxy)
}

/// Two long-running services.
fn two_services() -> String {
    format!(
        "services:\n  steady:\n    image: {IMAGE}\n    command: {SLEEPER}\n  victim:\n    image: {IMAGE}\n    command: {SLEEPER}\n"
    )
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn container_of(containers: &[bollard::models::ContainerInspectResponse], service: &str) -> String {
    containers
        .iter()
        .find(|c| {
            c.config
                .as_ref()
                .and_then(|c| c.labels.as_ref())
                .and_then(|l| l.get("com.docker.compose.service"))
                .map(String::as_str)
                == Some(service)
        })
        .and_then(|c| c.id.clone())
        .unwrap_or_else(|| panic!("no container of {service}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_events_stream_is_reconnected_without_a_false_failure() {
    let (h, proxy) = through_proxy().await;
    h.write("pod.yml", &two_services());
    let task_id = h.task_id("events-break");
    h.launch(h.task(&task_id, "pod.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    wait_until("an events stream", || proxy.events_requests() >= 1).await;
    let before = proxy.events_requests();
    assert!(
        proxy.break_event_streams() >= 1,
        "no events connection to cut"
    );
    wait_until("a new events stream", || proxy.events_requests() > before).await;
    // Still watched after the reconnection: a container exit is seen and fails the pod.
    let victim = container_of(&h.containers(&task_id).await, "victim");
    h.docker
        .kill_container(
            &victim,
            Some(KillContainerOptions {
                signal: "SIGKILL".into(),
            }),
        )
        .await
        .unwrap();
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed, "{:?}", h.states(&task_id));
    let message = end.status.message.clone().unwrap_or_default();
    assert!(message.contains("victim"), "{message}");
    let states = h.states(&task_id);
    let failures = states
        .iter()
        .filter(|(s, _)| *s == TaskState::Failed)
        .count();
    assert_eq!(failures, 1, "{states:?}");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_that_dies_during_an_engine_outage_fails_the_pod_once_it_is_back() {
    let (h, proxy) = through_proxy().await;
    h.write("pod.yml", &two_services());
    let task_id = h.task_id("outage");
    h.launch(h.task(&task_id, "pod.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    wait_until("an events stream", || proxy.events_requests() >= 1).await;
    let victim = container_of(&h.containers(&task_id).await, "victim");
    proxy.down();
    // The executor cannot see this happen.
    h.docker
        .kill_container(
            &victim,
            Some(KillContainerOptions {
                signal: "SIGKILL".into(),
            }),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !h.agent.updates(&task_id).iter().any(|r| r.is_terminal()),
        "a verdict without the engine: {:?}",
        h.states(&task_id)
    );
    proxy.up();
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed, "{:?}", h.states(&task_id));
    let message = end.status.message.clone().unwrap_or_default();
    assert!(message.contains("victim"), "{message}");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_ignoring_sigterm_is_killed_at_the_deadline() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  stubborn:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"trap '' TERM; while :; do sleep 1 & wait $$!; done\"]\n"
    );
    h.write("stubborn.yml", &compose);
    let task_id = h.task_id("stubborn");
    let task = h
        .task(&task_id, "stubborn.yml", port_block())
        .kill_grace(Duration::from_secs(2))
        .build();
    h.launch(task);
    h.wait_state(&task_id, TaskState::Running).await;
    let id = container_of(&h.containers(&task_id).await, "stubborn");
    // The container's own end, from the engine's events (the request is sent when the stream
    // is first polled, after the kill: `since` replays it).
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    let mut events = h
        .docker
        .events(Some(bollard::query_parameters::EventsOptions {
            since: Some(since.to_string()),
            until: None,
            filters: Some(HashMap::from([
                ("container".to_string(), vec![id.clone()]),
                ("event".to_string(), vec!["die".to_string()]),
            ])),
        }));
    h.agent.kill(&task_id, None);
    h.wait_state(&task_id, TaskState::Killed).await;
    let die = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut events))
        .await
        .expect("no die event")
        .expect("events ended")
        .unwrap();
    let exit = die
        .actor
        .and_then(|a| a.attributes)
        .and_then(|a| a.get("exitCode").cloned());
    assert_eq!(exit.as_deref(), Some("137"), "not SIGKILLed");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_does_not_exist_fails_the_launch_and_leaves_nothing() {
    let h = Harness::start().await;
    let image = format!("dce-test-missing-{}:never", h.run.id().to_lowercase());
    let compose = format!(
        "services:\n  ok:\n    image: {IMAGE}\n    command: {SLEEPER}\n  missing:\n    image: {image}\n    command: {SLEEPER}\n"
    );
    h.write("missing.yml", &compose);
    let task_id = h.task_id("missing");
    let task = h
        .task(&task_id, "missing.yml", port_block())
        .label("config.launchtask.pullretry", Some("1"))
        .build();
    h.launch(task);
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed, "{:?}", h.states(&task_id));
    assert_eq!(end.status.reason, Some(Reason::ContainerLaunchFailed));
    let message = end.status.message.clone().unwrap_or_default();
    assert!(message.contains(&image), "{message}");
    assert!(message.contains("missing"), "{message}");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_image_with_pull_policy_never_is_named() {
    let h = Harness::start().await;
    let image = format!("dce-test-absent-{}:never", h.run.id().to_lowercase());
    let compose = format!(
        "services:\n  absent:\n    image: {image}\n    pull_policy: never\n    command: {SLEEPER}\n"
    );
    h.write("absent.yml", &compose);
    let task_id = h.task_id("absent");
    h.launch(h.task(&task_id, "absent.yml", port_block()).build());
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed);
    assert_eq!(end.status.reason, Some(Reason::ContainerLaunchFailed));
    let message = end.status.message.clone().unwrap_or_default();
    assert!(
        message.contains(&image) && message.contains("absent"),
        "{message}"
    );
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

fn reap(task_id: &str) -> std::process::Output {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dce"))
        .args(["reap", "--grace", "0s", "--label"])
        .arg(format!("io.dce.task-id={task_id}"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "dce reap: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn identity(sandbox: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(sandbox.join("pod/identity.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_sigkilled_mid_launch_then_reap_leaves_nothing() {
    let h = Harness::start().await;
    // db never becomes healthy: the launch stays in the dependency wait.
    let compose = format!(
        "services:\n  db:\n    image: {IMAGE}\n    command: {SLEEPER}\n    volumes: [\"data:/data\"]\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 1s\n      retries: 100000\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n    depends_on:\n      db:\n        condition: service_healthy\nvolumes:\n  data: {{}}\n"
    );
    h.write("pod.yml", &compose);
    let task_id = h.task_id("sigkill-launch");
    h.launch(h.task(&task_id, "pod.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Starting).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.containers(&task_id).await.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "db never created");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The identity was written before anything was created.
    let written = identity(&h.sandbox());
    assert_eq!(written["task_id"], task_id.as_str());
    assert_eq!(written["executor_pid"], h.executor.pid());

    h.executor.signal(rustix::process::Signal::KILL);
    assert_eq!(h.wait_exit().await, ExecutorExit::Signal(9));
    let orphans = h.leftovers(&task_id).await;
    assert!(
        orphans.len() >= 3,
        "infra, db, network, volume: {orphans:?}"
    );
    let output = reap(&task_id);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("removed ")).count(),
        orphans.len(),
        "{text}"
    );
    let left = h.leftovers(&task_id).await;
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_engine_fails_the_launch_clearly() {
    let (h, proxy) = through_proxy().await;
    proxy.down();
    h.write("pod.yml", &two_services());
    let task_id = h.task_id("no-engine");
    h.launch(h.task(&task_id, "pod.yml", port_block()).build());
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed, "{:?}", h.states(&task_id));
    assert_eq!(end.status.reason, Some(Reason::ContainerLaunchFailed));
    let message = end.status.message.clone().unwrap_or_default();
    assert!(
        message.contains(&proxy.socket().display().to_string()),
        "the message does not name the engine endpoint: {message}"
    );
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    proxy.up();
    assert!(h.leftovers(&task_id).await.is_empty());
}
