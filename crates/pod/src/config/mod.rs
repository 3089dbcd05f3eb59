//! The operator's config file (SPEC §9): YAML, nested or dotted keys, dce-go key names where
//! dce-go had one, then task-label overrides `config.<key>=<value>`.

mod keys;
mod value;

use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;

pub use keys::{config_keys, find_key, ConfigKey};
pub use value::{parse_duration, RawValue};

use crate::error::PodError;
use crate::plugin::HookPoint;

/// The system-wide config file, read when neither `--config` nor the sandbox has one.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/dce/config.yaml";

/// Name of the config file looked for in `$MESOS_SANDBOX`.
pub const SANDBOX_CONFIG_NAME: &str = "config.yaml";

/// Task-label prefix of a config override (`config.launchtask.timeout=60s`).
pub const TASK_LABEL_PREFIX: &str = "config.";

/// Every setting dce reads from its config, typed. `Default` is the documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// `launchtask.timeout`.
    pub launch_timeout: Duration,
    /// `launchtask.pullretry`.
    pub pull_retry: u32,
    /// `launchtask.skippull`.
    pub skip_pull: bool,
    /// `cleanpod.timeout`: kill grace when no kill policy says otherwise.
    pub kill_grace: Duration,
    /// `cleanpod.cleanvolumeandcontaineronmesoskill`.
    pub remove_containers_and_volumes: bool,
    /// `cleanpod.removenamedvolumes`.
    pub remove_named_volumes: bool,
    /// `infracontainer.image`; `None`: dce builds its own infra image.
    pub infra_image: Option<String>,
    /// `infracontainer.networks.*`.
    pub infra_network: InfraNetworkConfig,
    /// `network.mode`.
    pub network_mode: PodNetworking,
    /// `cgroup.parent`.
    pub cgroup_parent: CgroupParentPolicy,
    /// `policy.*`.
    pub admission: AdmissionConfig,
    /// `plugins.pluginorder`.
    pub plugin_order: Vec<String>,
    /// `plugins.exec.<name>.*`, in file order.
    pub exec_hooks: IndexMap<String, ExecHookConfig>,
    /// `yaml.maxbytes`.
    pub yaml_max_bytes: u64,
    /// `yaml.maxnodes`.
    pub yaml_max_nodes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            launch_timeout: Duration::from_secs(500),
            pull_retry: 3,
            skip_pull: false,
            kill_grace: Duration::from_secs(10),
            remove_containers_and_volumes: true,
            remove_named_volumes: false,
            infra_image: None,
            infra_network: InfraNetworkConfig::default(),
            network_mode: PodNetworking::Shared,
            cgroup_parent: CgroupParentPolicy::Auto,
            admission: AdmissionConfig::default(),
            plugin_order: vec![crate::plugin::GENERAL_PLUGIN.to_string()],
            exec_hooks: IndexMap::new(),
            yaml_max_bytes: 4 << 20,
            yaml_max_nodes: 1_000_000,
        }
    }
}

/// The network the infra container joins (`infracontainer.networks.*`, dce-go's keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InfraNetworkConfig {
    /// Join `name` (created by the operator) instead of creating a per-pod network.
    pub pre_existing: bool,
    /// The pre-existing network's name.
    pub name: Option<String>,
    /// Driver of the per-pod network.
    pub driver: String,
}

impl Default for InfraNetworkConfig {
    fn default() -> Self {
        InfraNetworkConfig {
            pre_existing: false,
            name: None,
            driver: "bridge".to_string(),
        }
    }
}

/// How a pod is networked when the compose files do not say (`x-dce.network`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PodNetworking {
    /// One network namespace owned by the infra container (dce-go parity).
    Shared,
    /// Compose networking: each service its own IP on per-pod networks.
    Compose,
}

impl PodNetworking {
    /// Parses `shared` or `compose`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "shared" => Ok(PodNetworking::Shared),
            "compose" => Ok(PodNetworking::Compose),
            _ => Err(format!(
                "`{text}` is not a pod networking mode (shared or compose)"
            )),
        }
    }
}

/// Whether containers are put under the executor's cgroup (SPEC §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupParentPolicy {
    /// Use the executor's cgroup when it is usable; otherwise log why not and carry on.
    Auto,
    /// Never set a cgroup parent.
    Off,
    /// Fail the task when the executor's cgroup is not usable.
    Required,
}

