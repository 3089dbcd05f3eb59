//! Protobuf enums, written and read by their exact Mesos names (ref §4.1, §5.2, §5.3).
//!
//! Mesos drops an unknown name in an optional enum field and rejects it in a required one. We
//! keep it instead: every enum has an `Unrecognized(String)` variant holding the name verbatim, so
//! an event from a newer agent still decodes and a stand-in agent can still reject what Mesos
//! would. A JSON *number* where an enum is expected is a decode error, as in Mesos.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

macro_rules! mesos_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("Mesos name `", $wire, "`.")] $variant, )*
            /// A name this crate does not know (e.g. from a newer Mesos), kept verbatim.
            Unrecognized(String),
        }

        impl $name {
            /// The exact Mesos name of this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unrecognized(name) => name,
                }
            }

            /// Maps a Mesos name to a value; unknown names become `Unrecognized`.
            pub fn from_name(name: &str) -> Self {
                match name {
                    $( $wire => Self::$variant, )*
                    other => Self::Unrecognized(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct NameVisitor;
                impl Visitor<'_> for NameVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " name"))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from_name(v))
                    }
                }
                d.deserialize_str(NameVisitor)
            }
        }
    };
}

mesos_enum! {
    /// `mesos.v1.TaskState`.
    TaskState {
        /// Agent/master only; an executor must never send it.
        Staging = "TASK_STAGING",
        Starting = "TASK_STARTING",
        Running = "TASK_RUNNING",
        /// Only when the framework has the `TASK_KILLING_STATE` capability.
        Killing = "TASK_KILLING",
        Finished = "TASK_FINISHED",
        Failed = "TASK_FAILED",
        Killed = "TASK_KILLED",
        Error = "TASK_ERROR",
        Lost = "TASK_LOST",
        Dropped = "TASK_DROPPED",
        Unreachable = "TASK_UNREACHABLE",
        Gone = "TASK_GONE",
        GoneByOperator = "TASK_GONE_BY_OPERATOR",
        Unknown = "TASK_UNKNOWN",
    }
}

impl TaskState {
    /// Mesos' `isTerminalState`: no update may follow one of these for the same task.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Finished
                | Self::Failed
                | Self::Killed
                | Self::Error
                | Self::Lost
                | Self::Dropped
                | Self::Gone
                | Self::GoneByOperator
        )
    }
}

mesos_enum! {
    /// `mesos.v1.TaskStatus.Source`: who generated an update. Executors always send `SOURCE_EXECUTOR`.
    Source {
        Master = "SOURCE_MASTER",
        Agent = "SOURCE_AGENT",
        Executor = "SOURCE_EXECUTOR",
    }
}

mesos_enum! {
    /// `mesos.v1.TaskStatus.Reason` (v1 names; the v0 `SLAVE` names are unrecognized, as in Mesos).
    Reason {
        CommandExecutorFailed = "REASON_COMMAND_EXECUTOR_FAILED",
        ContainerLaunchFailed = "REASON_CONTAINER_LAUNCH_FAILED",
        ContainerLimitation = "REASON_CONTAINER_LIMITATION",
        ContainerLimitationDisk = "REASON_CONTAINER_LIMITATION_DISK",
        ContainerLimitationMemory = "REASON_CONTAINER_LIMITATION_MEMORY",
        ContainerPreempted = "REASON_CONTAINER_PREEMPTED",
        ContainerUpdateFailed = "REASON_CONTAINER_UPDATE_FAILED",
        MaxCompletionTimeReached = "REASON_MAX_COMPLETION_TIME_REACHED",
        ExecutorRegistrationTimeout = "REASON_EXECUTOR_REGISTRATION_TIMEOUT",
        ExecutorReregistrationTimeout = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT",
        ExecutorTerminated = "REASON_EXECUTOR_TERMINATED",
        ExecutorUnregistered = "REASON_EXECUTOR_UNREGISTERED",
        FrameworkRemoved = "REASON_FRAMEWORK_REMOVED",
        GcError = "REASON_GC_ERROR",
        InvalidFrameworkId = "REASON_INVALID_FRAMEWORKID",
        InvalidOffers = "REASON_INVALID_OFFERS",
        IoSwitchboardExited = "REASON_IO_SWITCHBOARD_EXITED",
        MasterDisconnected = "REASON_MASTER_DISCONNECTED",
        Reconciliation = "REASON_RECONCILIATION",
        ResourcesUnknown = "REASON_RESOURCES_UNKNOWN",
        AgentDisconnected = "REASON_AGENT_DISCONNECTED",
        AgentDraining = "REASON_AGENT_DRAINING",
        AgentRemoved = "REASON_AGENT_REMOVED",
        AgentRemovedByOperator = "REASON_AGENT_REMOVED_BY_OPERATOR",
        AgentReregistered = "REASON_AGENT_REREGISTERED",
        AgentRestarted = "REASON_AGENT_RESTARTED",
        AgentUnknown = "REASON_AGENT_UNKNOWN",
        TaskKilledDuringLaunch = "REASON_TASK_KILLED_DURING_LAUNCH",
        TaskCheckStatusUpdated = "REASON_TASK_CHECK_STATUS_UPDATED",
        TaskHealthCheckStatusUpdated = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
        TaskGroupInvalid = "REASON_TASK_GROUP_INVALID",
        TaskGroupUnauthorized = "REASON_TASK_GROUP_UNAUTHORIZED",
        TaskInvalid = "REASON_TASK_INVALID",
        TaskUnauthorized = "REASON_TASK_UNAUTHORIZED",
        TaskUnknown = "REASON_TASK_UNKNOWN",
    }
}

