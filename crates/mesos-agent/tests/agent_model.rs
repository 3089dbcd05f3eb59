//! The stand-in's agent-side behaviour, driven by a hand-made executor: the update path
//! (ref §0.14, §5.5), subscription replacement (§0.7), dropped events (§0.6), stale STAGING tasks
//! (§0.12), the reregistration window (§6.4), the shutdown grace (§7.2), kills before delivery.

mod common;

use std::time::Duration;

use common::{agent, post_json, task, update_call, RawSubscription, HANG};
use mesos::{CapabilityType, Reason, Source, TaskState};
use mesos_agent::{
    AgentConfig, Disposition, ExecutorPhase, RestartPlan, UpdateOrigin, UpdateRecord,
};
use serde_json::json;
use uuid::Uuid;

async fn record(agent: &mesos_agent::Agent, uuid: Uuid) -> UpdateRecord {
    agent
        .wait_for("the update in the journal", HANG, |a| {
            a.journal()
                .into_iter()
                .rev()
                .find(|r| r.uuid() == Some(uuid))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn update_path_drops_dedupes_and_acks_like_the_agent() {
    let agent = agent(AgentConfig::default()).await;
    agent.launch(task("t1"));
    let mut sub = RawSubscription::open(&agent, json!({})).await;
    sub.next_event_of("SUBSCRIBED").await;
    let launch = sub.next_event_of("LAUNCH").await;
    assert_eq!(launch["launch"]["task"]["task_id"]["value"], "t1");

    let addr = agent.endpoint();
    let running = Uuid::new_v4();
    assert_eq!(
        post_json(addr, &update_call(&agent, "t1", "TASK_RUNNING", running))
            .await
            .status,
        202
    );
    let ack = sub.next_event_of("ACKNOWLEDGED").await;
    assert_eq!(
        ack["acknowledged"]["uuid"],
        mesos::wire::encode_base64(running.as_bytes())
    );
    assert_eq!(
        record(&agent, running).await.disposition,
        Disposition::Accepted
    );

    // A retransmission is ACKed again but not recorded as new.
    post_json(addr, &update_call(&agent, "t1", "TASK_RUNNING", running)).await;
    sub.next_event_of("ACKNOWLEDGED").await;
    assert_eq!(
        record(&agent, running).await.disposition,
        Disposition::Duplicate
    );

    let finished = Uuid::new_v4();
    post_json(addr, &update_call(&agent, "t1", "TASK_FINISHED", finished)).await;
    sub.next_event_of("ACKNOWLEDGED").await;
    // After the terminal update: dropped but ACKed (so the executor stops retrying).
    let late = Uuid::new_v4();
    post_json(addr, &update_call(&agent, "t1", "TASK_FAILED", late)).await;
    sub.next_event_of("ACKNOWLEDGED").await;
    assert_eq!(
        record(&agent, late).await.disposition,
        Disposition::DroppedAfterTerminal
    );

    // Never ACKed: a foreign agent_id, an unknown task, a task the scheduler completed.
    let mut foreign = update_call(&agent, "t1", "TASK_RUNNING", Uuid::new_v4());
    foreign["update"]["status"]["agent_id"] = json!({"value": "another-agent"});
    post_json(addr, &foreign).await;
    let unknown = Uuid::new_v4();
    post_json(addr, &update_call(&agent, "nope", "TASK_RUNNING", unknown)).await;
    agent.complete_task("t1");
    let completed = Uuid::new_v4();
    post_json(addr, &update_call(&agent, "t1", "TASK_FINISHED", completed)).await;
    assert_eq!(
        record(&agent, unknown).await.disposition,
        Disposition::IgnoredUnknownTask
    );
    assert_eq!(
        record(&agent, completed).await.disposition,
        Disposition::IgnoredUnknownTask
    );
    let journal = agent.journal();
    assert!(journal
        .iter()
        .any(|r| r.disposition == Disposition::IgnoredAgentIdMismatch && r.acks_sent == 0));
    assert!(journal
        .iter()
        .filter(|r| !r.disposition.is_acked_by_agent())
        .all(|r| r.acks_sent == 0));
}

#[tokio::test]
async fn second_subscribe_closes_the_first_stream_and_events_without_stream_are_dropped() {
    let agent = agent(AgentConfig::default()).await;
    let mut first = RawSubscription::open(&agent, json!({})).await;
    first.next_event_of("SUBSCRIBED").await;
    let mut second = RawSubscription::open(&agent, json!({})).await;
    second.next_event_of("SUBSCRIBED").await;
    assert!(first.next_event().await.is_none());
    assert!(first.ended, "clean end of stream");

    drop(second);
    agent
        .wait_for("the stream to be noticed gone", HANG, |a| {
            (!a.send_message(b"x".to_vec())).then_some(())
        })
        .await
        .unwrap();
    let dropped = agent.events().pop().unwrap();
    assert_eq!(
        (dropped.kind.as_str(), dropped.delivered),
        ("MESSAGE", false)
    );
    assert_eq!(agent.executor_phase(), ExecutorPhase::Running);
}

#[tokio::test]
async fn staging_tasks_not_listed_on_resubscribe_are_lost() {
    for (capabilities, expected) in [
        (vec![], TaskState::Lost),
        (vec![CapabilityType::PartitionAware], TaskState::Dropped),
    ] {
        let agent = agent(AgentConfig {
            capabilities,
            ..AgentConfig::default()
        })
        .await;
        let mut sub = RawSubscription::open(&agent, json!({})).await;
        sub.next_event_of("SUBSCRIBED").await;
        agent.launch(task("listed"));
        agent.launch(task("forgotten"));
        sub.next_event_of("LAUNCH").await;
        sub.next_event_of("LAUNCH").await;
        let mut listed = serde_json::to_value(task("listed")).unwrap();
        listed["agent_id"] = json!({"value": agent.config().agent_id.as_str()});
        let mut again =
            RawSubscription::open(&agent, json!({"unacknowledged_tasks": [listed]})).await;
        again.next_event_of("SUBSCRIBED").await;
        let lost = agent
            .wait_for_update("forgotten", HANG, |r| r.origin == UpdateOrigin::Agent)
            .await
            .unwrap();
        assert_eq!(lost.state(), &expected);
        assert_eq!(lost.status.reason, Some(Reason::AgentRestarted));
        assert_eq!(lost.status.source, Some(Source::Agent));
        assert!(agent.updates("listed").is_empty());
    }
}

#[tokio::test]
async fn executor_missing_the_reregistration_window_is_destroyed() {
    for (capabilities, expected) in [
        (vec![], TaskState::Lost),
        (vec![CapabilityType::PartitionAware], TaskState::Gone),
    ] {
        let agent = agent(AgentConfig {
            capabilities,
            ..AgentConfig::default()
        })
        .await;
        let mut sub = RawSubscription::open(&agent, json!({})).await;
        agent.launch(task("t1"));
        sub.next_event_of("LAUNCH").await;
        post_json(
            agent.endpoint(),
            &update_call(&agent, "t1", "TASK_RUNNING", Uuid::new_v4()),
        )
        .await;
        agent.restart(RestartPlan {
            down_for: Duration::from_millis(200),
            recovering_for: Duration::ZERO,
            reregistration_window: Some(Duration::from_millis(500)),
        });
        while sub.next_event().await.is_some() {} // until the connection drops
        let lost = agent
            .wait_for_update("t1", HANG, |r| r.origin == UpdateOrigin::Agent)
            .await
            .unwrap();
        assert_eq!(lost.state(), &expected);
        assert_eq!(
            lost.status.reason,
            Some(Reason::ExecutorReregistrationTimeout)
        );
        assert!(agent.destroyed_executor());
        assert_eq!(agent.executor_phase(), ExecutorPhase::Terminated);
    }
}

#[tokio::test]
async fn shutdown_grace_then_destroy_and_kill_before_delivery() {
    let agent = agent(AgentConfig {
        shutdown_grace_period: Duration::from_millis(300),
        ..AgentConfig::default()
    })
    .await;
    let mut sub = RawSubscription::open(&agent, json!({})).await;
    agent.launch(task("t1"));
    sub.next_event_of("LAUNCH").await;
    agent.shutdown();
    sub.next_event_of("SHUTDOWN").await;
    let failed = agent
        .wait_for_update("t1", HANG, |r| r.origin == UpdateOrigin::Agent)
        .await
        .unwrap();
    assert_eq!(failed.state(), &TaskState::Failed);
    assert_eq!(failed.status.reason, Some(Reason::ExecutorTerminated));
    assert!(agent.destroyed_executor());

    // A task killed before the executor subscribed never reaches it, and an executor whose
    // every queued task was killed gets SHUTDOWN instead of SUBSCRIBED.
    let agent = common::agent(AgentConfig::default()).await;
    agent.launch(task("early"));
    agent.kill("early", None);
    let killed = agent.updates("early").pop().unwrap();
    assert_eq!(killed.state(), &TaskState::Killed);
    assert_eq!(killed.status.reason, Some(Reason::TaskKilledDuringLaunch));
    let mut sub = RawSubscription::open(&agent, json!({})).await;
    assert_eq!(sub.next_event().await.unwrap()["type"], "SHUTDOWN");
    assert!(sub.next_event().await.is_none());
}

#[tokio::test]
async fn restart_without_checkpointing_forgets_the_framework() {
    let agent = agent(AgentConfig {
        checkpoint: false,
        ..AgentConfig::default()
    })
    .await;
    let mut sub = RawSubscription::open(&agent, json!({})).await;
    agent.launch(task("t1"));
    sub.next_event_of("LAUNCH").await;
    agent.restart(RestartPlan {
        down_for: Duration::from_millis(100),
        recovering_for: Duration::ZERO,
        reregistration_window: Some(Duration::from_millis(100)),
    });
    while sub.next_event().await.is_some() {}
    agent
        .wait_for("the restart to finish", HANG, |a| {
            (a.recovery_phase() == mesos_agent::RecoveryPhase::Running).then_some(())
        })
        .await
        .unwrap();
    assert!(agent.destroyed_executor());
    let config = agent.config();
    let subscribe = json!({
        "type": "SUBSCRIBE", "subscribe": {},
        "executor_id": {"value": config.executor_id.as_str()},
        "framework_id": {"value": config.framework_id.as_str()},
    });
    let r = post_json(agent.endpoint(), &subscribe).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, "Framework cannot be found")
    );
    assert!(
        agent.updates("t1").is_empty(),
        "no updates for a forgotten framework"
    );
}
