//! End to end: launch → STARTING → RUNNING → KILL → KILLING → KILLED, batch pods, init-style
//! services, restarts, health, and several pods per executor.

mod executor_support;

use std::time::Duration;

use executor_support::*;
use mesos::{Reason, TaskState};
use mesos_agent::ExecutorExit;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_run_kill_leaves_nothing() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  web:\n    image: {IMAGE}\n    command: {}\n    ports: [\"80:8080\"]\n  sidecar:\n    image: {IMAGE}\n    command: {SLEEPER}\n    depends_on: [web]\n",
        httpd_command(8080)
    );
    h.write("docker-compose.yml", &compose);
    let task_id = h.task_id("web");
    let ports = port_block();
    h.launch(h.task(&task_id, "docker-compose.yml", ports).build());

    h.wait_state(&task_id, TaskState::Starting).await;
    let running = h.wait_state(&task_id, TaskState::Running).await;
    let host_port = Harness::label(&running, "port.web.8080/tcp").expect("port label");
    assert_eq!(host_port, ports.0.to_string());
    let project = Harness::label(&running, "project").expect("project label");
    assert!(project.starts_with("dce-"));
    let status = &running.status;
    let ips = &status
        .container_status
        .as_ref()
        .expect("container status")
        .network_infos;
    assert!(!ips.is_empty() && !ips[0].ip_addresses.is_empty());
    let data: serde_json::Value = serde_json::from_slice(status.data.as_ref().unwrap()).unwrap();
    assert_eq!(data["services"].as_array().unwrap().len(), 2);

    // The identity, plan and generated compose were written to the sandbox.
    let sandbox = h.sandbox();
    for file in [
        "pod/identity.json",
        "pod/plan.json",
        "pod/generated-compose.yml",
    ] {
        assert!(exists(&sandbox, file), "{file} missing");
    }

    // Labels, shared namespace.
    let containers = h.containers(&task_id).await;
    assert_eq!(containers.len(), 3, "infra + 2 services");
    let infra = containers
        .iter()
        .find(|c| c.name.as_deref().unwrap_or_default().ends_with("-infra"))
        .expect("infra container");
    let infra_id = infra.id.clone().unwrap();
    for container in &containers {
        let labels = container.config.as_ref().unwrap().labels.clone().unwrap();
        assert_eq!(labels.get("taskId"), Some(&task_id));
        assert_eq!(labels.get("io.dce.task-id"), Some(&task_id));
        assert!(labels.contains_key("executorId"));
        assert!(labels.contains_key("io.dce.executor-pid"));
        assert_eq!(labels.get("com.docker.compose.project"), Some(&project));
        if container.id.as_deref() != Some(infra_id.as_str()) {
            let mode = container.host_config.as_ref().unwrap().network_mode.clone();
            assert_eq!(mode, Some(format!("container:{infra_id}")));
        }
    }

    // The service answers on the Mesos port.
    let answer = http_get_eventually(ports.0 as u16).await;
    assert!(answer.contains("hello-dce"), "{answer}");

    // KILL → KILLING → KILLED, nothing left, exit 0.
    h.agent.kill(&task_id, None);
    h.wait_state(&task_id, TaskState::Killing).await;
    h.wait_state(&task_id, TaskState::Killed).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(
        h.leftovers(&task_id).await.is_empty(),
        "{:?}",
        h.leftovers(&task_id).await
    );
    assert!(exists(&sandbox, "logs/web.log"));
    let terminal = h
        .agent
        .updates(&task_id)
        .into_iter()
        .filter(|r| r.is_terminal())
        .count();
    assert_eq!(terminal, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_service_fails_the_task_naming_it() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n  worker:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"sleep 2; exit 3\"]\n"
    );
    h.write("pod.yml", &compose);
    let task_id = h.task_id("fail");
    h.launch(h.task(&task_id, "pod.yml", port_block()).build());
    let failed = h.wait_terminal(&task_id).await;
    assert_eq!(
        *failed.state(),
        TaskState::Failed,
        "{:?}",
        h.states(&task_id)
    );
    let message = failed.status.message.clone().unwrap_or_default();
    assert!(
        message.contains("worker") && message.contains('3'),
        "{message}"
    );
    // How long from the container's exit to the update's arrival (printed, not asserted).
    let data: serde_json::Value =
        serde_json::from_slice(failed.status.data.as_ref().unwrap()).unwrap();
    let worker = data["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "worker")
        .unwrap()
        .clone();
    let id = worker["container_id"].as_str().unwrap().to_string();
    if let Ok(inspect) = h.docker.inspect_container(&id, None).await {
        let finished = inspect
            .state
            .and_then(|s| s.finished_at)
            .unwrap_or_default();
        let arrived = std::time::SystemTime::now() - failed.received_at.elapsed();
        let arrived_nanos = arrived
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64;
        match docker::events::time::parse_rfc3339_nanos(&finished) {
            Some(exit_nanos) => println!(
                "container exit (FinishedAt {finished}) → TASK_FAILED at the agent: {:.1} ms",
                (arrived_nanos - exit_nanos) as f64 / 1e6
            ),
            None => println!("FinishedAt {finished:?} unreadable"),
        }
    }
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_services_exiting_zero_finish_the_task() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  a:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"sleep 1\"]\n  b:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"sleep 2\"]\n"
    );
    let task_id = h.task_id("batch");
    // The spec comes from TaskInfo.data (no fileName label).
    let task = mesos_agent::TaskBuilder::new(&task_id)
        .ports(&[port_block()])
        .data(compose.into_bytes())
        .build();
    h.launch(task);
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(
        *end.state(),
        TaskState::Finished,
        "{:?}",
        h.states(&task_id)
    );
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_service_completing_does_not_end_the_pod() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  init:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"echo init done\"]\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n    depends_on:\n      init:\n        condition: service_completed_successfully\n"
    );
    // The sandbox's default compose file (no fileName label, no data).
    h.write("compose.yaml", &compose);
    let task_id = h.task_id("init");
    let task = mesos_agent::TaskBuilder::new(&task_id)
        .ports(&[port_block()])
        .kill_grace(Duration::from_secs(5))
        .build();
    h.launch(task);
    h.wait_state(&task_id, TaskState::Running).await;
    // Still running a while later: the init step's exit did not finish the task.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        h.agent.updates(&task_id).iter().all(|r| !r.is_terminal()),
        "{:?}",
        h.states(&task_id)
    );
    h.kill(&task_id).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
    // The init step's output was copied to the sandbox.
    let log = std::fs::read_to_string(h.sandbox().join("logs/init.log")).unwrap();
    assert!(log.contains("init done"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_failure_restarts_twice_then_fails() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n  flaky:\n    image: {IMAGE}\n    restart: on-failure:2\n    command: [\"sh\", \"-c\", \"echo run; sleep 1; exit 7\"]\n"
    );
    h.write("flaky.yml", &compose);
    let task_id = h.task_id("flaky");
    h.launch(h.task(&task_id, "flaky.yml", port_block()).build());
    let failed = h.wait_terminal(&task_id).await;
    assert_eq!(
        *failed.state(),
        TaskState::Failed,
        "{:?}",
        h.states(&task_id)
    );
    let data: serde_json::Value =
        serde_json::from_slice(failed.status.data.as_ref().unwrap()).unwrap();
    let flaky = data["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "flaky")
        .unwrap()
        .clone();
    assert_eq!(flaky["restarts"], 2, "{data}");
    assert_eq!(flaky["exit_code"], 7, "{data}");
    let message = failed.status.message.clone().unwrap_or_default();
    assert!(message.contains("flaky"), "{message}");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhealthy_service_sends_health_update_then_fails() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  app:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; touch /tmp/ok; sleep 6; rm /tmp/ok; while :; do sleep 1 & wait $$!; done\"]\n    healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ok\"]\n      interval: 1s\n      timeout: 1s\n      retries: 1\n"
    );
    h.write("health.yml", &compose);
    let task_id = h.task_id("health");
    h.launch(h.task(&task_id, "health.yml", port_block()).build());
    let failed = h.wait_terminal(&task_id).await;
    assert_eq!(
        *failed.state(),
        TaskState::Failed,
        "{:?}",
        h.states(&task_id)
    );
    let updates = h.agent.updates(&task_id);
    let health_update = updates
        .iter()
        .position(|r| {
            r.status.healthy == Some(false)
                && r.status.reason == Some(Reason::TaskHealthCheckStatusUpdated)
                && !r.is_terminal()
        })
        .expect("a non-terminal health update with healthy=false");
    let terminal = updates.iter().position(|r| r.is_terminal()).unwrap();
    assert!(health_update < terminal);
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory_fails_with_the_memory_reason() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n  hog:\n    image: {IMAGE}\n    mem_limit: 16m\n    memswap_limit: 16m\n    command: [\"sh\", \"-c\", \"sleep 1; a=x; while :; do a=$$a$$a; done\"]\n"
    );
    h.write("oom.yml", &compose);
    let task_id = h.task_id("oom");
    h.launch(h.task(&task_id, "oom.yml", port_block()).build());
    let failed = h.wait_terminal(&task_id).await;
    assert_eq!(
        *failed.state(),
        TaskState::Failed,
        "{:?}",
        h.states(&task_id)
    );
    assert_eq!(
        failed.status.reason,
        Some(Reason::ContainerLimitationMemory),
        "{:?}",
        h.states(&task_id)
    );
    let message = failed.status.message.clone().unwrap_or_default();
    assert!(message.contains("hog"), "{message}");
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
}
