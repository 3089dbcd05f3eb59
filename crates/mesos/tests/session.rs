//! Session behaviour against a tiny in-test agent (axum). The full conformance suite runs against
//! the `mesos-agent` stand-in; these tests pin the session's own contract.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use mesos::recordio::encode;
use mesos::*;
use serde_json::json;
use tokio::sync::{mpsc, Notify};

type Chunk = Result<Bytes, std::io::Error>;

#[derive(Default)]
struct Agent {
    calls: Mutex<Vec<(Uri, HeaderMap, Call)>>,
    streams: Mutex<Vec<mpsc::UnboundedSender<Chunk>>>,
    subscribe_answers: Mutex<VecDeque<StatusCode>>,
    call_answers: Mutex<VecDeque<StatusCode>>,
    changed: Notify,
}

async fn handle(
    State(agent): State<Arc<Agent>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call: Call = serde_json::from_slice(&body).expect("the session sent a valid Call");
    let kind = call.kind.clone();
    agent.calls.lock().unwrap().push((uri, headers, call));
    agent.changed.notify_waiters();
    if kind == Some(CallType::Subscribe) {
        if let Some(status) = agent.subscribe_answers.lock().unwrap().pop_front() {
            return (status, "scripted").into_response();
        }
        let (tx, rx) = mpsc::unbounded_channel::<Chunk>();
        agent.streams.lock().unwrap().push(tx);
        agent.changed.notify_waiters();
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap();
    }
    let status = agent
        .call_answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(StatusCode::ACCEPTED);
    status.into_response()
}

impl Agent {
    async fn serve_tcp() -> (Arc<Agent>, String) {
        let agent = Arc::new(Agent::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let app = axum::Router::new()
            .route("/api/v1/executor", axum::routing::post(handle))
            .with_state(agent.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (agent, addr)
    }

    async fn wait<T>(&self, mut check: impl FnMut(&Agent) -> Option<T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if let Some(v) = check(self) {
                    return v;
                }
                let _ = tokio::time::timeout(Duration::from_millis(50), changed).await;
            }
        })
        .await
        .expect("agent condition not reached in time")
    }

    async fn stream(&self, index: usize) -> mpsc::UnboundedSender<Chunk> {
        self.wait(|a| a.streams.lock().unwrap().get(index).cloned())
            .await
    }

    async fn send(&self, index: usize, event: serde_json::Value) {
        let record = encode(&serde_json::to_vec(&event).unwrap());
        self.stream(index).await.send(Ok(record)).unwrap();
    }

    async fn call(&self, index: usize) -> (Uri, HeaderMap, Call) {
        self.wait(|a| a.calls.lock().unwrap().get(index).cloned())
            .await
    }

    fn calls_of(&self, kind: CallType) -> Vec<Call> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|(_, _, c)| c.kind.as_ref() == Some(&kind))
            .map(|(_, _, c)| c.clone())
            .collect()
    }

    /// Ends subscription `index` cleanly.
    fn close(&self, index: usize) {
        self.streams.lock().unwrap()[index] = mpsc::unbounded_channel().0;
    }
}

fn env(endpoint: &str, extra: &[(&str, &str)]) -> ExecutorEnv {
    let mut vars: Vec<(String, String)> = [
        ("MESOS_FRAMEWORK_ID", "fw-1"),
        ("MESOS_EXECUTOR_ID", "exec-1"),
        ("MESOS_AGENT_ENDPOINT", endpoint),
        ("MESOS_CHECKPOINT", "1"),
        ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs"),
        ("MESOS_RECOVERY_TIMEOUT", "15mins"),
        ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "50ms"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.retain(|(key, _)| key != k);
        vars.push((k.to_string(), v.to_string()));
    }
    ExecutorEnv::from_vars(vars).unwrap()
}

async fn next(rx: &mut mpsc::UnboundedReceiver<SessionEvent>) -> SessionEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no session event in time")
        .expect("session channel closed")
}

