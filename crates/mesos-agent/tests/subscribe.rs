//! Conformance checks about subscribing and the HTTP shape of calls (ref §9: 2–6, 12, 35).

mod common;

use std::time::Duration;

use common::{agent, launch, running_task, test_executor, wait_exit, wait_state, HANG};
use mesos_agent::{AgentConfig, ExecutorExit, RestartPlan, Transport};

#[tokio::test]
async fn check_02_first_request_is_subscribe_with_ids() {
    let config = AgentConfig::default();
    let agent = agent(config.clone()).await;
    let _executor = launch(&agent, test_executor()).await;
    agent.wait_subscribed(1, HANG).await.unwrap();

    let first = agent.requests().into_iter().next().expect("a request");
    assert_eq!(first.call_type.as_deref(), Some("SUBSCRIBE"));
    let body = first.body.expect("JSON body");
    assert!(body["subscribe"].is_object(), "subscribe present: {body}");
    assert_eq!(body["executor_id"]["value"], config.executor_id.as_str());
    assert_eq!(body["framework_id"]["value"], config.framework_id.as_str());
}

#[tokio::test]
async fn check_03_content_type_and_accept_are_exact() {
    let agent = agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;

    let requests = agent.requests();
    assert!(
        requests.len() >= 4,
        "SUBSCRIBE and three UPDATEs: {requests:?}"
    );
    for r in &requests {
        assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
        assert_eq!(r.status / 100, 2, "{r:?}");
    }
    let subscribe = &requests[0];
    // Absent Accept means JSON; a present one must select JSON (the stream's Content-Type).
    if let Some(accept) = subscribe.header("accept") {
        assert!(
            accept.contains("application/json") || accept.contains("*/*"),
            "{accept}"
        );
    }
}

#[tokio::test]
async fn check_04_bearer_token_iff_configured() {
    let token = "secret-token-4d9c71";
    let config = AgentConfig {
        auth_token: Some(token.to_string()),
        ..AgentConfig::default()
    };
    let agent = agent(config).await;
    let executor = running_task(&agent, test_executor().env("RUST_LOG", "trace"), "t1").await;
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    wait_exit(&executor).await;
    for r in agent.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
    }
    assert!(!executor.stderr().contains(token), "token logged");
    assert!(!executor.stdout().contains(token), "token logged");

    let agent = common::agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert!(agent
        .requests()
        .iter()
        .all(|r| r.header("authorization").is_none()));
}

#[tokio::test]
async fn check_05_calls_use_a_separate_connection() {
    let agent = agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.send_message(b"ping".to_vec());
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    wait_exit(&executor).await;

    let requests = agent.requests();
    for sub in agent.subscriptions() {
        let on_stream: Vec<_> = requests
            .iter()
            .filter(|r| r.connection == sub.connection)
            .collect();
        assert_eq!(
            on_stream.len(),
            1,
            "subscription connection reused: {on_stream:?}"
        );
        assert_eq!(on_stream[0].call_type.as_deref(), Some("SUBSCRIBE"));
    }
    assert!(requests
        .iter()
        .any(|r| r.call_type.as_deref() == Some("MESSAGE")));
}

#[tokio::test]
async fn check_06_single_subscribe_in_flight_and_retries() {
    let backoff_max = Duration::from_millis(500);
    let config = AgentConfig {
        reregistration_timeout: backoff_max,
        ..AgentConfig::default()
    };
    let agent = agent(config).await;
    // Connections refused for a while, then 503 for every call, then subscriptions accepted.
    agent.restart(RestartPlan {
        down_for: Duration::from_secs(1),
        recovering_for: Duration::from_secs(6),
        reregistration_window: Some(Duration::from_secs(5)),
    });
    let executor = launch(&agent, test_executor()).await;
    agent.wait_subscribed(1, HANG).await.unwrap();
    agent.launch(common::task("t1"));
    wait_state(&agent, &executor, "t1", "TASK_RUNNING").await;

    let subscribes: Vec<_> = agent
        .requests()
        .into_iter()
        .filter(|r| r.call_type.as_deref() == Some("SUBSCRIBE"))
        .collect();
    let (rejected, accepted): (Vec<_>, Vec<_>) = subscribes.iter().partition(|r| r.status == 503);
    // Bounded back-off (≤ 0.5 s) over 6 s of 503s means many attempts.
    assert!(rejected.len() >= 4, "retried after 503: {subscribes:?}");
    assert_eq!(
        accepted.len(),
        1,
        "one subscription, no SUBSCRIBE after it: {subscribes:?}"
    );
    assert_eq!(accepted[0].status, 200);
    assert_eq!(subscribes.last().unwrap().status, 200);
    // Each 503 is answered at once, so attempts never overlap if each starts after the previous
    // one was answered; the gaps stay bounded by the back-off maximum (with slack for load).
    for pair in subscribes.windows(2) {
        let gap = pair[1].received_at.duration_since(pair[0].received_at);
        assert!(gap <= backoff_max + Duration::from_secs(4), "gap {gap:?}");
    }
}

#[tokio::test]
async fn check_12_shutdown_as_first_event() {
    let agent = agent(AgentConfig::default()).await;
    agent.restart(RestartPlan {
        down_for: Duration::from_secs(1),
        ..RestartPlan::default()
    });
    let executor = launch(&agent, test_executor()).await;
    // While the agent is unreachable the executor is told to shut down: when it subscribes it
    // gets SHUTDOWN without SUBSCRIBED.
    agent.shutdown();
    agent.wait_subscribed(1, HANG).await.unwrap();
    assert_eq!(
        wait_exit(&executor).await,
        ExecutorExit::Code(0),
        "{}",
        executor.stderr()
    );
    let sub = &agent.subscriptions()[0];
    assert!(sub.shutdown_only);
    let events: Vec<_> = agent
        .events()
        .into_iter()
        .filter(|e| e.subscription == Some(sub.seq))
        .map(|e| e.kind)
        .collect();
    assert_eq!(events, ["SHUTDOWN"]);
    assert!(!agent.destroyed_executor());
}

#[tokio::test]
async fn check_35_unix_domain_socket_and_tcp_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = AgentConfig {
        unix_socket: Some(dir.path().join("agent.sock")),
        ..AgentConfig::default()
    };
    let agent = agent(config).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    for r in agent.requests() {
        assert_eq!(r.transport, Transport::Unix, "{r:?}");
        assert_eq!(r.path, "/slave(1)/api/v1/executor");
    }

    let agent = common::agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    for r in agent.requests() {
        assert_eq!(r.transport, Transport::Tcp);
        assert!(
            r.path == "/api/v1/executor" || r.path == "/slave(1)/api/v1/executor",
            "{}",
            r.path
        );
    }
}
