//! The floor brings a pod up and down on the real engine, and the benchmark's cleanup finds and
//! removes whatever carries a benchmark project name. No timings are asserted.

use std::collections::HashMap;
use std::time::Duration;

use bench::cleanup::{self, BenchObject};
use bench::floor::{floor_down, floor_up};
use bench::pod_spec::{floor_spec, InfraContainer, PROJECT_PREFIX};
use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::ListContainersOptions;

fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

#[tokio::test]
async fn floor_pod_runs_every_service_and_leaves_nothing() {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = run_id();
    let project = format!("{PROJECT_PREFIX}{run}-floor");
    let infra = InfraContainer {
        image: testkit::BUSYBOX_IMAGE.to_string(),
        cmd: Some(vec!["sleep".into(), "3600".into()]),
        init: true,
    };
    let spec = floor_spec(3, &project, &run, &infra);
    let pod = floor_up(&docker, &spec).await;
    let running = docker
        .list_containers(Some(ListContainersOptions {
            filters: Some(HashMap::from([
                (
                    "label".to_string(),
                    vec![format!("com.docker.compose.project={project}")],
                ),
                ("status".to_string(), vec!["running".to_string()]),
            ])),
            ..Default::default()
        }))
        .await
        .unwrap()
        .len();
    let down = match &pod {
        Ok(pod) => floor_down(&docker, pod, Duration::from_secs(10)).await,
        Err(_) => Ok(()),
    };
    let left = cleanup::find(&docker, &project).await.unwrap();
    cleanup::remove(&docker, &project).await.unwrap();
    pod.unwrap();
    down.unwrap();
    assert_eq!(running, 4, "infra + 3 services");
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test]
async fn cleanup_removes_objects_of_the_run_only() {
    let docker = testkit::docker().await.unwrap();
    let (mine, other) = (run_id(), run_id());
    let network = |run: &str| {
        let project = format!("dce-{PROJECT_PREFIX}{run}-x");
        NetworkCreateRequest {
            name: project.clone(),
            labels: Some(HashMap::from([(
                "com.docker.compose.project".to_string(),
                project,
            )])),
            ..Default::default()
        }
    };
    docker.create_network(network(&mine)).await.unwrap();
    docker.create_network(network(&other)).await.unwrap();
    let needle = |run: &str| format!("{PROJECT_PREFIX}{run}");
    let found = cleanup::find(&docker, &needle(&mine)).await.unwrap();
    let removed = cleanup::remove(&docker, &needle(&mine)).await.unwrap();
    let other_left = cleanup::find(&docker, &needle(&other)).await.unwrap();
    cleanup::remove(&docker, &needle(&other)).await.unwrap();
    assert!(
        matches!(found.as_slice(), [BenchObject::Network(..)]),
        "{found:?}"
    );
    assert_eq!(removed, 1);
    assert_eq!(other_left.len(), 1);
    assert!(cleanup::find(&docker, &needle(&mine))
        .await
        .unwrap()
        .is_empty());
}