impl CgroupParentPolicy {
    /// Parses `auto`, `off` or `required`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(CgroupParentPolicy::Auto),
            "off" => Ok(CgroupParentPolicy::Off),
            "required" => Ok(CgroupParentPolicy::Required),
            _ => Err(format!(
                "`{text}` is not a cgroup parent policy (auto, off or required)"
            )),
        }
    }
}

/// The admission policy settings (SPEC §10).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AdmissionConfig {
    /// `policy.mode`.
    pub mode: AdmissionMode,
    /// `policy.allowhostnetwork`.
    pub allow_host_network: bool,
    /// `policy.bindmountallowlist`.
    pub bind_mount_allow_list: Vec<PathBuf>,
}

/// Which admission policy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdmissionMode {
    /// Like Kubernetes' Pod Security baseline.
    #[default]
    Baseline,
    /// Allow everything.
    Privileged,
}

impl AdmissionMode {
    /// Parses `baseline` or `privileged`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "baseline" => Ok(AdmissionMode::Baseline),
            "privileged" => Ok(AdmissionMode::Privileged),
            _ => Err(format!(
                "`{text}` is not an admission policy (baseline or privileged)"
            )),
        }
    }

    /// The name used in config and messages.
    pub fn name(self) -> &'static str {
        match self {
            AdmissionMode::Baseline => "baseline",
            AdmissionMode::Privileged => "privileged",
        }
    }
}

/// An external program run at hook points (`plugins.exec.<name>.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecHookConfig {
    /// Absolute path of the program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Kill the program after this long.
    pub timeout: Duration,
    /// What a failing program means for the task.
    pub failure: FailurePolicy,
    /// Hook points at which it runs.
    pub hooks: Vec<HookPoint>,
}

impl Default for ExecHookConfig {
    fn default() -> Self {
        ExecHookConfig {
            program: String::new(),
            args: Vec::new(),
            timeout: Duration::from_secs(10),
            failure: FailurePolicy::Fail,
            hooks: vec![HookPoint::PrePull],
        }
    }
}

/// What a failing exec hook does to the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// The hook's failure fails the task (at hook points that can fail it).
    Fail,
    /// The failure is logged and the task carries on.
    Ignore,
}

impl FailurePolicy {
    /// Parses `fail` or `ignore`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "fail" => Ok(FailurePolicy::Fail),
            "ignore" => Ok(FailurePolicy::Ignore),
            _ => Err(format!("`{text}` is not a failure policy (fail or ignore)")),
        }
    }
}

impl Config {
    /// Reads the first config file of: `explicit` (must exist), `<mesos_sandbox>/config.yaml`,
    /// [`SYSTEM_CONFIG_PATH`]; the defaults when none exists. Returns the file used, if any.
    pub fn load(
        explicit: Option<&Path>,
        mesos_sandbox: Option<&Path>,
    ) -> Result<(Config, Option<PathBuf>), PodError> {
        match locate_config_file(explicit, mesos_sandbox, Path::new(SYSTEM_CONFIG_PATH)) {
            Some(path) => Ok((Config::from_file(&path)?, Some(path))),
            None => Ok((Config::default(), None)),
        }
    }

    /// Reads one config file.
    pub fn from_file(path: &Path) -> Result<Config, PodError> {
        let text = std::fs::read_to_string(path).map_err(|e| PodError::ConfigFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Config::from_yaml(&text, &path.display().to_string())
    }

    /// Parses config YAML; `origin` names the source in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Config, PodError> {
        let document: yaml_serde::Value =
            yaml_serde::from_str(text).map_err(|e| PodError::ConfigFile {
                path: PathBuf::from(origin),
                message: e.to_string(),
            })?;
        let mut entries = Vec::new();
        match document {
            yaml_serde::Value::Null => {}
            yaml_serde::Value::Mapping(map) => {
                flatten(&map, "", &mut entries).map_err(|(key, message)| PodError::ConfigKey {
                    origin: origin.to_string(),
                    key,
                    message,
                })?
            }
            _ => {
                return Err(PodError::ConfigFile {
                    path: PathBuf::from(origin),
                    message: "the top level must be a mapping of keys".to_string(),
                })
            }
        }
        let mut config = Config::default();
        for (key, value) in &entries {
            config.set(key, value, origin, false)?;
        }
        config.validate(origin)?;
        Ok(config)
    }

