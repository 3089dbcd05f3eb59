//! `mesos.v1.executor.Event`: what the agent sends on the subscription stream (ref §4.4).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::call::Message;
use super::common::KillPolicy;
use super::enums::EventType;
use super::framework::{AgentInfo, FrameworkInfo};
use super::ids::{ContainerId, TaskId};
use super::task::{ExecutorInfo, TaskInfo};
use super::wire;

/// `Event.Subscribed`: the agent accepted the subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    /// This executor as the framework described it.
    pub executor_info: ExecutorInfo,
    /// The framework (with `id` and `capabilities`).
    pub framework_info: FrameworkInfo,
    /// The agent (with `id`).
    pub agent_info: AgentInfo,
    /// The executor's container (Mesos >= 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<ContainerId>,
}

/// `Event.Kill`: kill one task, optionally with a grace period overriding the task's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    /// The task to kill.
    pub task_id: TaskId,
    /// Override of `TaskInfo.kill_policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
}

/// `Event.Acknowledged`: the agent took responsibility for one update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledged {
    /// The task of the update.
    pub task_id: TaskId,
    /// The exact uuid bytes the executor sent.
    #[serde(with = "wire::b64")]
    pub uuid: Vec<u8>,
}

/// `mesos.v1.executor.Event`, one variant per type. Unknown or missing types decode to
/// [`Event::Unknown`] (the executor must ignore them); a known type whose payload is missing or
/// malformed is a decode error.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// First event of a stream.
    Subscribed(Box<Subscribed>),
    /// Run one task.
    Launch(Box<TaskInfo>),
    /// Run a group of tasks.
    LaunchGroup(Vec<TaskInfo>),
    /// Kill one task.
    Kill(Kill),
    /// One update was accepted by the agent.
    Acknowledged(Acknowledged),
    /// Opaque data from the scheduler.
    Message(Vec<u8>),
    /// An error (never sent by a real agent to HTTP executors).
    Error(String),
    /// Kill every task and exit.
    Shutdown,
    /// Keep-alive (Mesos >= 1.8, every 30 minutes).
    Heartbeat,
    /// A type this crate does not know, `UNKNOWN`, or none; carries the name if there was one.
    Unknown {
        /// The `type` name as sent.
        type_name: Option<String>,
    },
}

impl Event {
    /// The Mesos name of this event's type, for logs.
    pub fn type_name(&self) -> &str {
        match self {
            Event::Subscribed(_) => "SUBSCRIBED",
            Event::Launch(_) => "LAUNCH",
            Event::LaunchGroup(_) => "LAUNCH_GROUP",
            Event::Kill(_) => "KILL",
            Event::Acknowledged(_) => "ACKNOWLEDGED",
            Event::Message(_) => "MESSAGE",
            Event::Error(_) => "ERROR",
            Event::Shutdown => "SHUTDOWN",
            Event::Heartbeat => "HEARTBEAT",
            Event::Unknown { type_name } => type_name.as_deref().unwrap_or("UNKNOWN"),
        }
    }
}

#[derive(Deserialize)]
struct LaunchIn {
    task: TaskInfo,
}

#[derive(Deserialize)]
struct TaskGroupIn {
    #[serde(default, deserialize_with = "wire::vec")]
    tasks: Vec<TaskInfo>,
}

#[derive(Deserialize)]
struct LaunchGroupIn {
    task_group: TaskGroupIn,
}

#[derive(Deserialize)]
struct ErrorIn {
    #[serde(default)]
    message: String,
}

fn payload<T: serde::de::DeserializeOwned, E: serde::de::Error>(
    value: &mut serde_json::Value,
    field: &str,
    kind: &str,
) -> Result<T, E> {
    let body = value
        .get_mut(field)
        .filter(|v| !v.is_null())
        .map(serde_json::Value::take)
        .ok_or_else(|| E::custom(format!("a {kind} event without '{field}'")))?;
    serde_json::from_value(body).map_err(|e| E::custom(format!("'{field}' of a {kind} event: {e}")))
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut value = serde_json::Value::deserialize(d)?;
        if !value.is_object() {
            return Err(D::Error::custom("an event must be a JSON object"));
        }
        let kind = match value.get("type") {
            None | Some(serde_json::Value::Null) => {
                return Ok(Event::Unknown { type_name: None });
            }
            Some(t) => EventType::deserialize(t).map_err(D::Error::custom)?,
        };
        let name = kind.as_str().to_owned();
        let v = &mut value;
        Ok(match kind {
            EventType::Subscribed => Event::Subscribed(payload(v, "subscribed", &name)?),
            EventType::Launch => {
                let launch: LaunchIn = payload(v, "launch", &name)?;
                Event::Launch(Box::new(launch.task))
            }
            EventType::LaunchGroup => {
                let group: LaunchGroupIn = payload(v, "launch_group", &name)?;
                Event::LaunchGroup(group.task_group.tasks)
            }
            EventType::Kill => Event::Kill(payload(v, "kill", &name)?),
            EventType::Acknowledged => Event::Acknowledged(payload(v, "acknowledged", &name)?),
            EventType::Message => {
                let message: Message = payload(v, "message", &name)?;
                Event::Message(message.data)
            }
            EventType::Error => {
                let error: ErrorIn = payload(v, "error", &name)?;
                Event::Error(error.message)
            }
            EventType::Shutdown => Event::Shutdown,
            EventType::Heartbeat => Event::Heartbeat,
            EventType::Unknown | EventType::Unrecognized(_) => Event::Unknown {
                type_name: Some(name),
            },
        })
    }
}

#[derive(Serialize)]
struct LaunchOut<'a> {
    task: &'a TaskInfo,
}

#[derive(Serialize)]
struct TaskGroupOut<'a> {
    tasks: &'a [TaskInfo],
}

#[derive(Serialize)]
struct LaunchGroupOut<'a> {
    task_group: TaskGroupOut<'a>,
}

#[derive(Serialize)]
struct MessageOut<'a> {
    #[serde(with = "wire::b64")]
    data: &'a Vec<u8>,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    message: &'a str,
}

#[derive(Serialize, Default)]
struct EventOut<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscribed: Option<&'a Subscribed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledged: Option<&'a Acknowledged>,
    #[serde(skip_serializing_if = "Option::is_none")]
    launch: Option<LaunchOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kill: Option<&'a Kill>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<MessageOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_group: Option<LaunchGroupOut<'a>>,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = EventOut {
            kind: Some(self.type_name()),
            ..EventOut::default()
        };
        match self {
            Event::Subscribed(sub) => out.subscribed = Some(sub),
            Event::Launch(task) => out.launch = Some(LaunchOut { task }),
            Event::LaunchGroup(tasks) => {
                out.launch_group = Some(LaunchGroupOut {
                    task_group: TaskGroupOut { tasks },
                })
            }
            Event::Kill(kill) => out.kill = Some(kill),
            Event::Acknowledged(ack) => out.acknowledged = Some(ack),
            Event::Message(data) => out.message = Some(MessageOut { data }),
            Event::Error(message) => out.error = Some(ErrorOut { message }),
            Event::Unknown { type_name } => out.kind = type_name.as_deref(),
            Event::Shutdown | Event::Heartbeat => {}
        }
        out.serialize(s)
    }
}
