//! The handle of a launched pod: what exists on the engine and how to stop it.
//!
//! `create` produces it, `watch` and `stop` consume it. It is plain data (serde) so that the
//! executor can persist it in the sandbox and a restarted component can pick the pod up again.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything dce created on the engine for one pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningPod {
    /// Compose project name (`dce-<task>`), also the value of `com.docker.compose.project`.
    pub project: String,
    /// Containers in start order: the infra container (when there is one) first.
    pub containers: Vec<PodContainer>,
    /// Networks dce created for the pod (ids); pre-existing networks are not listed.
    pub networks: Vec<String>,
    /// Volumes dce created for the pod.
    pub volumes: Vec<PodVolume>,
    /// The cgroup parent given to every container, if any; its directories are removed at teardown.
    pub cgroup_parent: Option<String>,
}

/// Whether a container is the pod's namespace holder or a user service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerRole {
    /// Owns the pod's network namespace; stopped last.
    Infra,
    /// A compose service.
    Service,
}

/// One container of a running pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodContainer {
    /// Compose service name (`infra` for the infra container).
    pub service: String,
    /// Engine container id.
    pub id: String,
    /// Container name as created.
    pub name: String,
    pub role: ContainerRole,
    /// Services this one depends on; stop order is the reverse of this relation.
    pub depends_on: Vec<String>,
    /// Signal sent first on stop (`SIGTERM` when the service sets none).
    pub stop_signal: Option<String>,
    /// Time between the stop signal and SIGKILL, capped by the caller's overall deadline.
    pub stop_grace_period: Option<Duration>,
}

/// A volume dce created for the pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodVolume {
    /// Engine volume name.
    pub name: String,
    /// Named (top-level `volumes:`) volumes survive a kill unless the config says otherwise.
    pub named: bool,
}
