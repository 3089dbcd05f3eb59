//! The pod's network layout (SPEC §3.4): one shared namespace owned by an infra container, host,
//! none, or compose networking.

use std::collections::HashMap;

use compose::{NetworkMode, Project, Service, ServiceNetwork};
use indexmap::IndexMap;

use super::ports::{explain, host_ports, mapping, republished};
use super::resources::name_networks;
use super::Notes;
use crate::config::PodNetworking;
use crate::context::TaskContext;
use crate::error::PodError;
use crate::labels::{container_labels, COMPOSE_NETWORK};
use crate::naming::{infra_container_name, resource_name};
use crate::plan::{HostEntry, InfraNetwork, InfraSpec, PodNetwork, PodPlan, INFRA_SERVICE};
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
            let infra = share_namespace(plan, task, cgroup_parent, allocator, notes)?;
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

/// A value that every service setting it must agree on; remembers who set it first.
struct Agreed<T> {
    key: String,
    value: Option<(String, T)>,
}

impl<T: PartialEq + std::fmt::Debug + Clone> Agreed<T> {
    fn new(key: impl Into<String>) -> Self {
        Agreed {
            key: key.into(),
            value: None,
        }
    }

    fn offer(&mut self, service: &str, value: T) -> Result<(), PodError> {
        match &self.value {
            None => {
                self.value = Some((service.to_string(), value));
                Ok(())
            }
            Some((_, same)) if *same == value => Ok(()),
            Some((other, other_value)) => Err(PodError::ConflictingNetworkSetting {
                key: self.key.clone(),
                service: service.to_string(),
                value: format!("{value:?}"),
                other: other.clone(),
                other_value: format!("{other_value:?}"),
            }),
        }
    }

    fn take(self) -> Option<T> {
        self.value.map(|(_, v)| v)
    }
}

