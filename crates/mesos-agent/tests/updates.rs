//! Conformance checks about status updates, acknowledgements and messages
//! (ref §9: 14, 16, 17, 18, 19, 33, 34).

mod common;

use std::time::Duration;

use common::{agent, launch, running_task, states, task, test_executor, wait_state, HANG};
use mesos::{
    Acknowledged, CapabilityType, Event, ExecutorEnv, Session, SessionEvent, TaskId, TaskState,
    TaskStatus,
};
use mesos_agent::{AckPolicy, AgentConfig, Disposition, RestartPlan, UpdateOrigin};
use tokio::sync::mpsc::UnboundedReceiver;

#[tokio::test]
async fn check_14_update_fields() {
    let config = AgentConfig::default();
    let agent = agent(config.clone()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;

    let updates: Vec<_> = agent
        .requests()
        .into_iter()
        .filter(|r| r.call_type.as_deref() == Some("UPDATE"))
        .collect();
    assert_eq!(updates.len(), 3, "{updates:?}");
    let mut uuids = std::collections::HashSet::new();
    for r in updates {
        let status = &r.body.as_ref().unwrap()["update"]["status"];
        assert_eq!(status["source"], "SOURCE_EXECUTOR");
        assert_eq!(status["task_id"]["value"], "t1");
        assert_ne!(status["state"], "TASK_STAGING");
        let uuid = status["uuid"].as_str().expect("uuid");
        assert_eq!(uuid.len(), 24, "padded base64 of 16 bytes: {uuid}");
        assert!(uuid.ends_with("=="));
        let bytes = mesos::wire::decode_base64(uuid).unwrap();
        let parsed = uuid::Uuid::from_slice(&bytes).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert!(uuids.insert(parsed), "fresh UUID per update");
        for (key, expected) in [
            ("executor_id", config.executor_id.as_str()),
            ("agent_id", config.agent_id.as_str()),
        ] {
            if !status[key].is_null() {
                assert_eq!(status[key]["value"], expected);
            }
        }
        assert!(status["timestamp"].as_f64().unwrap() > 1.6e9);
    }
}

#[tokio::test]
async fn check_16_task_killing_only_with_capability() {
    let agent = agent(AgentConfig {
        capabilities: vec![CapabilityType::TaskKillingState],
        ..AgentConfig::default()
    })
    .await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert_eq!(
        states(&agent, "t1"),
        [
            "TASK_STARTING",
            "TASK_RUNNING",
            "TASK_KILLING",
            "TASK_KILLED"
        ]
    );

    let agent = common::agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert_eq!(
        states(&agent, "t1"),
        ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED"]
    );
}

/// An in-process session against `agent`, past SUBSCRIBED.
async fn session(
    agent: &mesos_agent::Agent,
    sandbox: &std::path::Path,
) -> (Session, UnboundedReceiver<SessionEvent>) {
    let env = ExecutorEnv::from_vars(agent.executor_env(sandbox)).expect("env");
    let (session, mut events) = Session::start(env);
    match next_event(&mut events).await {
        SessionEvent::Subscribed { .. } => {}
        other => panic!("expected SUBSCRIBED, got {other:?}"),
    }
    (session, events)
}

async fn next_event(events: &mut UnboundedReceiver<SessionEvent>) -> SessionEvent {
    tokio::time::timeout(HANG, events.recv())
        .await
        .expect("event in time")
        .expect("session alive")
}

/// Sends a MESSAGE and waits for it: everything the agent sent before has been processed.
async fn sync(agent: &mesos_agent::Agent, events: &mut UnboundedReceiver<SessionEvent>) {
    let marker = uuid::Uuid::new_v4().as_bytes().to_vec();
    agent.send_message(marker.clone());
    loop {
        if next_event(events).await == SessionEvent::Message(marker.clone()) {
            return;
        }
    }
}

#[tokio::test]
async fn check_17_keeps_updates_until_acknowledged() {
    let agent = agent(AgentConfig {
        ack_policy: AckPolicy::Never,
        ..AgentConfig::default()
    })
    .await;
    let sandbox = tempfile::tempdir().unwrap();
    let (session, mut events) = session(&agent, sandbox.path()).await;
    agent.launch(task("t1"));
    assert!(matches!(
        next_event(&mut events).await,
        SessionEvent::Launch(_)
    ));

    let running = session.update(TaskStatus::new(TaskId::new("t1"), TaskState::Running));
    let record = agent
        .wait_for_update("t1", HANG, |r| r.state() == &TaskState::Running)
        .await
        .unwrap();
    assert_eq!(record.uuid(), Some(running));
    assert_eq!(session.unacknowledged(), 1);

    // An ACK with an unknown UUID changes nothing.
    agent.send_event(Event::Acknowledged(Acknowledged {
        task_id: TaskId::new("t1"),
        uuid: uuid::Uuid::new_v4().as_bytes().to_vec(),
    }));
    sync(&agent, &mut events).await;
    assert_eq!(session.unacknowledged(), 1);

    // The real ACK, twice: the update is released, the duplicate is harmless.
    let ack = Event::Acknowledged(Acknowledged {
        task_id: TaskId::new("t1"),
        uuid: running.as_bytes().to_vec(),
    });
    agent.send_event(ack.clone());
    agent.send_event(ack);
    assert!(session.wait_acknowledged(HANG).await);
    sync(&agent, &mut events).await;
    assert_eq!(session.unacknowledged(), 0);

    // Duplicate ACKs from the agent's own policy are tolerated as well.
    agent.set_ack_policy(AckPolicy::Duplicate);
    session.update(TaskStatus::new(TaskId::new("t1"), TaskState::Finished));
    assert!(session.wait_acknowledged(HANG).await);
    sync(&agent, &mut events).await;
    assert_eq!(session.unacknowledged(), 0);
    session.close();
}

#[tokio::test]
async fn check_18_update_retried_after_503_and_resubscribe_after_403() {
    // 503 during the reregistration window: the update is retried with the same UUID.
    let agent = agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.restart(RestartPlan {
        down_for: Duration::from_millis(500),
        recovering_for: Duration::ZERO,
        reregistration_window: Some(Duration::from_secs(4)),
    });
    agent.wait_subscribed(2, HANG).await.unwrap();
    agent.kill("t1", None);
    let killed = wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    let uuid = mesos::wire::encode_base64(killed.uuid().unwrap().as_bytes());
    let rejected: Vec<_> = agent
        .requests()
        .into_iter()
        .filter(|r| r.call_type.as_deref() == Some("UPDATE") && r.status == 503)
        .collect();
    assert!(!rejected.is_empty(), "an UPDATE met the window");
    for r in &rejected {
        assert_eq!(
            r.body.as_ref().unwrap()["update"]["status"]["uuid"],
            uuid.as_str()
        );
    }
    assert_eq!(killed.disposition, Disposition::Accepted);

    // 403: the agent forgot the subscription; the executor resubscribes and the update is
    // delivered in `unacknowledged_updates` (or retried after the resubscription).
    let agent = common::agent(AgentConfig::default()).await;
    agent.launch(task("t2"));
    let executor = launch(
        &agent,
        test_executor().env("TEST_EXECUTOR_LAUNCH_DELAY", "2secs"),
    )
    .await;
    wait_state(&agent, &executor, "t2", "TASK_STARTING").await;
    agent.forget_subscription();
    agent.wait_subscribed(2, HANG).await.unwrap_or_else(|e| {
        panic!("{e}\n{}", executor.stderr());
    });
    let running = wait_state(&agent, &executor, "t2", "TASK_RUNNING").await;
    let forbidden = agent
        .requests()
        .into_iter()
        .find(|r| r.call_type.as_deref() == Some("UPDATE") && r.status == 403)
        .expect("an UPDATE got 403");
    let uuid = mesos::wire::encode_base64(running.uuid().unwrap().as_bytes());
    assert_eq!(
        forbidden.body.unwrap()["update"]["status"]["uuid"],
        uuid.as_str()
    );
}

#[tokio::test]
async fn check_19_per_task_update_order_preserved() {
    let agent = agent(AgentConfig {
        ack_policy: AckPolicy::Delayed(Duration::from_millis(300)),
        ..AgentConfig::default()
    })
    .await;
    let ids = ["a", "b", "c", "d", "e"];
    for id in ids {
        agent.launch(task(id));
    }
    let executor = launch(&agent, test_executor()).await;
    for id in ids {
        wait_state(&agent, &executor, id, "TASK_RUNNING").await;
    }
    for id in ids {
        agent.kill(id, None);
    }
    for id in ids {
        wait_state(&agent, &executor, id, "TASK_KILLED").await;
        assert_eq!(
            states(&agent, id),
            ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED"],
            "task {id}"
        );
    }
    assert!(agent
        .journal()
        .iter()
        .all(|r| r.origin == UpdateOrigin::Call && r.disposition == Disposition::Accepted));
}

#[tokio::test]
async fn check_33_messages_both_ways() {
    let agent = agent(AgentConfig::default()).await;
    let _executor = running_task(&agent, test_executor(), "t1").await;
    let data = b"ping\x00\xff".to_vec();
    agent.send_message(data.clone());
    let echoed = agent
        .wait_for("the echoed message", HANG, |a| {
            a.messages().first().cloned()
        })
        .await
        .unwrap();
    assert_eq!(echoed, data);
    let call = agent
        .requests()
        .into_iter()
        .find(|r| r.call_type.as_deref() == Some("MESSAGE"))
        .unwrap();
    assert_eq!(call.body.unwrap()["message"]["data"], "cGluZwD/");
}

#[tokio::test]
async fn check_34_no_heartbeat_calls() {
    let agent = agent(AgentConfig {
        heartbeat_interval: Some(Duration::from_millis(200)),
        ..AgentConfig::default()
    })
    .await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    // Several HEARTBEAT events go by; the executor keeps working and sends no HEARTBEAT calls.
    agent
        .wait_for("heartbeat events", HANG, |a| {
            (a.events().iter().filter(|e| e.kind == "HEARTBEAT").count() >= 3).then_some(())
        })
        .await
        .unwrap();
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert!(agent
        .requests()
        .iter()
        .all(|r| r.call_type.as_deref() != Some("HEARTBEAT")));
    assert_eq!(agent.subscriptions().len(), 1);
}
