//! The infra container's configuration: it owns the pod's network namespace, so it carries the
//! pod's published ports, `/etc/hosts` entries, DNS settings, host name and network sysctls.
//! Pure.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use pod::plan::InfraSpec;

use super::container_config::ContainerSpec;

/// The container configuration of the infra container, running `image`, on `network` (the
/// engine id or name of the network it joins).
pub fn infra_container(infra: &InfraSpec, image: &str, network: &str) -> ContainerSpec {
    let mut exposed: Vec<String> = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &infra.ports {
        let key = format!("{}/{}", port.container_port, port.protocol.as_str());
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let binding = PortBinding {
            host_ip: port.host_ip.clone(),
            // Empty: the engine picks an ephemeral port (local mode without --ports).
            host_port: Some(port.host_port.map(|p| p.to_string()).unwrap_or_default()),
        };
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    for key in &infra.expose {
        if !exposed.contains(key) {
            exposed.push(key.clone());
        }
    }
    let list = |items: &Vec<String>| (!items.is_empty()).then(|| items.clone());
    let host = HostConfig {
        network_mode: Some(network.to_string()),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        extra_hosts: (!infra.extra_hosts.is_empty()).then(|| {
            infra
                .extra_hosts
                .iter()
                .map(|h| format!("{}:{}", h.hostname, h.ip))
                .collect()
        }),
        dns: list(&infra.dns),
        dns_search: list(&infra.dns_search),
        dns_options: list(&infra.dns_opt),
        sysctls: (!infra.sysctls.is_empty()).then(|| {
            infra
                .sysctls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        cgroup_parent: infra.cgroup_parent.clone(),
        ..Default::default()
    };
    ContainerSpec {
        name: infra.container_name.clone(),
        platform: String::new(),
        body: ContainerCreateBody {
            image: Some(image.to_string()),
            hostname: infra.hostname.clone(),
            domainname: infra.domainname.clone(),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            labels: Some(
                infra
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            host_config: Some(host),
            ..Default::default()
        },
        extra_networks: Vec::new(),
    }
}
