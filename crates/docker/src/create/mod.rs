//! Running a [`PodPlan`] on the engine: networks and volumes, the infra container, then the
//! services in `depends_on` order (independent ones in parallel, conditions honoured).
//!
//! A failure at any step, a cancellation, or dropping the future removes everything created so
//! far. The result is the [`RunningPod`] handle plus how long each step took.

mod container;
pub mod container_config;
mod infra;
pub mod infra_config;
#[cfg(test)]
mod mapping_tests;
pub mod mounts;
pub mod names;
pub mod order;
pub mod resources;
mod services;
mod tracker;
pub mod wait;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::Docker;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use pod::plan::{PodNetwork, INFRA_SERVICE};
use pod::PodPlan;
use tokio_util::sync::CancellationToken;

use crate::client::DockerError;
use crate::running::{ContainerRole, PodContainer, RunningPod};
use container_config::service_container;
use names::PodNames;
use tracker::Tracker;

/// How to create a pod beyond what the plan says.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The binary the built-in infra image is made from when the plan names no infra image
    /// (`None`: the running executable).
    pub infra_binary: Option<PathBuf>,
}

/// How long each launch step took (for the executor's launch breakdown).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateTimings {
    /// Making sure the infra image exists (building it the first time).
    pub infra_image: Duration,
    /// Creating the pod's networks.
    pub networks: Duration,
    /// Creating the pod's volumes.
    pub volumes: Duration,
    /// Creating the infra container.
    pub infra_create: Duration,
    /// Starting the infra container.
    pub infra_start: Duration,
    /// Per service, in start order.
    pub services: Vec<ServiceTiming>,
    /// The whole creation.
    pub total: Duration,
}

/// How long one service took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceTiming {
    /// The service.
    pub service: String,
    /// Between its creation and its start: waiting for the infra container to run and for its
    /// dependencies' conditions.
    pub waited: Duration,
    /// The create call (and connecting extra networks).
    pub create: Duration,
    /// The start call.
    pub start: Duration,
}

/// A pod whose containers have all been started.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedPod {
    /// What exists on the engine.
    pub pod: RunningPod,
    /// Step timings.
    pub timings: CreateTimings,
}

/// Creates and starts the pod of `plan`. Images must be present (see [`crate::images`]).
///
/// Cancelling `cancel` (a KILL during launch, or the executor's launch timeout) or dropping the
/// returned future stops the launch and removes everything it created. There is no timeout of
/// its own: waiting for a `service_healthy` dependency lasts until the dependency is healthy,
/// unhealthy or exited, or the launch is cancelled.
pub async fn create_pod(
    docker: &Docker,
    plan: &PodPlan,
    options: &CreateOptions,
    cancel: &CancellationToken,
) -> Result<CreatedPod, DockerError> {
    let started = Instant::now();
    let order = order::dependency_order(&plan.project)?;
    // Every service's configuration is checked before anything is created.
    let mut names = PodNames::from_plan(plan);
    for (name, service) in &plan.project.services {
        service_container(name, service, &names)?;
    }

    let tracker = Tracker::new(
        docker.clone(),
        &plan.project_name,
        plan.cgroup_parent.clone(),
    );
    let work = async {
        let mut timings = CreateTimings::default();
        let infra_network = create_resources(docker, plan, &tracker, &mut names, &mut timings);
        let infra_image = infra::resolve_infra_image(docker, plan, options);
        let (infra_network, infra_image) = tokio::try_join!(infra_network, async {
            let at = Instant::now();
            let image = infra_image.await?;
            Ok((image, at.elapsed()))
        })?;
        let (infra_image, infra_image_time) = infra_image;
        timings.infra_image = infra_image_time;
        // Services are created while the infra container starts; they start after it.
        let mut infra_start: BoxFuture<'_, Result<Duration, DockerError>> =
            Box::pin(async { Ok(Duration::ZERO) });
        if let PodNetwork::Shared { infra } = &plan.network {
            let (Some(image), Some(network)) = (infra_image, infra_network) else {
                return Err(DockerError::InvalidPlan {
                    service: INFRA_SERVICE.to_string(),
                    message: "the shared network namespace has no infra image or network"
                        .to_string(),
                });
            };
            let (id, create) =
                infra::create_infra_container(docker, &tracker, infra, &image, &network).await?;
            let object = container::object(&infra::infra_meta());
            timings.infra_create = create;
            infra_start =
                Box::pin(async move { container::start_container(docker, &id, object).await });
        }
        let infra_start = infra_start.shared();
        timings.services =
            services::start_services(docker, plan, &order, &names, &tracker, infra_start.clone())
                .await?;
        timings.infra_start = infra_start.await?;
        Ok::<_, DockerError>(timings)
    };
    let outcome = tokio::select! {
        outcome = work => outcome,
        _ = cancel.cancelled() => Err(DockerError::Cancelled),
    };
    match outcome {
        Ok(mut timings) => {
            let mut pod = tracker.finish();
            sort_by_start(&mut pod, &timings);
            timings.total = started.elapsed();
            Ok(CreatedPod { pod, timings })
        }
        Err(error) => {
            tracing::warn!(project = %plan.project_name, %error, "pod launch failed; removing what it created");
            tracker.rollback().await;
            Err(error)
        }
    }
}

