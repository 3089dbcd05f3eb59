//! Shared network mode (SPEC §3.4, dce-go parity): every service joins the namespace of one
//! infra container, which therefore takes over everything the engine ties to the namespace —
//! published and exposed ports, `/etc/hosts`, resolv.conf, host and domain name, `net.*`
//! sysctls. Values set by several services must agree.

use std::collections::HashMap;

use compose::{NetworkMode, Service};
use indexmap::IndexMap;

use super::network::DEFAULT_NETWORK;
use super::ports::{explain, host_ports, mapping};
use super::Notes;
use crate::context::TaskContext;
use crate::error::PodError;
use crate::labels::{container_labels, COMPOSE_NETWORK};
use crate::naming::{infra_container_name, resource_name};
use crate::plan::{HostEntry, InfraNetwork, InfraSpec, PodPlan, PortMapping, INFRA_SERVICE};
use crate::ports::PortAllocator;

/// Rewrites every service to join the infra container and returns the infra container.
pub fn share_namespace(
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
    let mut namespace = Namespace::default();
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
        let ports: Vec<_> = std::mem::take(&mut service.ports)
            .into_iter()
            .map(|spec| {
                let host_port = host_ports.next().flatten();
                notes.service(
                    name,
                    "ports",
                    format!("{} on the infra container", explain(&spec, host_port)),
                );
                mapping(name, &spec, host_port)
            })
            .collect();
        namespace.take_ports(name, ports)?;
        namespace.take_expose(service);
        namespace.take_hosts(name, service, notes)?;
        namespace.take_resolver(name, service, notes)?;
        namespace.take_identity(name, service, notes)?;
        namespace.take_sysctls(name, service, notes)?;
        drop_network_attachments(name, service, notes);
    }
    for name in plan.project.services.keys() {
        namespace
            .hosts
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
    plan.ports = namespace.ports.clone();
    let network = infra_network(plan, task);
    Ok(namespace.into_infra(InfraSpec {
        container_name: infra_name,
        image: task.config.infra_image.clone(),
        ports: Vec::new(),
        expose: Vec::new(),
        extra_hosts: Vec::new(),
        dns: Vec::new(),
        dns_search: Vec::new(),
        dns_opt: Vec::new(),
        hostname: None,
        domainname: None,
        sysctls: IndexMap::new(),
        network,
        labels: container_labels(&plan.labels, INFRA_SERVICE),
        cgroup_parent: cgroup_parent.map(str::to_string),
    }))
}

/// A value that every service setting it must agree on; remembers who set it first.
struct Agreed<T> {
    key: String,
    value: Option<(String, T)>,
}

impl<T: PartialEq + std::fmt::Debug> Agreed<T> {
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

/// What the services hand over to the infra container.
struct Namespace {
    ports: Vec<PortMapping>,
    published: HashMap<(u16, compose::Protocol), String>,
    expose: Vec<String>,
    /// hostname → (ip, service that set it; empty for the service-name entries).
    hosts: IndexMap<String, (String, String)>,
    dns: Agreed<Vec<String>>,
    dns_search: Agreed<Vec<String>>,
    dns_opt: Agreed<Vec<String>>,
    hostname: Agreed<String>,
    domainname: Agreed<String>,
    sysctls: IndexMap<String, Agreed<String>>,
}

impl Default for Namespace {
    fn default() -> Self {
        Namespace {
            ports: Vec::new(),
            published: HashMap::new(),
            expose: Vec::new(),
            hosts: IndexMap::new(),
            dns: Agreed::new("dns"),
            dns_search: Agreed::new("dns_search"),
            dns_opt: Agreed::new("dns_opt"),
            hostname: Agreed::new("hostname"),
            domainname: Agreed::new("domainname"),
            sysctls: IndexMap::new(),
        }
    }
}

impl Namespace {
    /// A container port can be published by one service only (one service may publish it on
    /// several host ports).
    fn take_ports(&mut self, service: &str, ports: Vec<PortMapping>) -> Result<(), PodError> {
        for port in ports {
            let key = (port.container_port, port.protocol);
            match self.published.get(&key) {
                Some(first) if first != service => {
                    return Err(PodError::DuplicateContainerPort {
                        port: port.container_port,
                        protocol: port.protocol.as_str().to_string(),
                        first: first.clone(),
                        second: service.to_string(),
                    })
                }
                _ => {
                    self.published.insert(key, service.to_string());
                }
            }
            self.ports.push(port);
        }
        Ok(())
    }

