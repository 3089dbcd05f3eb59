//! Stopping a pod: dependents before their dependencies, the infra container last, each container
//! with its service's stop signal and grace period, everything capped by the caller's deadline.
//!
//! The engine's own `stop` cannot take the signal at API 1.41 (the `signal` parameter is 1.42),
//! so a stop is `kill(<stop signal>)`, a bounded wait for the exit, then `kill(SIGKILL)`.

use std::collections::HashMap;
use std::time::Duration;

use bollard::errors::Error as EngineError;
use bollard::query_parameters::{KillContainerOptions, WaitContainerOptions};
use bollard::Docker;
use futures_util::future::join_all;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};
use tracing::{debug, info, warn};

use crate::client::is_not_found;
use crate::running::{ContainerRole, PodContainer, RunningPod};

/// Grace period of a service without `stop_grace_period` (compose's default).
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(10);
/// Signal of a service without `stop_signal`.
pub const DEFAULT_STOP_SIGNAL: &str = "SIGTERM";
/// How long to wait for the engine to report the exit after SIGKILL before giving up.
const KILL_CONFIRM: Duration = Duration::from_secs(30);
/// Pause before re-issuing a wait request that failed.
const WAIT_RETRY: Duration = Duration::from_millis(200);

/// How stopping one container ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StopOutcome {
    /// It exited after its stop signal, within its grace period.
    Graceful { exit_code: i64 },
    /// It was still running when its grace period or the overall deadline ran out, and was
    /// SIGKILLed.
    Killed { exit_code: i64 },
    /// It was not running when the stop began.
    AlreadyStopped,
    /// It did not exist.
    AlreadyGone,
    /// The engine refused a request; the container may still run (removal with `force` follows).
    Failed { error: String },
}

/// The result of stopping one container of the pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerStop {
    pub service: String,
    pub container_id: String,
    /// The signal sent first (`None` when the deadline had passed and SIGKILL came first, or the
    /// container was not running).
    pub signal: Option<String>,
    pub outcome: StopOutcome,
}

/// Stops every container of `pod` within `deadline`, in reverse dependency order; independent
/// containers stop in parallel. Results are in the pod's container order.
pub async fn stop_pod(docker: &Docker, pod: &RunningPod, deadline: Duration) -> Vec<ContainerStop> {
    let deadline_at = Instant::now() + deadline;
    let dependents = dependents_by_container(&pod.containers);
    let done: HashMap<&str, watch::Sender<bool>> = pod
        .containers
        .iter()
        .map(|c| (c.id.as_str(), watch::channel(false).0))
        .collect();
    info!(project = %pod.project, deadline_ms = deadline.as_millis() as u64, "stopping pod");
    let stops = pod.containers.iter().map(|container| {
        let waits: Vec<watch::Receiver<bool>> = dependents
            .get(container.id.as_str())
            .into_iter()
            .flatten()
            .filter_map(|id| done.get(id).map(|tx| tx.subscribe()))
            .collect();
        let finished = done.get(container.id.as_str());
        async move {
            // Cycles cannot come from a validated compose file; the deadline bounds them anyway.
            let _ = timeout_at(deadline_at, wait_all(waits)).await;
            let result = stop_container(docker, container, deadline_at).await;
            if let Some(finished) = finished {
                finished.send_replace(true);
            }
            result
        }
    });
    join_all(stops).await
}

async fn wait_all(mut waits: Vec<watch::Receiver<bool>>) {
    for wait in &mut waits {
        let _ = wait.wait_for(|done| *done).await;
    }
}

/// For each container id, the ids of the containers that must stop before it: the services
/// depending on it, and for the infra container every service.
fn dependents_by_container(containers: &[PodContainer]) -> HashMap<&str, Vec<&str>> {
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for container in containers {
        for other in containers {
            if other.id == container.id {
                continue;
            }
            let depends = other.depends_on.contains(&container.service)
                || (container.role == ContainerRole::Infra && other.role != ContainerRole::Infra);
            if depends {
                dependents
                    .entry(container.id.as_str())
                    .or_default()
                    .push(other.id.as_str());
            }
        }
    }
    dependents
}

