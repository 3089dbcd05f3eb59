use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

/// `network_mode:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum NetworkMode {
    /// `bridge`: Docker's default bridge.
    Bridge,
    /// `host`: the host's network namespace.
    Host,
    /// `none`: loopback only.
    None,
    /// `service:<name>`: share another service's namespace.
    Service(String),
    /// `container:<name or id>`: share a container's namespace.
    Container(String),
}

impl NetworkMode {
    /// The compose spelling (`service:db`, `host`, …).
    pub fn to_compose_string(&self) -> String {
        match self {
            NetworkMode::Bridge => "bridge".to_string(),
            NetworkMode::Host => "host".to_string(),
            NetworkMode::None => "none".to_string(),
            NetworkMode::Service(s) => format!("service:{s}"),
            NetworkMode::Container(c) => format!("container:{c}"),
        }
    }
}

/// A service's attachment to one network (`networks:` list or map form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceNetwork {
    /// Extra DNS names of the service on that network.
    pub aliases: Vec<String>,
    /// Static IPv4 address.
    pub ipv4_address: Option<Ipv4Addr>,
    /// Static IPv6 address.
    pub ipv6_address: Option<Ipv6Addr>,
    /// Connection order preference (higher first).
    pub priority: Option<i64>,
}

/// One `extra_hosts:` entry: an `/etc/hosts` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtraHost {
    /// Host name.
    pub hostname: String,
    /// Address (an IP, or Docker's special `host-gateway`).
    pub ip: String,
}
