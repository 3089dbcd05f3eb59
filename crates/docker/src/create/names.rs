//! Resolving the names a compose file uses (services, volume and network keys) to what the
//! engine knows them by.

use std::collections::HashMap;

use pod::PodPlan;

use crate::client::DockerError;

/// Service → container name, volume key → engine volume name, network key → engine network
/// (name, replaced by the id once dce created it, so that a duplicate name cannot confuse the
/// engine).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodNames {
    containers: HashMap<String, String>,
    volumes: HashMap<String, String>,
    networks: HashMap<String, String>,
}

impl PodNames {
    /// The names as planned.
    pub fn from_plan(plan: &PodPlan) -> Self {
        let containers = plan
            .project
            .services
            .iter()
            .map(|(name, service)| {
                let container = plan
                    .services
                    .get(name)
                    .map(|s| s.container_name.clone())
                    .or_else(|| service.container_name.clone())
                    .unwrap_or_else(|| format!("{}-{name}-1", plan.project_name));
                (name.clone(), container)
            })
            .collect();
        let volumes = plan
            .project
            .volumes
            .iter()
            .map(|(key, v)| (key.clone(), v.name.clone().unwrap_or_else(|| key.clone())))
            .collect();
        let networks = plan
            .project
            .networks
            .iter()
            .map(|(key, n)| (key.clone(), n.name.clone().unwrap_or_else(|| key.clone())))
            .collect();
        PodNames {
            containers,
            volumes,
            networks,
        }
    }

    /// Records the id of a network dce created.
    pub fn set_network_id(&mut self, key: &str, id: String) {
        self.networks.insert(key.to_string(), id);
    }

    /// The container of service `other`, referenced by `service`.
    pub fn container(&self, service: &str, other: &str) -> Result<String, DockerError> {
        self.containers
            .get(other)
            .cloned()
            .ok_or_else(|| DockerError::InvalidPlan {
                service: service.to_string(),
                message: format!("refers to service `{other}`, which the pod does not have"),
            })
    }

    /// The container name of `service` itself.
    pub fn own_container(&self, service: &str) -> Result<String, DockerError> {
        self.container(service, service)
    }

    /// The engine name of volume `key`, used by `service`.
    pub fn volume(&self, service: &str, key: &str) -> Result<String, DockerError> {
        self.volumes
            .get(key)
            .cloned()
            .ok_or_else(|| DockerError::InvalidPlan {
                service: service.to_string(),
                message: format!(
                    "mounts volume `{key}`, which is not declared under top-level `volumes`"
                ),
            })
    }

    /// The engine name or id of network `key`, joined by `service`.
    pub fn network(&self, service: &str, key: &str) -> Result<String, DockerError> {
        self.networks
            .get(key)
            .cloned()
            .ok_or_else(|| DockerError::InvalidPlan {
                service: service.to_string(),
                message: format!(
                    "joins network `{key}`, which is not declared under top-level `networks`"
                ),
            })
    }

    /// `service:x` → `container:<x's container>`; anything else unchanged (`host`,
    /// `container:y`, `private`, …). Used for `pid`, `ipc` and `network_mode`.
    pub fn namespace_mode(&self, service: &str, mode: &str) -> Result<String, DockerError> {
        match mode.strip_prefix("service:") {
            Some(other) => Ok(format!("container:{}", self.container(service, other)?)),
            None => Ok(mode.to_string()),
        }
    }
}
