//! Our own serde types for the v1 executor API in Mesos' JSON encoding (ref §4), written from the
//! documented protocol. Decoding is lenient where Mesos is (unknown fields, numeric strings,
//! optional base64 padding, unknown enum names); encoding writes only what is set.

mod call;
mod common;
mod enums;
mod event;
mod framework;
mod ids;
mod status;
mod task;
pub mod wire;

pub use call::{Call, Message, Subscribe, Update};
pub use common::{
    DurationInfo, KillPolicy, Label, Labels, Range, Ranges, Resource, Scalar, ValueSet,
};
pub use enums::{
    CallType, CapabilityType, EventType, ExecutorType, Protocol, Reason, Source, TaskState,
    ValueType,
};
pub use event::{Acknowledged, Event, Kill, Subscribed};
pub use framework::{AgentInfo, FrameworkCapability, FrameworkInfo};
pub use ids::{AgentId, ContainerId, ExecutorId, FrameworkId, TaskId};
pub use status::{ContainerStatus, IpAddress, NetworkInfo, TaskStatus};
pub use task::{CommandInfo, CommandUri, ExecutorInfo, TaskInfo};
