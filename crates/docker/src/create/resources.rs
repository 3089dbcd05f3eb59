//! The pod's networks and volumes, created in parallel before any container.

use std::collections::HashMap;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest, VolumeCreateRequest};
use bollard::Docker;
use compose::{Network, Volume};
use futures_util::future::try_join_all;
use indexmap::IndexMap;

use super::tracker::Tracker;
use crate::client::DockerError;
use crate::running::PodVolume;

fn labels(labels: &IndexMap<String, String>) -> Option<HashMap<String, String>> {
    Some(labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// The create request of a top-level network (compose networking), named `name`.
pub fn network_request(name: &str, network: &Network) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: name.to_string(),
        driver: Some(
            network
                .driver
                .clone()
                .unwrap_or_else(|| "bridge".to_string()),
        ),
        internal: network.internal,
        attachable: network.attachable,
        enable_ipv6: network.enable_ipv6,
        options: (!network.driver_opts.is_empty()).then(|| {
            network
                .driver_opts
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        ipam: network.ipam.as_ref().map(|ipam| Ipam {
            driver: ipam.driver.clone(),
            config: Some(
                ipam.config
                    .iter()
                    .map(|pool| IpamConfig {
                        subnet: pool.subnet.clone(),
                        ip_range: pool.ip_range.clone(),
                        gateway: pool.gateway.clone(),
                        auxiliary_addresses: (!pool.aux_addresses.is_empty())
                            .then(|| pool.aux_addresses.clone().into_iter().collect()),
                    })
                    .collect(),
            ),
            options: (!ipam.options.is_empty()).then(|| ipam.options.clone().into_iter().collect()),
        }),
        labels: labels(&network.labels),
        ..Default::default()
    }
}

/// The create request of a top-level volume, named `name`.
pub fn volume_request(name: &str, volume: &Volume) -> VolumeCreateRequest {
    VolumeCreateRequest {
        name: Some(name.to_string()),
        driver: volume.driver.clone(),
        driver_opts: (!volume.driver_opts.is_empty())
            .then(|| volume.driver_opts.clone().into_iter().collect()),
        labels: labels(&volume.labels),
        ..Default::default()
    }
}

/// Creates the networks (by key) and returns their ids (by key).
pub async fn create_networks(
    docker: &Docker,
    tracker: &Tracker,
    requests: Vec<(String, NetworkCreateRequest)>,
) -> Result<Vec<(String, String)>, DockerError> {
    try_join_all(requests.into_iter().map(|(key, request)| {
        let docker = docker.clone();
        async move {
            let name = request.name.clone();
            let id = tracker
                .create(
                    async move {
                        docker
                            .create_network(request)
                            .await
                            .map(|created| created.id)
                            .map_err(|e| {
                                DockerError::engine("create", format!("network {name}"), e)
                            })
                    },
                    |pod, id: &String| pod.networks.push(id.clone()),
                )
                .await?;
            Ok((key, id))
        }
    }))
    .await
}

/// Creates the volumes.
pub async fn create_volumes(
    docker: &Docker,
    tracker: &Tracker,
    requests: Vec<VolumeCreateRequest>,
) -> Result<(), DockerError> {
    try_join_all(requests.into_iter().map(|request| {
        let docker = docker.clone();
        async move {
            let name = request.name.clone().unwrap_or_default();
            tracker
                .create(
                    async move {
                        docker
                            .create_volume(request)
                            .await
                            .map(|volume| volume.name)
                            .map_err(|e| DockerError::engine("create", format!("volume {name}"), e))
                    },
                    |pod, name: &String| {
                        pod.volumes.push(PodVolume {
                            name: name.clone(),
                            named: true,
                        })
                    },
                )
                .await
        }
    }))
    .await?;
    Ok(())
}