fn share_namespace(
    plan: &mut PodPlan,
    task: &TaskContext,
    cgroup_parent: Option<&str>,
    allocator: &mut PortAllocator,
    notes: &mut Notes,
) -> Result<InfraSpec, PodError> {
    if plan.project.services.contains_key(INFRA_SERVICE) {
        return Err(PodError::InvalidService {
            service: INFRA_SERVICE.to_string(),
            key: "services".to_string(),
            message: "the name is reserved for dce's infra container; rename the service"
                .to_string(),
        });
    }
    let infra_name = infra_container_name(&plan.project_name);
    let needed = plan.project.services.values().map(|s| s.ports.len()).sum();
    let mut host_ports = host_ports(needed, allocator)?.into_iter();
    let mut published: HashMap<(u16, compose::Protocol), String> = HashMap::new();
    let mut ports = Vec::new();
    let mut expose: Vec<String> = Vec::new();
    let mut hosts: IndexMap<String, (String, String)> = IndexMap::new();
    let mut dns = Agreed::new("dns");
    let mut dns_search = Agreed::new("dns_search");
    let mut dns_opt = Agreed::new("dns_opt");
    let mut hostname = Agreed::new("hostname");
    let mut domainname = Agreed::new("domainname");
    let mut sysctls: IndexMap<String, Agreed<String>> = IndexMap::new();

    for (name, service) in plan.project.services.iter_mut() {
        if let Some(mode) = service.network_mode.take() {
            notes.service(
                name,
                "network_mode",
                format!(
                    "`{}` is replaced: every service joins the infra container's network namespace",
                    mode.to_compose_string()
                ),
            );
        }
        service.network_mode = Some(NetworkMode::Container(infra_name.clone()));
        for spec in std::mem::take(&mut service.ports) {
            let host_port = host_ports.next().flatten();
            if let Some(first) = published.insert((spec.target, spec.protocol), name.clone()) {
                if first != *name {
                    return Err(PodError::DuplicateContainerPort {
                        port: spec.target,
                        protocol: spec.protocol.as_str().to_string(),
                        first,
                        second: name.clone(),
                    });
                }
            }
            notes.service(
                name,
                "ports",
                format!("{} on the infra container", explain(&spec, host_port)),
            );
            ports.push(mapping(name, &spec, host_port));
        }
        for port in std::mem::take(&mut service.expose) {
            let text = format!("{}/{}", port.port, port.protocol.as_str());
            if !expose.contains(&text) {
                expose.push(text);
            }
        }
        if !service.extra_hosts.is_empty() {
            notes.service(
                name,
                "extra_hosts",
                "moved to the infra container, which owns the pod's /etc/hosts",
            );
        }
        for entry in std::mem::take(&mut service.extra_hosts) {
            match hosts.get(&entry.hostname) {
                Some((ip, _)) if *ip == entry.ip => {}
                Some((ip, other)) => {
                    return Err(PodError::ConflictingNetworkSetting {
                        key: format!("extra_hosts {}", entry.hostname),
                        service: name.clone(),
                        value: format!("{:?}", entry.ip),
                        other: other.clone(),
                        other_value: format!("{ip:?}"),
                    })
                }
                None => {
                    hosts.insert(entry.hostname, (entry.ip, name.clone()));
                }
            }
        }
        move_settings(
            name,
            service,
            notes,
            [&mut dns, &mut dns_search, &mut dns_opt],
        )?;
        if let Some(value) = service.hostname.take() {
            hostname.offer(name, value)?;
            notes.service(
                name,
                "hostname",
                "moved to the infra container, which owns the pod's namespaces",
            );
        }
        if let Some(value) = service.domainname.take() {
            domainname.offer(name, value)?;
            notes.service(
                name,
                "domainname",
                "moved to the infra container, which owns the pod's namespaces",
            );
        }
        let net_keys: Vec<String> = service
            .sysctls
            .keys()
            .filter(|k| k.starts_with("net."))
            .cloned()
            .collect();
        for key in net_keys {
            if let Some(value) = service.sysctls.shift_remove(&key) {
                notes.service(name, "sysctls", format!("`{key}` is moved to the infra container: it applies to the shared network namespace"));
                let slot = format!("sysctls {key}");
                sysctls
                    .entry(key)
                    .or_insert_with(|| Agreed::new(slot))
                    .offer(name, value)?;
            }
        }
        if !std::mem::take(&mut service.networks).is_empty() {
            notes.service(
                name,
                "networks",
                "removed: the service uses the infra container's network",
            );
        }
        if !std::mem::take(&mut service.links).is_empty() {
            notes.service(
                name,
                "links",
                "removed: services reach each other by name on 127.0.0.1",
            );
        }
    }
    for name in plan.project.services.keys() {
        hosts
            .entry(name.clone())
            .or_insert_with(|| ("127.0.0.1".to_string(), String::new()));
    }
    notes.add(
        "pod",
        "extra_hosts",
        "every service name resolves to 127.0.0.1 inside the pod (on the infra container)",
    );
    for key in std::mem::take(&mut plan.project.networks).keys() {
        notes.add(
            format!("network {key}"),
            "networks",
            "not created: the pod has one network namespace, owned by the infra container",
        );
    }
    plan.ports = ports.clone();
    Ok(InfraSpec {
        container_name: infra_name,
        image: task.config.infra_image.clone(),
        ports,
        expose,
        extra_hosts: hosts
            .into_iter()
            .map(|(hostname, (ip, _))| HostEntry { hostname, ip })
            .collect(),
        dns: dns.take().unwrap_or_default(),
        dns_search: dns_search.take().unwrap_or_default(),
        dns_opt: dns_opt.take().unwrap_or_default(),
        hostname: hostname.take(),
        domainname: domainname.take(),
        sysctls: sysctls
            .into_iter()
            .filter_map(|(k, v)| v.take().map(|v| (k, v)))
            .collect(),
        network: infra_network(plan, task),
        labels: container_labels(&plan.labels, INFRA_SERVICE),
        cgroup_parent: cgroup_parent.map(str::to_string),
    })
}

fn move_settings(
    service_name: &str,
    service: &mut Service,
    notes: &mut Notes,
    [dns, dns_search, dns_opt]: [&mut Agreed<Vec<String>>; 3],
) -> Result<(), PodError> {
    for (slot, list) in [
        (dns, &mut service.dns),
        (dns_search, &mut service.dns_search),
        (dns_opt, &mut service.dns_opt),
    ] {
        if !list.is_empty() {
            notes.service(
                service_name,
                &slot.key.clone(),
                "moved to the infra container, which owns the pod's resolv.conf",
            );
            slot.offer(service_name, std::mem::take(list))?;
        }
    }
    Ok(())
}

fn infra_network(plan: &PodPlan, task: &TaskContext) -> InfraNetwork {
    let config = &task.config.infra_network;
    match (&config.name, config.pre_existing) {
        (Some(name), true) => InfraNetwork {
            name: name.clone(),
            pre_existing: true,
            driver: config.driver.clone(),
            labels: IndexMap::new(),
        },
        _ => {
            let mut labels = plan.labels.clone();
            labels.insert(COMPOSE_NETWORK.to_string(), DEFAULT_NETWORK.to_string());
            InfraNetwork {
                name: resource_name(&plan.project_name, DEFAULT_NETWORK),
                pre_existing: false,
                driver: config.driver.clone(),
                labels,
            }
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
