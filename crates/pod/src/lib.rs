//! `Project` + task context → `PodPlan`: the plugin chain, the `general` rewrite, port
//! allocation and the admission policy (SPEC §3, §9, §10).
//!
//! Pure: no Docker, no Mesos wire format; the only I/O is reading the config file, `/proc` for
//! the executor's identity, and running operator-configured exec hooks.

pub mod cgroup;
pub mod config;
pub mod context;
mod error;
pub mod general;
pub mod labels;
pub mod naming;
pub mod plan;
pub mod plugin;
pub mod policy;
pub mod ports;

pub use config::Config;
pub use context::TaskContext;
pub use error::{ErrorReason, PodError};
pub use plan::PodPlan;
pub use plugin::{Plugin, PluginChain};

/// Plans a pod: the admission policy first (so that a denied pod is reported as such), then
/// every plugin's `pre_pull` in order, `general` rewriting the project.
pub fn plan_pod(
    project: compose::Project,
    task: &TaskContext,
    chain: &PluginChain,
) -> Result<PodPlan, PodError> {
    policy::admit(&project, &task.config.admission, &task.sandbox)?;
    let mut plan = PodPlan::unrewritten(project, task);
    chain.pre_pull(&mut plan, task)?;
    Ok(plan)
}
