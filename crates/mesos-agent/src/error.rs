//! Errors of the agent stand-in's driver API.

use std::path::PathBuf;
use std::time::Duration;

/// Why a driver operation of the stand-in failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The HTTP listener could not be bound.
    #[error("cannot listen on {what}: {source}")]
    Listen {
        /// The address or socket path.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox directory could not be prepared.
    #[error("cannot prepare sandbox {path}: {source}")]
    Sandbox {
        /// The directory or file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A cgroup directory could not be created or joined.
    #[error("cgroup {path}: {source}")]
    Cgroup {
        /// The cgroup path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The executor binary could not be started.
    #[error("cannot start executor {binary}: {source}")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An executor is already running under this agent (one executor per stand-in).
    #[error("an executor is already running under this agent")]
    ExecutorRunning,
    /// A bounded wait ran out.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The bound.
        timeout: Duration,
    },
}
