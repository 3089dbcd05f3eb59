//! What a task and an executor are: `TaskInfo`, `ExecutorInfo`, `CommandInfo`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::common::{self, DurationInfo, KillPolicy, Labels, Range, Resource};
use super::enums::ExecutorType;
use super::ids::{AgentId, ExecutorId, FrameworkId, TaskId};
use super::wire;

/// `mesos.v1.CommandInfo.URI`: an artifact the agent fetched into the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandUri {
    /// Where it was fetched from.
    pub value: String,
    /// Whether it was made executable.
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub executable: Option<bool>,
    /// Whether archives were extracted (Mesos default true).
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub extract: Option<bool>,
    /// Whether the fetcher cache was used.
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache: Option<bool>,
    /// File name in the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
}

/// `mesos.v1.CommandInfo`: how the executor (or a command task) is started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandInfo {
    /// Artifacts fetched before start.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub uris: Vec<CommandUri>,
    /// `Environment` message, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<serde_json::Value>,
    /// Run through `/bin/sh -c` (Mesos default true, emitted as `"shell":true`).
    #[serde(
        default,
        deserialize_with = "wire::opt_lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub shell: Option<bool>,
    /// The command line or program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// argv when `shell` is false.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub arguments: Vec<String>,
    /// Unix user to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// `mesos.v1.ExecutorInfo`: how this executor was described by the framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    /// `CUSTOM` for dce.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ExecutorType>,
    /// This executor's id.
    pub executor_id: ExecutorId,
    /// The framework that owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    /// How it was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// `ContainerInfo`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<serde_json::Value>,
    /// Resources of the executor itself.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<Resource>,
    /// Human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Deprecated source tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Opaque framework data.
    #[serde(
        default,
        with = "wire::opt_b64",
        skip_serializing_if = "Option::is_none"
    )]
    pub data: Option<Vec<u8>>,
    /// `DiscoveryInfo`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<serde_json::Value>,
    /// Time between SHUTDOWN and forcible destroy (overrides the agent flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period: Option<DurationInfo>,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

impl ExecutorInfo {
    /// A CUSTOM executor description with only its id set.
    pub fn new(executor_id: ExecutorId) -> Self {
        Self {
            kind: Some(ExecutorType::Custom),
            executor_id,
            framework_id: None,
            command: None,
            container: None,
            resources: Vec::new(),
            name: None,
            source: None,
            data: None,
            discovery: None,
            shutdown_grace_period: None,
            labels: None,
        }
    }
}

/// `mesos.v1.TaskInfo`: one task handed to the executor.
///
/// A received TaskInfo keeps its original JSON ([`TaskInfo::raw`]) next to the typed view, and
/// serializes as that raw JSON, so it can be resent verbatim in `unacknowledged_tasks` (ref §4.2)
/// even when it carries fields this crate does not model. A TaskInfo built in code (or after
/// [`TaskInfo::forget_raw`]) serializes from its typed fields. Editing typed fields of a received
/// TaskInfo does not change what it serializes to. Equality compares the typed view only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct TaskInfo {
    /// Human name.
    #[serde(default)]
    pub name: String,
    /// The task's id.
    pub task_id: TaskId,
    /// The agent it runs on (always set by a real agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// Allocated resources, incl. `ports` RANGES.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<Resource>,
    /// The executor that runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorInfo>,
    /// Command of a command task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// `ContainerInfo`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<serde_json::Value>,
    /// `HealthCheck`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<serde_json::Value>,
    /// `CheckInfo`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<serde_json::Value>,
    /// How long the task may take to stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
    /// Opaque framework data (dce: a compose document).
    #[serde(
        default,
        with = "wire::opt_b64",
        skip_serializing_if = "Option::is_none"
    )]
    pub data: Option<Vec<u8>>,
    /// Free-form labels (dce: `fileName`, `config.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// `DiscoveryInfo`, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<serde_json::Value>,
    /// Deadline after which the executor should fail the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_time: Option<DurationInfo>,
    /// Resource limits map, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<serde_json::Value>,
    #[serde(skip)]
    raw: Option<serde_json::Value>,
}

impl PartialEq for TaskInfo {
    fn eq(&self, other: &Self) -> bool {
        let Self {
            name,
            task_id,
            agent_id,
            resources,
            executor,
            command,
            container,
            health_check,
            check,
            kill_policy,
            data,
            labels,
            discovery,
            max_completion_time,
            limits,
            raw: _,
        } = self;
        *name == other.name
            && *task_id == other.task_id
            && *agent_id == other.agent_id
            && *resources == other.resources
            && *executor == other.executor
            && *command == other.command
            && *container == other.container
            && *health_check == other.health_check
            && *check == other.check
            && *kill_policy == other.kill_policy
            && *data == other.data
            && *labels == other.labels
            && *discovery == other.discovery
            && *max_completion_time == other.max_completion_time
            && *limits == other.limits
    }
}

impl<'de> Deserialize<'de> for TaskInfo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(d)?;
        let mut info = TaskInfo::deserialize(&raw).map_err(serde::de::Error::custom)?;
        info.raw = Some(raw);
        Ok(info)
    }
}

impl Serialize for TaskInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.raw {
            Some(raw) => raw.serialize(s),
            None => TaskInfo::serialize(self, s),
        }
    }
}

impl TaskInfo {
    /// A task with only its name and id set (tests, local mode).
    pub fn new(name: impl Into<String>, task_id: TaskId) -> Self {
        Self {
            name: name.into(),
            task_id,
            agent_id: None,
            resources: Vec::new(),
            executor: None,
            command: None,
            container: None,
            health_check: None,
            check: None,
            kill_policy: None,
            data: None,
            labels: None,
            discovery: None,
            max_completion_time: None,
            limits: None,
            raw: None,
        }
    }

    /// The JSON this TaskInfo was decoded from, if it was received.
    pub fn raw(&self) -> Option<&serde_json::Value> {
        self.raw.as_ref()
    }

    /// Drops the received JSON so that serialization uses the typed fields.
    pub fn forget_raw(&mut self) {
        self.raw = None;
    }

    /// Value of the first label with exactly this key.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.as_ref()?.get(key)
    }

    /// Every `ports` range allocated to the task, ends inclusive, in resource order.
    pub fn port_ranges(&self) -> Vec<Range> {
        common::ranges_of(&self.resources, "ports")
    }

    /// Every allocated port, in resource order.
    pub fn ports(&self) -> impl Iterator<Item = u64> + '_ {
        self.port_ranges().into_iter().flat_map(|r| r.begin..=r.end)
    }

    /// Total `cpus` allocated to the task.
    pub fn cpus(&self) -> Option<f64> {
        common::scalar_sum(&self.resources, "cpus")
    }

    /// Total `mem` (MiB) allocated to the task.
    pub fn mem_mib(&self) -> Option<f64> {
        common::scalar_sum(&self.resources, "mem")
    }

    /// The task's kill grace period, if its kill policy sets one.
    pub fn kill_grace(&self) -> Option<Duration> {
        self.kill_policy.as_ref()?.grace()
    }

    /// `TaskInfo.data` decoded from base64 (already done at decode time).
    pub fn data_bytes(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }
}