    /// Applies task labels `config.<key>=<value>` (also with a prefix ending in `.config.`, as
    /// Aurora writes metadata keys). Unknown keys and operator-only keys are errors.
    pub fn apply_task_labels<'a>(
        &mut self,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), PodError> {
        for (label, value) in labels {
            let Some(key) = override_key(label) else {
                continue;
            };
            let origin = format!("task label `{label}`");
            self.set(key, &RawValue::Scalar(value.to_string()), &origin, true)?;
        }
        self.validate("task labels")
    }

    fn set(
        &mut self,
        key: &str,
        value: &RawValue,
        origin: &str,
        from_task: bool,
    ) -> Result<(), PodError> {
        let lower = key.to_ascii_lowercase();
        let error = |message: String| PodError::ConfigKey {
            origin: origin.to_string(),
            key: key.to_string(),
            message,
        };
        let (spec, wildcard) = find_key(&lower).ok_or_else(|| error("unknown key".to_string()))?;
        if from_task && !spec.task_override {
            return Err(error(
                "set by the operator only; a task label cannot override it".to_string(),
            ));
        }
        spec.apply(self, wildcard, value).map_err(error)
    }

    fn validate(&self, origin: &str) -> Result<(), PodError> {
        let error = |key: String, message: &str| PodError::ConfigKey {
            origin: origin.to_string(),
            key,
            message: message.to_string(),
        };
        if self.infra_network.pre_existing && self.infra_network.name.is_none() {
            return Err(error(
                "infracontainer.networks.name".to_string(),
                "required when infracontainer.networks.pre_existing is true",
            ));
        }
        for (name, hook) in &self.exec_hooks {
            if !hook.program.starts_with('/') {
                return Err(error(
                    format!("plugins.exec.{name}.program"),
                    "required, and must be an absolute path",
                ));
            }
        }
        Ok(())
    }
}

/// The config key of a task label, when it is an override.
fn override_key(label: &str) -> Option<&str> {
    if let Some(key) = label.strip_prefix(TASK_LABEL_PREFIX) {
        return Some(key);
    }
    label
        .find(".config.")
        .map(|at| &label[at + ".config.".len()..])
}

/// The key table as Markdown (`| key | default | task label | meaning |`), so documentation is
/// generated from, or checked against, the same table the parser uses.
pub fn reference_markdown() -> String {
    let mut text =
        String::from("| key | default | task label override | meaning |\n|---|---|---|---|\n");
    for key in config_keys() {
        let default = if key.default.is_empty() {
            "(unset)".to_string()
        } else {
            format!("`{}`", key.default)
        };
        let override_ = if key.task_override { "yes" } else { "no" };
        text.push_str(&format!(
            "| `{}` | {default} | {override_} | {} |\n",
            key.name, key.meaning
        ));
    }
    text
}

/// The first config file that exists: `explicit` is returned even when missing, so that reading
/// it reports the error rather than silently falling back.
pub fn locate_config_file(
    explicit: Option<&Path>,
    mesos_sandbox: Option<&Path>,
    system: &Path,
) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let sandbox = mesos_sandbox.map(|dir| dir.join(SANDBOX_CONFIG_NAME));
    sandbox
        .into_iter()
        .chain(std::iter::once(system.to_path_buf()))
        .find(|path| path.is_file())
}

/// Turns nested mappings into dotted keys with scalar or list-of-scalar leaves.
fn flatten(
    map: &yaml_serde::Mapping,
    prefix: &str,
    out: &mut Vec<(String, RawValue)>,
) -> Result<(), (String, String)> {
    for (key, value) in map {
        let name = match key {
            yaml_serde::Value::String(s) => s.clone(),
            other => scalar_text(other)
                .ok_or_else(|| (prefix.to_string(), "keys must be strings".to_string()))?,
        };
        let full = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            yaml_serde::Value::Mapping(inner) => flatten(inner, &full, out)?,
            yaml_serde::Value::Sequence(items) => {
                let texts = items
                    .iter()
                    .map(scalar_text)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| (full.clone(), "list items must be scalars".to_string()))?;
                out.push((full, RawValue::List(texts)));
            }
            other => {
                let text = scalar_text(other)
                    .ok_or_else(|| (full.clone(), "unsupported value".to_string()))?;
                out.push((full, RawValue::Scalar(text)));
            }
        }
    }
    Ok(())
}

fn scalar_text(value: &yaml_serde::Value) -> Option<String> {
    match value {
        yaml_serde::Value::Null => Some(String::new()),
        yaml_serde::Value::Bool(b) => Some(b.to_string()),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        yaml_serde::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