fn subscribed() -> serde_json::Value {
    json!({"type":"SUBSCRIBED","subscribed":{
        "executor_info":{"type":"CUSTOM","executor_id":{"value":"exec-1"},"command":{"shell":true}},
        "framework_info":{"user":"root","name":"fw","id":{"value":"fw-1"},"failover_timeout":0.0,"checkpoint":true,
                          "capabilities":[{"type":"TASK_KILLING_STATE"}]},
        "agent_info":{"hostname":"h","port":5051,"id":{"value":"agent-1"}},
        "container_id":{"value":"cid-1"}}})
}

fn launch(task: &str) -> serde_json::Value {
    json!({"type":"LAUNCH","launch":{"task":{"name":task,"task_id":{"value":task},
        "agent_id":{"value":"agent-1"},"x_unmodelled":{"keep":true}}}})
}

fn ack(task: &str, uuid: uuid::Uuid) -> serde_json::Value {
    json!({"type":"ACKNOWLEDGED","acknowledged":{"task_id":{"value":task},
        "uuid": mesos::types::wire::encode_base64(uuid.as_bytes())}})
}

fn running(task: &str) -> TaskStatus {
    TaskStatus::new(TaskId::new(task), TaskState::Running)
}

#[tokio::test]
async fn subscribe_launch_update_acknowledge() {
    let (agent, addr) = Agent::serve_tcp().await;
    let token = ("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "tok-123");
    let (session, mut events) = Session::start(env(&addr, &[token]));

    let (uri, headers, call) = agent.call(0).await;
    assert_eq!(uri.path(), "/api/v1/executor");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["accept"], "application/json");
    assert_eq!(headers["authorization"], "Bearer tok-123");
    assert_eq!(call.subscribe, Some(Subscribe::default()));
    assert_eq!(call.executor_id.as_str(), "exec-1");
    assert_eq!(call.framework_id.as_str(), "fw-1");

    agent.send(0, json!({"type":"HEARTBEAT"})).await;
    agent.send(0, json!({"type":"SOMETHING_NEW","x":1})).await;
    agent.send(0, subscribed()).await;
    let SessionEvent::Subscribed {
        framework_info,
        container_id,
        ..
    } = next(&mut events).await
    else {
        panic!("expected Subscribed")
    };
    assert!(framework_info.has_capability(&CapabilityType::TaskKillingState));
    assert_eq!(container_id, Some(ContainerId::new("cid-1")));
    agent.send(0, launch("t1")).await;
    let SessionEvent::Launch(task) = next(&mut events).await else {
        panic!("expected Launch")
    };
    assert_eq!(task.task_id.as_str(), "t1");

    let uuid = session.update(running("t1"));
    assert_eq!(session.unacknowledged(), 1);
    let (_, headers, call) = agent.call(1).await;
    assert_eq!(headers["authorization"], "Bearer tok-123");
    let status = call.update.unwrap().status;
    assert_eq!(status.uuid(), Some(uuid));
    assert_eq!(status.uuid().unwrap().get_version_num(), 4);
    assert_eq!(status.source, Some(Source::Executor));
    assert_eq!(status.executor_id, Some(ExecutorId::new("exec-1")));
    assert_eq!(status.agent_id, Some(AgentId::new("agent-1")));
    assert!(status.timestamp.is_some());

    // Unknown and duplicate ACKs are ignored; the real one is delivered once.
    agent.send(0, ack("t1", uuid::Uuid::new_v4())).await;
    agent.send(0, ack("other", uuid)).await;
    agent.send(0, ack("t1", uuid)).await;
    agent.send(0, ack("t1", uuid)).await;
    agent
        .send(0, json!({"type":"MESSAGE","message":{"data":"cG9uZw=="}}))
        .await;
    assert_eq!(
        next(&mut events).await,
        SessionEvent::Acknowledged {
            task_id: TaskId::new("t1"),
            uuid
        }
    );
    assert_eq!(
        next(&mut events).await,
        SessionEvent::Message(b"pong".to_vec())
    );
    assert!(session.wait_acknowledged(Duration::from_secs(5)).await);
    assert_eq!(session.unacknowledged(), 0);

    session.send_message(b"ping".to_vec());
    let (_, _, call) = agent.call(2).await;
    assert_eq!(call.message.unwrap().data, b"ping");

    agent
        .send(0, json!({"type":"KILL","kill":{"task_id":{"value":"t1"}}}))
        .await;
    assert_eq!(
        next(&mut events).await,
        SessionEvent::Kill {
            task_id: TaskId::new("t1"),
            kill_policy: None
        }
    );
    agent.send(0, json!({"type":"SHUTDOWN"})).await;
    assert_eq!(next(&mut events).await, SessionEvent::Shutdown);
    session.close();
}

