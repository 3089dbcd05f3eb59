//! Conformance checks about the executor's life: exit policy, responsiveness, stalls
//! (ref §9: 36–38), plus the agent's side of an executor that is gone (ref §6.5).

mod common;

use std::time::Duration;

use common::{
    agent, cpu_ticks, launch, running_task, task, test_executor, wait_exit, wait_state, HANG,
};
use mesos::{Reason, Source, TaskState};
use mesos_agent::{AckPolicy, AgentConfig, CgroupPlacement, ExecutorExit, UpdateOrigin};

#[tokio::test]
async fn check_36_exits_after_terminal_updates_are_acknowledged() {
    let agent = agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.kill("t1", None);
    let killed = wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Code(0));
    assert!(!agent.destroyed_executor());
    let killed = agent
        .updates("t1")
        .into_iter()
        .find(|r| r.seq == killed.seq)
        .unwrap();
    assert!(killed.acked());

    // Without the final ACK the wait is bounded.
    let agent = common::agent(AgentConfig::default()).await;
    let executor = running_task(
        &agent,
        test_executor().env("TEST_EXECUTOR_ACK_TIMEOUT", "2secs"),
        "t1",
    )
    .await;
    agent.set_ack_policy(AckPolicy::Never);
    agent.kill("t1", None);
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Code(0));
    assert!(!agent.destroyed_executor());
    assert!(agent.updates("t1").iter().any(|r| !r.acked()));
}

#[tokio::test]
async fn check_37_kill_and_shutdown_not_blocked_by_a_slow_launch() {
    let slow = test_executor().env("TEST_EXECUTOR_LAUNCH_DELAY", "10mins");
    let agent = agent(AgentConfig::default()).await;
    agent.launch(task("a"));
    agent.launch(task("b"));
    agent.launch(task("c"));
    let executor = launch(&agent, slow).await;
    for id in ["a", "b", "c"] {
        wait_state(&agent, &executor, id, "TASK_STARTING").await;
    }
    agent.kill("a", None);
    wait_state(&agent, &executor, "a", "TASK_KILLED").await;
    agent.shutdown();
    wait_state(&agent, &executor, "b", "TASK_KILLED").await;
    wait_state(&agent, &executor, "c", "TASK_KILLED").await;
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Code(0));
    assert!(agent
        .journal()
        .iter()
        .all(|r| r.state() != &TaskState::Running));
}

#[tokio::test]
async fn check_38_survives_a_stalled_agent_without_busy_looping() {
    let agent = agent(AgentConfig::default()).await;
    let executor = running_task(&agent, test_executor(), "t1").await;
    agent.stall();
    let before = cpu_ticks(executor.pid());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_ticks(executor.pid()) - before;
    // A busy loop would burn ~300 ticks (100 Hz) in 3 s; an idle executor close to 0.
    assert!(
        used < 100,
        "executor used {used} CPU ticks while the agent stalled"
    );
    agent.kill("t1", None);
    agent.resume();
    wait_state(&agent, &executor, "t1", "TASK_KILLED").await;
    assert_eq!(
        agent.subscriptions().len(),
        1,
        "a stall is not a disconnection"
    );
}

#[tokio::test]
async fn destroyed_executor_gets_agent_terminal_updates_and_cgroups_are_removed() {
    let agent = agent(AgentConfig::default()).await;
    let mut spec = test_executor();
    let root = format!("mesos-agent-test-{}", uuid::Uuid::new_v4().simple());
    spec.cgroup = Some(CgroupPlacement {
        root: root.clone(),
        ..CgroupPlacement::default()
    });
    agent.launch(task("t1"));
    let executor = launch(&agent, spec).await;
    wait_state(&agent, &executor, "t1", "TASK_RUNNING").await;
    let dirs = executor.cgroup_dirs().to_vec();
    assert!(!dirs.is_empty());
    let cgroup = std::fs::read_to_string(format!("/proc/{}/cgroup", executor.pid())).unwrap();
    let container = agent.config().container_id.value;
    assert!(
        cgroup.contains(&format!(":freezer:/{root}/{container}")),
        "{cgroup}"
    );

    agent.destroy_executor();
    assert!(matches!(
        wait_exit(&executor).await,
        ExecutorExit::Signal(9)
    ));
    let lost = agent
        .wait_for_update("t1", HANG, |r| r.origin == UpdateOrigin::Agent)
        .await
        .unwrap();
    assert_eq!(lost.state(), &TaskState::Failed);
    assert_eq!(lost.status.reason, Some(Reason::ExecutorTerminated));
    assert_eq!(lost.status.source, Some(Source::Agent));
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(!dir.parent().unwrap().exists(), "cgroup root left behind");
    }
}

#[tokio::test]
async fn check_28_shutdown_without_acks_exits_before_the_grace_period() {
    let agent = agent(AgentConfig {
        shutdown_grace_period: Duration::from_secs(30),
        ..AgentConfig::default()
    })
    .await;
    let executor = running_task(
        &agent,
        test_executor().env("TEST_EXECUTOR_ACK_TIMEOUT", "2secs"),
        "t1",
    )
    .await;
    agent.launch(task("t2"));
    wait_state(&agent, &executor, "t2", "TASK_RUNNING").await;
    // A framework teardown: SHUTDOWN, and the agent ignores the executor's updates.
    agent.teardown_framework();
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Code(0));
    assert!(
        !agent.destroyed_executor(),
        "exited before the grace period"
    );
    for id in ["t1", "t2"] {
        let killed = agent
            .updates(id)
            .into_iter()
            .find(|r| r.state() == &TaskState::Killed)
            .expect("TASK_KILLED for every live task");
        assert_eq!(
            killed.disposition,
            mesos_agent::Disposition::IgnoredFrameworkTerminating
        );
        assert!(!killed.acked());
    }
}