/// Stops one container: its stop signal, up to its grace (capped by the deadline), then SIGKILL.
async fn stop_container(
    docker: &Docker,
    container: &PodContainer,
    deadline_at: Instant,
) -> ContainerStop {
    let signal = container
        .stop_signal
        .clone()
        .unwrap_or_else(|| DEFAULT_STOP_SIGNAL.to_string());
    let grace = container.stop_grace_period.unwrap_or(DEFAULT_STOP_GRACE);
    let grace_end = (Instant::now() + grace).min(deadline_at);
    let report = |signal: Option<String>, outcome: StopOutcome| ContainerStop {
        service: container.service.clone(),
        container_id: container.id.clone(),
        signal,
        outcome,
    };
    let first = if Instant::now() < grace_end {
        signal.as_str()
    } else {
        "SIGKILL"
    };
    match send_signal(docker, &container.id, first).await {
        Signalled::Sent => {}
        Signalled::NotRunning => return report(None, StopOutcome::AlreadyStopped),
        Signalled::Gone => return report(None, StopOutcome::AlreadyGone),
        Signalled::Failed(error) => return report(None, StopOutcome::Failed { error }),
    }
    debug!(service = %container.service, signal = first, "stop signal sent");
    if first != "SIGKILL" {
        match wait_exit_until(docker, &container.id, grace_end).await {
            Some(Exit::Code(exit_code)) => {
                return report(Some(signal), StopOutcome::Graceful { exit_code })
            }
            Some(Exit::Gone) => return report(Some(signal), StopOutcome::AlreadyGone),
            Some(Exit::Failed(_)) | None => {
                info!(service = %container.service, "grace period over; sending SIGKILL")
            }
        }
        match send_signal(docker, &container.id, "SIGKILL").await {
            Signalled::Sent => {}
            // It exited on its own just as the grace ran out.
            Signalled::NotRunning => {
                let outcome = match wait_exit(docker, &container.id).await {
                    Exit::Code(exit_code) => StopOutcome::Graceful { exit_code },
                    Exit::Gone => StopOutcome::AlreadyGone,
                    Exit::Failed(error) => StopOutcome::Failed { error },
                };
                return report(Some(signal), outcome);
            }
            Signalled::Gone => return report(Some(signal), StopOutcome::AlreadyGone),
            Signalled::Failed(error) => return report(Some(signal), StopOutcome::Failed { error }),
        }
    }
    let sent = Some(first.to_string());
    match tokio::time::timeout(KILL_CONFIRM, wait_exit(docker, &container.id)).await {
        Ok(Exit::Code(exit_code)) => report(sent, StopOutcome::Killed { exit_code }),
        Ok(Exit::Gone) => report(sent, StopOutcome::AlreadyGone),
        Ok(Exit::Failed(error)) => report(sent, StopOutcome::Failed { error }),
        Err(_) => report(
            sent,
            StopOutcome::Failed {
                error: format!("no exit within {}s of SIGKILL", KILL_CONFIRM.as_secs()),
            },
        ),
    }
}

enum Signalled {
    Sent,
    NotRunning,
    Gone,
    Failed(String),
}

async fn send_signal(docker: &Docker, id: &str, signal: &str) -> Signalled {
    let options = KillContainerOptions {
        signal: signal.to_string(),
    };
    match docker.kill_container(id, Some(options)).await {
        Ok(()) => Signalled::Sent,
        Err(error) if is_not_found(&error) => Signalled::Gone,
        Err(error) if is_not_running(&error) => Signalled::NotRunning,
        Err(error) => Signalled::Failed(error.to_string()),
    }
}

/// The engine answers 409 to a kill of a stopped container.
fn is_not_running(error: &EngineError) -> bool {
    matches!(
        error,
        EngineError::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

enum Exit {
    Code(i64),
    Gone,
    Failed(String),
}

/// Waits for the exit until `grace_end`; `None` when the time ran out. A failed wait (e.g. the
/// client's request timeout, shorter than a long grace period) is retried until then, so it
/// never cuts the grace short.
async fn wait_exit_until(docker: &Docker, id: &str, grace_end: Instant) -> Option<Exit> {
    loop {
        match timeout_at(grace_end, wait_exit(docker, id)).await {
            Err(_) => return None,
            Ok(Exit::Failed(error)) => {
                warn!(container_id = id, %error, "waiting for the exit failed; waiting again");
                tokio::select! {
                    _ = tokio::time::sleep_until(grace_end) => return None,
                    _ = tokio::time::sleep(WAIT_RETRY) => {}
                }
            }
            Ok(exit) => return Some(exit),
        }
    }
}

/// Waits (server side, no polling) until the container is not running.
async fn wait_exit(docker: &Docker, id: &str) -> Exit {
    let options = WaitContainerOptions {
        condition: "not-running".to_string(),
    };
    let mut wait = docker.wait_container(id, Some(options));
    match wait.next().await {
        Some(Ok(response)) => Exit::Code(response.status_code),
        // bollard turns a non-zero exit into this error.
        Some(Err(EngineError::DockerContainerWaitError { code, .. })) => Exit::Code(code),
        Some(Err(error)) if is_not_found(&error) => Exit::Gone,
        Some(Err(error)) => Exit::Failed(error.to_string()),
        None => Exit::Failed("wait stream ended without a status".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(service: &str, role: ContainerRole, depends_on: &[&str]) -> PodContainer {
        PodContainer {
            service: service.to_string(),
            id: format!("id-{service}"),
            name: service.to_string(),
            role,
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
            stop_signal: None,
            stop_grace_period: None,
        }
    }

    #[test]
    fn infra_waits_for_every_service_and_dependencies_for_dependents() {
        let containers = vec![
            container("infra", ContainerRole::Infra, &[]),
            container("db", ContainerRole::Service, &[]),
            container("app", ContainerRole::Service, &["db"]),
            container("side", ContainerRole::Service, &[]),
        ];
        let dependents = dependents_by_container(&containers);
        let mut infra = dependents["id-infra"].clone();
        infra.sort();
        assert_eq!(infra, vec!["id-app", "id-db", "id-side"]);
        assert_eq!(dependents["id-db"], vec!["id-app"]);
        assert!(!dependents.contains_key("id-app"));
        assert!(!dependents.contains_key("id-side"));
    }
}
