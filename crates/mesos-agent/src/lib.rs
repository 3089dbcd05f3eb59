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
pub use cgroup::{CgroupPlacement, ContainerCgroup};
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
