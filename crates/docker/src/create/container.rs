//! Creating (tracked) and starting one container.

use std::time::{Duration, Instant};

use bollard::models::NetworkConnectRequest;
use bollard::query_parameters::CreateContainerOptions;
use bollard::Docker;

use super::container_config::ContainerSpec;
use super::tracker::Tracker;
use crate::client::DockerError;
use crate::running::{ContainerRole, PodContainer};

/// How errors name a container: `infra container` or `service <name>`.
pub fn object(meta: &PodContainer) -> String {
    if meta.role == ContainerRole::Infra {
        "infra container".to_string()
    } else {
        format!("service {}", meta.service)
    }
}

/// Creates the container (recorded in the pod as soon as it exists) and connects its extra
/// networks; returns its id and how long that took.
pub async fn create_container(
    docker: &Docker,
    tracker: &Tracker,
    spec: ContainerSpec,
    meta: PodContainer,
) -> Result<(String, Duration), DockerError> {
    let object = object(&meta);
    let at = Instant::now();
    let options = CreateContainerOptions {
        name: Some(spec.name.clone()),
        platform: spec.platform.clone(),
    };
    let create_docker = docker.clone();
    let create_object = object.clone();
    let body = spec.body;
    let id = tracker
        .create(
            async move {
                create_docker
                    .create_container(Some(options), body)
                    .await
                    .map(|created| created.id)
                    .map_err(|e| DockerError::engine("create container for", create_object, e))
            },
            move |pod, id: &String| {
                pod.containers.push(PodContainer {
                    id: id.clone(),
                    ..meta
                })
            },
        )
        .await?;
    for (network, endpoint) in spec.extra_networks {
        let request = NetworkConnectRequest {
            container: id.clone(),
            endpoint_config: Some(endpoint),
        };
        docker
            .connect_network(&network, request)
            .await
            .map_err(|e| DockerError::engine("connect to network", object.clone(), e))?;
    }
    Ok((id, at.elapsed()))
}

/// Starts a created container; returns how long that took.
pub async fn start_container(
    docker: &Docker,
    id: &str,
    object: String,
) -> Result<Duration, DockerError> {
    let at = Instant::now();
    docker
        .start_container(id, None)
        .await
        .map_err(|e| DockerError::engine("start container for", object, e))?;
    Ok(at.elapsed())
}
