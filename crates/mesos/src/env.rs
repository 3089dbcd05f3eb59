//! The executor's environment as the agent builds it (ref §1): ids, where the agent is, whether
//! the framework checkpoints, the recovery/back-off/shutdown durations and the optional token.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::duration::{parse_duration, DurationError};
use crate::types::{AgentId, ExecutorId, FrameworkId};

/// Why the environment does not describe a usable executor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A variable the executor cannot work without is not set (or empty).
    #[error("environment variable {var} is not set; {why}")]
    Missing {
        /// The variable.
        var: &'static str,
        /// When it is required.
        why: &'static str,
    },
    /// A variable is set to something that does not parse.
    #[error("environment variable {var}={value:?} is invalid: {reason}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// Its value (never the auth token).
        value: String,
        /// What is wrong.
        reason: String,
    },
}

/// The bearer token from `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`. Neither `Debug` nor `Display`
/// prints it, so it cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

impl fmt::Display for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Path prefix of the agent's libprocess id when `MESOS_SLAVE_PID` does not say otherwise.
pub const DEFAULT_AGENT_PID_ID: &str = "slave(1)";

/// Everything the session and the executor need from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorEnv {
    /// `MESOS_FRAMEWORK_ID`.
    pub framework_id: FrameworkId,
    /// `MESOS_EXECUTOR_ID`.
    pub executor_id: ExecutorId,
    /// `ip:port` of the agent (`MESOS_AGENT_ENDPOINT`, else the part of `MESOS_SLAVE_PID` after
    /// `@`); absent only when a domain socket is given.
    pub agent_endpoint: Option<String>,
    /// `MESOS_SLAVE_PID` as given.
    pub agent_pid: Option<String>,
    /// The libprocess id of the agent (part of `MESOS_SLAVE_PID` before `@`, default `slave(1)`),
    /// the path prefix required on the domain socket.
    pub agent_pid_id: String,
    /// `MESOS_SLAVE_ID`.
    pub agent_id: Option<AgentId>,
    /// `MESOS_DOMAIN_SOCKET`: when set, the API is reached over this Unix socket.
    pub domain_socket: Option<PathBuf>,
    /// `MESOS_DIRECTORY`: the sandbox on the host filesystem.
    pub directory: Option<PathBuf>,
    /// `MESOS_SANDBOX`: the sandbox as the executor sees it.
    pub sandbox: Option<PathBuf>,
    /// `MESOS_CHECKPOINT`: whether to survive agent restarts by resubscribing.
    pub checkpoint: bool,
    /// `MESOS_RECOVERY_TIMEOUT` (required when checkpointing).
    pub recovery_timeout: Option<Duration>,
    /// `MESOS_SUBSCRIPTION_BACKOFF_MAX` (required when checkpointing).
    pub subscription_backoff_max: Option<Duration>,
    /// `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`.
    pub shutdown_grace_period: Duration,
    /// `MESOS_EXECUTOR_AUTHENTICATION_TOKEN`.
    pub auth_token: Option<AuthToken>,
    /// `MESOS_HTTP_COMMAND_EXECUTOR` (meaningful to the built-in command executor only).
    pub http_command_executor: Option<bool>,
    /// `MESOS_CONTAINER_NAME` (docker containerizer only).
    pub container_name: Option<String>,
}

struct Vars(HashMap<String, String>);

