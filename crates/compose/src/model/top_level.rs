use indexmap::IndexMap;
use serde::Serialize;

use super::Service;

/// A whole compose project after loading: every file merged, `extends` resolved, variables
/// interpolated, `env_file`s read, relative paths made absolute.
///
/// Services keep the order of their first appearance across the files, which is what makes
/// port allocation and start order deterministic.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Project {
    /// Top-level `name:` (compose v2). dce names the pod itself; kept for reporting.
    pub name: Option<String>,
    /// Services by name, in order of first appearance.
    pub services: IndexMap<String, Service>,
    /// Top-level `networks:`. The implicit `default` network is not added here.
    pub networks: IndexMap<String, Network>,
    /// Top-level `volumes:` (named volumes a service may mount by name).
    pub volumes: IndexMap<String, Volume>,
    /// Top-level `x-*` keys, raw (e.g. `x-dce`, interpreted by the pod crate).
    pub extensions: IndexMap<String, yaml_serde::Value>,
}

/// A top-level network definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    /// Engine-side name when it differs from the key (`name:`, or `external.name`).
    pub name: Option<String>,
    /// Network driver (`bridge` when unset).
    pub driver: Option<String>,
    /// Driver-specific options.
    pub driver_opts: IndexMap<String, String>,
    /// The network already exists and is not created or removed by dce.
    pub external: bool,
    /// No external connectivity.
    pub internal: Option<bool>,
    /// Standalone containers may attach (overlay networks).
    pub attachable: Option<bool>,
    /// IPv6 enabled.
    pub enable_ipv6: Option<bool>,
    /// Custom IP address management.
    pub ipam: Option<Ipam>,
    /// Labels set on the network.
    pub labels: IndexMap<String, String>,
}

/// IP address management of a network (`ipam:`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ipam {
    /// IPAM driver (`default` when unset).
    pub driver: Option<String>,
    /// Address pools.
    pub config: Vec<IpamPool>,
    /// Driver-specific options.
    pub options: IndexMap<String, String>,
}

/// One address pool of an [`Ipam`] configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IpamPool {
    /// Subnet in CIDR form.
    pub subnet: Option<String>,
    /// Range to allocate container IPs from.
    pub ip_range: Option<String>,
    /// Gateway address.
    pub gateway: Option<String>,
    /// Auxiliary addresses by host name.
    pub aux_addresses: IndexMap<String, String>,
}

/// A top-level named volume definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Volume {
    /// Engine-side name when it differs from the key (`name:`, or `external.name`).
    pub name: Option<String>,
    /// Volume driver (`local` when unset).
    pub driver: Option<String>,
    /// Driver-specific options.
    pub driver_opts: IndexMap<String, String>,
    /// The volume already exists and is not created or removed by dce.
    pub external: bool,
    /// Labels set on the volume.
    pub labels: IndexMap<String, String>,
}
