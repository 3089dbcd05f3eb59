//! End to end: KILL during a slow launch, repeated and unknown KILLs, SHUTDOWN and SIGTERM.

mod executor_support;

use std::time::Duration;

use executor_support::*;
use mesos::{Event, Kill, TaskId, TaskState};
use mesos_agent::{AgentConfig, ExecutorExit};

/// A pod whose `app` waits for a `db` that never becomes healthy: the launch hangs in the
/// dependency wait until killed.
fn never_healthy() -> String {
    format!(
        "services:\n  db:\n    image: {IMAGE}\n    command: {SLEEPER}\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 1s\n      retries: 100000\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n    depends_on:\n      db:\n        condition: service_healthy\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_slow_launch_repeated_and_unknown_kill() {
    let h = Harness::start().await;
    h.write("slow.yml", &never_healthy());
    let task_id = h.task_id("slow");
    h.launch(h.task(&task_id, "slow.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Starting).await;
    // Wait until the launch is inside the health wait (the db container exists).
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.containers(&task_id).await.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "db never created");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A KILL for a task the executor does not know: no update, no crash.
    h.agent.send_event(Event::Kill(Kill {
        task_id: TaskId::new("no-such-task"),
        kill_policy: None,
    }));
    h.agent.kill(&task_id, None);
    h.agent.kill(&task_id, None);
    h.wait_state(&task_id, TaskState::Killing).await;
    h.wait_state(&task_id, TaskState::Killed).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.agent.updates("no-such-task").is_empty());
    let terminal = h
        .agent
        .updates(&task_id)
        .into_iter()
        .filter(|r| r.is_terminal())
        .count();
    assert_eq!(terminal, 1);
    let states: Vec<TaskState> = h.states(&task_id).into_iter().map(|(s, _)| s).collect();
    assert!(!states.contains(&TaskState::Running), "{states:?}");
    assert!(
        h.leftovers(&task_id).await.is_empty(),
        "{:?}",
        h.leftovers(&task_id).await
    );
}

/// Two running pods on one executor.
async fn two_running_pods(h: &Harness) -> [String; 2] {
    let compose = format!("services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n");
    h.write("app.yml", &compose);
    let tasks = [h.task_id("one"), h.task_id("two")];
    for task_id in &tasks {
        h.launch(h.task(task_id, "app.yml", port_block()).build());
    }
    for task_id in &tasks {
        h.wait_state(task_id, TaskState::Running).await;
    }
    tasks
}

fn long_shutdown_grace() -> Setup {
    let mut setup = Setup::default();
    setup.config = AgentConfig {
        shutdown_grace_period: Duration::from_secs(30),
        ..setup.config
    };
    setup
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_kills_every_pod_and_exits_within_the_grace() {
    let h = Harness::start_with(long_shutdown_grace()).await;
    let tasks = two_running_pods(&h).await;
    h.agent.shutdown();
    for task_id in &tasks {
        h.wait_state(task_id, TaskState::Killed).await;
    }
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(
        !h.agent.destroyed_executor(),
        "the agent had to destroy the executor"
    );
    for task_id in &tasks {
        assert!(h.leftovers(task_id).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_kills_every_pod_and_exits() {
    let h = Harness::start_with(long_shutdown_grace()).await;
    let tasks = two_running_pods(&h).await;
    h.executor.signal(rustix::process::Signal::TERM);
    for task_id in &tasks {
        h.wait_state(task_id, TaskState::Killed).await;
    }
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    for task_id in &tasks {
        assert!(h.leftovers(task_id).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_shorter_kill_brings_sigkill_forward() {
    let h = Harness::start().await;
    // Ignores SIGTERM and may take ten minutes to stop: only SIGKILL ends it.
    let compose = format!(
        "services:\n  stubborn:\n    image: {IMAGE}\n    stop_grace_period: 600s\n    command: [\"sh\", \"-c\", \"trap '' TERM; while :; do sleep 1 & wait $$!; done\"]\n"
    );
    h.write("stubborn.yml", &compose);
    let task_id = h.task_id("stubborn");
    h.launch(h.task(&task_id, "stubborn.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    let long = mesos::KillPolicy::with_grace(Duration::from_secs(600));
    let short = mesos::KillPolicy::with_grace(Duration::from_secs(1));
    h.agent.kill(&task_id, Some(long));
    h.wait_state(&task_id, TaskState::Killing).await;
    h.agent.kill(&task_id, Some(short));
    // Without the shorter KILL this would take ten minutes (beyond the hang guard).
    h.wait_state(&task_id, TaskState::Killed).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_timeout_fails_the_task_and_removes_the_pod() {
    let h = Harness::start().await;
    h.write("slow.yml", &never_healthy());
    let task_id = h.task_id("timeout");
    let task = h
        .task(&task_id, "slow.yml", port_block())
        .label("config.launchtask.timeout", Some("3s"))
        .build();
    h.launch(task);
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed);
    assert_eq!(
        end.status.reason,
        Some(mesos::Reason::ContainerLaunchFailed)
    );
    let message = end.status.message.clone().unwrap_or_default();
    assert!(message.contains("launchtask.timeout"), "{message}");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_completion_time_kills_without_grace() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  stubborn:\n    image: {IMAGE}\n    stop_grace_period: 600s\n    command: [\"sh\", \"-c\", \"trap '' TERM; while :; do sleep 1 & wait $$!; done\"]\n"
    );
    h.write("stubborn.yml", &compose);
    let task_id = h.task_id("deadline");
    let task = h
        .task(&task_id, "stubborn.yml", port_block())
        .max_completion_time(Duration::from_secs(4))
        .build();
    h.launch(task);
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed, "{:?}", h.states(&task_id));
    assert_eq!(
        end.status.reason,
        Some(mesos::Reason::MaxCompletionTimeReached)
    );
    let states: Vec<TaskState> = h.states(&task_id).into_iter().map(|(s, _)| s).collect();
    assert!(!states.contains(&TaskState::Killing), "{states:?}");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_task_killing_without_the_capability() {
    let mut setup = Setup::default();
    setup.config.capabilities.clear();
    let h = Harness::start_with(setup).await;
    let compose = format!("services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n");
    h.write("app.yml", &compose);
    let task_id = h.task_id("nokilling");
    h.launch(h.task(&task_id, "app.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    h.kill(&task_id).await;
    let states: Vec<TaskState> = h.states(&task_id).into_iter().map(|(s, _)| s).collect();
    assert!(!states.contains(&TaskState::Killing), "{states:?}");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}
