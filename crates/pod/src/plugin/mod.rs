//! Plugins: the dce-go hook points as a Rust trait, run in `plugins.pluginorder`.
//!
//! `general` (the built-in rewrite) is one of them; `exec` hooks configured in the file are
//! others, so operators extend dce without recompiling.

mod exec;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::context::TaskContext;
use crate::error::PodError;
use crate::plan::PodPlan;

pub use exec::{ExecHook, HookRequest};

/// Name of the built-in rewrite plugin in `plugins.pluginorder`.
pub const GENERAL_PLUGIN: &str = "general";

/// The points at which plugins run (dce-go's ComposePlugin methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookPoint {
    /// Before images are pulled: the plan may still change (dce-go LaunchTaskPreImagePull).
    PrePull,
    /// After the pull, before anything is created (LaunchTaskPostImagePull).
    PostPull,
    /// After the pod is running (PostLaunchTask); a failure fails the task.
    PostLaunch,
    /// Before the pod is stopped (PreKillTask); failures are logged.
    PreKill,
    /// After the pod is removed (PostKillTask); failures are logged.
    PostKill,
    /// On every status update sent for the task.
    OnStatus,
    /// When the executor shuts down.
    Shutdown,
}

impl HookPoint {
    /// Every hook point, in lifecycle order.
    pub const ALL: [HookPoint; 7] = [
        HookPoint::PrePull,
        HookPoint::PostPull,
        HookPoint::PostLaunch,
        HookPoint::PreKill,
        HookPoint::PostKill,
        HookPoint::OnStatus,
        HookPoint::Shutdown,
    ];

    /// The config and JSON spelling (`pre_pull`).
    pub fn name(self) -> &'static str {
        match self {
            HookPoint::PrePull => "pre_pull",
            HookPoint::PostPull => "post_pull",
            HookPoint::PostLaunch => "post_launch",
            HookPoint::PreKill => "pre_kill",
            HookPoint::PostKill => "post_kill",
            HookPoint::OnStatus => "on_status",
            HookPoint::Shutdown => "shutdown",
        }
    }

    /// Parses the config spelling.
    pub fn parse(text: &str) -> Result<HookPoint, String> {
        HookPoint::ALL
            .into_iter()
            .find(|h| h.name() == text)
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a hook point ({})",
                    HookPoint::ALL.map(HookPoint::name).join(", ")
                )
            })
    }

    /// Whether plugins may change the plan at this point.
    pub fn may_change_plan(self) -> bool {
        matches!(self, HookPoint::PrePull | HookPoint::PostPull)
    }
}

/// A status update as plugins see it (no Mesos wire types here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusNote {
    /// Mesos state name, e.g. `TASK_RUNNING`.
    pub state: String,
    /// The update's message.
    pub message: String,
}

/// A plugin: every hook has a no-op default, so a plugin implements only what it needs.
pub trait Plugin: Send + Sync {
    /// Name used in `plugins.pluginorder` and in errors.
    fn name(&self) -> &str;

    /// Before the pull; may rewrite the plan.
    fn pre_pull(&self, _plan: &mut PodPlan, _task: &TaskContext) -> Result<(), PodError> {
        Ok(())
    }

    /// After the pull; may still rewrite the plan.
    fn post_pull(&self, _plan: &mut PodPlan, _task: &TaskContext) -> Result<(), PodError> {
        Ok(())
    }

    /// After the pod runs; an error fails the task.
    fn post_launch(&self, _plan: &PodPlan, _task: &TaskContext) -> Result<(), PodError> {
        Ok(())
    }

    /// Before the pod is stopped.
    fn pre_kill(&self, _plan: &PodPlan, _task: &TaskContext) -> Result<(), PodError> {
        Ok(())
    }

    /// After the pod is removed.
    fn post_kill(&self, _plan: &PodPlan, _task: &TaskContext) -> Result<(), PodError> {
        Ok(())
    }

    /// On every status update of the task.
    fn on_status(
        &self,
        _plan: &PodPlan,
        _task: &TaskContext,
        _status: &StatusNote,
    ) -> Result<(), PodError> {
        Ok(())
    }

    /// When the executor shuts down.
    fn shutdown(&self, _task: &TaskContext) -> Result<(), PodError> {
        Ok(())
    }
}

/// The plugins of a task in `plugins.pluginorder`.
pub struct PluginChain {
    plugins: Vec<Box<dyn Plugin>>,
}

impl std::fmt::Debug for PluginChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.plugins.iter().map(|p| p.name()))
            .finish()
    }
}

