//! The floor of SPEC §11: the containers of a dce pod (a per-pod bridge network, an infra
//! container owning the network namespace, services joining it) created, started, stopped and
//! removed by direct Engine API calls with as much parallelism as the engine allows. Nothing is
//! parsed or planned, no status is reported: what is left is the engine's own cost.
//!
//! Shared by `dce-bench` and the runtime-level bench of the `docker` crate.

use std::collections::HashMap;
use std::time::Duration;

use bollard::errors::Error;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, StartContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::future::{join_all, try_join, try_join_all};

/// One service container of a floor pod.
#[derive(Debug, Clone)]
pub struct FloorService {
    /// The compose service name (goes into the `com.docker.compose.service` label).
    pub service: String,
    /// The container name.
    pub name: String,
    /// The command (`Cmd`).
    pub cmd: Vec<String>,
}

/// What to create: the same objects a dce pod consists of.
#[derive(Debug, Clone)]
pub struct FloorSpec {
    /// Prefix of every object name (`<project>-net`, `<project>-infra`).
    pub project: String,
    /// Labels of every object.
    pub labels: HashMap<String, String>,
    /// The services' image.
    pub image: String,
    /// The infra container's image and command (`None`: the image's default command).
    pub infra_image: String,
    /// The infra container's command.
    pub infra_cmd: Option<Vec<String>>,
    /// Whether the infra container runs docker-init as PID 1.
    pub infra_init: bool,
    /// Whether the services run docker-init as PID 1 (compose `init: true`).
    pub init: bool,
    /// The service containers.
    pub services: Vec<FloorService>,
}

/// A created floor pod.
#[derive(Debug, Clone)]
pub struct FloorPod {
    /// The bridge network's id.
    pub network: String,
    /// The infra container's name and id.
    pub infra: (String, String),
    /// Per service: the service, its container's name and id.
    pub services: Vec<(String, String, String)>,
}

impl FloorPod {
    /// Ids of every container, infra first.
    pub fn container_ids(&self) -> Vec<String> {
        let mut ids = vec![self.infra.1.clone()];
        ids.extend(self.services.iter().map(|(_, _, id)| id.clone()));
        ids
    }
}

/// Creates and starts the pod: network, infra container, then the services' creates while the
/// infra container starts, then every service start at once (a service joining the infra
/// container's namespace can only start once that container runs).
pub async fn floor_up(docker: &Docker, spec: &FloorSpec) -> Result<FloorPod, Error> {
    let network = docker
        .create_network(NetworkCreateRequest {
            name: format!("{}-net", spec.project),
            labels: Some(spec.labels.clone()),
            ..Default::default()
        })
        .await?
        .id;
    let infra_name = format!("{}-infra", spec.project);
    let mut infra_body = body(
        spec,
        &spec.infra_image,
        spec.infra_cmd.clone(),
        "infra",
        network.clone(),
    );
    if let Some(host_config) = infra_body.host_config.as_mut() {
        host_config.init = spec.infra_init.then_some(true);
    }
    let infra = create(docker, &infra_name, infra_body).await?;
    let mode = format!("container:{infra}");
    let creates = spec.services.iter().map(|service| {
        let body = body(
            spec,
            &spec.image,
            Some(service.cmd.clone()),
            &service.service,
            mode.clone(),
        );
        async move {
            let id = create(docker, &service.name, body).await?;
            Ok::<_, Error>((service.service.clone(), service.name.clone(), id))
        }
    });
    let (_, services) = try_join(
        docker.start_container(&infra, None::<StartContainerOptions>),
        try_join_all(creates),
    )
    .await?;
    try_join_all(
        services
            .iter()
            .map(|(_, _, id)| docker.start_container(id, None::<StartContainerOptions>)),
    )
    .await?;
    Ok(FloorPod {
        network,
        infra: (infra_name, infra),
        services,
    })
}

/// Stops every container at once (SIGTERM, SIGKILL after `grace`), removes them at once, then
/// the network. Every step is attempted; the first error is returned.
pub async fn floor_down(docker: &Docker, pod: &FloorPod, grace: Duration) -> Result<(), Error> {
    let ids = pod.container_ids();
    let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
    let stops = join_all(ids.iter().map(|id| {
        let options = StopContainerOptions {
            t: Some(seconds),
            ..Default::default()
        };
        docker.stop_container(id, Some(options))
    }))
    .await;
    let removes = join_all(ids.iter().map(|id| {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        docker.remove_container(id, Some(options))
    }))
    .await;
    let network = docker.remove_network(&pod.network).await;
    for outcome in stops.into_iter().chain(removes) {
        outcome?;
    }
    network
}

fn body(
    spec: &FloorSpec,
    image: &str,
    cmd: Option<Vec<String>>,
    service: &str,
    network_mode: String,
) -> ContainerCreateBody {
    let mut labels = spec.labels.clone();
    labels.insert("com.docker.compose.service".into(), service.into());
    ContainerCreateBody {
        image: Some(image.into()),
        cmd,
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some(network_mode),
            init: spec.init.then_some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn create(docker: &Docker, name: &str, body: ContainerCreateBody) -> Result<String, Error> {
    let options = CreateContainerOptions {
        name: Some(name.into()),
        platform: String::new(),
    };
    Ok(docker.create_container(Some(options), body).await?.id)
}
