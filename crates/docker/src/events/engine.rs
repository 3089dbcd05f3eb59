//! Engine-side facts: an events-stream message and an inspect result, reduced to what the pod
//! watcher needs.

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, EventMessage, EventMessageTypeEnum,
};

use super::time::parse_rfc3339_nanos;
use super::HealthStatus;
use crate::labels;

/// One container event from the engine, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEvent {
    /// `timeNano` of the message; the key for de-duplication and for `since=` on reconnect.
    pub time_nano: i64,
    pub container_id: String,
    /// `com.docker.compose.service` from the container's labels (events carry all labels).
    pub service: Option<String>,
    pub action: EngineAction,
}

/// The container actions the watcher subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineAction {
    Start,
    /// `exitCode` attribute of the `die` event.
    Die {
        exit_code: i64,
    },
    Oom,
    /// `health_status: healthy|unhealthy` (the status follows a colon in the action).
    Health(HealthStatus),
    Destroy,
}

impl EngineAction {
    /// Stable text used in de-duplication keys.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Die { .. } => "die",
            Self::Oom => "oom",
            Self::Health(HealthStatus::Starting) => "health:starting",
            Self::Health(HealthStatus::Healthy) => "health:healthy",
            Self::Health(HealthStatus::Unhealthy) => "health:unhealthy",
            Self::Destroy => "destroy",
        }
    }
}

impl EngineEvent {
    /// Types a message from the events stream; `None` for messages the pod does not care about
    /// (other object types, other actions, or a malformed message).
    pub fn from_message(message: &EventMessage) -> Option<Self> {
        if message.typ != Some(EventMessageTypeEnum::CONTAINER) {
            return None;
        }
        let actor = message.actor.as_ref()?;
        let container_id = actor.id.clone()?;
        let attributes = actor.attributes.as_ref();
        let attribute = |key: &str| attributes.and_then(|a| a.get(key));
        let action_text = message.action.as_deref()?;
        let action = match action_text.split_once(':') {
            Some(("health_status", status)) => {
                EngineAction::Health(HealthStatus::from_engine(status)?)
            }
            Some(_) => return None,
            None => match action_text {
                "start" => EngineAction::Start,
                "die" => EngineAction::Die {
                    exit_code: attribute("exitCode")
                        .and_then(|code| code.parse().ok())
                        .unwrap_or(-1),
                },
                "oom" => EngineAction::Oom,
                "destroy" => EngineAction::Destroy,
                _ => return None,
            },
        };
        let time_nano = message
            .time_nano
            .or_else(|| message.time.map(|secs| secs.saturating_mul(1_000_000_000)))?;
        Some(Self {
            time_nano,
            container_id,
            service: attribute(labels::COMPOSE_SERVICE).cloned(),
            action,
        })
    }
}

/// Whether a container runs, per inspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Created but never started.
    Created,
    /// Running (or paused, which is still running for the pod).
    Running,
    /// Stopped after having run.
    Exited { exit_code: i64, oom_killed: bool },
}

/// What inspect says about a container, reduced to the fields that reconciliation compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerSnapshot {
    pub state: RunState,
    /// `State.StartedAt` in nanoseconds, 0 when never started.
    pub started_nanos: i64,
    /// `State.FinishedAt` in nanoseconds, 0 when never stopped.
    pub finished_nanos: i64,
    /// `State.Health.Status`, `None` without a healthcheck.
    pub health: Option<HealthStatus>,
}

impl ContainerSnapshot {
    /// Reduces an inspect response.
    pub fn from_inspect(inspect: &ContainerInspectResponse) -> Self {
        let state = inspect.state.as_ref();
        let started_nanos = state
            .and_then(|s| s.started_at.as_deref())
            .and_then(parse_rfc3339_nanos)
            .unwrap_or(0);
        let finished_nanos = state
            .and_then(|s| s.finished_at.as_deref())
            .and_then(parse_rfc3339_nanos)
            .unwrap_or(0);
        let health = state
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status.as_ref())
            .and_then(|status| HealthStatus::from_engine(status.as_ref()));
        let status = state.and_then(|s| s.status);
        let run_state = match status {
            Some(ContainerStateStatusEnum::RUNNING)
            | Some(ContainerStateStatusEnum::PAUSED)
            | Some(ContainerStateStatusEnum::RESTARTING) => RunState::Running,
            _ if finished_nanos == 0 && started_nanos == 0 => RunState::Created,
            _ if state.and_then(|s| s.running) == Some(true) => RunState::Running,
            _ => RunState::Exited {
                exit_code: state.and_then(|s| s.exit_code).unwrap_or(-1),
                oom_killed: state.and_then(|s| s.oom_killed).unwrap_or(false),
            },
        };
        Self {
            state: run_state,
            started_nanos,
            finished_nanos,
            health,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bollard::models::{EventActor, EventMessageTypeEnum};

    use super::*;

    fn message(action: &str, attributes: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            typ: Some(EventMessageTypeEnum::CONTAINER),
            action: Some(action.to_string()),
            actor: Some(EventActor {
                id: Some("c1".to_string()),
                attributes: Some(
                    attributes
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<HashMap<_, _>>(),
                ),
            }),
            time: Some(5),
            time_nano: Some(5_000_000_007),
            ..Default::default()
        }
    }

    #[test]
    fn die_carries_exit_code_and_service() {
        let event = EngineEvent::from_message(&message(
            "die",
            &[("exitCode", "3"), (labels::COMPOSE_SERVICE, "web")],
        ))
        .unwrap();
        assert_eq!(event.action, EngineAction::Die { exit_code: 3 });
        assert_eq!(event.service.as_deref(), Some("web"));
        assert_eq!(event.time_nano, 5_000_000_007);
    }

    #[test]
    fn health_status_follows_the_colon() {
        let event = EngineEvent::from_message(&message("health_status: unhealthy", &[])).unwrap();
        assert_eq!(event.action, EngineAction::Health(HealthStatus::Unhealthy));
    }

    #[test]
    fn other_actions_and_types_are_ignored() {
        assert!(EngineEvent::from_message(&message("exec_start: /bin/sh -c true", &[])).is_none());
        assert!(EngineEvent::from_message(&message("kill", &[])).is_none());
        let mut network = message("start", &[]);
        network.typ = Some(EventMessageTypeEnum::NETWORK);
        assert!(EngineEvent::from_message(&network).is_none());
    }
}
