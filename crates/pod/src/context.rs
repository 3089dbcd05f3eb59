//! What the rewrite needs to know about the task and the executor running it.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Serialize;

use crate::cgroup::{parse_proc_cgroup, CgroupDriver, ExecutorCgroup};
use crate::config::Config;
use crate::error::PodError;
use crate::ports::PortRange;

/// The task and its executor, as seen by the plugins (and, as JSON, by exec hooks).
#[derive(Debug, Clone, Serialize)]
pub struct TaskContext {
    /// Mesos TaskID.
    pub task_id: String,
    /// Mesos ExecutorID.
    pub executor_id: String,
    /// Mesos FrameworkID.
    pub framework_id: String,
    /// Mesos AgentID.
    pub agent_id: String,
    /// Mesos ContainerID of the executor (basename of `MESOS_DIRECTORY`).
    pub container_id: String,
    /// Pid of the executor process.
    pub executor_pid: u32,
    /// Its start time, field 22 of `/proc/<pid>/stat` (see [`process_start_time`]).
    pub executor_start: u64,
    /// Host ports offered in the task's `ports` resource, in offer order.
    pub offered_ports: Vec<PortRange>,
    /// The sandbox directory; relative paths in compose files resolve against it.
    pub sandbox: PathBuf,
    /// The executor's cgroup, when `/proc/self/cgroup` could be read.
    pub cgroup: Option<ExecutorCgroup>,
    /// Docker's cgroup driver, when known.
    pub docker_cgroup_driver: Option<CgroupDriver>,
    /// TaskInfo labels, in order.
    pub labels: IndexMap<String, String>,
    /// The effective config (file plus task-label overrides).
    #[serde(skip)]
    pub config: Config,
}

impl TaskContext {
    /// A context for running outside Mesos (`dce render`, `dce up`): ids are `local`, the
    /// container id is the task id, and the process is the current one.
    pub fn local(
        task_id: &str,
        sandbox: PathBuf,
        offered_ports: Vec<PortRange>,
        config: Config,
    ) -> Self {
        let executor_pid = std::process::id();
        TaskContext {
            task_id: task_id.to_string(),
            executor_id: "local".to_string(),
            framework_id: "local".to_string(),
            agent_id: "local".to_string(),
            container_id: task_id.to_string(),
            executor_pid,
            executor_start: process_start_time(executor_pid).unwrap_or(0),
            offered_ports,
            sandbox,
            cgroup: read_own_cgroup(),
            docker_cgroup_driver: None,
            labels: IndexMap::new(),
            config,
        }
    }
}

/// Reads `/proc/self/cgroup`; `None` when unreadable or without a usable line.
pub fn read_own_cgroup() -> Option<ExecutorCgroup> {
    std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|text| parse_proc_cgroup(&text))
}

/// Start time of process `pid` (field 22 of `/proc/<pid>/stat`, clock ticks since boot): with
/// the pid it identifies a process despite pid reuse, which `dce reap` relies on.
pub fn process_start_time(pid: u32) -> Result<u64, PodError> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| {
        PodError::ProcessStartTime {
            pid,
            message: e.to_string(),
        }
    })?;
    parse_stat_start_time(&text).ok_or_else(|| PodError::ProcessStartTime {
        pid,
        message: "field 22 (starttime) missing or not a number".to_string(),
    })
}

/// Field 22 of a `/proc/<pid>/stat` line. The command name (field 2) may contain spaces and
/// parentheses, so fields are counted after its last `)`.
pub fn parse_stat_start_time(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // After the comm come field 3 (state) onwards; starttime is field 22.
    after_comm.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// A fixed context for tests across the crate.
#[cfg(test)]
pub(crate) fn test_context(config: Config) -> TaskContext {
    TaskContext {
        task_id: "web.1".to_string(),
        executor_id: "exec-1".to_string(),
        framework_id: "fw-1".to_string(),
        agent_id: "agent-1".to_string(),
        container_id: "cid-1".to_string(),
        executor_pid: 4242,
        executor_start: 123456,
        offered_ports: vec![PortRange {
            begin: 31000,
            end: 31009,
        }],
        sandbox: PathBuf::from("/sandbox"),
        cgroup: None,
        docker_cgroup_driver: None,
        labels: IndexMap::new(),
        config,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_survives_odd_command_names() {
        let stat = "1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 10000 200";
        assert_eq!(parse_stat_start_time(stat), Some(987654));
        assert_eq!(parse_stat_start_time("1 (x) S 1"), None);
        let stat = "4242 (we ird) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat_start_time(stat), Some(987_654));
        assert_eq!(parse_stat_start_time("garbage"), None);
    }

    #[test]
    fn own_start_time_is_readable() {
        let start = process_start_time(std::process::id()).unwrap();
        assert!(start > 0);
        assert_eq!(process_start_time(std::process::id()).unwrap(), start);
    }
}
