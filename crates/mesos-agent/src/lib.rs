//! A faithful stand-in for the agent side of the Mesos v1 executor API
//! (`shared/ref/mesos-executor-api.md` §2, §5–§8), used by the executor's tests and by
//! `dce up`.
//!
//! [`Agent::start`] serves `POST /api/v1/executor` (and `/slave(1)/api/v1/executor`, also on an
//! optional Unix socket) with the real agent's request checks, status codes and messages;
//! SUBSCRIBE gets a RecordIO event stream. The driver API acts as the scheduler (launch, kill,
//! shutdown, messages), injects faults (ACK policies, chunking, raw bytes, dropped connections,
//! stalls, restarts) and exposes a journal of every update, request, subscription and event.
//! [`Agent::launch_executor`] runs an executor binary like the Mesos containerizer: the §1
//! environment, a sandbox, its own process group, optional cgroups.
//!
//! ```no_run
//! use std::time::Duration;
//! use mesos_agent::{Agent, AgentConfig, ExecutorLaunch, TaskBuilder};
//!
//! # async fn demo() -> Result<(), mesos_agent::AgentError> {
//! let agent = Agent::start(AgentConfig::default()).await?;
//! agent.launch(TaskBuilder::new("web").ports(&[(31000, 31009)]).build()); // queued
//! let executor = agent.launch_executor(ExecutorLaunch::new("/usr/bin/dce")).await?;
//! let running = agent
//!     .wait_for_update("web", Duration::from_secs(60), |u| u.state().as_str() == "TASK_RUNNING")
//!     .await?;
//! println!("{:?}", running.status);
//! agent.kill("web", None);
//! executor.wait(Duration::from_secs(60)).await?;
//! # Ok(())
//! # }
//! ```

mod agent;
mod cgroup;
mod config;
mod env;
mod error;
mod handler;
mod journal;
mod process;
mod request;
mod restart;
mod schema;
mod server;
mod shared;
mod state;
mod stream;
mod task;

pub use agent::Agent;
pub use cgroup::CgroupPlacement;
pub use config::{AckPolicy, AgentConfig};
pub use env::stout_duration;
pub use error::AgentError;
pub use journal::{
    Disposition, RequestRecord, SentEvent, SubscriptionRecord, UpdateOrigin, UpdateRecord,
};
pub use process::{ExecutorExit, ExecutorLaunch, ExecutorProcess};
pub use restart::RestartPlan;
pub use server::Transport;
pub use state::{ExecutorPhase, RecoveryPhase};
pub use stream::ChunkMode;
pub use task::TaskBuilder;
