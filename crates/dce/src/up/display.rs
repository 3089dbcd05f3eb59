//! How `dce up` shows status updates, and what its exit code says about the final one.

use std::fmt::Write as _;
use std::time::Duration;

use mesos::{Reason, TaskState, TaskStatus};

/// Why `dce up` asked the executor to kill the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRequest {
    /// Ctrl-C (SIGINT) or SIGTERM.
    Signal,
    /// `--timeout` expired.
    Timeout,
}

/// Exit code when `--timeout` stopped the pod (as `timeout(1)`).
pub const EXIT_TIMEOUT: i32 = 124;
/// Exit code when the pod failed (TASK_FAILED), or was killed without being asked to.
pub const EXIT_FAILED: i32 = 1;
/// Exit code when the task was lost, dropped, gone or in error (the executor or the setup
/// failed rather than the pod).
pub const EXIT_LOST: i32 = 3;

/// The exit code for a final update: 0 for TASK_FINISHED and for TASK_KILLED after Ctrl-C or
/// SIGTERM; [`EXIT_TIMEOUT`] for TASK_KILLED after `--timeout`; [`EXIT_FAILED`] for
/// TASK_FAILED of the pod; [`EXIT_LOST`] when the executor itself died
/// (`REASON_EXECUTOR_TERMINATED`) and for every other terminal state.
pub fn exit_code(status: &TaskStatus, stop: Option<StopRequest>) -> i32 {
    if status.reason == Some(Reason::ExecutorTerminated) {
        return EXIT_LOST;
    }
    match (&status.state, stop) {
        (TaskState::Finished, _) => 0,
        (TaskState::Killed, Some(StopRequest::Signal)) => 0,
        (TaskState::Killed, Some(StopRequest::Timeout)) => EXIT_TIMEOUT,
        (TaskState::Killed | TaskState::Failed, _) => EXIT_FAILED,
        _ => EXIT_LOST,
    }
}

/// One line per update: time since start, state, message, reason, health, host ports, IPs.
///
/// `+2.31s TASK_RUNNING   pod is running | healthy | ports web 8080/tcp→31000 | ip 172.18.0.2`
pub fn status_line(status: &TaskStatus, elapsed: Duration) -> String {
    let state = status.state.as_str();
    let mut line = format!("+{:.2}s {state:<14}", elapsed.as_secs_f64());
    if let Some(message) = status.message.as_deref().filter(|m| !m.is_empty()) {
        let _ = write!(line, " {}", one_line(message));
    }
    if let Some(reason) = &status.reason {
        let _ = write!(line, " ({reason})");
    }
    match status.healthy {
        Some(true) => line.push_str(" | healthy"),
        Some(false) => line.push_str(" | unhealthy"),
        None => {}
    }
    let ports = port_mapping(status);
    if !ports.is_empty() {
        let _ = write!(line, " | ports {}", ports.join(", "));
    }
    let ips: Vec<&str> = status
        .container_status
        .iter()
        .flat_map(|c| &c.network_infos)
        .flat_map(|n| &n.ip_addresses)
        .filter_map(|ip| ip.ip_address.as_deref())
        .collect();
    if !ips.is_empty() {
        let _ = write!(line, " | ip {}", ips.join(", "));
    }
    line
}

/// `port.<service>.<port>/<proto>=<host port>` labels as `<service> <port>/<proto>→<host port>`.
fn port_mapping(status: &TaskStatus) -> Vec<String> {
    status
        .labels
        .iter()
        .flat_map(|l| l.iter())
        .filter_map(|(key, host)| {
            let rest = key.strip_prefix("port.")?;
            // The service name may contain dots; the container port is the last segment.
            let (service, port) = rest.rsplit_once('.')?;
            Some(format!("{service} {port}→{host}"))
        })
        .collect()
}

/// Messages may span lines (an engine error with its output); a status line must not.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos::{ContainerStatus, IpAddress, Labels, NetworkInfo, Reason, TaskId};

    #[test]
    fn a_running_update_shows_health_ports_and_addresses() {
        let mut status = TaskStatus::new(TaskId::new("t"), TaskState::Running);
        status.message = Some("pod dce-t is running".into());
        status.healthy = Some(true);
        status.labels = Some(Labels::from_pairs([
            ("project", "dce-t"),
            ("port.web.8080/tcp", "31000"),
            ("port.my.db.5432/tcp", "31001"),
        ]));
        status.container_status = Some(ContainerStatus {
            network_infos: vec![NetworkInfo {
                ip_addresses: vec![IpAddress {
                    protocol: None,
                    ip_address: Some("172.18.0.2".into()),
                }],
                ..NetworkInfo::default()
            }],
            ..ContainerStatus::default()
        });
        assert_eq!(
            status_line(&status, Duration::from_millis(2314)),
            "+2.31s TASK_RUNNING   pod dce-t is running | healthy | ports web 8080/tcp→31000, \
             my.db 5432/tcp→31001 | ip 172.18.0.2"
        );
    }

    #[test]
    fn a_failure_shows_its_reason_on_one_line() {
        let mut status = TaskStatus::new(TaskId::new("t"), TaskState::Failed);
        status.message = Some("service web exited with code 3\nlast output: boom".into());
        status.reason = Some(Reason::ContainerLaunchFailed);
        assert_eq!(
            status_line(&status, Duration::ZERO),
            "+0.00s TASK_FAILED    service web exited with code 3 last output: boom \
             (REASON_CONTAINER_LAUNCH_FAILED)"
        );
    }

    #[test]
    fn exit_codes_follow_the_final_state_and_who_stopped_the_pod() {
        let final_update = |state| TaskStatus::new(TaskId::new("t"), state);
        let code = |state, stop| exit_code(&final_update(state), stop);
        assert_eq!(code(TaskState::Finished, None), 0);
        assert_eq!(code(TaskState::Killed, Some(StopRequest::Signal)), 0);
        assert_eq!(
            code(TaskState::Killed, Some(StopRequest::Timeout)),
            EXIT_TIMEOUT
        );
        assert_eq!(code(TaskState::Killed, None), EXIT_FAILED);
        assert_eq!(
            code(TaskState::Failed, Some(StopRequest::Signal)),
            EXIT_FAILED
        );
        assert_eq!(code(TaskState::Lost, None), EXIT_LOST);
        assert_eq!(code(TaskState::Error, None), EXIT_LOST);
        let mut executor_died = final_update(TaskState::Failed);
        executor_died.reason = Some(Reason::ExecutorTerminated);
        assert_eq!(exit_code(&executor_died, None), EXIT_LOST);
    }
}
