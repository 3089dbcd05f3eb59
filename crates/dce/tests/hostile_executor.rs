//! Hostile compose files through the real executor: refused under the default `baseline`
//! policy with `REASON_TASK_UNAUTHORIZED` naming every violation (or `REASON_TASK_INVALID` for
//! a path escape), started under `policy.mode: privileged`, and the executor's token never
//! reaching a container. The full catalogue of hostile keys runs through `dce render`
//! (`hostile_render.rs`).

mod executor_support;

use executor_support::*;
use mesos::{Reason, TaskState};
use mesos_agent::{AgentConfig, ExecutorExit};

const TOKEN: &str = "s3cr3t-executor-token";

async fn refused(h: &Harness, name: &str, file: &str) -> (Option<Reason>, String) {
    let task_id = h.task_id(name);
    h.launch(h.task(&task_id, file, port_block()).build());
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed, "{:?}", h.states(&task_id));
    let states: Vec<TaskState> = h.states(&task_id).into_iter().map(|(s, _)| s).collect();
    assert!(!states.contains(&TaskState::Running), "{states:?}");
    assert!(h.leftovers(&task_id).await.is_empty());
    (end.status.reason, end.status.message.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pods_are_refused_under_baseline() {
    let h = Harness::start().await;
    // The keeper holds the executor alive between the refused tasks.
    h.write(
        "keeper.yml",
        &format!("services:\n  keeper:\n    image: {IMAGE}\n    command: {SLEEPER}\n"),
    );
    let keeper = h.task_id("keeper");
    h.launch(h.task(&keeper, "keeper.yml", port_block()).build());
    h.wait_state(&keeper, TaskState::Running).await;
    h.write(
        "root.yml",
        &format!(
            "services:\n  web:\n    image: {IMAGE}\n    command: {SLEEPER}\n    privileged: true\n    pid: host\n    cap_add: [SYS_ADMIN, NET_ADMIN]\n    devices: [\"/dev/kmsg:/dev/kmsg\"]\n    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\", \"/:/host\"]\n"
        ),
    );
    let (reason, message) = refused(&h, "root", "root.yml").await;
    assert_eq!(reason, Some(Reason::TaskUnauthorized));
    for word in [
        "baseline",
        "privileged",
        "pid",
        "SYS_ADMIN",
        "NET_ADMIN",
        "/dev/kmsg",
        "volumes: /var/run/docker.sock",
        "volumes: / (",
    ] {
        assert!(message.contains(word), "`{word}` not named: {message}");
    }

    // A symlink in the sandbox pointing at the host's root is judged where it points.
    std::os::unix::fs::symlink("/", h.sandbox().join("hostroot")).unwrap();
    h.write(
        "link.yml",
        &format!(
            "services:\n  web:\n    image: {IMAGE}\n    command: {SLEEPER}\n    volumes: [\"./hostroot/etc:/etc-host\"]\n"
        ),
    );
    let (reason, message) = refused(&h, "link", "link.yml").await;
    assert_eq!(reason, Some(Reason::TaskUnauthorized));
    assert!(message.contains("/etc"), "{message}");

    // A compose file that is a symlink out of the sandbox is not read at all.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("evil.yml"),
        format!("services:\n  web:\n    image: {IMAGE}\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("evil.yml"),
        h.sandbox().join("evil.yml"),
    )
    .unwrap();
    let (reason, message) = refused(&h, "escape", "evil.yml").await;
    assert_eq!(reason, Some(Reason::TaskInvalid));
    assert!(message.contains("outside the sandbox"), "{message}");
    // A task cannot lift the policy with a config label (plain or Aurora-prefixed).
    for (name, key, value) in [
        ("label-mode", "config.policy.mode", "privileged"),
        (
            "aurora-mode",
            "org.apache.aurora.metadata.config.policy.mode",
            "privileged",
        ),
        ("label-allow", "config.policy.bindmountallowlist", "/"),
    ] {
        let task_id = h.task_id(name);
        let task = h
            .task(&task_id, "root.yml", port_block())
            .label(key, Some(value))
            .build();
        h.launch(task);
        let end = h.wait_terminal(&task_id).await;
        assert_eq!(*end.state(), TaskState::Failed, "{:?}", h.states(&task_id));
        let message = end.status.message.clone().unwrap_or_default();
        assert!(
            message.contains(key.trim_start_matches("org.apache.aurora.metadata.")),
            "{message}"
        );
        assert!(message.contains("cannot override"), "{message}");
        assert!(h.leftovers(&task_id).await.is_empty());
    }

    // An inline compose document over the size limit is refused before it is parsed.
    let task_id = h.task_id("huge-data");
    let huge = format!("services: {{}}\n#{}\n", "x".repeat(5 << 20));
    h.launch(
        mesos_agent::TaskBuilder::new(task_id.clone())
            .data(huge.into_bytes())
            .build(),
    );
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), TaskState::Failed);
    assert_eq!(end.status.reason, Some(Reason::TaskInvalid));
    let message = end.status.message.clone().unwrap_or_default();
    assert!(message.contains("size limit"), "{message}");

    h.kill(&keeper).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&keeper).await.is_empty());
}

