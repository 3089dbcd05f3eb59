//! End to end: agent restart with checkpointing (pods survive, unacknowledged updates resent,
//! a later KILL works), disconnection without checkpointing, recovery timeout.

mod executor_support;

use std::time::Duration;

use executor_support::*;
use mesos::TaskState;
use mesos_agent::{AckPolicy, AgentConfig, RestartPlan, UpdateOrigin};

fn setup(config: AgentConfig) -> Setup {
    let mut setup = Setup::default();
    setup.config = AgentConfig {
        capabilities: setup.config.capabilities.clone(),
        ..config
    };
    setup
}

async fn running_pod(h: &Harness, name: &str) -> (String, Vec<String>) {
    let compose = format!("services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n");
    h.write("app.yml", &compose);
    let task_id = h.task_id(name);
    h.launch(h.task(&task_id, "app.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    let mut ids: Vec<String> = h
        .containers(&task_id)
        .await
        .into_iter()
        .filter_map(|c| c.id)
        .collect();
    ids.sort();
    (task_id, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_restart_with_checkpointing_keeps_the_pod() {
    let h = Harness::start_with(setup(AgentConfig {
        checkpoint: true,
        reregistration_timeout: Duration::from_secs(3),
        ..AgentConfig::default()
    }))
    .await;
    // Nothing is acknowledged before the restart, so everything must be resent.
    h.agent.set_ack_policy(AckPolicy::Never);
    let (task_id, before) = running_pod(&h, "ckpt").await;
    h.agent.restart(RestartPlan {
        down_for: Duration::from_secs(1),
        recovering_for: Duration::ZERO,
        reregistration_window: None,
    });
    h.agent.set_ack_policy(AckPolicy::Immediate);
    h.agent
        .wait_subscribed(2, WAIT)
        .await
        .expect("the executor resubscribed");
    let resent = h
        .agent
        .updates(&task_id)
        .into_iter()
        .filter(|r| r.origin == UpdateOrigin::Resubscribe)
        .count();
    assert!(
        resent >= 1,
        "no update was resent: {:?}",
        h.states(&task_id)
    );
    let mut after: Vec<String> = h
        .containers(&task_id)
        .await
        .into_iter()
        .filter_map(|c| c.id)
        .collect();
    after.sort();
    assert_eq!(before, after, "the pod's containers changed");
    h.kill(&task_id).await;
    assert_eq!(h.wait_exit().await, mesos_agent::ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnection_without_checkpointing_kills_pods_and_exits() {
    let h = Harness::start_with(setup(AgentConfig {
        checkpoint: false,
        ..AgentConfig::default()
    }))
    .await;
    let (task_id, _) = running_pod(&h, "nockpt").await;
    h.agent.drop_stream_connection(true);
    h.wait_exit().await;
    assert!(
        h.leftovers(&task_id).await.is_empty(),
        "{:?}",
        h.leftovers(&task_id).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_timeout_kills_pods_and_exits() {
    let h = Harness::start_with(setup(AgentConfig {
        checkpoint: true,
        recovery_timeout: Duration::from_secs(3),
        reregistration_timeout: Duration::from_secs(1),
        ..AgentConfig::default()
    }))
    .await;
    let (task_id, _) = running_pod(&h, "recovery").await;
    h.agent.restart(RestartPlan {
        down_for: Duration::from_secs(600),
        recovering_for: Duration::ZERO,
        reregistration_window: None,
    });
    h.wait_exit().await;
    assert!(
        h.leftovers(&task_id).await.is_empty(),
        "{:?}",
        h.leftovers(&task_id).await
    );
}
