//! The pod's view of the Docker events stream: typed [`PodEvent`]s, the engine messages they come
//! from, and the bookkeeping that keeps them exact across a broken stream.
//!
//! [`crate::watch::PodWatcher`] drives these parts; they are split out so that the translation and
//! de-duplication rules are tested without an engine.

mod engine;
mod source;
mod state;
pub mod time;

pub use engine::{ContainerSnapshot, EngineAction, EngineEvent, RunState};
pub use source::{pod_filters, EventSource, EventStream, WATCHED_ACTIONS};
pub use state::PodState;

use serde::{Deserialize, Serialize};

/// Health of a container with a healthcheck, as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthStatus {
    /// The healthcheck has not yet passed since the container (re)started.
    Starting,
    /// The last healthcheck passed.
    Healthy,
    /// `retries` consecutive healthchecks failed.
    Unhealthy,
}

impl HealthStatus {
    /// Parses the engine's spelling (`starting`, `healthy`, `unhealthy`); `none` and others give
    /// `None` (no healthcheck).
    pub fn from_engine(text: &str) -> Option<Self> {
        match text.trim() {
            "starting" => Some(Self::Starting),
            "healthy" => Some(Self::Healthy),
            "unhealthy" => Some(Self::Unhealthy),
            _ => None,
        }
    }
}

/// Something that happened to the pod, as the executor needs to know it.
///
/// Each state change is reported once, even when the events stream broke and the change was
/// found by re-inspecting the containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodEvent {
    /// A container started (seen live, or found by inspection to have started). Every
    /// `Exited` of a container follows a `Started` of it.
    Started {
        /// Compose service name (`com.docker.compose.service`).
        service: String,
        /// Engine container id.
        container_id: String,
    },
    /// A container stopped. `oom_killed` is true when the kernel's OOM killer ended it (an `oom`
    /// event before the `die`, or `State.OOMKilled` on inspect).
    Exited {
        service: String,
        container_id: String,
        /// The process's exit status (137 after SIGKILL).
        exit_code: i64,
        oom_killed: bool,
    },
    /// A container's health changed (or was found so when watching began).
    Health {
        service: String,
        container_id: String,
        status: HealthStatus,
    },
    /// A container was removed (its `destroy` event).
    Removed {
        service: String,
        container_id: String,
    },
    /// Re-inspection found a container of the pod missing without having seen it removed (it
    /// went away while the events stream was down).
    ContainerLost {
        service: String,
        container_id: String,
    },
    /// The events stream broke; the watcher is reconnecting. Carries the error for the log.
    DaemonDisconnected { reason: String },
    /// The events stream is back. Changes missed during the gap follow this event, each once.
    DaemonReconnected,
}

impl PodEvent {
    /// The service the event is about, when it is about one container.
    pub fn service(&self) -> Option<&str> {
        match self {
            Self::Started { service, .. }
            | Self::Exited { service, .. }
            | Self::Health { service, .. }
            | Self::Removed { service, .. }
            | Self::ContainerLost { service, .. } => Some(service),
            Self::DaemonDisconnected { .. } | Self::DaemonReconnected => None,
        }
    }
}