fn web_container(
    containers: Vec<bollard::models::ContainerInspectResponse>,
) -> bollard::models::ContainerInspectResponse {
    containers
        .into_iter()
        .find(|c| c.name.as_deref().is_some_and(|n| n.ends_with("-web-1")))
        .expect("the web container")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_namespaces_capabilities_and_devices_start_under_the_privileged_policy() {
    let h = Harness::start().await;
    h.write("config.yaml", "policy:\n  mode: privileged\n");
    // Allowed and really applied. (The socket and host-root mounts are only planned, in
    // hostile_render.rs.)
    h.write(
        "host.yml",
        &format!(
            "services:\n  web:\n    image: {IMAGE}\n    command: {SLEEPER}\n    pid: host\n    ipc: host\n    cap_add: [SYS_ADMIN, NET_ADMIN]\n    devices: [\"/dev/null:/dev/extra-null\"]\n"
        ),
    );
    let task_id = h.task_id("hostns");
    h.launch(h.task(&task_id, "host.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    let host = web_container(h.containers(&task_id).await)
        .host_config
        .expect("host config");
    assert_eq!(host.pid_mode.as_deref(), Some("host"));
    assert_eq!(host.ipc_mode.as_deref(), Some("host"));
    let caps = host.cap_add.unwrap_or_default();
    assert!(caps.iter().any(|c| c.contains("SYS_ADMIN")), "{caps:?}");
    assert!(caps.iter().any(|c| c.contains("NET_ADMIN")), "{caps:?}");
    assert_eq!(host.devices.unwrap_or_default().len(), 1);
    h.kill(&task_id).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

/// `privileged: true` passes the privileged policy; whether the engine can start it depends on
/// the host (a host whose own capability bounding set is reduced, like a container-based CI
/// machine, cannot grant every capability): either it runs privileged, or the launch fails with
/// the engine's reason — never as unauthorized — and leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privileged_container_passes_the_privileged_policy() {
    let h = Harness::start().await;
    h.write("config.yaml", "policy:\n  mode: privileged\n");
    h.write(
        "priv.yml",
        &format!(
            "services:\n  web:\n    image: {IMAGE}\n    command: {SLEEPER}\n    privileged: true\n"
        ),
    );
    let task_id = h.task_id("privileged");
    h.launch(h.task(&task_id, "priv.yml", port_block()).build());
    let outcome = h
        .agent
        .wait_for_update(&task_id, WAIT, |r| {
            *r.state() == TaskState::Running || r.is_terminal()
        })
        .await
        .unwrap();
    if *outcome.state() == TaskState::Running {
        let host = web_container(h.containers(&task_id).await)
            .host_config
            .expect("host config");
        assert_eq!(host.privileged, Some(true));
        h.kill(&task_id).await;
    } else {
        assert_eq!(*outcome.state(), TaskState::Failed);
        assert_eq!(outcome.status.reason, Some(Reason::ContainerLaunchFailed));
        let message = outcome.status.message.clone().unwrap_or_default();
        assert!(
            message.contains("start container for service web"),
            "{message}"
        );
        eprintln!("this host cannot start privileged containers: {message}");
    }
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_executor_token_never_reaches_a_container() {
    let mut setup = Setup::default();
    setup.config = AgentConfig {
        auth_token: Some(TOKEN.to_string()),
        ..setup.config
    };
    let h = Harness::start_with(setup).await;
    h.write(
        "token.yml",
        &format!(
            "services:\n  web:\n    image: {IMAGE}\n    command: {SLEEPER}\n    environment:\n      STOLEN: \"${{MESOS_EXECUTOR_AUTHENTICATION_TOKEN}}\"\n      FALLBACK: \"${{MESOS_EXECUTOR_AUTHENTICATION_TOKEN:-unset}}\"\n    labels:\n      stolen: \"$MESOS_EXECUTOR_AUTHENTICATION_TOKEN\"\n"
        ),
    );
    let task_id = h.task_id("token");
    h.launch(h.task(&task_id, "token.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    for container in h.containers(&task_id).await {
        let config = container.config.expect("config");
        let env = config.env.unwrap_or_default();
        let labels = config.labels.unwrap_or_default();
        assert!(!env.iter().any(|e| e.contains(TOKEN)), "{env:?}");
        assert!(!labels.values().any(|v| v.contains(TOKEN)), "{labels:?}");
        if container
            .name
            .as_deref()
            .is_some_and(|n| n.ends_with("-web-1"))
        {
            assert!(env.contains(&"STOLEN=".to_string()), "{env:?}");
            assert!(env.contains(&"FALLBACK=unset".to_string()), "{env:?}");
        }
    }
    for file in [
        "pod/generated-compose.yml",
        "pod/plan.json",
        "pod/identity.json",
    ] {
        let text = std::fs::read_to_string(h.sandbox().join(file)).unwrap();
        assert!(!text.contains(TOKEN), "{file} holds the token");
    }
    assert!(
        !h.executor.stderr().contains(TOKEN),
        "the executor logged the token"
    );
    h.kill(&task_id).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}
