//! Id wrappers: Mesos writes every id as an object `{"value": "..."}`.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! mesos_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name {
            /// The id text.
            pub value: String,
        }

        impl $name {
            /// Wraps an id text.
            pub fn new(value: impl Into<String>) -> Self {
                Self { value: value.into() }
            }

            /// The id text.
            pub fn as_str(&self) -> &str {
                &self.value
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }
    };
}

mesos_id!(
    /// `mesos.v1.TaskID`: names one task within a framework.
    TaskId
);
mesos_id!(
    /// `mesos.v1.ExecutorID`: this executor within its framework (`MESOS_EXECUTOR_ID`).
    ExecutorId
);
mesos_id!(
    /// `mesos.v1.FrameworkID` (`MESOS_FRAMEWORK_ID`).
    FrameworkId
);
mesos_id!(
    /// `mesos.v1.AgentID`: the agent the executor runs on.
    AgentId
);

/// `mesos.v1.ContainerID`: the executor's container; nested containers carry their parent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContainerId {
    /// The id text.
    pub value: String,
    /// The enclosing container, for nested containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Box<ContainerId>>,
}

impl ContainerId {
    /// A top-level container id.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            parent: None,
        }
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = &self.parent {
            write!(f, "{parent}.")?;
        }
        f.write_str(&self.value)
    }
}
