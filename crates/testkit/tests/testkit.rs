//! The test image builds offline and the guard removes what a test created.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{CreateContainerOptions, ListContainersOptions};
use testkit::{docker, ensure_busybox_image, TestRun, BUSYBOX_IMAGE};

#[tokio::test]
async fn busybox_image_runs_and_guard_removes_everything() {
    let docker = docker().await.unwrap();
    ensure_busybox_image(&docker).await.unwrap();
    ensure_busybox_image(&docker).await.unwrap();
    let image = docker.inspect_image(BUSYBOX_IMAGE).await.unwrap();
    assert_eq!(
        image.config.and_then(|c| c.cmd),
        Some(vec!["/bin/sh".to_string()])
    );

    let filter = {
        let run = TestRun::new();
        let labels = run.labels();
        docker
            .create_network(NetworkCreateRequest {
                name: run.name("net"),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        docker
            .create_volume(VolumeCreateRequest {
                name: Some(run.name("vol")),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        let options = CreateContainerOptions {
            name: Some(run.name("c")),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(BUSYBOX_IMAGE.to_string()),
            cmd: Some(vec!["sleep".into(), "600".into()]),
            labels: Some(labels),
            ..Default::default()
        };
        let created = docker.create_container(Some(options), body).await.unwrap();
        docker.start_container(&created.id, None).await.unwrap();
        run.label_filter()
    };

    let filters = Some(HashMap::from([("label".to_string(), vec![filter.clone()])]));
    let left = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: filters.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(left.is_empty(), "containers left: {left:?}");
    let networks = docker
        .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
            filters: filters.clone(),
        }))
        .await
        .unwrap();
    assert!(networks.is_empty());
    let volumes = docker
        .list_volumes(Some(bollard::query_parameters::ListVolumesOptions {
            filters,
        }))
        .await
        .unwrap();
    assert!(volumes.volumes.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn pause_image_stops_on_sigterm_with_exit_0() {
    let docker = docker().await.unwrap();
    ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let options = CreateContainerOptions {
        name: Some(run.name("pause")),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(testkit::PAUSE_IMAGE.to_string()),
        labels: Some(run.labels()),
        ..Default::default()
    };
    let created = docker.create_container(Some(options), body).await.unwrap();
    docker.start_container(&created.id, None).await.unwrap();
    let stop = bollard::query_parameters::StopContainerOptions {
        t: Some(30),
        ..Default::default()
    };
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
    assert_eq!(state.exit_code, Some(0));
}
