//! The executor side of the Mesos v1 HTTP Executor API (see `shared/ref/mesos-executor-api.md`):
//! message types in Mesos' JSON encoding, the RecordIO codec, the executor environment and the
//! subscription session (subscribe, resubscribe with unacknowledged updates, back-off, recovery
//! timeout, acknowledgement bookkeeping).

#![warn(missing_docs)]

pub mod duration;
pub mod env;
pub mod recordio;
pub mod session;
pub mod types;

pub use duration::{parse_duration, DurationError};
pub use env::{AuthToken, EnvError, ExecutorEnv};
pub use session::{Session, SessionEvent};
pub use types::*;
