//! `mesos.v1.TaskStatus` and what it carries.

use serde::{Deserialize, Serialize};

use super::common::Labels;
use super::enums::{Protocol, Reason, Source, TaskState};
use super::ids::{AgentId, ContainerId, ExecutorId, TaskId};
use super::wire;

/// `mesos.v1.NetworkInfo.IPAddress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAddress {
    /// `IPv4` (Mesos default) or `IPv6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// The address text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// `mesos.v1.NetworkInfo`: one network a container is attached to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// Addresses on that network.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_addresses: Vec<IpAddress>,
    /// Network name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Network groups.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Port mappings, kept as JSON.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub port_mappings: Vec<serde_json::Value>,
}

/// `mesos.v1.ContainerStatus`: where a pod executor publishes its pod IPs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerStatus {
    /// Networks of the task (the agent adds its own IP only when this is empty).
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub network_infos: Vec<NetworkInfo>,
    /// `CgroupInfo`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_info: Option<serde_json::Value>,
    /// Pid of the executor.
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub executor_pid: Option<u32>,
    /// A custom executor should leave this unset (the agent would query that container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<ContainerId>,
}

/// `mesos.v1.TaskStatus`: one status update. Field order follows the ref's examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    /// The task this is about.
    pub task_id: TaskId,
    /// The new state.
    pub state: TaskState,
    /// Human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Must be `SOURCE_EXECUTOR` from an executor (unset counts as `SOURCE_MASTER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Why the state changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// Opaque data for the framework.
    #[serde(
        default,
        with = "wire::opt_b64",
        skip_serializing_if = "Option::is_none"
    )]
    pub data: Option<Vec<u8>>,
    /// If set it must equal the agent's id, or the agent silently drops the update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// If set it must equal `Call.executor_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    /// Seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<f64>,
    /// 16 raw UUID bytes (version 1–5); the agent's dedupe and ACK key.
    #[serde(
        default,
        with = "wire::opt_b64",
        skip_serializing_if = "Option::is_none"
    )]
    pub uuid: Option<Vec<u8>>,
    /// Health of the task, once it has a health check.
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub healthy: Option<bool>,
    /// Free-form labels (dce: port mapping, project name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Network information of the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_status: Option<ContainerStatus>,
    /// `CheckStatusInfo`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_status: Option<serde_json::Value>,
    /// `TaskResourceLimitation`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limitation: Option<serde_json::Value>,
}

impl TaskStatus {
    /// A status with only task id and state set; the session fills uuid, source, timestamp,
    /// executor and agent ids.
    pub fn new(task_id: TaskId, state: TaskState) -> Self {
        Self {
            task_id,
            state,
            message: None,
            source: None,
            reason: None,
            data: None,
            agent_id: None,
            executor_id: None,
            timestamp: None,
            uuid: None,
            healthy: None,
            labels: None,
            container_status: None,
            check_status: None,
            limitation: None,
        }
    }

    /// The uuid as a `Uuid`, when it is exactly 16 bytes.
    pub fn uuid(&self) -> Option<uuid::Uuid> {
        uuid::Uuid::from_slice(self.uuid.as_deref()?).ok()
    }
}
