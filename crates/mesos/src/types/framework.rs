//! Who the executor works for and where it runs: `FrameworkInfo`, `AgentInfo`.

use serde::{Deserialize, Serialize};

use super::common::{Labels, Resource};
use super::enums::CapabilityType;
use super::ids::{AgentId, FrameworkId};
use super::wire;

/// `mesos.v1.FrameworkInfo.Capability`: written as `{"type": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkCapability {
    /// The capability; unset when the agent sent a name Mesos dropped.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CapabilityType>,
}

/// `mesos.v1.FrameworkInfo`: the framework this executor works for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    /// Unix user of the framework's tasks.
    #[serde(default)]
    pub user: String,
    /// Framework name.
    #[serde(default)]
    pub name: String,
    /// Always set in SUBSCRIBED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<FrameworkId>,
    /// Seconds the master waits for a failed-over scheduler (default 0.0).
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub failover_timeout: Option<f64>,
    /// Whether the agent checkpoints this framework (default false).
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub checkpoint: Option<bool>,
    /// Deprecated single role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Roles (MULTI_ROLE frameworks).
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub roles: Vec<String>,
    /// Scheduler host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Authentication principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Scheduler UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webui_url: Option<String>,
    /// What the framework understands (e.g. `TASK_KILLING_STATE`).
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub capabilities: Vec<FrameworkCapability>,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

impl FrameworkInfo {
    /// Whether the framework declared this capability (decides e.g. if TASK_KILLING may be sent).
    pub fn has_capability(&self, capability: &CapabilityType) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.kind.as_ref() == Some(capability))
    }
}

/// `mesos.v1.AgentInfo`: the agent the executor runs on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Agent host name.
    #[serde(default)]
    pub hostname: String,
    /// Agent HTTP port (Mesos emits the default 5051).
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub port: Option<i32>,
    /// Total resources of the agent.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<Resource>,
    /// Agent attributes, kept as JSON.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub attributes: Vec<serde_json::Value>,
    /// The agent's id; the executor copies it into status updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<AgentId>,
    /// `DomainInfo`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<serde_json::Value>,
}
