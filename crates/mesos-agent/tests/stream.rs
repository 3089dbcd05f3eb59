//! Conformance checks about reading the event stream (ref §9: 7–11).

mod common;

use std::time::Duration;

use common::{agent, launch, running_task, states, task, test_executor, wait_state, HANG};
use mesos::{CommandInfo, Event, ExecutorId, ExecutorInfo};
use mesos_agent::{AgentConfig, ChunkMode, TaskBuilder};
use serde_json::json;

#[tokio::test]
async fn check_07_recordio_split_records() {
    let modes = [
        ChunkMode::Coalesce,
        ChunkMode::Split { max_piece: 1 },
        ChunkMode::Split { max_piece: 7 },
        ChunkMode::Split { max_piece: 64 },
    ];
    for mode in modes {
        let agent = agent(AgentConfig {
            chunk_mode: mode,
            ..AgentConfig::default()
        })
        .await;
        // Queued tasks go out together with SUBSCRIBED, so with `Coalesce` three records share
        // one chunk; with `Split` every record and length line is cut at varying offsets.
        agent.launch(task("a"));
        agent.launch(task("b"));
        let executor = launch(&agent, test_executor()).await;
        wait_state(&agent, &executor, "a", "TASK_RUNNING").await;
        wait_state(&agent, &executor, "b", "TASK_RUNNING").await;
        agent.kill("a", None);
        agent.kill("b", None);
        wait_state(&agent, &executor, "a", "TASK_KILLED").await;
        wait_state(&agent, &executor, "b", "TASK_KILLED").await;
        assert_eq!(
            agent.subscriptions().len(),
            1,
            "{mode:?}: no reconnect needed"
        );
    }
}

#[tokio::test]
async fn check_08_malformed_length_line_reconnects() {
    for garbage in [
        &b"12x\n{}"[..],
        b"-5\n",
        b"999999999999999999999999\n",
        b" 2\n{}",
    ] {
        let agent = agent(AgentConfig::default()).await;
        let executor = running_task(&agent, test_executor(), "t1").await;
        assert!(agent.inject_raw(garbage.to_vec()));
        agent.wait_subscribed(2, HANG).await.unwrap_or_else(|e| {
            panic!(
                "{e}: {:?}\n{}",
                String::from_utf8_lossy(garbage),
                executor.stderr()
            )
        });
        assert!(executor.exit().is_none(), "executor crashed");
        agent.kill("t1", None);
        wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    }
}

#[tokio::test]
async fn check_09_end_of_stream_reset_and_read_errors_are_disconnections() {
    let agent = agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;

    agent.close_stream();
    agent.wait_subscribed(2, HANG).await.unwrap();

    agent.drop_stream_connection(true);
    agent.wait_subscribed(3, HANG).await.unwrap();

    // A record cut short by the connection going away.
    agent.inject_raw(b"100\n{\"type\":".to_vec());
    agent.drop_stream_connection(false);
    agent.wait_subscribed(4, HANG).await.unwrap();

    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert_eq!(
        states(&agent, "t1"),
        ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED"]
    );
}

#[tokio::test]
async fn check_10_heartbeat_unknown_events_and_error_are_tolerated() {
    let agent = agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;

    assert!(agent.send_event(Event::Heartbeat));
    assert!(agent.send_json(&json!({"type": "HEARTBEAT", "heartbeat": {"x": 1}, "extra": [1]})));
    assert!(agent.send_json(&json!({"type": "FOO", "foo": {"bar": true}})));
    assert!(agent.send_json(&json!({})));
    assert!(agent.send_event(Event::Error("Unrecoverable error".into())));
    assert!(agent
        .send_json(&json!({"type": "MESSAGE", "message": {"data": "cGluZw==", "new_field": 1}})));
    agent
        .wait_for("the echoed message", HANG, |a| {
            a.messages().first().cloned()
        })
        .await
        .unwrap();

    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert_eq!(agent.messages(), [b"ping".to_vec()]);
    assert_eq!(
        agent.subscriptions().len(),
        1,
        "tolerated without reconnecting"
    );
}

#[tokio::test]
async fn check_11_large_int64_and_json_defaults() {
    let mut executor_info = ExecutorInfo::new(ExecutorId::new("placeholder"));
    executor_info.command = Some(CommandInfo {
        shell: Some(true),
        value: Some("./mesos-test-executor".into()),
        ..CommandInfo::default()
    });
    let agent = agent(AgentConfig {
        executor_info: Some(executor_info),
        ..AgentConfig::default()
    })
    .await;
    // 2^53 + 1 nanoseconds is not representable as f64.
    let huge = Duration::from_nanos((1u64 << 53) + 1);
    agent.launch(
        TaskBuilder::new("t1")
            .ports(&[(31000, 31001)])
            .kill_grace(huge)
            .max_completion_time(huge)
            .build(),
    );
    let executor = launch(&agent, test_executor()).await;
    wait_state(&agent, &executor, "t1", "TASK_RUNNING").await;

    // And a LAUNCH exactly as a real agent writes it, with defaults and unknown fields.
    let config = agent.config();
    let raw = json!({"type": "LAUNCH", "launch": {"task": {
        "name": "t2", "task_id": {"value": "t2"},
        "agent_id": {"value": config.agent_id.as_str()},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5},
                       "allocation_info": {"role": "*"}}],
        "executor": {"type": "CUSTOM", "executor_id": {"value": config.executor_id.as_str()},
                     "command": {"shell": true, "value": "x"}, "some_future_field": {}},
        "kill_policy": {"grace_period": {"nanoseconds": 9_007_199_254_740_993_i64}},
        "max_completion_time": {"nanoseconds": "9007199254740993"},
        "discovery": {"visibility": "FRAMEWORK", "name": "t2"}
    }}});
    assert!(agent.send_json(&raw));
    // The agent did not launch t2 itself, so it journals the updates as for an unknown task.
    agent
        .wait_for("TASK_RUNNING of t2", HANG, |a| {
            a.updates("t2")
                .into_iter()
                .find(|r| r.state().as_str() == "TASK_RUNNING")
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", executor.stderr()));
}
