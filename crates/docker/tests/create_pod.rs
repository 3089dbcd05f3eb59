//! Creating pods on the real engine: shared namespace, compose networking, dependency order and
//! conditions, and cleanup after failures.

mod support;

use docker::ContainerRole;
use support::harness::Harness;
use support::with_sleeper;

#[tokio::test]
async fn shared_pod_runs_services_in_the_infra_namespace() {
    let h = Harness::new().await;
    let plan = h.plan(
        with_sleeper!(
            r#"
services:
  web:
    image: dce-test-busybox:latest
    command: ["httpd", "-f", "-p", "8080", "-h", "/etc"]
    ports: ["8080"]
  client:
    <<: *sleeper
    depends_on: [web]
"#
        ),
        Vec::new(),
    );
    let created = h.up(&plan).await.unwrap();
    let pod = &created.pod;
    assert_eq!(pod.containers.len(), 3);
    assert_eq!(pod.containers[0].role, ContainerRole::Infra);
    let order: Vec<_> = pod.containers.iter().map(|c| c.service.as_str()).collect();
    assert_eq!(order[1..], ["web", "client"]);
    assert_eq!(pod.networks.len(), 1);

    let infra = h.inspect(&pod.containers[0].id).await;
    let client = h.inspect(&pod.containers[2].id).await;
    assert_eq!(
        client.host_config.unwrap().network_mode.unwrap(),
        format!("container:{}", pod.containers[0].id)
    );
    // The pod's port is published (ephemerally) on the infra container.
    let ports = infra.network_settings.unwrap().ports.unwrap();
    let binding = ports["8080/tcp"].as_ref().unwrap();
    assert!(!binding[0].host_port.as_deref().unwrap_or("").is_empty());
    // Services reach each other by name on 127.0.0.1.
    let exec = h
        .docker
        .create_exec(
            &pod.containers[2].id,
            bollard::models::ExecConfig {
                cmd: Some(vec![
                    "wget".into(),
                    "-q".into(),
                    "-O/dev/null".into(),
                    "http://web:8080/passwd".into(),
                ]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let detached = bollard::exec::StartExecOptions {
        detach: true,
        ..Default::default()
    };
    h.docker.start_exec(&exec.id, Some(detached)).await.unwrap();
    let mut code = None;
    for _ in 0..50 {
        let inspect = h.docker.inspect_exec(&exec.id).await.unwrap();
        if inspect.running == Some(false) {
            code = inspect.exit_code;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(code, Some(0), "wget from client to web:8080 failed");
    assert!(created.timings.total >= created.timings.infra_start);
}
