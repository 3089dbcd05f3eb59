//! End to end: tasks that cannot become a pod fail with the right reason and a precise message,
//! and nothing is created on the engine.

mod executor_support;

use executor_support::*;
use mesos::{Reason, TaskState};
use mesos_agent::{ExecutorExit, TaskBuilder};

/// Launches one task and returns its terminal update after checking that nothing was created.
async fn fails(h: &Harness, task: mesos::TaskInfo) -> (Option<Reason>, String) {
    let task_id = task.task_id.as_str().to_string();
    h.launch(task);
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed, "{:?}", h.states(&task_id));
    let states: Vec<TaskState> = h.states(&task_id).into_iter().map(|(s, _)| s).collect();
    assert_eq!(states.first(), Some(&TaskState::Starting), "{states:?}");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
    (
        end.status.reason.clone(),
        end.status.message.clone().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_compose_names_file_service_and_key() {
    let h = Harness::start().await;
    h.write(
        "bad.yml",
        &format!("services:\n  web:\n    image: {IMAGE}\n    bogus_key: 1\n"),
    );
    let task_id = h.task_id("invalid");
    let (reason, message) = fails(&h, h.task(&task_id, "bad.yml", port_block()).build()).await;
    assert_eq!(reason, Some(Reason::TaskInvalid));
    assert!(
        message.contains("bad.yml") && message.contains("web") && message.contains("bogus_key"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_escaping_the_sandbox_is_refused() {
    let h = Harness::start().await;
    let task_id = h.task_id("escape");
    let (reason, message) = fails(
        &h,
        h.task(&task_id, "../../etc/passwd", port_block()).build(),
    )
    .await;
    assert_eq!(reason, Some(Reason::TaskInvalid));
    assert!(
        message.contains("sandbox") || message.contains(".."),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_compose_file_is_named() {
    let h = Harness::start().await;
    let task_id = h.task_id("missing");
    let (reason, message) = fails(&h, h.task(&task_id, "nope.yml", port_block()).build()).await;
    assert_eq!(reason, Some(Reason::TaskInvalid));
    assert!(message.contains("nope.yml"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_violation_is_unauthorized() {
    let h = Harness::start().await;
    h.write(
        "priv.yml",
        &format!(
            "services:\n  web:\n    image: {IMAGE}\n    privileged: true\n    command: {SLEEPER}\n"
        ),
    );
    let task_id = h.task_id("policy");
    let (reason, message) = fails(&h, h.task(&task_id, "priv.yml", port_block()).build()).await;
    assert_eq!(reason, Some(Reason::TaskUnauthorized));
    assert!(message.contains("privileged"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_few_ports_names_the_counts() {
    let h = Harness::start().await;
    h.write(
        "ports.yml",
        &format!(
            "services:\n  web:\n    image: {IMAGE}\n    command: {SLEEPER}\n    ports: [\"8080\", \"8081\"]\n"
        ),
    );
    let task_id = h.task_id("ports");
    let (first, _) = port_block();
    let (reason, message) = fails(&h, h.task(&task_id, "ports.yml", (first, first)).build()).await;
    assert_eq!(reason, Some(Reason::TaskInvalid));
    assert!(message.contains('2') && message.contains('1'), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_groups_are_refused_per_task() {
    let h = Harness::start().await;
    let a = h.task_id("group-a");
    let b = h.task_id("group-b");
    h.agent.launch_group(vec![
        TaskBuilder::new(&a).build(),
        TaskBuilder::new(&b).build(),
    ]);
    for task_id in [&a, &b] {
        let end = h.wait_terminal(task_id).await;
        assert_eq!(*end.state(), TaskState::Failed);
        let message = end.status.message.clone().unwrap_or_default();
        assert!(
            message.contains("task groups are not supported"),
            "{message}"
        );
    }
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_on_request() {
    let h = Harness::start_with(Setup {
        env: vec![("DCE_LOG_FORMAT".to_string(), "json".to_string())],
        ..Setup::default()
    })
    .await;
    let task_id = h.task_id("json");
    fails(&h, h.task(&task_id, "nope.yml", port_block()).build()).await;
    let stderr = h.executor.stderr();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(value.get("level").is_some(), "{line}");
    }
}
