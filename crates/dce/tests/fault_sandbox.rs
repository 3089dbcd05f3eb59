//! Faults writing the sandbox (the tests run as root, which ignores file modes, so the
//! failures are made with what binds root too): `pod` is a regular file, `pod/` is immutable
//! (`chattr +i`), `pod/` is a full one-page tmpfs in the executor's private mount namespace.
//! Each must fail the task clearly and leave nothing on the engine.

mod executor_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use executor_support::*;
use mesos::{Reason, TaskState};
use mesos_agent::ExecutorExit;

fn app() -> String {
    format!("services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n")
}

/// Launches `app.yml` and returns the terminal update's reason and message.
async fn launch_fails(h: &Harness, name: &str) -> (String, Option<Reason>, String) {
    h.write("app.yml", &app());
    let task_id = h.task_id(name);
    h.launch(h.task(&task_id, "app.yml", port_block()).build());
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed, "{:?}", h.states(&task_id));
    let message = end.status.message.clone().unwrap_or_default();
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    let left = h.leftovers(&task_id).await;
    assert!(left.is_empty(), "{left:?}");
    (task_id, end.status.reason, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_dir_that_is_a_file_fails_the_launch() {
    let h = Harness::start().await;
    h.write("pod", "not a directory\n");
    let (_, reason, message) = launch_fails(&h, "podfile").await;
    assert_eq!(reason, Some(Reason::ContainerLaunchFailed));
    assert!(message.contains("pod identity"), "{message}");
    let pod_dir = h.sandbox().join("pod");
    assert!(
        message.contains(&pod_dir.display().to_string()),
        "the message does not name the path: {message}"
    );
}

/// Removes the immutable flag again, so the sandbox can be deleted.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Option<Immutable> {
        let status = Command::new("chattr").arg("+i").arg(path).status().ok()?;
        status.success().then(|| Immutable(path.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_pod_dir_fails_the_launch() {
    let h = Harness::start().await;
    let pod_dir = h.sandbox().join("pod");
    std::fs::create_dir_all(&pod_dir).unwrap();
    let Some(_guard) = Immutable::set(&pod_dir) else {
        eprintln!("chattr +i is not available here; skipped");
        return;
    };
    // Root ignores modes, not the immutable flag.
    assert!(std::fs::write(pod_dir.join("probe"), "x").is_err());
    let (_, reason, message) = launch_fails(&h, "immutable").await;
    assert_eq!(reason, Some(Reason::ContainerLaunchFailed));
    assert!(message.contains("pod identity"), "{message}");
    assert!(
        message.contains(&pod_dir.display().to_string()),
        "the message does not name the path: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sandbox_fails_the_launch() {
    if Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        eprintln!("no private mount namespaces here (unshare -m); skipped");
        return;
    }
    // In its own mount namespace, the executor finds `pod/` to be a tmpfs of one page: the
    // identity fits, the plan does not (ENOSPC).
    let script = r#"mkdir -p "$MESOS_SANDBOX/pod" && mount -t tmpfs -o size=4k tmpfs "$MESOS_SANDBOX/pod" && exec "$0" "$@""#;
    let h = Harness::start_with(Setup {
        wrapper: [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
        ]
        .map(String::from)
        .to_vec(),
        ..Setup::default()
    })
    .await;
    let (_, reason, message) = launch_fails(&h, "full").await;
    assert_eq!(reason, Some(Reason::ContainerLaunchFailed));
    assert!(
        message.contains("No space left on device"),
        "{message}\n{}",
        h.executor.stderr()
    );
    assert!(message.contains("pod"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_logs_dir_does_not_fail_the_pod() {
    if Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        eprintln!("no private mount namespaces here (unshare -m); skipped");
        return;
    }
    // `logs/` is a one-page tmpfs; the service writes far more than that.
    let script = r#"mkdir -p "$MESOS_SANDBOX/logs" && mount -t tmpfs -o size=4k tmpfs "$MESOS_SANDBOX/logs" && exec "$0" "$@""#;
    let h = Harness::start_with(Setup {
        wrapper: [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
        ]
        .map(String::from)
        .to_vec(),
        ..Setup::default()
    })
    .await;
    let compose = format!(
        "services:\n  chatty:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do echo 0123456789012345678901234567890123456789012345678901234567890123456789; done & wait\"]\n"
    );
    h.write("chatty.yml", &compose);
    let task_id = h.task_id("full-logs");
    h.launch(h.task(&task_id, "chatty.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    // Its output overflows the logs dir; the copy gives up with a warning, the pod runs on.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !h
        .executor
        .stderr()
        .contains("copying the container's output")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no warning about the full logs dir:\n{}",
            h.executor.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let states: Vec<TaskState> = h.states(&task_id).into_iter().map(|(s, _)| s).collect();
    assert_eq!(states.last(), Some(&TaskState::Running), "{states:?}");
    h.kill(&task_id).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}