mesos_enum! {
    /// `mesos.v1.FrameworkInfo.Capability.Type`: what the framework understands.
    CapabilityType {
        Unknown = "UNKNOWN",
        RevocableResources = "REVOCABLE_RESOURCES",
        TaskKillingState = "TASK_KILLING_STATE",
        GpuResources = "GPU_RESOURCES",
        SharedResources = "SHARED_RESOURCES",
        PartitionAware = "PARTITION_AWARE",
        MultiRole = "MULTI_ROLE",
        ReservationRefinement = "RESERVATION_REFINEMENT",
        RegionAware = "REGION_AWARE",
    }
}

mesos_enum! {
    /// `mesos.v1.Value.Type`: the kind of a resource's value.
    ValueType {
        Scalar = "SCALAR",
        Ranges = "RANGES",
        Set = "SET",
        Text = "TEXT",
    }
}

mesos_enum! {
    /// `mesos.v1.ExecutorInfo.Type`.
    ExecutorType {
        Unknown = "UNKNOWN",
        Default = "DEFAULT",
        Custom = "CUSTOM",
    }
}

mesos_enum! {
    /// `mesos.v1.NetworkInfo.Protocol` (note the mixed-case names).
    Protocol {
        Ipv4 = "IPv4",
        Ipv6 = "IPv6",
    }
}

mesos_enum! {
    /// `mesos.v1.executor.Call.Type`.
    CallType {
        Unknown = "UNKNOWN",
        Subscribe = "SUBSCRIBE",
        Update = "UPDATE",
        Message = "MESSAGE",
        /// Mesos >= 1.8 only; older agents answer 400.
        Heartbeat = "HEARTBEAT",
    }
}

mesos_enum! {
    /// `mesos.v1.executor.Event.Type`.
    EventType {
        Unknown = "UNKNOWN",
        Subscribed = "SUBSCRIBED",
        Launch = "LAUNCH",
        LaunchGroup = "LAUNCH_GROUP",
        Kill = "KILL",
        Acknowledged = "ACKNOWLEDGED",
        Message = "MESSAGE",
        Error = "ERROR",
        Shutdown = "SHUTDOWN",
        Heartbeat = "HEARTBEAT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_kept() {
        let s: TaskState = serde_json::from_str("\"TASK_RUNNING\"").unwrap();
        assert_eq!(s, TaskState::Running);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"TASK_RUNNING\"");
        let r: Reason = serde_json::from_str("\"REASON_SLAVE_RESTARTED\"").unwrap();
        assert_eq!(r, Reason::Unrecognized("REASON_SLAVE_RESTARTED".into()));
        assert_eq!(Protocol::from_name("IPv4"), Protocol::Ipv4);
    }

    #[test]
    fn numbers_are_rejected_like_mesos() {
        assert!(serde_json::from_str::<TaskState>("1").is_err());
    }

    #[test]
    fn terminal_states() {
        assert!(TaskState::Killed.is_terminal());
        assert!(!TaskState::Killing.is_terminal());
        assert!(!TaskState::Unrecognized("TASK_X".into()).is_terminal());
    }
}
