//! What can stop a benchmark run.

/// A failed step of the benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The Docker engine refused a call.
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    /// The agent stand-in failed (start, executor launch, a wait that timed out).
    #[error("agent stand-in: {0}")]
    Agent(#[from] mesos_agent::AgentError),
    /// A local file or process could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An external command (compose, cargo, pip) failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status and the end of its stderr.
        detail: String,
    },
    /// A measured run did not end in the expected state.
    #[error("{0}")]
    Check(String),
}

impl BenchError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> BenchError {
        BenchError::Io {
            what: what.into(),
            source,
        }
    }
}
