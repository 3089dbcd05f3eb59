//! `mesos.v1.executor.Call`: what the executor sends to the agent (ref §4.2).

use serde::{Deserialize, Serialize};

use super::enums::CallType;
use super::ids::{ExecutorId, FrameworkId};
use super::status::TaskStatus;
use super::task::TaskInfo;
use super::wire;

/// `Call.Subscribe`: on a resubscribe, everything the agent may have missed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subscribe {
    /// TaskInfos (as received) of tasks without any acknowledged update.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub unacknowledged_tasks: Vec<TaskInfo>,
    /// Every update not yet acknowledged, original uuids, original order.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub unacknowledged_updates: Vec<Update>,
}

/// `Call.Update`: one status update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// The update.
    pub status: TaskStatus,
}

/// `Call.Message` / `Event.Message`: opaque bytes between executor and scheduler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The payload (may be empty).
    #[serde(default, with = "wire::b64")]
    pub data: Vec<u8>,
}

/// `mesos.v1.executor.Call`. The ids are required, as in the proto; `type` is optional on the
/// wire (an unknown name leaves it unset in Mesos, here `Unrecognized`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// What kind of call this is.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CallType>,
    /// `MESOS_EXECUTOR_ID`.
    pub executor_id: ExecutorId,
    /// `MESOS_FRAMEWORK_ID`.
    pub framework_id: FrameworkId,
    /// Present (possibly empty) for SUBSCRIBE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Subscribe>,
    /// Present for UPDATE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    /// Present for MESSAGE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

impl Call {
    fn bare(kind: CallType, executor_id: ExecutorId, framework_id: FrameworkId) -> Self {
        Self {
            kind: Some(kind),
            executor_id,
            framework_id,
            subscribe: None,
            update: None,
            message: None,
        }
    }

    /// A SUBSCRIBE call (`"subscribe":{}` is always present, as Mesos requires).
    pub fn subscribe(
        executor_id: ExecutorId,
        framework_id: FrameworkId,
        subscribe: Subscribe,
    ) -> Self {
        Self {
            subscribe: Some(subscribe),
            ..Self::bare(CallType::Subscribe, executor_id, framework_id)
        }
    }

    /// An UPDATE call.
    pub fn update(executor_id: ExecutorId, framework_id: FrameworkId, status: TaskStatus) -> Self {
        Self {
            update: Some(Update { status }),
            ..Self::bare(CallType::Update, executor_id, framework_id)
        }
    }

    /// A MESSAGE call.
    pub fn message(executor_id: ExecutorId, framework_id: FrameworkId, data: Vec<u8>) -> Self {
        Self {
            message: Some(Message { data }),
            ..Self::bare(CallType::Message, executor_id, framework_id)
        }
    }

    /// A HEARTBEAT call (Mesos >= 1.8; the session never sends one).
    pub fn heartbeat(executor_id: ExecutorId, framework_id: FrameworkId) -> Self {
        Self::bare(CallType::Heartbeat, executor_id, framework_id)
    }
}
