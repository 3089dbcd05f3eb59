//! Failure detection: a service exits with status 1 a random short time after the pod runs; the
//! latency is from the container's death as the engine recorded it (`State.FinishedAt`) to the
//! terminal update's arrival at the agent stand-in.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use bollard::Docker;
use futures_util::StreamExt;
use mesos::TaskState;
use rand::Rng;

use crate::clock::{instant_to_unix_nanos, parse_rfc3339_utc};
use crate::dce_task::{DceTask, WAIT};
use crate::error::BenchError;
use crate::pod_spec::failing_compose_yaml;

/// One failure-detection measurement.
#[derive(Debug, Clone, Copy)]
pub struct Detection {
    /// `State.FinishedAt` → terminal update received.
    pub latency: Duration,
    /// The terminal state was TASK_FAILED.
    pub failed: bool,
}

/// Runs one pod whose service dies after 1.5–2.5 s and measures the detection latency.
pub async fn measure(
    docker: &Docker,
    dce: &Path,
    task_id: &str,
    run_id: &str,
) -> Result<Detection, BenchError> {
    let delay_ms = rand::rng().random_range(1500..2500);
    let task = DceTask::start(dce, task_id, &failing_compose_yaml(delay_ms, run_id), None).await?;
    let finished_at = tokio::spawn(death_time(docker.clone(), format!("dce-{task_id}")));
    // Let the events subscription settle before the container can exist.
    tokio::time::sleep(Duration::from_millis(200)).await;
    task.launch();
    task.wait_state(TaskState::Running).await?;
    let terminal = task.wait_terminal().await?;
    let received = instant_to_unix_nanos(terminal.received_at);
    let died = finished_at
        .await
        .map_err(|e| BenchError::Check(format!("watching the container's death: {e}")))??;
    task.finish().await?;
    let latency = u64::try_from(received - died)
        .map(Duration::from_nanos)
        .map_err(|_| BenchError::Check("the update arrived before the container died".into()))?;
    Ok(Detection {
        latency,
        failed: *terminal.state() == TaskState::Failed,
    })
}

/// Waits for the `dies` service of `project` to die and inspects it at once (before the
/// executor removes it): its `State.FinishedAt`, in nanoseconds since the epoch.
async fn death_time(docker: Docker, project: String) -> Result<i128, BenchError> {
    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("event".to_string(), vec!["die".to_string()]),
        (
            "label".to_string(),
            vec![
                format!("com.docker.compose.project={project}"),
                "com.docker.compose.service=dies".to_string(),
            ],
        ),
    ]);
    let options = EventsOptions {
        filters: Some(filters),
        ..Default::default()
    };
    let mut events = docker.events(Some(options));
    let event = tokio::time::timeout(WAIT, events.next())
        .await
        .map_err(|_| BenchError::Check(format!("{project}: no container death seen")))?
        .ok_or_else(|| BenchError::Check(format!("{project}: the events stream ended")))??;
    let id = event
        .actor
        .and_then(|a| a.id)
        .ok_or_else(|| BenchError::Check("a die event without a container id".into()))?;
    let inspected = docker.inspect_container(&id, None).await?;
    let finished = inspected
        .state
        .and_then(|s| s.finished_at)
        .unwrap_or_default();
    parse_rfc3339_utc(&finished)
        .ok_or_else(|| BenchError::Check(format!("unreadable State.FinishedAt {finished:?}")))
}