/// Networks and volumes in parallel; returns the network the infra container joins.
async fn create_resources(
    docker: &Docker,
    plan: &PodPlan,
    tracker: &Tracker,
    names: &mut PodNames,
    timings: &mut CreateTimings,
) -> Result<Option<String>, DockerError> {
    // In shared mode this is the infra container's per-pod network; in compose mode the
    // project's own networks.
    let network_requests: Vec<_> = plan
        .networks_to_create()
        .into_iter()
        .map(|(key, network)| {
            let name = network.name.clone().unwrap_or_else(|| key.clone());
            (key, resources::network_request(&name, &network))
        })
        .collect();
    let infra_network_name = plan.infra().map(|infra| infra.network.name.clone());
    let mut infra_network = plan
        .infra()
        .filter(|infra| infra.network.pre_existing)
        .map(|infra| infra.network.name.clone());
    let created_names: Vec<String> = network_requests
        .iter()
        .map(|(_, r)| r.name.clone())
        .collect();
    let volume_requests = plan
        .volumes_to_create()
        .map(|(key, volume)| {
            let name = volume.name.clone().unwrap_or_else(|| key.clone());
            resources::volume_request(&name, volume)
        })
        .collect();
    let networks = async {
        let at = Instant::now();
        let ids = resources::create_networks(docker, tracker, network_requests).await?;
        Ok::<_, DockerError>((ids, at.elapsed()))
    };
    let volumes = async {
        let at = Instant::now();
        resources::create_volumes(docker, tracker, volume_requests).await?;
        Ok::<_, DockerError>(at.elapsed())
    };
    let ((ids, networks_time), volumes_time) = tokio::try_join!(networks, volumes)?;
    timings.networks = networks_time;
    timings.volumes = volumes_time;
    for ((key, id), name) in ids.into_iter().zip(created_names) {
        if infra_network.is_none() && Some(&name) == infra_network_name.as_ref() {
            infra_network = Some(id.clone());
        }
        names.set_network_id(&key, id);
    }
    Ok(infra_network)
}

/// Infra first, then services in the order they were started.
fn sort_by_start(pod: &mut RunningPod, timings: &CreateTimings) {
    let rank = |c: &PodContainer| match c.role {
        ContainerRole::Infra => 0,
        ContainerRole::Service => timings
            .services
            .iter()
            .position(|t| t.service == c.service)
            .map_or(usize::MAX, |p| p + 1),
    };
    pod.containers.sort_by_key(rank);
}
