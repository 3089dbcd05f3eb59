//! Conformance checks about disconnection, resubscription and agent restarts
//! (ref §9: 20–24).

mod common;

use std::time::{Duration, Instant};

use common::{agent, running_task, states, task, test_executor, wait_exit, wait_state, HANG};
use mesos::TaskId;
use mesos_agent::{
    AckPolicy, AgentConfig, Disposition, ExecutorExit, ExecutorPhase, RestartPlan, UpdateOrigin,
};

#[tokio::test]
async fn check_20_resubscribe_lists_unacknowledged_updates_and_tasks() {
    let agent = agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "acked").await;

    agent.set_ack_policy(AckPolicy::Never);
    agent.launch(task("unacked"));
    wait_state(&agent, &executor, "unacked", "TASK_RUNNING").await;
    agent.set_ack_policy(AckPolicy::Immediate);

    agent.close_stream();
    agent.wait_subscribed(2, HANG).await.unwrap();
    let sub = agent.subscriptions().pop().unwrap();
    let sent: Vec<_> = agent
        .updates("unacked")
        .into_iter()
        .filter(|r| r.origin == UpdateOrigin::Call)
        .map(|r| r.uuid().unwrap())
        .collect();
    let listed: Vec<_> = sub
        .unacknowledged_updates
        .iter()
        .map(|s| s.uuid().unwrap())
        .collect();
    assert_eq!(
        listed, sent,
        "all unACKed updates, original UUIDs, original order"
    );
    assert_eq!(sub.unacknowledged_tasks, [TaskId::new("unacked")]);

    // The replay is deduplicated and ACKed by the agent, so the executor can finish cleanly.
    let replayed = agent
        .wait_for("the replayed updates to be ACKed", HANG, |a| {
            let r: Vec<_> = a
                .updates("unacked")
                .into_iter()
                .filter(|r| r.origin == UpdateOrigin::Resubscribe)
                .collect();
            (r.len() == 2 && r.iter().all(|r| r.acked())).then_some(r)
        })
        .await
        .unwrap();
    assert!(replayed
        .iter()
        .all(|r| r.disposition == Disposition::Duplicate));
    agent.kill("acked", None);
    agent.kill("unacked", None);
    wait_state(&agent, &executor, "unacked", "TASK_KILLED").await;
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Code(0));
}

#[tokio::test]
async fn check_21_no_relaunch_after_resubscribe() {
    let agent = agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.drop_stream_connection(false);
    agent.wait_subscribed(2, HANG).await.unwrap();
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert_eq!(
        states(&agent, "t1"),
        ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED"]
    );
    let launches = agent.events().iter().filter(|e| e.kind == "LAUNCH").count();
    assert_eq!(launches, 1);
}

#[tokio::test]
async fn check_22_resubscribes_within_reregistration_window() {
    let agent = agent(AgentConfig {
        reregistration_timeout: Duration::from_secs(2),
        ..AgentConfig::default()
    })
    .await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.restart(RestartPlan {
        down_for: Duration::from_secs(3),
        ..RestartPlan::default()
    });
    agent.wait_subscribed(2, HANG).await.unwrap();
    assert!(agent.subscriptions()[1].during_recovery);
    agent
        .wait_for("the end of the window", HANG, |a| {
            (a.recovery_phase() == mesos_agent::RecoveryPhase::Running).then_some(())
        })
        .await
        .unwrap();
    assert!(!agent.destroyed_executor());
    assert_eq!(agent.executor_phase(), ExecutorPhase::Running);
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
}

#[tokio::test]
async fn check_23_gives_up_after_recovery_timeout() {
    let recovery_timeout = Duration::from_secs(3);
    let agent = agent(AgentConfig {
        recovery_timeout,
        reregistration_timeout: Duration::from_millis(500),
        ..AgentConfig::default()
    })
    .await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    let disconnected = Instant::now();
    agent.restart(RestartPlan {
        down_for: Duration::from_secs(600),
        ..RestartPlan::default()
    });
    let exit = wait_exit(&executor).await;
    assert!(disconnected.elapsed() >= recovery_timeout, "gave up early");
    assert_eq!(exit, ExecutorExit::Code(2), "{}", executor.stderr());
    assert_eq!(agent.subscriptions().len(), 1);
}

#[tokio::test]
async fn check_24_without_checkpoint_no_reconnect() {
    let grace = Duration::from_secs(20);
    let agent = agent(AgentConfig {
        checkpoint: false,
        shutdown_grace_period: grace,
        ..AgentConfig::default()
    })
    .await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    let disconnected = Instant::now();
    agent.close_stream();
    let exit = wait_exit(&executor).await;
    assert!(
        disconnected.elapsed() < grace,
        "exited within the shutdown grace period"
    );
    assert_eq!(exit, ExecutorExit::Code(2), "{}", executor.stderr());
    let subscribes = agent
        .requests()
        .iter()
        .filter(|r| r.call_type.as_deref() == Some("SUBSCRIBE"))
        .count();
    assert_eq!(subscribes, 1, "no reconnect");
}