#[tokio::test]
async fn resubscribe_carries_unacknowledged_updates_and_tasks() {
    let (agent, addr) = Agent::serve_tcp().await;
    let (session, mut events) = Session::start(env(&addr, &[]));
    agent.send(0, subscribed()).await;
    agent.send(0, launch("t1")).await;
    agent.send(0, launch("t2")).await;
    agent.send(0, launch("t3")).await;
    for _ in 0..4 {
        next(&mut events).await;
    }
    let u1 = session.update(TaskStatus::new(TaskId::new("t1"), TaskState::Starting));
    let u2 = session.update(running("t1"));
    let u3 = session.update(running("t2"));
    agent
        .wait(|a| (a.calls_of(CallType::Update).len() == 3).then_some(()))
        .await;
    let updates = agent.calls_of(CallType::Update);
    let sent: Vec<_> = updates
        .iter()
        .map(|c| c.update.as_ref().unwrap().status.uuid().unwrap())
        .collect();
    assert_eq!(sent, vec![u1, u2, u3], "per-task order kept");
    agent.send(0, ack("t2", u3)).await;
    next(&mut events).await;

    // An outage with a refused resubscription first.
    agent
        .subscribe_answers
        .lock()
        .unwrap()
        .push_back(StatusCode::SERVICE_UNAVAILABLE);
    agent.close(0);
    assert_eq!(next(&mut events).await, SessionEvent::Disconnected);
    agent.stream(1).await;
    let subscribes = agent.calls_of(CallType::Subscribe);
    assert_eq!(subscribes.len(), 3);
    let resub = subscribes[2].subscribe.clone().unwrap();
    let uuids: Vec<_> = resub
        .unacknowledged_updates
        .iter()
        .map(|u| u.status.uuid().unwrap())
        .collect();
    assert_eq!(uuids, vec![u1, u2]);
    let tasks: Vec<_> = resub
        .unacknowledged_tasks
        .iter()
        .map(|t| t.task_id.as_str().to_owned())
        .collect();
    assert_eq!(tasks, vec!["t1", "t3"]);
    assert_eq!(
        resub.unacknowledged_tasks[0].raw().unwrap()["x_unmodelled"],
        json!({"keep": true})
    );

    // Carried updates are not sent again; new ones are.
    agent.send(1, subscribed()).await;
    next(&mut events).await;
    let u4 = session.update(running("t3"));
    agent
        .wait(|a| (a.calls_of(CallType::Update).len() == 4).then_some(()))
        .await;
    let last = agent.calls_of(CallType::Update).pop().unwrap();
    assert_eq!(last.update.unwrap().status.uuid(), Some(u4));
    session.close();
}

