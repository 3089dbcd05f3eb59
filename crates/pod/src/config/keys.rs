//! The table of every config key: name, default, meaning, and how it lands in [`Config`].
//!
//! It is the single source for parsing, for task-label overrides and for documentation, so the
//! three can never disagree.

use std::path::PathBuf;

use super::value::{
    parse_bool, parse_duration_value, parse_optional_text, parse_text, parse_u64, RawValue,
};
use super::{
    AdmissionMode, CgroupParentPolicy, Config, ExecHookConfig, FailurePolicy, PodNetworking,
};
use crate::plugin::HookPoint;

/// Applies one value to a config; the `&str` is the `*` segment of a pattern key (else empty).
type Apply = fn(&mut Config, &str, &RawValue) -> Result<(), String>;

/// One config key.
pub struct ConfigKey {
    /// Dotted name; `*` stands for one name segment chosen by the operator (an exec hook name).
    pub name: &'static str,
    /// The default in config-file syntax; empty means "not set".
    pub default: &'static str,
    /// What the key controls.
    pub meaning: &'static str,
    /// Whether a task label `config.<name>=<value>` may change it. Keys that decide security or
    /// cleanup (admission policy, cgroup parent, hooks, infra image) belong to the operator.
    pub task_override: bool,
    apply: Apply,
}

impl ConfigKey {
    /// Whether `key` (lowercase, dotted) is this key; returns the `*` segment on a match.
    pub fn matches<'k>(&self, key: &'k str) -> Option<&'k str> {
        let mut wildcard = "";
        let mut parts = key.split('.');
        for pattern in self.name.split('.') {
            let part = parts.next()?;
            if pattern == "*" {
                if part.is_empty() {
                    return None;
                }
                wildcard = part;
            } else if pattern != part {
                return None;
            }
        }
        parts.next().is_none().then_some(wildcard)
    }

    /// Sets this key on `config`.
    pub fn apply(
        &self,
        config: &mut Config,
        wildcard: &str,
        value: &RawValue,
    ) -> Result<(), String> {
        (self.apply)(config, wildcard, value)
    }
}

/// Every key dce reads, in documentation order.
pub fn config_keys() -> &'static [ConfigKey] {
    KEYS
}

/// The key named `key` (lowercase dotted) and its `*` segment, if any.
pub fn find_key(key: &str) -> Option<(&'static ConfigKey, &str)> {
    KEYS.iter()
        .find_map(|spec| spec.matches(key).map(|w| (spec, w)))
}

fn set<T>(slot: &mut T, value: Result<T, String>) -> Result<(), String> {
    *slot = value?;
    Ok(())
}

fn exec_hook<'c>(config: &'c mut Config, name: &str) -> &'c mut ExecHookConfig {
    config.exec_hooks.entry(name.to_string()).or_default()
}

