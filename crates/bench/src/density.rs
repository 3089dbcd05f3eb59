//! Density: N pods launched together, one `dce executor` per pod, each under its own agent
//! stand-in (as Mesos runs one executor per task for a custom executor), then all killed
//! together, then a check that nothing with the pods' labels is left.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::models::NetworkCreateRequest;
use bollard::Docker;
use futures_util::future::{join_all, try_join_all};
use mesos::TaskState;

use crate::cleanup;
use crate::dce_task::DceTask;
use crate::error::BenchError;
use crate::footprint::{pss_kib, rss_kib};
use crate::pod_spec::{compose_yaml, RUN_LABEL};

/// Where the pods' infra containers are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodNetworks {
    /// dce's default: a bridge network per pod.
    PerPod,
    /// One pre-existing bridge network shared by all pods (`infracontainer.networks`), created
    /// for the run and removed after it.
    Shared,
}

/// The outcome of one density run.
#[derive(Debug, Clone)]
pub struct DensityResult {
    /// Pods attempted.
    pub pods: usize,
    /// Pods that reached TASK_RUNNING.
    pub running: usize,
    /// First LAUNCH sent → last TASK_RUNNING received (of those that ran).
    pub all_running: Duration,
    /// Median of the pods' own LAUNCH → TASK_RUNNING.
    pub median_running: Duration,
    /// Pods that reached TASK_KILLED.
    pub killed: usize,
    /// First KILL sent → last TASK_KILLED received.
    pub all_killed: Duration,
    /// Sum of the executors' VmRSS while every pod ran, in KiB.
    pub total_rss_kib: u64,
    /// Sum of their proportional set sizes (shared code counted once overall), in KiB.
    pub total_pss_kib: u64,
    /// Objects with the run's labels still on the engine after every executor exited.
    pub left: Vec<String>,
    /// The first failure message, if a pod did not run.
    pub first_failure: Option<String>,
}

/// Launches `pods` pods of `services` services each, together, then kills them together.
/// The task ids are `<prefix>-NN`, so every object's project name contains `prefix`.
pub async fn measure(
    docker: &Docker,
    dce: &Path,
    prefix: &str,
    pods: usize,
    services: usize,
    run_id: &str,
    networks: &PodNetworks,
) -> Result<DensityResult, BenchError> {
    let yaml = compose_yaml(services, run_id);
    let shared = match networks {
        PodNetworks::PerPod => None,
        PodNetworks::Shared => Some(create_network(docker, prefix, run_id).await?),
    };
    let config = shared.as_ref().map(|name| {
        format!("infracontainer:\n  networks:\n    pre_existing: true\n    name: {name}\n")
    });
    let measured = run_pods(dce, prefix, pods, &yaml, config.as_deref()).await;
    if let Some(name) = &shared {
        // Still in use means a pod was left behind: the check below reports it.
        let _still_in_use = docker.remove_network(name).await;
    }
    let mut result = measured?;
    result.left = cleanup::find(docker, prefix)
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(result)
}

async fn create_network(docker: &Docker, prefix: &str, run_id: &str) -> Result<String, BenchError> {
    let name = format!("{prefix}-shared");
    let labels = HashMap::from([
        (RUN_LABEL.to_string(), run_id.to_string()),
        ("com.docker.compose.project".to_string(), name.clone()),
    ]);
    docker
        .create_network(NetworkCreateRequest {
            name: name.clone(),
            labels: Some(labels),
            ..Default::default()
        })
        .await?;
    Ok(name)
}

async fn run_pods(
    dce: &Path,
    prefix: &str,
    pods: usize,
    yaml: &str,
    config: Option<&str>,
) -> Result<DensityResult, BenchError> {
    let starts = (0..pods).map(|i| {
        let task_id = format!("{prefix}-{i:02}");
        async move { DceTask::start(dce, &task_id, yaml, config).await }
    });
    let tasks = try_join_all(starts).await?;

    let first_launch = Instant::now();
    let sent: Vec<Instant> = tasks.iter().map(DceTask::launch).collect();
    let outcomes = join_all(tasks.iter().map(|t| t.wait_running_or_end())).await;
    let mut ran = Vec::new();
    let mut first_failure = None;
    for (outcome, launched) in outcomes.into_iter().zip(&sent) {
        match outcome {
            Ok(record) if *record.state() == TaskState::Running => ran.push((
                record.received_at,
                record.received_at.duration_since(*launched),
            )),
            Ok(record) => {
                first_failure.get_or_insert_with(|| {
                    let message = record.status.message.clone().unwrap_or_default();
                    format!("{}: {message}", record.state())
                });
            }
            Err(error) => {
                first_failure.get_or_insert_with(|| error.to_string());
            }
        }
    }
    let all_running = ran
        .iter()
        .map(|(at, _)| at.duration_since(first_launch))
        .max()
        .unwrap_or_default();
    let mut own: Vec<Duration> = ran.iter().map(|(_, d)| *d).collect();
    own.sort();
    let median_running = own.get(own.len() / 2).copied().unwrap_or_default();
    let total_rss_kib = tasks.iter().filter_map(|t| rss_kib(t.pid()).ok()).sum();
    let total_pss_kib = tasks.iter().filter_map(|t| pss_kib(t.pid()).ok()).sum();

    let first_kill = Instant::now();
    for task in &tasks {
        task.kill();
    }
    let ends = join_all(tasks.iter().map(DceTask::wait_terminal)).await;
    let mut killed = 0;
    let mut all_killed = Duration::ZERO;
    for record in ends.into_iter().flatten() {
        if *record.state() == TaskState::Killed {
            killed += 1;
            all_killed = all_killed.max(record.received_at.duration_since(first_kill));
        }
    }
    join_all(tasks.into_iter().map(DceTask::finish)).await;
    Ok(DensityResult {
        pods,
        running: ran.len(),
        all_running,
        median_running,
        killed,
        all_killed,
        total_rss_kib,
        total_pss_kib,
        left: Vec::new(),
        first_failure,
    })
}
