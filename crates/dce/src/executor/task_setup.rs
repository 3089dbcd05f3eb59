//! From a Mesos TaskInfo to what planning needs: the effective config (file plus `config.*` task
//! labels), the [`TaskContext`] and the compose sources (SPEC §2).

use std::path::{Path, PathBuf};

use compose::ComposeSource;
use indexmap::IndexMap;
use mesos::TaskInfo;
use pod::cgroup::CgroupDriver;
use pod::context::{process_start_time, read_own_cgroup};
use pod::ports::PortRange;
use pod::{Config, PodError, TaskContext};

/// Task label naming the compose files (dce-go's key; also matched as a suffix `.fileName`).
pub const FILE_NAME_LABEL: &str = "fileName";
/// How `TaskInfo.data` is named in errors.
pub const INLINE_SOURCE_NAME: &str = "<TaskInfo.data>";

/// Who runs the task, as the executor learnt it from its environment and SUBSCRIBED.
#[derive(Debug, Clone)]
pub struct ExecutorIdentity {
    /// `MESOS_EXECUTOR_ID`.
    pub executor_id: String,
    /// `MESOS_FRAMEWORK_ID`.
    pub framework_id: String,
    /// The agent's id.
    pub agent_id: String,
    /// The executor's Mesos ContainerID.
    pub container_id: String,
    /// The sandbox directory.
    pub sandbox: PathBuf,
    /// An explicit `--config` file.
    pub config_file: Option<PathBuf>,
    /// Docker's cgroup driver.
    pub cgroup_driver: Option<CgroupDriver>,
}

/// Reads the config (file, then the task's `config.*` labels) and builds the task context.
pub fn task_context(identity: &ExecutorIdentity, task: &TaskInfo) -> Result<TaskContext, PodError> {
    let (mut config, file) =
        Config::load(identity.config_file.as_deref(), Some(&identity.sandbox))?;
    if let Some(file) = file {
        tracing::debug!(config = %file.display(), "config file read");
    }
    let labels: IndexMap<String, String> = task
        .labels
        .iter()
        .flat_map(|l| l.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    config.apply_task_labels(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let offered_ports = task
        .port_ranges()
        .iter()
        .map(|r| PortRange::from_mesos(r.begin, r.end))
        .collect::<Result<Vec<_>, _>>()?;
    let executor_pid = std::process::id();
    Ok(TaskContext {
        task_id: task.task_id.as_str().to_string(),
        executor_id: identity.executor_id.clone(),
        framework_id: identity.framework_id.clone(),
        agent_id: identity.agent_id.clone(),
        container_id: identity.container_id.clone(),
        executor_pid,
        executor_start: process_start_time(executor_pid)?,
        offered_ports,
        sandbox: identity.sandbox.clone(),
        cgroup: read_own_cgroup(),
        docker_cgroup_driver: identity.cgroup_driver,
        labels,
        config,
    })
}

/// The compose sources of a task: the `fileName` label (comma-separated, merged in order),
/// else `TaskInfo.data`, else nothing (the loader then uses the sandbox's default file).
pub fn compose_sources(task: &TaskInfo) -> Result<Vec<ComposeSource>, String> {
    let label =
        task.labels.iter().flat_map(|l| l.iter()).find(|(key, _)| {
            *key == FILE_NAME_LABEL || key.ends_with(&format!(".{FILE_NAME_LABEL}"))
        });
    if let Some((key, value)) = label {
        let files: Vec<ComposeSource> = value
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| ComposeSource::File(PathBuf::from(f)))
            .collect();
        if files.is_empty() {
            return Err(format!("task label `{key}` names no compose file"));
        }
        return Ok(files);
    }
    if let Some(data) = task.data_bytes().filter(|d| !d.is_empty()) {
        let content = String::from_utf8(data.to_vec())
            .map_err(|_| format!("{INLINE_SOURCE_NAME} is not UTF-8 text"))?;
        return Ok(vec![ComposeSource::Inline {
            name: INLINE_SOURCE_NAME.to_string(),
            content,
        }]);
    }
    Ok(Vec::new())
}

/// The sandbox of the executor: `MESOS_SANDBOX`, else `MESOS_DIRECTORY`, else the working
/// directory.
pub fn sandbox_dir(env: &mesos::ExecutorEnv) -> PathBuf {
    env.sandbox_dir()
        .cloned()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| Path::new(".").to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos::{Labels, TaskId};

    fn task(labels: &[(&str, &str)], data: Option<&str>) -> TaskInfo {
        let mut task = TaskInfo::new("t", TaskId::new("t1"));
        if !labels.is_empty() {
            task.labels = Some(Labels::from_pairs(labels.iter().copied()));
        }
        task.data = data.map(|d| d.as_bytes().to_vec());
        task
    }

    #[test]
    fn file_name_label_wins_and_is_split() {
        let sources =
            compose_sources(&task(&[("fileName", "a.yml, b.yml")], Some("services: {}"))).unwrap();
        assert_eq!(
            sources,
            vec![
                ComposeSource::File("a.yml".into()),
                ComposeSource::File("b.yml".into())
            ]
        );
    }

    #[test]
    fn aurora_prefixed_label_matches() {
        let sources = compose_sources(&task(
            &[("org.apache.aurora.metadata.fileName", "pod.yml")],
            None,
        ))
        .unwrap();
        assert_eq!(sources, vec![ComposeSource::File("pod.yml".into())]);
        assert!(compose_sources(&task(&[("myfileName", "x.yml")], None))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn data_then_default() {
        let sources = compose_sources(&task(&[], Some("services: {}"))).unwrap();
        assert!(
            matches!(&sources[0], ComposeSource::Inline { content, .. } if content == "services: {}")
        );
        assert!(compose_sources(&task(&[], None)).unwrap().is_empty());
        assert!(compose_sources(&task(&[("fileName", " , ")], None)).is_err());
    }
}