static KEYS: &[ConfigKey] = &[
    ConfigKey {
        name: "launchtask.timeout",
        default: "500s",
        meaning: "Launch deadline: a pod not running (and healthy) by then fails with TASK_FAILED.",
        task_override: true,
        apply: |c, _, v| set(&mut c.launch_timeout, parse_duration_value(v)),
    },
    ConfigKey {
        name: "launchtask.pullretry",
        default: "3",
        meaning: "Pull attempts per image (exponential back-off with jitter between them).",
        task_override: true,
        apply: |c, _, v| {
            let n = parse_u64(v)?;
            c.pull_retry = u32::try_from(n).map_err(|_| format!("`{n}` is too large"))?;
            Ok(())
        },
    },
    ConfigKey {
        name: "launchtask.skippull",
        default: "false",
        meaning: "Never pull images; every image must already be present on the engine.",
        task_override: true,
        apply: |c, _, v| set(&mut c.skip_pull, parse_bool(v)),
    },
    ConfigKey {
        name: "cleanpod.timeout",
        default: "10s",
        meaning: "Kill grace period when neither the KILL nor the task carries a kill policy.",
        task_override: true,
        apply: |c, _, v| set(&mut c.kill_grace, parse_duration_value(v)),
    },
    ConfigKey {
        name: "cleanpod.cleanvolumeandcontaineronmesoskill",
        default: "true",
        meaning: "Remove the pod's containers and anonymous volumes when the task ends.",
        task_override: false,
        apply: |c, _, v| set(&mut c.remove_containers_and_volumes, parse_bool(v)),
    },
    ConfigKey {
        name: "cleanpod.removenamedvolumes",
        default: "false",
        meaning: "Also remove the pod's named (top-level `volumes:`) volumes when the task ends.",
        task_override: true,
        apply: |c, _, v| set(&mut c.remove_named_volumes, parse_bool(v)),
    },
    ConfigKey {
        name: "infracontainer.image",
        default: "",
        meaning: "Image of the infra container; empty: dce builds its own from its binary (`dce pause`).",
        task_override: false,
        apply: |c, _, v| set(&mut c.infra_image, parse_optional_text(v)),
    },
    ConfigKey {
        name: "infracontainer.networks.pre_existing",
        default: "false",
        meaning: "Join the existing network `infracontainer.networks.name` instead of creating a per-pod network.",
        task_override: false,
        apply: |c, _, v| set(&mut c.infra_network.pre_existing, parse_bool(v)),
    },
    ConfigKey {
        name: "infracontainer.networks.name",
        default: "",
        meaning: "Name of the pre-existing network to join (required when pre_existing is true).",
        task_override: false,
        apply: |c, _, v| set(&mut c.infra_network.name, parse_optional_text(v)),
    },
    ConfigKey {
        name: "infracontainer.networks.driver",
        default: "bridge",
        meaning: "Driver of the per-pod network dce creates.",
        task_override: false,
        apply: |c, _, v| set(&mut c.infra_network.driver, parse_text(v)),
    },
    ConfigKey {
        name: "network.mode",
        default: "shared",
        meaning: "Pod networking when the compose files set no `x-dce.network`: `shared` (one namespace owned by an infra container) or `compose` (compose networking).",
        task_override: true,
        apply: |c, _, v| set(&mut c.network_mode, PodNetworking::parse(v.scalar()?)),
    },
    ConfigKey {
        name: "cgroup.parent",
        default: "auto",
        meaning: "Put containers under the executor's cgroup: `auto` (when usable, else log why not), `off`, or `required` (fail the task when unusable).",
        task_override: false,
        apply: |c, _, v| set(&mut c.cgroup_parent, CgroupParentPolicy::parse(v.scalar()?)),
    },
    ConfigKey {
        name: "policy.mode",
        default: "baseline",
        meaning: "Admission policy: `baseline` (deny host access and privilege escalation) or `privileged` (allow everything).",
        task_override: false,
        apply: |c, _, v| set(&mut c.admission.mode, AdmissionMode::parse(v.scalar()?)),
    },
    ConfigKey {
        name: "policy.allowhostnetwork",
        default: "false",
        meaning: "Under `baseline`, allow `network_mode: host`.",
        task_override: false,
        apply: |c, _, v| set(&mut c.admission.allow_host_network, parse_bool(v)),
    },
    ConfigKey {
        name: "policy.bindmountallowlist",
        default: "",
        meaning: "Under `baseline`, absolute host paths under which bind mounts outside the sandbox are allowed.",
        task_override: false,
        apply: |c, _, v| {
            let mut paths = Vec::new();
            for item in v.list() {
                if !item.starts_with('/') {
                    return Err(format!("`{item}` is not an absolute path"));
                }
                paths.push(PathBuf::from(item));
            }
            c.admission.bind_mount_allow_list = paths;
            Ok(())
        },
    },
    ConfigKey {
        name: "plugins.pluginorder",
        default: "general",
        meaning: "Comma-separated plugin order; `general` (the built-in rewrite) must be one of them, exec hooks are named by their key.",
        task_override: false,
        apply: |c, _, v| set(&mut c.plugin_order, Ok(v.list())),
    },
    ConfigKey {
        name: "plugins.exec.*.program",
        default: "",
        meaning: "Exec hook `*`: absolute path of the program; it gets JSON `{hook, plan, task}` on stdin and may print a modified plan.",
        task_override: false,
        apply: |c, name, v| set(&mut exec_hook(c, name).program, parse_text(v)),
    },
    ConfigKey {
        name: "plugins.exec.*.args",
        default: "",
        meaning: "Exec hook `*`: arguments of the program.",
        task_override: false,
        apply: |c, name, v| set(&mut exec_hook(c, name).args, Ok(v.list())),
    },
    ConfigKey {
        name: "plugins.exec.*.timeout",
        default: "10s",
        meaning: "Exec hook `*`: the program is killed after this long.",
        task_override: false,
        apply: |c, name, v| set(&mut exec_hook(c, name).timeout, parse_duration_value(v)),
    },
    ConfigKey {
        name: "plugins.exec.*.failure",
        default: "fail",
        meaning: "Exec hook `*`: `fail` (a failing program fails the task) or `ignore` (log and carry on).",
        task_override: false,
        apply: |c, name, v| set(&mut exec_hook(c, name).failure, FailurePolicy::parse(v.scalar()?)),
    },
    ConfigKey {
        name: "plugins.exec.*.hooks",
        default: "pre_pull",
        meaning: "Exec hook `*`: hook points it runs at (pre_pull, post_pull, post_launch, pre_kill, post_kill, on_status, shutdown).",
        task_override: false,
        apply: |c, name, v| {
            let points = v
                .list()
                .iter()
                .map(|p| HookPoint::parse(p))
                .collect::<Result<Vec<_>, _>>()?;
            exec_hook(c, name).hooks = points;
            Ok(())
        },
    },
    ConfigKey {
        name: "yaml.maxbytes",
        default: "4194304",
        meaning: "Largest compose file (or TaskInfo.data document) accepted, in bytes.",
        task_override: false,
        apply: |c, _, v| set(&mut c.yaml_max_bytes, parse_u64(v)),
    },
    ConfigKey {
        name: "yaml.maxnodes",
        default: "1000000",
        meaning: "Most YAML nodes accepted in one document after alias expansion (no billion laughs).",
        task_override: false,
        apply: |c, _, v| set(&mut c.yaml_max_nodes, parse_u64(v)),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_keys_capture_their_name() {
        let (key, name) = find_key("plugins.exec.audit.timeout").unwrap();
        assert_eq!(key.name, "plugins.exec.*.timeout");
        assert_eq!(name, "audit");
        assert!(find_key("plugins.exec..timeout").is_none());
        assert!(find_key("plugins.exec.timeout").is_none());
        assert!(find_key("launchtask.timeout.extra").is_none());
    }

    #[test]
    fn every_documented_default_is_the_built_in_default() {
        let mut config = Config::default();
        for key in config_keys().iter().filter(|k| !k.name.contains('*')) {
            key.apply(&mut config, "", &RawValue::Scalar(key.default.to_string()))
                .unwrap_or_else(|e| panic!("{}: {e}", key.name));
        }
        assert_eq!(config, Config::default());
        let mut hook = Config::default();
        for key in config_keys().iter().filter(|k| k.name.contains('*')) {
            if !key.default.is_empty() {
                key.apply(&mut hook, "h", &RawValue::Scalar(key.default.to_string()))
                    .unwrap();
            }
        }
        assert_eq!(hook.exec_hooks["h"], ExecHookConfig::default());
    }
}
