//! The stand-in's own fidelity: status codes and messages of the real agent (ref §2, §4.3) for
//! requests a buggy executor could send, checked over raw HTTP.

mod common;

use common::{agent, post_json, raw_request};
use mesos_agent::{AgentConfig, RestartPlan};
use serde_json::{json, Value};
use std::time::Duration;

fn call(config: &AgentConfig, kind: &str) -> Value {
    json!({
        "type": kind,
        "executor_id": {"value": config.executor_id.as_str()},
        "framework_id": {"value": config.framework_id.as_str()},
    })
}

#[tokio::test]
async fn header_and_parse_errors_have_the_agents_codes_and_texts() {
    let config = AgentConfig::default();
    let agent = agent(config.clone()).await;
    let addr = agent.endpoint();
    let body = call(&config, "MESSAGE").to_string();

    let r = raw_request(addr, "GET", "/api/v1/executor", &[], "").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    assert_eq!(
        r.body,
        "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."
    );

    let r = raw_request(addr, "POST", "/api/v1/executor", &[], &body).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, "Expecting 'Content-Type' to be present")
    );

    let charset = [("Content-Type", "application/json; charset=utf-8")];
    let r = raw_request(addr, "POST", "/api/v1/executor", &charset, &body).await;
    assert_eq!(r.status, 415);

    let r = raw_request(
        addr,
        "POST",
        "/api/v1/executor",
        &[("Content-Type", "application/json")],
        "{not json",
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.starts_with("Failed to parse body into JSON: "),
        "{}",
        r.body
    );

    let r = post_json(addr, &json!({"type": "SUBSCRIBE", "subscribe": {}})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "Failed to convert JSON into Call protobuf: Missing required fields: executor_id, framework_id"
    );

    let mut numeric = call(&config, "MESSAGE");
    numeric["type"] = json!(3);
    let r = post_json(addr, &numeric).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("Not expecting a JSON number for field 'type'"),
        "{}",
        r.body
    );

    let r = post_json(addr, &call(&config, "NO_SUCH_CALL")).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            400,
            "Failed to validate Executor::Call: Expecting 'type' to be present"
        )
    );

    let mut sub = call(&config, "SUBSCRIBE");
    sub["subscribe"] = json!({});
    let r = raw_request(
        addr,
        "POST",
        "/api/v1/executor",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/recordio"),
        ],
        &sub.to_string(),
    )
    .await;
    assert_eq!(r.status, 406);
}

#[tokio::test]
async fn update_validation_and_lookup_errors() {
    let config = AgentConfig::default();
    let agent = agent(config.clone()).await;
    let addr = agent.endpoint();
    let update = |uuid: &str| {
        let mut c = call(&config, "UPDATE");
        c["update"] = json!({"status": {
            "task_id": {"value": "t"}, "state": "TASK_RUNNING",
            "source": "SOURCE_EXECUTOR", "uuid": uuid}});
        c
    };
    // The doc example's UUID is base64 of the UUID *text* (ref §0.1).
    let text_uuid = "ZDQwZjNmM2UtMDAwMC00MDAwLTgwMDAtNGNiMWVhZTcyZjY3Cg==";
    let r = post_json(addr, &update(text_uuid)).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, "Failed to validate Executor::Call: Not a valid UUID")
    );

    let v4 = mesos::wire::encode_base64(uuid::Uuid::new_v4().as_bytes());
    let r = post_json(addr, &update(&v4)).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (403, "Executor is not subscribed")
    );

    let mut other = update(&v4);
    other["framework_id"]["value"] = json!("other");
    let r = post_json(addr, &other).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, "Framework cannot be found")
    );

    let mut other = update(&v4);
    other["executor_id"]["value"] = json!("other");
    other["update"]["status"]
        .as_object_mut()
        .unwrap()
        .remove("executor_id");
    let r = post_json(addr, &other).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, "Executor cannot be found")
    );

    let r = post_json(addr, &call(&config, "HEARTBEAT")).await;
    assert_eq!(r.status, 202);
    let mut dummy = call(&config, "HEARTBEAT");
    dummy["executor_id"]["value"] = json!("unused");
    assert_eq!(post_json(addr, &dummy).await.status, 202);
}

#[tokio::test]
async fn authentication_recovery_and_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = AgentConfig {
        auth_token: Some("token-123".into()),
        unix_socket: Some(dir.path().join("agent.sock")),
        ..AgentConfig::default()
    };
    let agent = agent(config.clone()).await;
    let addr = agent.endpoint();
    let body = call(&config, "HEARTBEAT").to_string();
    let json = ("Content-Type", "application/json");

    let r = raw_request(addr, "POST", "/api/v1/executor", &[json], &body).await;
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer realm=\"mesos-agent-executor\""));
    let auth = ("Authorization", "Bearer token-123");
    let r = raw_request(
        addr,
        "POST",
        "/slave(1)/api/v1/executor",
        &[json, auth],
        &body,
    )
    .await;
    assert_eq!(r.status, 202);
    let r = raw_request(addr, "POST", "/elsewhere", &[json, auth], &body).await;
    assert_eq!(r.status, 404);

    agent.restart(RestartPlan {
        down_for: Duration::from_millis(100),
        recovering_for: Duration::from_secs(30),
        reregistration_window: None,
    });
    let r = loop {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(_) => {
                break raw_request(addr, "POST", "/api/v1/executor", &[json, auth], &body).await
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(
        (r.status, r.body.as_str()),
        (503, "Agent has not finished recovery")
    );
}

#[tokio::test]
async fn unix_socket_serves_only_the_prefixed_path() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let config = AgentConfig {
        unix_socket: Some(dir.path().join("agent.sock")),
        ..AgentConfig::default()
    };
    let agent = agent(config.clone()).await;
    let body = call(&config, "HEARTBEAT").to_string();
    let mut statuses = Vec::new();
    for path in ["/api/v1/executor", "/slave(1)/api/v1/executor"] {
        let mut s = tokio::net::UnixStream::connect(agent.socket_path().unwrap())
            .await
            .unwrap();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        statuses.push(out.split_whitespace().nth(1).unwrap().to_string());
    }
    assert_eq!(statuses, ["403", "202"]);
}
