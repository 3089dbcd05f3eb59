//! End to end: the executor in a Mesos-like cgroup (every pod container under it), two pods
//! of one compose file with the same fixed host port, and ten pods at once.

mod executor_support;

use executor_support::*;
use mesos::TaskState;
use mesos_agent::{CgroupPlacement, ExecutorExit};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_containers_live_under_the_executor_cgroup() {
    if !std::path::Path::new("/sys/fs/cgroup/freezer/cgroup.procs").exists() {
        eprintln!("no cgroup v1 freezer hierarchy; the Mesos placement cannot be reproduced here");
        return;
    }
    let h = Harness::start_with(Setup {
        cgroup: Some(CgroupPlacement::default()),
        ..Setup::default()
    })
    .await;
    let container_id = h.agent.config().container_id.value.clone();
    let compose = format!(
        "services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n  side:\n    image: {IMAGE}\n    command: {SLEEPER}\n"
    );
    h.write("app.yml", &compose);
    let task_id = h.task_id("cgroup");
    h.launch(h.task(&task_id, "app.yml", port_block()).build());
    h.wait_state(&task_id, TaskState::Running).await;
    let parent = format!("/mesos/{container_id}");
    let containers = h.containers(&task_id).await;
    assert_eq!(containers.len(), 3);
    for container in &containers {
        let host = container.host_config.as_ref().unwrap();
        assert_eq!(host.cgroup_parent.as_deref(), Some(parent.as_str()));
        let pid = container.state.as_ref().unwrap().pid.unwrap();
        let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        let memory = cgroups
            .lines()
            .find(|l| l.contains(":memory:"))
            .expect("memory line");
        assert!(memory.contains(&format!("{parent}/")), "{memory}");
    }
    h.kill(&task_id).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(h.leftovers(&task_id).await.is_empty());
    for container in &containers {
        let id = container.id.clone().unwrap();
        let dir = format!("/sys/fs/cgroup/memory{parent}/{id}");
        assert!(!std::path::Path::new(&dir).exists(), "{dir} left behind");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pods_of_one_file_with_a_fixed_host_port() {
    let h = Harness::start().await;
    let compose = format!(
        "services:\n  web:\n    image: {IMAGE}\n    command: {}\n    ports: [\"8080:8080\"]\n",
        httpd_command(8080)
    );
    h.write("web.yml", &compose);
    let tasks = [h.task_id("web-a"), h.task_id("web-b")];
    let blocks = [port_block(), port_block()];
    for (task_id, ports) in tasks.iter().zip(blocks) {
        h.launch(h.task(task_id, "web.yml", ports).build());
    }
    for (task_id, ports) in tasks.iter().zip(blocks) {
        let running = h.wait_state(task_id, TaskState::Running).await;
        let port = Harness::label(&running, "port.web.8080/tcp").unwrap();
        assert_eq!(port, ports.0.to_string());
        let answer = http_get_eventually(ports.0 as u16).await;
        assert!(answer.contains("hello-dce"));
    }
    for task_id in &tasks {
        h.agent.kill(task_id, None);
    }
    for task_id in &tasks {
        h.wait_state(task_id, TaskState::Killed).await;
    }
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    for task_id in &tasks {
        assert!(h.leftovers(task_id).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_pods_at_once() {
    let h = Harness::start().await;
    let compose = format!("services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n");
    h.write("app.yml", &compose);
    let tasks: Vec<String> = (0..10).map(|i| h.task_id(&format!("many{i}"))).collect();
    for task_id in &tasks {
        h.launch(h.task(task_id, "app.yml", port_block()).build());
    }
    for task_id in &tasks {
        h.wait_state(task_id, TaskState::Running).await;
    }
    for task_id in &tasks {
        h.agent.kill(task_id, None);
    }
    for task_id in &tasks {
        h.wait_state(task_id, TaskState::Killed).await;
    }
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    for task_id in &tasks {
        assert!(h.leftovers(task_id).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_pod_runs() {
    let h = Harness::start().await;
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/pod/docker-compose.yml");
    let compose = std::fs::read_to_string(example)
        .unwrap()
        .replace("dce-example-busybox:latest", IMAGE);
    h.write("docker-compose.yml", &compose);
    let task_id = h.task_id("example");
    let ports = port_block();
    let task = h
        .task(&task_id, "docker-compose.yml", ports)
        .label("config.cleanpod.removenamedvolumes", Some("true"))
        .build();
    h.launch(task);
    let running = h.wait_state(&task_id, TaskState::Running).await;
    assert_eq!(running.status.healthy, Some(true));
    let answer = http_get_eventually(ports.0 as u16).await;
    assert!(answer.contains("hello from a dce pod"), "{answer}");
    h.kill(&task_id).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));
    assert!(
        h.leftovers(&task_id).await.is_empty(),
        "{:?}",
        h.leftovers(&task_id).await
    );
}
