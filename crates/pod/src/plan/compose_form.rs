//! The plan as a self-contained compose project (`pod/generated-compose.yml`).
//!
//! The plan's project is the engine's view (`network_mode: container:<name>`); a person running
//! the file with `docker compose -f` needs the infra container as a service and `service:`
//! references instead, because compose resolves `container:` names before creating anything.

use std::collections::HashMap;

use compose::{
    ExposedPort, ExtraHost, NetworkMode, PortRange, PortSpec, Project, Service, ServiceNetwork,
};

use super::{InfraSpec, PodNetwork, PodPlan};

/// Service name of the infra container in the generated compose file.
pub const INFRA_SERVICE: &str = "dce-infra";

/// Network key of the infra container's network in the generated compose file.
pub(super) const INFRA_NETWORK_KEY: &str = "default";

pub(super) fn compose_project(plan: &PodPlan) -> Project {
    let mut project = plan.project.clone();
    let mut by_container: HashMap<String, String> = project
        .services
        .iter()
        .filter_map(|(name, s)| s.container_name.clone().map(|c| (c, name.clone())))
        .collect();
    if let PodNetwork::Shared { infra } = &plan.network {
        by_container.insert(infra.container_name.clone(), INFRA_SERVICE.to_string());
        let mut services = indexmap::IndexMap::new();
        services.insert(INFRA_SERVICE.to_string(), infra_service(infra));
        services.extend(std::mem::take(&mut project.services));
        project.services = services;
        project
            .networks
            .insert(INFRA_NETWORK_KEY.to_string(), infra_network(infra));
    }
    for service in project.services.values_mut() {
        if let Some(NetworkMode::Container(name)) = &service.network_mode {
            if let Some(key) = by_container.get(name) {
                service.network_mode = Some(NetworkMode::Service(key.clone()));
            }
        }
    }
    project
}

fn infra_service(infra: &InfraSpec) -> Service {
    let mut networks = indexmap::IndexMap::new();
    networks.insert(INFRA_NETWORK_KEY.to_string(), ServiceNetwork::default());
    Service {
        image: infra.image_or_builtin().to_string(),
        container_name: Some(infra.container_name.clone()),
        ports: infra
            .ports
            .iter()
            .map(|p| PortSpec {
                target: p.container_port,
                published: p.host_port.map(PortRange::single),
                host_ip: p.host_ip.as_deref().and_then(|ip| ip.parse().ok()),
                protocol: p.protocol,
            })
            .collect(),
        expose: infra
            .expose
            .iter()
            .filter_map(|text| {
                let (port, protocol) = text.split_once('/')?;
                Some(ExposedPort {
                    port: port.parse().ok()?,
                    protocol: compose::Protocol::parse(protocol)?,
                })
            })
            .collect(),
        extra_hosts: infra
            .extra_hosts
            .iter()
            .map(|h| ExtraHost {
                hostname: h.hostname.clone(),
                ip: h.ip.clone(),
            })
            .collect(),
        dns: infra.dns.clone(),
        dns_search: infra.dns_search.clone(),
        dns_opt: infra.dns_opt.clone(),
        hostname: infra.hostname.clone(),
        domainname: infra.domainname.clone(),
        sysctls: infra.sysctls.clone(),
        labels: infra.labels.clone(),
        cgroup_parent: infra.cgroup_parent.clone(),
        networks,
        ..Service::default()
    }
}

pub(super) fn infra_network(infra: &InfraSpec) -> compose::Network {
    let network = &infra.network;
    if network.pre_existing {
        compose::Network {
            name: Some(network.name.clone()),
            external: true,
            ..compose::Network::default()
        }
    } else {
        compose::Network {
            name: Some(network.name.clone()),
            driver: Some(network.driver.clone()),
            labels: network.labels.clone(),
            ..compose::Network::default()
        }
    }
}
