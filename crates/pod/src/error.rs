//! The one error type of the crate and how the executor classifies it for Mesos.

use std::path::PathBuf;

use crate::policy::PolicyViolation;

/// Why a task cannot become a pod, so that the executor can pick the Mesos reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReason {
    /// The spec, the config or the task's resources are wrong: `REASON_TASK_INVALID`.
    TaskInvalid,
    /// The admission policy denied the pod: `REASON_TASK_UNAUTHORIZED`.
    TaskUnauthorized,
}

/// Everything that can go wrong between a loaded compose project and a `PodPlan`.
///
/// Every message names what is wrong (key, service, value) so that the text can go into a
/// TASK_FAILED message unchanged.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    /// The config file cannot be read or is not YAML.
    #[error("config file {path}: {message}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A config key is unknown or its value is invalid.
    #[error("config {origin}: key `{key}`: {message}")]
    ConfigKey {
        /// Where the value came from (file or task label).
        origin: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A `--ports` text or a Mesos range is not a valid inclusive port range list.
    #[error("invalid port ranges `{text}`: {message}")]
    PortRanges {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        message: String,
    },
    /// The task offers fewer host ports than the pod publishes.
    #[error("the pod publishes {needed} port(s) but the task offers only {offered} port(s) in its `ports` resource")]
    NotEnoughPorts {
        /// Published ports in the pod.
        needed: usize,
        /// Distinct ports offered.
        offered: usize,
    },
    /// Two services publish the same container port in one shared network namespace.
    #[error("container port {port}/{protocol} is published by both service `{first}` and service `{second}`; services share one network namespace, so a container port can be published once")]
    DuplicateContainerPort {
        /// Container port.
        port: u16,
        /// Its protocol.
        protocol: String,
        /// The service that published it first.
        first: String,
        /// The service that published it again.
        second: String,
    },
    /// Some services use `network_mode: host`/`none` and others the shared pod network.
    #[error("mixed network modes are not supported: {detail}; a pod is either all `network_mode: host`, all `network_mode: none`, or shares one network namespace (no network_mode)")]
    MixedNetworkModes {
        /// Which services use which mode.
        detail: String,
    },
    /// A service setting that is moved to the infra container disagrees with another service's.
    #[error("service `{service}` sets `{key}` to {value}, but service `{other}` sets it to {other_value}; services share one network namespace, so the values must agree")]
    ConflictingNetworkSetting {
        /// The key.
        key: String,
        /// The service.
        service: String,
        /// Its value.
        value: String,
        /// The service that set it first.
        other: String,
        /// That service's value.
        other_value: String,
    },
    /// A service key or value that the rewrite cannot honour.
    #[error("service `{service}`: `{key}`: {message}")]
    InvalidService {
        /// The service.
        service: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A top-level section (`x-dce`, `networks`, `volumes`) that the rewrite cannot honour.
    #[error("`{key}`: {message}")]
    InvalidProject {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The admission policy denied one or more settings; all of them are listed.
    #[error("denied by the admission policy `{policy}`: {}", PolicyViolation::join(.violations))]
    Denied {
        /// The policy applied.
        policy: String,
        /// Every violation found.
        violations: Vec<PolicyViolation>,
    },
    /// `plugins.pluginorder` names a plugin that does not exist.
    #[error("unknown plugin `{name}` in plugins.pluginorder (known: {known})")]
    UnknownPlugin {
        /// The name listed.
        name: String,
        /// The plugins that exist, comma-separated.
        known: String,
    },
    /// A plugin hook failed.
    #[error("plugin `{plugin}` hook {hook}: {message}")]
    Plugin {
        /// The plugin.
        plugin: String,
        /// The hook point.
        hook: String,
        /// What is wrong.
        message: String,
    },
    /// The cgroup parent is required by the config but cannot be used.
    #[error("cgroup.parent is `required` but the executor's cgroup cannot be used: {reason}")]
    CgroupParentUnavailable {
        /// Why it cannot be used.
        reason: String,
    },
    /// `/proc/<pid>/stat` could not be read or parsed.
    #[error("cannot read the start time of process {pid}: {message}")]
    ProcessStartTime {
        /// The process.
        pid: u32,
        /// What went wrong.
        message: String,
    },
}

impl PodError {
    /// The Mesos reason class of this error.
    pub fn reason(&self) -> ErrorReason {
        match self {
            PodError::Denied { .. } => ErrorReason::TaskUnauthorized,
            _ => ErrorReason::TaskInvalid,
        }
    }
}
