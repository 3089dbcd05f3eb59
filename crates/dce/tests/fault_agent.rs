//! Faults on the Mesos side, against the real `dce` binary, the agent stand-in and the real
//! engine: the agent restarting during a launch and during a kill, an agent that never
//! acknowledges, a stalled subscription stream, garbage on the stream.

mod executor_support;

use std::time::Duration;

use executor_support::*;
use mesos::TaskState;
use mesos_agent::{AckPolicy, AgentConfig, ExecutorExit, RestartPlan};

fn checkpointing() -> Setup {
    let mut setup = Setup::default();
    setup.config = AgentConfig {
        checkpoint: true,
        reregistration_timeout: Duration::from_secs(3),
        ..setup.config
    };
    setup
}

/// `db` becomes healthy after a few seconds; `app` waits for it, so the launch takes a while.
fn slow_to_launch() -> String {
    format!(
        "services:\n  db:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 4; touch /tmp/ready; while :; do sleep 1 & wait $$!; done\"]\n    healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ready\"]\n      interval: 1s\n      retries: 1000\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n    depends_on:\n      db:\n        condition: service_healthy\n"
    )
}

/// A service that ignores SIGTERM: only SIGKILL stops it.
fn stubborn() -> String {
    format!(
        "services:\n  stubborn:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"trap '' TERM; while :; do sleep 1 & wait $$!; done\"]\n"
    )
}

fn terminal_count(h: &Harness, task_id: &str) -> usize {
    h.agent
        .updates(task_id)
        .into_iter()
        .filter(|r| r.is_terminal())
        .count()
}

async fn wait_containers(h: &Harness, task_id: &str, count: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.containers(task_id).await.len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "fewer than {count} containers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_clean_exit(h: &Harness, task_id: &str) {
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert_eq!(terminal_count(h, task_id), 1, "{:?}", h.states(task_id));
    let left = h.leftovers(task_id).await;
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_restart_during_launch() {
    let h = Harness::start_with(checkpointing()).await;
    h.write("slow.yml", &slow_to_launch());
    let task_id = h.task_id("restart-launch");
    h.launch(h.task(&task_id, "slow.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Starting).await;
    // The infra and db containers exist: the launch is waiting for db's health.
    wait_containers(&h, &task_id, 2).await;
    h.agent.restart(RestartPlan {
        down_for: Duration::from_secs(2),
        recovering_for: Duration::from_millis(500),
        reregistration_window: None,
    });
    h.agent
        .wait_subscribed(2, WAIT)
        .await
        .expect("the executor resubscribed");
    // The launch carried on through the restart.
    h.wait_state(&task_id, TaskState::Running).await;
    h.kill(&task_id).await;
    assert_clean_exit(&h, &task_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_restart_during_kill() {
    let h = Harness::start_with(checkpointing()).await;
    h.write("stubborn.yml", &stubborn());
    let task_id = h.task_id("restart-kill");
    let task = h
        .task(&task_id, "stubborn.yml", port_block())
        .kill_grace(Duration::from_secs(3))
        .build();
    h.launch(task);
    h.wait_state(&task_id, TaskState::Running).await;
    h.agent.kill(&task_id, None);
    h.wait_state(&task_id, TaskState::Killing).await;
    // The agent is away while the grace runs out and the pod is removed: TASK_KILLED is
    // sent after the executor resubscribes (or resent in its unacknowledged updates).
    h.agent.restart(RestartPlan {
        down_for: Duration::from_secs(4),
        recovering_for: Duration::ZERO,
        reregistration_window: None,
    });
    h.wait_state(&task_id, TaskState::Killed).await;
    assert_clean_exit(&h, &task_id).await;
    assert!(h.agent.subscriptions().len() >= 2, "never resubscribed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_never_acknowledges_does_not_keep_the_executor() {
    let h = Harness::start().await;
    h.agent.set_ack_policy(AckPolicy::Never);
    let compose = format!("services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n");
    h.write("app.yml", &compose);
    let task_id = h.task_id("noack");
    h.launch(h.task(&task_id, "app.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    h.kill(&task_id).await;
    // Exits after its bounded wait for the final ACK (well inside the hang guard).
    assert_clean_exit(&h, &task_id).await;
    assert!(
        h.executor
            .stderr()
            .contains("exiting without every acknowledgement"),
        "{}",
        h.executor.stderr()
    );
}

/// CPU time (user + system, clock ticks) the process has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the command).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_is_neither_a_failure_nor_a_busy_loop() {
    let h = Harness::start().await;
    let compose = format!("services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n");
    h.write("app.yml", &compose);
    let task_id = h.task_id("stall");
    h.launch(h.task(&task_id, "app.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    let updates_before = h.agent.updates(&task_id).len();
    h.agent.stall();
    let pid = h.executor.pid();
    let before = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let used = cpu_ticks(pid) - before;
    // A busy loop would burn about 600 ticks (100 Hz) in six seconds; an idle executor ~0.
    assert!(
        used < 60,
        "the executor used {used} CPU ticks while the stream stalled"
    );
    assert!(h.executor.exit().is_none(), "the executor exited");
    assert_eq!(h.agent.updates(&task_id).len(), updates_before);
    assert_eq!(
        h.agent.subscriptions().len(),
        1,
        "a stall is not a disconnection"
    );
    // A KILL held by the stall is handled once the stream moves again.
    h.agent.kill(&task_id, None);
    h.agent.resume();
    h.wait_state(&task_id, TaskState::Killed).await;
    assert_clean_exit(&h, &task_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_stream_is_a_disconnection_and_the_pod_survives() {
    let h = Harness::start_with(checkpointing()).await;
    let compose = format!("services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n");
    h.write("app.yml", &compose);
    let task_id = h.task_id("garbage");
    h.launch(h.task(&task_id, "app.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    let before: Vec<Option<String>> = h
        .containers(&task_id)
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    // A record that frames correctly but is not an event: ignored.
    assert!(h.agent.inject_raw(&b"13\n{\"type\":42,}}"[..]));
    // Then a broken length line: the stream is broken, the executor resubscribes.
    assert!(h.agent.inject_raw(&b"12x\n\xff\xfe"[..]));
    h.agent
        .wait_subscribed(2, WAIT)
        .await
        .expect("the executor resubscribed");
    let after: Vec<Option<String>> = h
        .containers(&task_id)
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(before, after, "the pod changed");
    let states: Vec<TaskState> = h.states(&task_id).into_iter().map(|(s, _)| s).collect();
    assert!(
        !states
            .iter()
            .any(|s| matches!(s, TaskState::Failed | TaskState::Error)),
        "{states:?}"
    );
    h.kill(&task_id).await;
    assert_clean_exit(&h, &task_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_launch_kills_the_half_made_pod_and_exits() {
    let h = Harness::start().await;
    // db never becomes healthy: the launch waits in the dependency wait.
    let compose = format!(
        "services:\n  db:\n    image: {IMAGE}\n    command: {SLEEPER}\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 1s\n      retries: 100000\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n    depends_on:\n      db:\n        condition: service_healthy\n"
    );
    h.write("pod.yml", &compose);
    let task_id = h.task_id("term-launch");
    h.launch(h.task(&task_id, "pod.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Starting).await;
    wait_containers(&h, &task_id, 2).await;
    h.executor.signal(rustix::process::Signal::TERM);
    h.wait_state(&task_id, TaskState::Killed).await;
    assert_clean_exit(&h, &task_id).await;
}
