//! The TaskInfo `dce up` launches, as a scheduler such as Marathon would build it: the
//! `fileName` label, the `ports` resources, `config.*` override labels.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::bail;
use mesos::TaskInfo;
use mesos_agent::TaskBuilder;
use pod::ports::PortRange;

/// Task label naming the compose files (dce-go's key).
const FILE_NAME_LABEL: &str = "fileName";

/// What a local run asks of the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTask {
    /// The task id (the pod's project is `dce-<task id>`).
    pub task_id: String,
    /// `fileName` label value; `None`: the executor's default compose file.
    pub file_name: Option<String>,
    /// Host ports offered to the pod.
    pub ports: Vec<PortRange>,
    /// `config.<key>=<value>` labels (task-level config overrides).
    pub config_overrides: Vec<(String, String)>,
}

impl LocalTask {
    /// The TaskInfo to launch.
    pub fn task_info(&self) -> TaskInfo {
        let mut builder =
            TaskBuilder::new(self.task_id.clone()).name(format!("dce up {}", self.task_id));
        if let Some(files) = &self.file_name {
            builder = builder.label(FILE_NAME_LABEL, Some(files));
        }
        if !self.ports.is_empty() {
            let ranges: Vec<(u64, u64)> = self
                .ports
                .iter()
                .map(|r| (u64::from(r.begin), u64::from(r.end)))
                .collect();
            builder = builder.ports(&ranges);
        }
        for (key, value) in &self.config_overrides {
            builder = builder.label(
                format!("{}{key}", pod::config::TASK_LABEL_PREFIX),
                Some(value),
            );
        }
        builder.build()
    }
}

/// A task id unique to this run, named after the project directory, e.g. `shop-1f3a9c2e`, so
/// that two `dce up` of the same files never share a pod.
pub fn default_task_id(sandbox: &Path) -> String {
    let base: String = sandbox
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base: String = base.trim_matches('-').chars().take(24).collect();
    let base = if base.is_empty() {
        "local".to_string()
    } else {
        base
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mix = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    format!("{base}-{:08x}", (mix ^ (mix >> 32)) as u32)
}

/// Parses `--set KEY=VALUE` (a config key without the `config.` prefix).
pub fn parse_override(text: &str) -> anyhow::Result<(String, String)> {
    let Some((key, value)) = text.split_once('=') else {
        bail!("`{text}` is not KEY=VALUE (e.g. `--set launchtask.timeout=60s`)");
    };
    let key = key.trim();
    if key.is_empty() {
        bail!("`{text}` has no key before `=` (e.g. `--set launchtask.timeout=60s`)");
    }
    let key = key
        .strip_prefix(pod::config::TASK_LABEL_PREFIX)
        .unwrap_or(key);
    Ok((key.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_info_carries_files_ports_and_overrides_like_a_scheduler() {
        let task = LocalTask {
            task_id: "shop-1".into(),
            file_name: Some("a.yml,b.yml".into()),
            ports: pod::ports::parse_port_ranges("31000-31010,32000").unwrap(),
            config_overrides: vec![("launchtask.timeout".into(), "60s".into())],
        }
        .task_info();
        assert_eq!(task.task_id.as_str(), "shop-1");
        let labels: Vec<(String, String)> = task
            .labels
            .iter()
            .flat_map(|l| l.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("fileName".into(), "a.yml,b.yml".into()),
                ("config.launchtask.timeout".into(), "60s".into()),
            ]
        );
        let ranges: Vec<(u64, u64)> = task
            .port_ranges()
            .iter()
            .map(|r| (r.begin, r.end))
            .collect();
        assert_eq!(ranges, vec![(31000, 31010), (32000, 32000)]);
    }

    #[test]
    fn no_files_no_ports_means_no_label_and_no_resources() {
        let task = LocalTask {
            task_id: "t".into(),
            file_name: None,
            ports: Vec::new(),
            config_overrides: Vec::new(),
        }
        .task_info();
        assert!(task.labels.is_none());
        assert!(task.resources.is_empty());
    }

    #[test]
    fn default_ids_are_valid_project_names_named_after_the_directory() {
        let id = default_task_id(Path::new("/home/me/My Shop_v2"));
        assert!(id.starts_with("my-shop-v2-"), "{id}");
        assert_eq!(pod::naming::project_name(&id), format!("dce-{id}"));
        assert!(default_task_id(Path::new("/")).starts_with("local-"));
    }

    #[test]
    fn overrides_parse_with_or_without_prefix() {
        assert_eq!(
            parse_override("config.cleanpod.timeout=5s").unwrap(),
            ("cleanpod.timeout".into(), "5s".into())
        );
        assert_eq!(
            parse_override("network.mode=compose").unwrap(),
            ("network.mode".into(), "compose".into())
        );
        assert!(parse_override("launchtask.timeout").is_err());
        assert!(parse_override("=5s").is_err());
    }
}