#[tokio::test]
async fn without_checkpointing_a_disconnection_is_lost_at_once() {
    let (agent, addr) = Agent::serve_tcp().await;
    let (_session, mut events) = Session::start(env(&addr, &[("MESOS_CHECKPOINT", "0")]));
    agent.send(0, subscribed()).await;
    next(&mut events).await;
    agent.close(0);
    assert!(matches!(next(&mut events).await, SessionEvent::Lost { .. }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(agent.calls_of(CallType::Subscribe).len(), 1, "no reconnect");
}

#[tokio::test]
async fn recovery_timeout_counts_from_the_first_disconnection() {
    let (agent, addr) = Agent::serve_tcp().await;
    let (session, mut events) = Session::start(env(&addr, &[("MESOS_RECOVERY_TIMEOUT", "300ms")]));
    agent.send(0, subscribed()).await;
    next(&mut events).await;
    agent
        .subscribe_answers
        .lock()
        .unwrap()
        .extend(std::iter::repeat_n(StatusCode::SERVICE_UNAVAILABLE, 10_000));
    agent.close(0);
    assert_eq!(next(&mut events).await, SessionEvent::Disconnected);
    let SessionEvent::Lost { reason } = next(&mut events).await else {
        panic!("expected Lost")
    };
    assert!(reason.contains("MESOS_RECOVERY_TIMEOUT"), "{reason}");
    let attempts = agent.calls_of(CallType::Subscribe).len();
    assert!(attempts > 2, "retried: {attempts}");
    // A lost session ends its event channel and cannot get acknowledgements any more.
    assert!(tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .is_none());
    session.update(running("t1"));
    assert!(!session.wait_acknowledged(Duration::from_secs(30)).await);
}

#[tokio::test]
async fn update_503_is_retried_with_the_same_uuid_and_403_resubscribes() {
    let (agent, addr) = Agent::serve_tcp().await;
    let (session, mut events) = Session::start(env(&addr, &[]));
    agent.send(0, subscribed()).await;
    agent.send(0, launch("t1")).await;
    next(&mut events).await;
    next(&mut events).await;
    agent.call_answers.lock().unwrap().extend([
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::FORBIDDEN,
    ]);
    let uuid = session.update(running("t1"));
    agent.stream(1).await;
    let updates = agent.calls_of(CallType::Update);
    assert_eq!(updates.len(), 3);
    assert!(updates
        .iter()
        .all(|c| c.update.as_ref().unwrap().status.uuid() == Some(uuid)));
    let resub = agent
        .calls_of(CallType::Subscribe)
        .pop()
        .unwrap()
        .subscribe
        .unwrap();
    assert_eq!(resub.unacknowledged_updates[0].status.uuid(), Some(uuid));
    assert_eq!(next(&mut events).await, SessionEvent::Disconnected);
    session.close();
}

#[tokio::test]
async fn split_records_decode_and_malformed_framing_disconnects() {
    let (agent, addr) = Agent::serve_tcp().await;
    let (_session, mut events) = Session::start(env(&addr, &[("MESOS_CHECKPOINT", "0")]));
    let stream = agent.stream(0).await;
    let mut wire = encode(&serde_json::to_vec(&json!({"type":"SHUTDOWN"})).unwrap()).to_vec();
    wire.extend_from_slice(&encode(&serde_json::to_vec(&subscribed()).unwrap()));
    for chunk in wire.chunks(3) {
        stream.send(Ok(Bytes::copy_from_slice(chunk))).unwrap();
    }
    assert_eq!(
        next(&mut events).await,
        SessionEvent::Shutdown,
        "SHUTDOWN first is delivered"
    );
    assert!(matches!(
        next(&mut events).await,
        SessionEvent::Subscribed { .. }
    ));
    stream.send(Ok(Bytes::from_static(b"12x\n"))).unwrap();
    let SessionEvent::Lost { reason } = next(&mut events).await else {
        panic!("expected Lost")
    };
    assert!(reason.contains("RecordIO"), "{reason}");
}

#[tokio::test]
async fn domain_socket_uses_the_prefixed_path() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let agent = Arc::new(Agent::default());
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let app = axum::Router::new()
        .route("/slave(1)/api/v1/executor", axum::routing::post(handle))
        .with_state(agent.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let socket = socket.to_str().unwrap().to_owned();
    let (session, mut events) = Session::start(env(
        "127.0.0.1:1",
        &[("MESOS_DOMAIN_SOCKET", socket.as_str())],
    ));
    agent.send(0, subscribed()).await;
    assert!(matches!(
        next(&mut events).await,
        SessionEvent::Subscribed { .. }
    ));
    let (uri, _, _) = agent.call(0).await;
    assert_eq!(uri.path(), "/slave(1)/api/v1/executor");
    session.close();
}

#[tokio::test]
async fn a_subscribe_rejected_for_good_is_lost_and_retryable_answers_are_retried() {
    let (agent, addr) = Agent::serve_tcp().await;
    agent.subscribe_answers.lock().unwrap().extend([
        StatusCode::NOT_FOUND,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::BAD_REQUEST,
    ]);
    let (_session, mut events) = Session::start(env(&addr, &[]));
    let SessionEvent::Lost { reason } = next(&mut events).await else {
        panic!("expected Lost")
    };
    assert!(reason.contains("400"), "{reason}");
    assert_eq!(agent.calls_of(CallType::Subscribe).len(), 3);
}
