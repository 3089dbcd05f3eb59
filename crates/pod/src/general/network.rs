//! The pod's network layout (SPEC §3.4): one shared namespace owned by an infra container, host,
//! none, or compose networking.

use std::collections::HashMap;

use compose::{NetworkMode, Project, ServiceNetwork};

use super::ports::{explain, host_ports, mapping, republished};
use super::resources::name_networks;
use super::Notes;
use crate::config::PodNetworking;
use crate::context::TaskContext;
use crate::error::PodError;
use crate::plan::{PodNetwork, PodPlan};
use crate::ports::PortAllocator;

/// Network key of the pod's own network (compose's implicit network has the same key).
pub const DEFAULT_NETWORK: &str = "default";

/// How the services are networked, decided before anything is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkLayout {
    /// All services join the infra container's namespace.
    Shared,
    /// All services use `network_mode: host`.
    Host,
    /// All services use `network_mode: none`.
    None,
    /// Compose networking (`x-dce: {network: compose}`).
    Compose,
}

/// Decides the layout; a mix of host/none and shared services is an error.
pub fn decide_layout(
    project: &Project,
    networking: PodNetworking,
) -> Result<NetworkLayout, PodError> {
    if networking == PodNetworking::Compose {
        return Ok(NetworkLayout::Compose);
    }
    let (mut host, mut none, mut shared) = (Vec::new(), Vec::new(), Vec::new());
    for (name, service) in &project.services {
        let group = match service.network_mode {
            Some(NetworkMode::Host) => &mut host,
            Some(NetworkMode::None) => &mut none,
            _ => &mut shared,
        };
        group.push(format!("`{name}`"));
    }
    match (host.is_empty(), none.is_empty(), shared.is_empty()) {
        (_, true, true) => Ok(NetworkLayout::Host),
        (true, _, true) => Ok(NetworkLayout::None),
        (true, true, _) => Ok(NetworkLayout::Shared),
        _ => {
            let mut parts = Vec::new();
            if !host.is_empty() {
                parts.push(format!("{} use(s) network_mode: host", host.join(", ")));
            }
            if !none.is_empty() {
                parts.push(format!("{} use(s) network_mode: none", none.join(", ")));
            }
            if !shared.is_empty() {
                parts.push(format!("{} share(s) the pod network", shared.join(", ")));
            }
            Err(PodError::MixedNetworkModes {
                detail: parts.join(", while "),
            })
        }
    }
}

/// Rewrites the services for `layout` and returns the plan's network.
pub fn apply_layout(
    plan: &mut PodPlan,
    layout: NetworkLayout,
    task: &TaskContext,
    cgroup_parent: Option<&str>,
    allocator: &mut PortAllocator,
    notes: &mut Notes,
) -> Result<PodNetwork, PodError> {
    match layout {
        NetworkLayout::Shared => {
            let infra =
                super::shared::share_namespace(plan, task, cgroup_parent, allocator, notes)?;
            Ok(PodNetwork::Shared {
                infra: Box::new(infra),
            })
        }
        NetworkLayout::Host | NetworkLayout::None => {
            without_pod_network(plan, layout, notes);
            Ok(if layout == NetworkLayout::Host {
                PodNetwork::Host
            } else {
                PodNetwork::None
            })
        }
        NetworkLayout::Compose => {
            compose_networking(plan, allocator, notes)?;
            Ok(PodNetwork::Compose)
        }
    }
}

fn without_pod_network(plan: &mut PodPlan, layout: NetworkLayout, notes: &mut Notes) {
    let mode = if layout == NetworkLayout::Host {
        "host"
    } else {
        "none"
    };
    for (name, service) in plan.project.services.iter_mut() {
        if !std::mem::take(&mut service.ports).is_empty() {
            notes.service(name, "ports", format!("removed: with network_mode {mode} nothing is published (no task ports are used)"));
        }
        if !std::mem::take(&mut service.networks).is_empty() {
            notes.service(
                name,
                "networks",
                format!("removed: a network_mode {mode} container joins no network"),
            );
        }
        if !std::mem::take(&mut service.links).is_empty() {
            notes.service(
                name,
                "links",
                format!("removed: links need a network; network_mode is {mode}"),
            );
        }
    }
    for key in std::mem::take(&mut plan.project.networks).keys() {
        notes.add(
            format!("network {key}"),
            "networks",
            format!("not created: every service uses network_mode {mode}"),
        );
    }
}

fn compose_networking(
    plan: &mut PodPlan,
    allocator: &mut PortAllocator,
    notes: &mut Notes,
) -> Result<(), PodError> {
    let container_names: HashMap<String, String> = plan
        .project
        .services
        .iter()
        .filter_map(|(name, s)| s.container_name.clone().map(|c| (name.clone(), c)))
        .collect();
    let needed = plan.project.services.values().map(|s| s.ports.len()).sum();
    let mut host_ports = host_ports(needed, allocator)?.into_iter();
    let mut uses_default = false;
    for (name, service) in plan.project.services.iter_mut() {
        let specs = std::mem::take(&mut service.ports);
        for spec in specs {
            let host_port = host_ports.next().flatten();
            notes.service(name, "ports", explain(&spec, host_port));
            plan.ports.push(mapping(name, &spec, host_port));
            service.ports.push(republished(&spec, host_port));
        }
        match &service.network_mode {
            Some(NetworkMode::Service(other)) => {
                let other = other.clone();
                let target = container_names
                    .get(&other)
                    .cloned()
                    .unwrap_or_else(|| other.clone());
                service.network_mode = Some(NetworkMode::Container(target));
                if !service.depends_on.contains_key(&other) {
                    notes.service(name, "depends_on", format!("`{other}` added: the service joins its network namespace, so it starts after it"));
                    service
                        .depends_on
                        .insert(other, compose::DependsOn::default());
                }
            }
            None if service.networks.is_empty() => {
                service
                    .networks
                    .insert(DEFAULT_NETWORK.to_string(), ServiceNetwork::default());
                uses_default = true;
            }
            None => uses_default |= service.networks.contains_key(DEFAULT_NETWORK),
            Some(_) => {}
        }
    }
    if uses_default && !plan.project.networks.contains_key(DEFAULT_NETWORK) {
        plan.project
            .networks
            .insert(DEFAULT_NETWORK.to_string(), compose::Network::default());
    }
    name_networks(plan, notes);
    Ok(())
}
