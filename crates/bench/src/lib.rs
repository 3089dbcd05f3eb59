//! `dce-bench`: dce against `docker-compose` v1 and v2 and the direct Engine API floor, side by
//! side on one machine (SPEC §11): pod launch and teardown, failure detection, the executor's
//! memory and CPU, and density. The library holds the measurements; `src/main.rs` runs them
//! and prints the report. [`floor`] is also used by the `docker` crate's runtime benchmark.

pub mod cleanup;
pub mod clock;
pub mod compose_cli;
pub mod dce_task;
pub mod density;
pub mod error;
pub mod failure;
pub mod floor;
pub mod footprint;
pub mod launch;
pub mod machine;
pub mod pod_spec;
pub mod report;
pub mod stats;

pub use error::BenchError;
