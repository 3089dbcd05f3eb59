//! The infra image built from dce's own binary runs `dce pause`, which stops promptly and
//! cleanly on SIGTERM.

use std::path::Path;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, StopContainerOptions};
use docker::infra_image::{ensure_infra_image, INFRA_IMAGE_REPO};
use testkit::TestRun;

#[tokio::test]
async fn infra_image_from_own_binary_stops_on_sigterm_with_exit_0() {
    let docker = testkit::docker().await.unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_dce"));
    let image = ensure_infra_image(&docker, binary).await.unwrap();
    assert!(
        image.starts_with(&format!("{INFRA_IMAGE_REPO}:")),
        "{image}"
    );
    // Reused, not rebuilt, the second time.
    let id = docker.inspect_image(&image).await.unwrap().id;
    assert_eq!(ensure_infra_image(&docker, binary).await.unwrap(), image);
    let inspect = docker.inspect_image(&image).await.unwrap();
    assert_eq!(inspect.id, id);
    let config = inspect.config.unwrap();
    assert_eq!(
        config.entrypoint,
        Some(vec!["/dce".to_string(), "pause".to_string()])
    );

    let run = TestRun::new();
    let options = CreateContainerOptions {
        name: Some(run.name("infra")),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(image),
        labels: Some(run.labels()),
        ..Default::default()
    };
    let created = docker.create_container(Some(options), body).await.unwrap();
    docker.start_container(&created.id, None).await.unwrap();
    let state = docker
        .inspect_container(&created.id, None)
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(state.running, Some(true));

    // A generous grace: if SIGTERM were ignored the engine would SIGKILL (exit 137) at the end.
    let stop = StopContainerOptions {
        t: Some(60),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    docker
        .stop_container(&created.id, Some(stop))
        .await
        .unwrap();
    let state = docker
        .inspect_container(&created.id, None)
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(state.exit_code, Some(0), "state: {state:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "stop waited for the SIGKILL deadline"
    );
}
