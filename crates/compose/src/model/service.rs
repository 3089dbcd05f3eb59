use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;

use super::{
    Command, DependsOn, Deploy, DeviceMapping, ExposedPort, ExtraHost, Healthcheck, Logging,
    NetworkMode, PortSpec, PullPolicy, RestartPolicy, ServiceNetwork, TmpfsMount, Ulimit,
    VolumeMount, VolumesFrom,
};

/// One service, normalized. `Option` fields are `None` when the files did not set them (the
/// engine's or image's default applies); lists and maps are empty when not set.
///
/// Every compose key dce accepts has a field here; keys dce does not implement are load
/// errors, so nothing a user wrote is silently dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    /// Image reference; always non-empty after loading (dce does not build images).
    pub image: String,
    /// `build:` as written; accepted only alongside `image` and never used by dce.
    pub build: Option<yaml_serde::Value>,
    /// Overrides the image's CMD.
    pub command: Option<Command>,
    /// Overrides the image's ENTRYPOINT (`Exec(vec![])` clears it).
    pub entrypoint: Option<Command>,
    /// Environment, with `env_file`s already read and merged in (explicit `environment`
    /// wins). `None` value: the variable was named without a value and is not set in the
    /// interpolation environment, so the container does not get it.
    pub environment: IndexMap<String, Option<String>>,
    /// Published ports (ranges expanded).
    pub ports: Vec<PortSpec>,
    /// Exposed, unpublished ports (ranges expanded).
    pub expose: Vec<ExposedPort>,
    /// Mounts, unique by target.
    pub volumes: Vec<VolumeMount>,
    /// Mount every volume of another service or container.
    pub volumes_from: Vec<VolumesFrom>,
    /// Container labels.
    pub labels: IndexMap<String, String>,
    /// Health probe settings.
    pub healthcheck: Option<Healthcheck>,
    /// Start-order dependencies by service name; every name is a service of the project.
    pub depends_on: IndexMap<String, DependsOn>,
    /// Legacy `links:` (`service` or `service:alias`), kept for dce-go compatibility; in a pod
    /// every service already reaches the others by name.
    pub links: Vec<String>,
    /// Restart policy, applied by dce (never by Docker).
    pub restart: Option<RestartPolicy>,
    /// `user[:group]` to run as.
    pub user: Option<String>,
    /// Working directory inside the container.
    pub working_dir: Option<String>,
    /// Container host name.
    pub hostname: Option<String>,
    /// Container NIS domain name.
    pub domainname: Option<String>,
    /// Extra `/etc/hosts` entries, in order.
    pub extra_hosts: Vec<ExtraHost>,
    /// DNS servers.
    pub dns: Vec<String>,
    /// DNS search domains.
    pub dns_search: Vec<String>,
    /// resolv.conf options.
    pub dns_opt: Vec<String>,
    /// Capabilities to add.
    pub cap_add: Vec<String>,
    /// Capabilities to drop.
    pub cap_drop: Vec<String>,
    /// Privileged mode.
    pub privileged: Option<bool>,
    /// Security options (`seccomp:…`, `apparmor:…`, `no-new-privileges:true`, `label:…`).
    pub security_opt: Vec<String>,
    /// Resource limits by name (`nofile`, `nproc`, …).
    pub ulimits: IndexMap<String, Ulimit>,
    /// Kernel parameters.
    pub sysctls: IndexMap<String, String>,
    /// Host devices, unique by target.
    pub devices: Vec<DeviceMapping>,
    /// tmpfs mounts.
    pub tmpfs: Vec<TmpfsMount>,
    /// Size of /dev/shm in bytes.
    pub shm_size: Option<u64>,
    /// Read-only root filesystem.
    pub read_only: Option<bool>,
    /// Run an init process as PID 1.
    pub init: Option<bool>,
    /// Signal sent to stop the container (`SIGTERM` when unset).
    pub stop_signal: Option<String>,
    /// Time between the stop signal and SIGKILL.
    pub stop_grace_period: Option<Duration>,
    /// Memory limit in bytes.
    pub mem_limit: Option<u64>,
    /// Memory + swap limit in bytes; `-1` is unlimited swap.
    pub memswap_limit: Option<i64>,
    /// Memory soft limit in bytes.
    pub mem_reservation: Option<u64>,
    /// CPU count (fractional).
    pub cpus: Option<f64>,
    /// Relative CPU weight.
    pub cpu_shares: Option<u64>,
    /// Process count limit; `-1` is unlimited.
    pub pids_limit: Option<i64>,
    /// `deploy.resources` (other deploy keys are rejected).
    pub deploy: Deploy,
    /// Log driver and options.
    pub logging: Option<Logging>,
    /// Network namespace mode.
    pub network_mode: Option<NetworkMode>,
    /// Network attachments by network name (`default` allowed without declaration).
    pub networks: IndexMap<String, ServiceNetwork>,
    /// PID namespace (`host`, `service:x`, `container:x`).
    pub pid: Option<String>,
    /// IPC namespace (`host`, `private`, `shareable`, `service:x`, `container:x`).
    pub ipc: Option<String>,
    /// Allocate a TTY.
    pub tty: Option<bool>,
    /// Keep stdin open.
    pub stdin_open: Option<bool>,
    /// When to pull the image.
    pub pull_policy: Option<PullPolicy>,
    /// User-chosen container name (dce prefixes it with the project name).
    pub container_name: Option<String>,
    /// User-chosen cgroup parent; accepted, but dce overrides it (SPEC §3.6).
    pub cgroup_parent: Option<String>,
    /// Target platform (`linux/amd64`), used when pulling.
    pub platform: Option<String>,
    /// Profiles the service belongs to; only services whose profile is active are loaded.
    pub profiles: Vec<String>,
    /// Service-level `x-*` keys, raw (`x-dce` is interpreted by the pod crate).
    pub extensions: IndexMap<String, yaml_serde::Value>,
}

impl Service {
    /// Every service this one needs started first: `depends_on` keys, then the implicit
    /// dependencies compose also honours (`links`, `volumes_from` services, and
    /// `network_mode`/`pid`/`ipc` of the form `service:<name>`), without duplicates.
    pub fn dependency_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.depends_on.keys().map(String::as_str).collect();
        let implicit = self
            .links
            .iter()
            .map(|l| l.split(':').next().unwrap_or_default())
            .chain(self.volumes_from.iter().filter_map(|v| match &v.source {
                super::VolumesFromSource::Service(s) => Some(s.as_str()),
                super::VolumesFromSource::Container(_) => None,
            }))
            .chain(match &self.network_mode {
                Some(NetworkMode::Service(s)) => Some(s.as_str()),
                _ => None,
            })
            .chain(
                [&self.pid, &self.ipc]
                    .into_iter()
                    .filter_map(|v| v.as_deref()?.strip_prefix("service:")),
            );
        for name in implicit {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}