impl PluginChain {
    /// The chain for `config`: `general`, exec hooks (`plugins.exec.<name>`) and the
    /// compiled-in `extra` plugins, in `plugins.pluginorder`. Unknown names are errors; so are a
    /// missing `general` (the runtime needs the rewrite) and an exec hook not in the order.
    pub fn from_config(config: &Config, extra: Vec<Box<dyn Plugin>>) -> Result<Self, PodError> {
        let mut extra: Vec<Option<Box<dyn Plugin>>> = extra.into_iter().map(Some).collect();
        let mut plugins: Vec<Box<dyn Plugin>> = Vec::new();
        for name in &config.plugin_order {
            if plugins.iter().any(|p| p.name() == name) {
                return Err(order_error(format!("`{name}` is listed twice")));
            }
            let plugin: Box<dyn Plugin> = if name == GENERAL_PLUGIN {
                Box::new(crate::general::GeneralPlugin)
            } else if let Some(hook) = config.exec_hooks.get(name) {
                Box::new(ExecHook::new(name, hook.clone()))
            } else if let Some(slot) = extra
                .iter_mut()
                .find(|p| p.as_ref().is_some_and(|p| p.name() == name))
            {
                slot.take()
                    .ok_or_else(|| order_error(format!("`{name}` is listed twice")))?
            } else {
                let mut known = vec![GENERAL_PLUGIN.to_string()];
                known.extend(config.exec_hooks.keys().cloned());
                known.extend(extra.iter().flatten().map(|p| p.name().to_string()));
                return Err(PodError::UnknownPlugin {
                    name: name.clone(),
                    known: known.join(", "),
                });
            };
            plugins.push(plugin);
        }
        if !plugins.iter().any(|p| p.name() == GENERAL_PLUGIN) {
            return Err(order_error(format!(
                "must include `{GENERAL_PLUGIN}`, the rewrite the runtime relies on"
            )));
        }
        if let Some(name) = config
            .exec_hooks
            .keys()
            .find(|name| !config.plugin_order.contains(name))
        {
            return Err(order_error(format!(
                "exec hook `{name}` is configured but not listed"
            )));
        }
        Ok(PluginChain { plugins })
    }

    /// Names in run order.
    pub fn names(&self) -> Vec<&str> {
        self.plugins.iter().map(|p| p.name()).collect()
    }

    /// Runs every plugin's `pre_pull`; the first error stops the chain.
    pub fn pre_pull(&self, plan: &mut PodPlan, task: &TaskContext) -> Result<(), PodError> {
        self.plugins.iter().try_for_each(|p| p.pre_pull(plan, task))
    }

    /// Runs every plugin's `post_pull`; the first error stops the chain.
    pub fn post_pull(&self, plan: &mut PodPlan, task: &TaskContext) -> Result<(), PodError> {
        self.plugins
            .iter()
            .try_for_each(|p| p.post_pull(plan, task))
    }

    /// Runs every plugin's `post_launch`; the first error stops the chain (and fails the task).
    pub fn post_launch(&self, plan: &PodPlan, task: &TaskContext) -> Result<(), PodError> {
        self.plugins
            .iter()
            .try_for_each(|p| p.post_launch(plan, task))
    }

    /// Runs every plugin's `pre_kill`; all run, errors are returned for logging.
    pub fn pre_kill(&self, plan: &PodPlan, task: &TaskContext) -> Vec<PodError> {
        self.collect(|p| p.pre_kill(plan, task))
    }

    /// Runs every plugin's `post_kill`; all run, errors are returned for logging.
    pub fn post_kill(&self, plan: &PodPlan, task: &TaskContext) -> Vec<PodError> {
        self.collect(|p| p.post_kill(plan, task))
    }

    /// Runs every plugin's `on_status`; all run, errors are returned for logging.
    pub fn on_status(
        &self,
        plan: &PodPlan,
        task: &TaskContext,
        status: &StatusNote,
    ) -> Vec<PodError> {
        self.collect(|p| p.on_status(plan, task, status))
    }

    /// Runs every plugin's `shutdown`; all run, errors are returned for logging.
    pub fn shutdown(&self, task: &TaskContext) -> Vec<PodError> {
        self.collect(|p| p.shutdown(task))
    }

    fn collect(&self, run: impl Fn(&dyn Plugin) -> Result<(), PodError>) -> Vec<PodError> {
        self.plugins
            .iter()
            .filter_map(|p| run(p.as_ref()).err())
            .collect()
    }
}

fn order_error(message: String) -> PodError {
    PodError::ConfigKey {
        origin: "plugins".to_string(),
        key: "plugins.pluginorder".to_string(),
        message,
    }
}

#[cfg(test)]
mod tests;
