//! Waiting for a dependency's `depends_on` condition before a service is created.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::HealthStatusEnum;
use bollard::query_parameters::{EventsOptions, WaitContainerOptions};
use bollard::Docker;
use compose::DependencyCondition;
use futures_util::StreamExt;

use crate::client::DockerError;

/// Re-inspect at least this often while waiting for health, in case an event is missed (the
/// events subscription may start after the transition).
const HEALTH_RECHECK: Duration = Duration::from_millis(500);

/// A dependency whose condition `service` waits for.
#[derive(Debug, Clone, Copy)]
pub struct Dependency<'a> {
    /// The waiting service.
    pub service: &'a str,
    /// The dependency's service name.
    pub name: &'a str,
    /// Its container id (already started).
    pub container_id: &'a str,
    /// What it must reach.
    pub condition: DependencyCondition,
}

/// Returns once `dependency` meets its condition, or the reason it never will.
pub async fn wait_for(docker: &Docker, dependency: Dependency<'_>) -> Result<(), DockerError> {
    match dependency.condition {
        DependencyCondition::ServiceStarted => Ok(()),
        DependencyCondition::ServiceCompletedSuccessfully => {
            wait_for_exit_zero(docker, dependency).await
        }
        DependencyCondition::ServiceHealthy => wait_for_healthy(docker, dependency).await,
    }
}

async fn wait_for_exit_zero(docker: &Docker, dep: Dependency<'_>) -> Result<(), DockerError> {
    let options = WaitContainerOptions {
        condition: "not-running".to_string(),
    };
    let mut stream = docker.wait_container(dep.container_id, Some(options));
    let exit_code = match stream.next().await {
        Some(Ok(response)) => response.status_code,
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => {
            return Err(DockerError::engine(
                "wait for",
                format!("service {} (dependency of {})", dep.name, dep.service),
                e,
            ))
        }
        None => {
            return Err(DockerError::InvalidPlan {
                service: dep.service.to_string(),
                message: format!(
                    "the engine ended the wait for `{}` without a result",
                    dep.name
                ),
            })
        }
    };
    if exit_code == 0 {
        Ok(())
    } else {
        Err(exited(dep, exit_code))
    }
}

fn exited(dep: Dependency<'_>, exit_code: i64) -> DockerError {
    DockerError::DependencyExited {
        service: dep.service.to_string(),
        dependency: dep.name.to_string(),
        exit_code,
        condition: dep.condition.as_str(),
    }
}

async fn wait_for_healthy(docker: &Docker, dep: Dependency<'_>) -> Result<(), DockerError> {
    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("container".to_string(), vec![dep.container_id.to_string()]),
        (
            "event".to_string(),
            vec!["health_status".to_string(), "die".to_string()],
        ),
    ]);
    let mut events = docker
        .events(Some(EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }))
        .fuse();
    loop {
        if is_healthy(docker, dep).await? {
            return Ok(());
        }
        // Any event means: look again. A broken stream leaves only the timer.
        tokio::select! {
            Some(_) = events.next() => {}
            _ = tokio::time::sleep(HEALTH_RECHECK) => {}
        }
    }
}

/// Healthy → true; still starting → false; unhealthy, without healthcheck, or exited → error.
async fn is_healthy(docker: &Docker, dep: Dependency<'_>) -> Result<bool, DockerError> {
    let inspect = docker
        .inspect_container(dep.container_id, None)
        .await
        .map_err(|e| {
            DockerError::engine(
                "inspect",
                format!("service {} (dependency of {})", dep.name, dep.service),
                e,
            )
        })?;
    let state = inspect.state.unwrap_or_default();
    let health = state.health.and_then(|h| h.status);
    if health == Some(HealthStatusEnum::HEALTHY) {
        return Ok(true);
    }
    // The engine marks a container that exited as unhealthy; the exit is the real story.
    if state.running == Some(false) {
        return Err(exited(dep, state.exit_code.unwrap_or(-1)));
    }
    match health {
        Some(HealthStatusEnum::STARTING) => Ok(false),
        Some(HealthStatusEnum::UNHEALTHY) => Err(unhealthy(dep, "is unhealthy")),
        _ => Err(unhealthy(dep, "has no healthcheck")),
    }
}

fn unhealthy(dep: Dependency<'_>, reason: &'static str) -> DockerError {
    DockerError::DependencyUnhealthy {
        service: dep.service.to_string(),
        dependency: dep.name.to_string(),
        reason,
    }
}
