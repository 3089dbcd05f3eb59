//! Service → Engine API container configuration. Pure, so every compose key's mapping is unit
//! tested without Docker; the engine-level tests then check what the engine made of it.
//!
//! Deliberately absent: a restart policy (dce applies `restart:` itself, SPEC §3.7), and
//! anything that only matters to pulling (`platform` is passed to create as well) or to dce
//! (`x-*`, `pull_policy`, `profiles`, `build`).

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, HostConfigLogConfig, NetworkingConfig, PortBinding, PortMap, ResourcesUlimits,
};
use compose::{Command, Healthcheck, NetworkMode, Service};

use super::mounts::service_mounts;
use super::names::PodNames;
use crate::client::DockerError;

/// Everything needed to create (and, for extra networks, connect) one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// Container name.
    pub name: String,
    /// `platform` query parameter of the create call (empty: the engine's).
    pub platform: String,
    /// The create body.
    pub body: ContainerCreateBody,
    /// Networks joined after create and before start (API 1.41 accepts one at create), as
    /// (network name or id, endpoint settings).
    pub extra_networks: Vec<(String, EndpointSettings)>,
}

/// The container configuration of service `name`.
pub fn service_container(
    name: &str,
    service: &Service,
    names: &PodNames,
) -> Result<ContainerSpec, DockerError> {
    let invalid = |message: String| DockerError::InvalidPlan {
        service: name.to_string(),
        message,
    };
    let mounts = service_mounts(name, service, names)?;
    let (network_mode, networking_config, extra_networks) = networking(name, service, names)?;
    let shares_netns = matches!(
        service.network_mode,
        Some(NetworkMode::Container(_) | NetworkMode::Service(_))
    );
    let (exposed_ports, port_bindings) = ports(service);

    let mut host = HostConfig {
        binds: non_empty(mounts.binds),
        mounts: non_empty(mounts.mounts),
        tmpfs: (!mounts.tmpfs.is_empty()).then_some(mounts.tmpfs),
        volumes_from: non_empty(mounts.volumes_from),
        network_mode,
        port_bindings,
        extra_hosts: non_empty(
            service
                .extra_hosts
                .iter()
                .map(|h| format!("{}:{}", h.hostname, h.ip))
                .collect(),
        ),
        dns: non_empty(service.dns.clone()),
        dns_search: non_empty(service.dns_search.clone()),
        dns_options: non_empty(service.dns_opt.clone()),
        cap_add: non_empty(service.cap_add.clone()),
        cap_drop: non_empty(service.cap_drop.clone()),
        privileged: service.privileged,
        security_opt: non_empty(service.security_opt.clone()),
        ulimits: non_empty(
            service
                .ulimits
                .iter()
                .map(|(name, limit)| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(limit.soft),
                    hard: Some(limit.hard),
                })
                .collect(),
        ),
        sysctls: (!service.sysctls.is_empty()).then(|| {
            service
                .sysctls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        devices: non_empty(
            service
                .devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.source.clone()),
                    path_in_container: Some(d.target.clone()),
                    cgroup_permissions: Some(
                        d.permissions.clone().unwrap_or_else(|| "rwm".to_string()),
                    ),
                })
                .collect(),
        ),
        shm_size: service
            .shm_size
            .map(|s| to_i64(s, "shm_size"))
            .transpose()
            .map_err(&invalid)?,
        readonly_rootfs: service.read_only,
        init: service.init,
        pid_mode: service
            .pid
            .as_deref()
            .map(|m| names.namespace_mode(name, m))
            .transpose()?,
        ipc_mode: service
            .ipc
            .as_deref()
            .map(|m| names.namespace_mode(name, m))
            .transpose()?,
        log_config: service.logging.as_ref().map(|l| HostConfigLogConfig {
            typ: l.driver.clone(),
            config: (!l.options.is_empty()).then(|| {
                l.options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }),
        }),
        cgroup_parent: service.cgroup_parent.clone(),
        ..Default::default()
    };
    resources(service, &mut host).map_err(&invalid)?;

    let body = ContainerCreateBody {
        image: Some(service.image.clone()),
        cmd: service.command.as_ref().map(Command::argv),
        entrypoint: service.entrypoint.as_ref().map(Command::argv),
        env: non_empty(
            service
                .environment
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    // A bare name unsets the variable (also one the image sets), as compose does.
                    None => k.clone(),
                })
                .collect(),
        ),
        exposed_ports,
        labels: Some(
            service
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        healthcheck: service
            .healthcheck
            .as_ref()
            .map(health_config)
            .transpose()
            .map_err(&invalid)?,
        user: service.user.clone(),
        working_dir: service.working_dir.clone(),
        // A container sharing another's network namespace may not set these (engine conflict).
        hostname: service.hostname.clone().filter(|_| !shares_netns),
        domainname: service.domainname.clone().filter(|_| !shares_netns),
        tty: service.tty,
        open_stdin: service.stdin_open,
        stop_signal: service.stop_signal.clone(),
        stop_timeout: service.stop_grace_period.map(whole_seconds),
        host_config: Some(host),
        networking_config,
        ..Default::default()
    };
    Ok(ContainerSpec {
        name: names.own_container(name)?,
        platform: service.platform.clone().unwrap_or_default(),
        body,
        extra_networks,
    })
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn to_i64(value: u64, key: &str) -> Result<i64, String> {
    i64::try_from(value).map_err(|_| format!("{key} {value} is too large"))
}