    fn take_expose(&mut self, service: &mut Service) {
        for port in std::mem::take(&mut service.expose) {
            let text = format!("{}/{}", port.port, port.protocol.as_str());
            if !self.expose.contains(&text) {
                self.expose.push(text);
            }
        }
    }

    fn take_hosts(
        &mut self,
        name: &str,
        service: &mut Service,
        notes: &mut Notes,
    ) -> Result<(), PodError> {
        if !service.extra_hosts.is_empty() {
            notes.service(
                name,
                "extra_hosts",
                "moved to the infra container, which owns the pod's /etc/hosts",
            );
        }
        for entry in std::mem::take(&mut service.extra_hosts) {
            match self.hosts.get(&entry.hostname) {
                Some((ip, _)) if *ip == entry.ip => {}
                Some((ip, other)) => {
                    return Err(PodError::ConflictingNetworkSetting {
                        key: format!("extra_hosts {}", entry.hostname),
                        service: name.to_string(),
                        value: format!("{:?}", entry.ip),
                        other: other.clone(),
                        other_value: format!("{ip:?}"),
                    })
                }
                None => {
                    self.hosts
                        .insert(entry.hostname, (entry.ip, name.to_string()));
                }
            }
        }
        Ok(())
    }

    fn take_resolver(
        &mut self,
        name: &str,
        service: &mut Service,
        notes: &mut Notes,
    ) -> Result<(), PodError> {
        for (slot, list) in [
            (&mut self.dns, &mut service.dns),
            (&mut self.dns_search, &mut service.dns_search),
            (&mut self.dns_opt, &mut service.dns_opt),
        ] {
            if !list.is_empty() {
                notes.service(
                    name,
                    &slot.key,
                    "moved to the infra container, which owns the pod's resolv.conf",
                );
                slot.offer(name, std::mem::take(list))?;
            }
        }
        Ok(())
    }

    fn take_identity(
        &mut self,
        name: &str,
        service: &mut Service,
        notes: &mut Notes,
    ) -> Result<(), PodError> {
        for (slot, value) in [
            (&mut self.hostname, service.hostname.take()),
            (&mut self.domainname, service.domainname.take()),
        ] {
            if let Some(value) = value {
                notes.service(
                    name,
                    &slot.key,
                    "moved to the infra container, which owns the pod's namespaces",
                );
                slot.offer(name, value)?;
            }
        }
        Ok(())
    }

    fn take_sysctls(
        &mut self,
        name: &str,
        service: &mut Service,
        notes: &mut Notes,
    ) -> Result<(), PodError> {
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
                self.sysctls
                    .entry(key)
                    .or_insert_with(|| Agreed::new(slot))
                    .offer(name, value)?;
            }
        }
        Ok(())
    }

    /// `infra` with the namespace settings the services handed over.
    fn into_infra(self, infra: InfraSpec) -> InfraSpec {
        InfraSpec {
            ports: self.ports,
            expose: self.expose,
            extra_hosts: self
                .hosts
                .into_iter()
                .map(|(hostname, (ip, _))| HostEntry { hostname, ip })
                .collect(),
            dns: self.dns.take().unwrap_or_default(),
            dns_search: self.dns_search.take().unwrap_or_default(),
            dns_opt: self.dns_opt.take().unwrap_or_default(),
            hostname: self.hostname.take(),
            domainname: self.domainname.take(),
            sysctls: self
                .sysctls
                .into_iter()
                .filter_map(|(k, v)| v.take().map(|v| (k, v)))
                .collect(),
            ..infra
        }
    }
}

fn drop_network_attachments(name: &str, service: &mut Service, notes: &mut Notes) {
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
