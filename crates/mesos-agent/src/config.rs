//! How a stand-in agent is set up: identities, framework flags, agent flags and fault knobs.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use mesos::{
    AgentId, AgentInfo, CapabilityType, ContainerId, ExecutorId, ExecutorInfo, FrameworkCapability,
    FrameworkId, FrameworkInfo,
};

use crate::stream::ChunkMode;

/// When the agent answers an accepted UPDATE with ACKNOWLEDGED (ref §5.5 step 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckPolicy {
    /// At once, like an agent whose update manager accepts the update immediately.
    #[default]
    Immediate,
    /// After this delay (e.g. a slow checkpoint fsync); lost if the stream is gone by then.
    Delayed(Duration),
    /// Never (the executor must not wait unboundedly).
    Never,
    /// Twice (the executor must tolerate duplicate ACKs).
    Duplicate,
}

/// Configuration of one stand-in agent serving one executor of one framework.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// `FrameworkID` of the executor's framework.
    pub framework_id: FrameworkId,
    /// `ExecutorID` of the one executor this agent runs.
    pub executor_id: ExecutorId,
    /// The agent's own id (`MESOS_SLAVE_ID`, `agent_info.id`).
    pub agent_id: AgentId,
    /// The executor's ContainerID (last component of `MESOS_DIRECTORY`, the cgroup name).
    pub container_id: ContainerId,
    /// libprocess id of the agent process: the path prefix `/<pid_id>/api/v1/executor`.
    pub pid_id: String,
    /// TCP listen address; port 0 picks an ephemeral port once (kept across restarts).
    pub listen: SocketAddr,
    /// Also serve the API on this Unix socket (`MESOS_DOMAIN_SOCKET`).
    pub unix_socket: Option<PathBuf>,
    /// `FrameworkInfo.checkpoint` (`MESOS_CHECKPOINT`).
    pub checkpoint: bool,
    /// `FrameworkInfo.capabilities` (e.g. `TASK_KILLING_STATE`, `PARTITION_AWARE`).
    pub capabilities: Vec<CapabilityType>,
    /// The ExecutorInfo sent in SUBSCRIBED; a minimal CUSTOM one when `None`.
    pub executor_info: Option<ExecutorInfo>,
    /// The FrameworkInfo sent in SUBSCRIBED; built from the fields above when `None` (its `id`,
    /// `checkpoint` and `capabilities` are always overwritten from this config).
    pub framework_info: Option<FrameworkInfo>,
    /// The AgentInfo sent in SUBSCRIBED; `hostname: localhost`, `port: 5051` when `None`.
    pub agent_info: Option<AgentInfo>,
    /// Time between SHUTDOWN and the forcible destroy (`MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`).
    pub shutdown_grace_period: Duration,
    /// `--executor_registration_timeout`: an executor launched by the agent that has not
    /// subscribed by then is destroyed (ref §6.2 step 4).
    pub registration_timeout: Duration,
    /// `--recovery_timeout` (`MESOS_RECOVERY_TIMEOUT`, only with checkpointing).
    pub recovery_timeout: Duration,
    /// `--executor_reregistration_timeout`: the reregistration window after a restart, and
    /// `MESOS_SUBSCRIPTION_BACKOFF_MAX`.
    pub reregistration_timeout: Duration,
    /// Require `Authorization: Bearer <token>` and pass it as
    /// `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`.
    pub auth_token: Option<String>,
    /// HEARTBEAT event interval (the real agent: 30 min; `None` = never).
    pub heartbeat_interval: Option<Duration>,
    /// Initial ACK policy.
    pub ack_policy: AckPolicy,
    /// Initial chunking of the event stream.
    pub chunk_mode: ChunkMode,
}

impl Default for AgentConfig {
    /// Fresh unique ids, checkpointing on, no capabilities, Mesos' default timeouts.
    fn default() -> Self {
        let unique = uuid::Uuid::new_v4();
        AgentConfig {
            framework_id: FrameworkId::new(format!("{unique}-0000")),
            executor_id: ExecutorId::new(format!("executor-{}", &unique.simple().to_string()[..8])),
            agent_id: AgentId::new(format!("{unique}-S0")),
            container_id: ContainerId::new(uuid::Uuid::new_v4().to_string()),
            pid_id: "slave(1)".to_string(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            unix_socket: None,
            checkpoint: true,
            capabilities: Vec::new(),
            executor_info: None,
            framework_info: None,
            agent_info: None,
            shutdown_grace_period: Duration::from_secs(5),
            registration_timeout: Duration::from_secs(60),
            recovery_timeout: Duration::from_secs(15 * 60),
            reregistration_timeout: Duration::from_secs(2),
            auth_token: None,
            heartbeat_interval: Some(Duration::from_secs(30 * 60)),
            ack_policy: AckPolicy::Immediate,
            chunk_mode: ChunkMode::PerRecord,
        }
    }
}

impl AgentConfig {
    /// Whether the framework declared `capability`.
    pub fn has_capability(&self, capability: &CapabilityType) -> bool {
        self.capabilities.contains(capability)
    }

    /// The ExecutorInfo the agent hands out (SUBSCRIBED, and in launched TaskInfos).
    pub fn effective_executor_info(&self) -> ExecutorInfo {
        let mut info = self
            .executor_info
            .clone()
            .unwrap_or_else(|| ExecutorInfo::new(self.executor_id.clone()));
        info.executor_id = self.executor_id.clone();
        info.framework_id = Some(self.framework_id.clone());
        info
    }

    /// The FrameworkInfo of SUBSCRIBED: always with `id`, `checkpoint` and `capabilities`.
    pub fn effective_framework_info(&self) -> FrameworkInfo {
        let mut info = self
            .framework_info
            .clone()
            .unwrap_or_else(|| FrameworkInfo {
                user: "root".to_string(),
                name: "mesos-agent-stand-in".to_string(),
                failover_timeout: Some(0.0),
                ..FrameworkInfo::default()
            });
        info.id = Some(self.framework_id.clone());
        info.checkpoint = Some(self.checkpoint);
        info.capabilities = self
            .capabilities
            .iter()
            .map(|c| FrameworkCapability {
                kind: Some(c.clone()),
            })
            .collect();
        info
    }

    /// The AgentInfo of SUBSCRIBED, always with this agent's `id`.
    pub fn effective_agent_info(&self) -> AgentInfo {
        let mut info = self.agent_info.clone().unwrap_or_else(|| AgentInfo {
            hostname: "localhost".to_string(),
            port: Some(5051),
            ..AgentInfo::default()
        });
        info.id = Some(self.agent_id.clone());
        info
    }
}
