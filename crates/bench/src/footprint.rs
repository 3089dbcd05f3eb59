//! The executor's memory and CPU, read from `/proc/<pid>/status` (VmHWM, VmRSS) and
//! `/proc/<pid>/stat` (utime + stime), while one pod runs idle.

use std::path::Path;
use std::time::Duration;

use mesos::TaskState;

use crate::dce_task::DceTask;
use crate::error::BenchError;
use crate::pod_spec::compose_yaml;

/// What one executor used.
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    /// VmHWM at the end: the peak resident set since the executor started (launch included).
    pub peak_rss_kib: u64,
    /// VmRSS at the end of the idle window.
    pub steady_rss_kib: u64,
    /// Of which anonymous memory (heap, stacks): RssAnon.
    pub anon_rss_kib: u64,
    /// Of which file-backed pages (the executable's code and data): RssFile.
    pub file_rss_kib: u64,
    /// CPU time from process start to TASK_RUNNING.
    pub launch_cpu: Duration,
    /// CPU time during the idle window.
    pub idle_cpu: Duration,
    /// Length of the idle window.
    pub idle: Duration,
}

/// Launches an `n`-service pod (with dce's `config.yaml` `dce_config`, if any), lets it run
/// idle for `idle`, reads the executor's figures, then kills the pod.
pub async fn measure(
    dce: &Path,
    task_id: &str,
    run_id: &str,
    n: usize,
    idle: Duration,
    dce_config: Option<&str>,
) -> Result<Footprint, BenchError> {
    let task = DceTask::start(dce, task_id, &compose_yaml(n, run_id), dce_config).await?;
    let pid = task.pid();
    task.launch();
    task.wait_state(TaskState::Running).await?;
    let launch_cpu = cpu_time(pid)?;
    // The status update's acknowledgement and the container-log followers settle first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = cpu_time(pid)?;
    tokio::time::sleep(idle).await;
    let idle_cpu = cpu_time(pid)?.saturating_sub(before);
    let status = read(&format!("/proc/{pid}/status"))?;
    let peak_rss_kib = status_kib(&status, "VmHWM:")?;
    let steady_rss_kib = status_kib(&status, "VmRSS:")?;
    let anon_rss_kib = status_kib(&status, "RssAnon:")?;
    let file_rss_kib = status_kib(&status, "RssFile:")?;
    task.kill();
    task.wait_state(TaskState::Killed).await?;
    task.finish().await?;
    Ok(Footprint {
        peak_rss_kib,
        steady_rss_kib,
        anon_rss_kib,
        file_rss_kib,
        launch_cpu,
        idle_cpu,
        idle,
    })
}

/// Resident set of a running process, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64, BenchError> {
    status_kib(&read(&format!("/proc/{pid}/status"))?, "VmRSS:")
}

/// Proportional set size of a running process in KiB: its resident pages with each shared page
/// divided among the processes mapping it (the executable's code is shared by every executor).
pub fn pss_kib(pid: u32) -> Result<u64, BenchError> {
    status_kib(&read(&format!("/proc/{pid}/smaps_rollup"))?, "Pss:")
}

/// utime + stime of a process.
pub fn cpu_time(pid: u32) -> Result<Duration, BenchError> {
    let stat = read(&format!("/proc/{pid}/stat"))?;
    let ticks = stat_cpu_ticks(&stat)
        .ok_or_else(|| BenchError::Check(format!("unreadable /proc/{pid}/stat")))?;
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Ok(Duration::from_nanos(ticks * 1_000_000_000 / per_second))
}

fn read(path: &str) -> Result<String, BenchError> {
    std::fs::read_to_string(path).map_err(|e| BenchError::io(format!("reading {path}"), e))
}

/// utime + stime in clock ticks (fields 14 and 15; the command in field 2 may hold spaces).
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `Key:   123 kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, key: &str) -> Result<u64, BenchError> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| BenchError::Check(format!("no {key} in /proc status")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_ticks_past_a_command_with_spaces() {
        let stat = "42 (dce exec) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 4 0 100 0 0";
        assert_eq!(stat_cpu_ticks(stat), Some(10));
        assert_eq!(stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn reads_status_sizes() {
        let status = "Name:\tdce\nVmHWM:\t    9876 kB\nVmRSS:\t    5432 kB\n";
        assert_eq!(status_kib(status, "VmHWM:").unwrap(), 9876);
        assert_eq!(status_kib(status, "VmRSS:").unwrap(), 5432);
        assert!(status_kib(status, "VmSwap:").is_err());
    }

    #[test]
    fn own_process_is_readable() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
        assert!(pss_kib(std::process::id()).unwrap() > 0);
        cpu_time(std::process::id()).unwrap();
    }
}