impl Vars {
    fn get(&self, var: &str) -> Option<&str> {
        self.0
            .get(var)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn required(&self, var: &'static str, why: &'static str) -> Result<&str, EnvError> {
        self.get(var).ok_or(EnvError::Missing { var, why })
    }

    fn duration(&self, var: &'static str) -> Result<Option<Duration>, EnvError> {
        self.get(var)
            .map(|value| {
                parse_duration(value).map_err(|e: DurationError| EnvError::Invalid {
                    var,
                    value: value.to_owned(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    fn flag(&self, var: &'static str) -> Result<Option<bool>, EnvError> {
        self.get(var)
            .map(|value| match value.trim() {
                "1" | "true" => Ok(true),
                "0" | "false" => Ok(false),
                _ => Err(EnvError::Invalid {
                    var,
                    value: value.to_owned(),
                    reason: "expected 1, 0, true or false".into(),
                }),
            })
            .transpose()
    }
}

const ALWAYS: &str = "the agent always sets it for an executor";
const WHEN_CHECKPOINTING: &str = "it is required when MESOS_CHECKPOINT=1";

impl ExecutorEnv {
    /// Reads the process environment (variables that are not valid UTF-8 are ignored).
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Parses the given variables; an empty value counts as unset.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, EnvError> {
        let vars = Vars(vars.into_iter().collect());
        let framework_id = FrameworkId::new(vars.required("MESOS_FRAMEWORK_ID", ALWAYS)?);
        let executor_id = ExecutorId::new(vars.required("MESOS_EXECUTOR_ID", ALWAYS)?);
        let agent_pid = vars.get("MESOS_SLAVE_PID").map(str::to_owned);
        let (pid_id, pid_endpoint) = match agent_pid.as_deref().map(|p| p.split_once('@')) {
            Some(Some((id, endpoint))) if !id.is_empty() && !endpoint.is_empty() => {
                (Some(id.to_owned()), Some(endpoint.to_owned()))
            }
            Some(_) => {
                return Err(EnvError::Invalid {
                    var: "MESOS_SLAVE_PID",
                    value: agent_pid.clone().unwrap_or_default(),
                    reason: "expected <id>@<ip>:<port>".into(),
                })
            }
            None => (None, None),
        };
        let domain_socket = vars.get("MESOS_DOMAIN_SOCKET").map(PathBuf::from);
        let agent_endpoint = vars
            .get("MESOS_AGENT_ENDPOINT")
            .map(str::to_owned)
            .or(pid_endpoint);
        if agent_endpoint.is_none() && domain_socket.is_none() {
            return Err(EnvError::Missing {
                var: "MESOS_AGENT_ENDPOINT",
                why: "the agent sets it (or MESOS_SLAVE_PID / MESOS_DOMAIN_SOCKET) for an executor",
            });
        }
        let checkpoint = vars.flag("MESOS_CHECKPOINT")?.ok_or(EnvError::Missing {
            var: "MESOS_CHECKPOINT",
            why: ALWAYS,
        })?;
        let recovery_timeout = vars.duration("MESOS_RECOVERY_TIMEOUT")?;
        let subscription_backoff_max = vars.duration("MESOS_SUBSCRIPTION_BACKOFF_MAX")?;
        if checkpoint {
            vars.required("MESOS_RECOVERY_TIMEOUT", WHEN_CHECKPOINTING)?;
            vars.required("MESOS_SUBSCRIPTION_BACKOFF_MAX", WHEN_CHECKPOINTING)?;
        }
        let shutdown_grace_period = vars
            .duration("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD")?
            .ok_or(EnvError::Missing {
                var: "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                why: ALWAYS,
            })?;
        Ok(Self {
            framework_id,
            executor_id,
            agent_endpoint,
            agent_pid,
            agent_pid_id: pid_id.unwrap_or_else(|| DEFAULT_AGENT_PID_ID.to_owned()),
            agent_id: vars.get("MESOS_SLAVE_ID").map(AgentId::new),
            domain_socket,
            directory: vars.get("MESOS_DIRECTORY").map(PathBuf::from),
            sandbox: vars.get("MESOS_SANDBOX").map(PathBuf::from),
            checkpoint,
            recovery_timeout,
            subscription_backoff_max,
            shutdown_grace_period,
            auth_token: vars
                .get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN")
                .map(AuthToken::new),
            http_command_executor: vars.flag("MESOS_HTTP_COMMAND_EXECUTOR")?,
            container_name: vars.get("MESOS_CONTAINER_NAME").map(str::to_owned),
        })
    }

    /// The request path of the executor API: `/<pid id>/api/v1/executor` on the domain socket
    /// (the only form it serves), `/api/v1/executor` over TCP.
    pub fn api_path(&self) -> String {
        match self.domain_socket {
            Some(_) => format!("/{}/api/v1/executor", self.agent_pid_id),
            None => "/api/v1/executor".to_owned(),
        }
    }

    /// The sandbox the executor should use: `MESOS_SANDBOX`, else `MESOS_DIRECTORY`.
    pub fn sandbox_dir(&self) -> Option<&PathBuf> {
        self.sandbox.as_ref().or(self.directory.as_ref())
    }

    /// The executor's ContainerID before SUBSCRIBED arrives: the last component of
    /// `MESOS_DIRECTORY`.
    pub fn container_id_hint(&self) -> Option<String> {
        Some(self.directory.as_ref()?.file_name()?.to_str()?.to_owned())
    }
}
