//! Host ports for the published ports of the pod (SPEC §3.5).

use compose::{PortRange, PortSpec};

use crate::error::PodError;
use crate::plan::PortMapping;
use crate::ports::PortAllocator;

/// One host port per entry of `ports` (in order): from the offered ports, or all `None`
/// (Docker-ephemeral) when the task offers none. Too few offered ports is an error.
pub fn host_ports(
    needed: usize,
    allocator: &mut PortAllocator,
) -> Result<Vec<Option<u16>>, PodError> {
    if allocator.offered() == 0 {
        return Ok(vec![None; needed]);
    }
    Ok(allocator.take(needed)?.into_iter().map(Some).collect())
}

/// The mapping of one published port.
pub fn mapping(service: &str, spec: &PortSpec, host_port: Option<u16>) -> PortMapping {
    PortMapping {
        service: service.to_string(),
        container_port: spec.target,
        protocol: spec.protocol,
        host_port,
        host_ip: spec.host_ip.map(|ip| ip.to_string()),
    }
}

/// `spec` with its host port replaced.
pub fn republished(spec: &PortSpec, host_port: Option<u16>) -> PortSpec {
    PortSpec {
        published: host_port.map(PortRange::single),
        ..spec.clone()
    }
}

/// Compose short syntax of a port, for explanations (`127.0.0.1:80:8080/udp`).
pub fn short_form(spec: &PortSpec) -> String {
    let mut text = String::new();
    match (spec.host_ip, spec.published) {
        (Some(ip), Some(published)) => text.push_str(&format!("{ip}:{published}:")),
        (Some(ip), None) => text.push_str(&format!("{ip}::")),
        (None, Some(published)) => text.push_str(&format!("{published}:")),
        (None, None) => {}
    }
    text.push_str(&spec.target.to_string());
    if spec.protocol != compose::Protocol::Tcp {
        text.push_str(&format!("/{}", spec.protocol.as_str()));
    }
    text
}

/// Why a host port was chosen, for explanations.
pub fn explain(spec: &PortSpec, host_port: Option<u16>) -> String {
    let chosen = republished(spec, host_port);
    match host_port {
        Some(_) => format!(
            "`{}` is published as `{}` (host port from the task's `ports` resource)",
            short_form(spec),
            short_form(&chosen)
        ),
        None => format!(
            "`{}` is published as `{}`: the task offers no ports, so Docker picks the host port",
            short_form(spec),
            short_form(&chosen)
        ),
    }
}