/// Seconds, rounded up so a grace period is never shortened.
fn whole_seconds(duration: Duration) -> i64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// `healthcheck:` → `Healthcheck`; `disable`/`NONE` becomes `["NONE"]`.
fn health_config(health: &Healthcheck) -> Result<HealthConfig, String> {
    Ok(HealthConfig {
        test: health.test.as_ref().map(|t| t.to_engine_test()),
        interval: health.interval.map(nanos),
        timeout: health.timeout.map(nanos),
        start_period: health.start_period.map(nanos),
        retries: health
            .retries
            .map(|r| to_i64(r, "healthcheck.retries"))
            .transpose()?,
        ..Default::default()
    })
}

/// `ExposedPorts` (published and `expose:`d container ports) and `PortBindings`.
fn ports(service: &Service) -> (Option<Vec<String>>, Option<PortMap>) {
    let published = service.ports.iter().map(|spec| {
        let binding = PortBinding {
            host_ip: spec.host_ip.map(|ip| ip.to_string()),
            host_port: Some(spec.published.map(|p| p.to_string()).unwrap_or_default()),
        };
        (
            format!("{}/{}", spec.target, spec.protocol.as_str()),
            binding,
        )
    });
    let expose = service
        .expose
        .iter()
        .map(|port| format!("{}/{}", port.port, port.protocol.as_str()));
    port_map(published, expose)
}

/// `ExposedPorts` and `PortBindings` of a container (the service's own, or the infra one that
/// publishes the pod's ports): each `<port>/<protocol>` key exposed once, in first-seen order,
/// published ones with all their host bindings; `None` for what is empty.
pub(crate) fn port_map(
    published: impl IntoIterator<Item = (String, PortBinding)>,
    expose: impl IntoIterator<Item = String>,
) -> (Option<Vec<String>>, Option<PortMap>) {
    let mut exposed: Vec<String> = Vec::new();
    let mut bindings: PortMap = HashMap::new();
    for (key, binding) in published {
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    for key in expose {
        if !exposed.contains(&key) {
            exposed.push(key);
        }
    }
    (
        non_empty(exposed),
        (!bindings.is_empty()).then_some(bindings),
    )
}

/// Memory, CPU and pids limits; `deploy.resources.limits` wins over the service-level keys.
fn resources(service: &Service, host: &mut HostConfig) -> Result<(), String> {
    let limits = &service.deploy.resources.limits;
    let memory = limits.memory.or(service.mem_limit);
    host.memory = memory.map(|m| to_i64(m, "mem_limit")).transpose()?;
    host.memory_swap = service.memswap_limit;
    let reservation = service
        .mem_reservation
        .or(service.deploy.resources.reservations.memory);
    host.memory_reservation = reservation
        .map(|m| to_i64(m, "mem_reservation"))
        .transpose()?;
    if let Some(cpus) = limits.cpus.or(service.cpus) {
        if !cpus.is_finite() || cpus < 0.0 {
            return Err(format!("cpus {cpus} is not a non-negative number"));
        }
        host.nano_cpus = Some((cpus * 1e9).round() as i64);
    }
    host.cpu_shares = service
        .cpu_shares
        .map(|s| to_i64(s, "cpu_shares"))
        .transpose()?;
    // `deploy.resources.limits.pids` is loaded into `pids_limit` by compose.
    host.pids_limit = service.pids_limit;
    Ok(())
}

type Networking = (
    Option<String>,
    Option<NetworkingConfig>,
    Vec<(String, EndpointSettings)>,
);

/// `network_mode` / `networks` → `NetworkMode`, the create-time endpoint and the networks to
/// connect afterwards. Every network alias list includes the service name, as compose does.
fn networking(name: &str, service: &Service, names: &PodNames) -> Result<Networking, DockerError> {
    if let Some(mode) = &service.network_mode {
        let mode = match mode {
            NetworkMode::Bridge => "bridge".to_string(),
            NetworkMode::Host => "host".to_string(),
            NetworkMode::None => "none".to_string(),
            NetworkMode::Service(other) => format!("container:{}", names.container(name, other)?),
            NetworkMode::Container(container) => format!("container:{container}"),
        };
        return Ok((Some(mode), None, Vec::new()));
    }
    let mut ordered: Vec<_> = service.networks.iter().collect();
    // Highest priority first; the sort is stable, so equal priorities keep file order.
    ordered.sort_by_key(|(_, n)| std::cmp::Reverse(n.priority.unwrap_or(0)));
    let mut endpoints = Vec::with_capacity(ordered.len());
    for (key, network) in ordered {
        let mut aliases = vec![name.to_string()];
        aliases.extend(network.aliases.iter().cloned());
        let ipam = (network.ipv4_address.is_some() || network.ipv6_address.is_some()).then(|| {
            EndpointIpamConfig {
                ipv4_address: network.ipv4_address.map(|a| a.to_string()),
                ipv6_address: network.ipv6_address.map(|a| a.to_string()),
                ..Default::default()
            }
        });
        let links = non_empty(
            service
                .links
                .iter()
                .map(|link| {
                    let (other, alias) = link.split_once(':').unwrap_or((link, link));
                    Ok(format!("{}:{alias}", names.container(name, other)?))
                })
                .collect::<Result<Vec<_>, DockerError>>()?,
        );
        let settings = EndpointSettings {
            aliases: Some(aliases),
            ipam_config: ipam,
            links,
            ..Default::default()
        };
        endpoints.push((names.network(name, key)?, settings));
    }
    let mut endpoints = endpoints.into_iter();
    let Some((first, settings)) = endpoints.next() else {
        return Ok((None, None, Vec::new()));
    };
    let config = NetworkingConfig {
        endpoints_config: Some(HashMap::from([(first.clone(), settings)])),
    };
    Ok((Some(first), Some(config), endpoints.collect()))
}
