//! A pod that exists on the engine, as its supervisor holds it: the plan, the engine handle, the
//! watcher feeding the supervisor's inbox, the log followers, and the Docker work the
//! supervisor starts without waiting for it (restarts, teardown).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::query_parameters::{KillContainerOptions, RestartContainerOptions};
use bollard::Docker;
use docker::{remove_pod, stop_pod, PodWatcher, RemoveOptions, RunningPod};
use pod::{PluginChain, PodPlan, TaskContext};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::Input;
use crate::executor::container_logs::LogFollower;
use crate::executor::launch::Launched;
use crate::executor::pod_view::PodView;
use crate::executor::status::PodFacts;

/// How long to wait for the log followers to copy a stopped container's last output.
const LOG_DRAIN: Duration = Duration::from_secs(2);

/// A launched pod and everything that watches it.
pub struct ActivePod {
    /// The plan it was created from.
    pub plan: PodPlan,
    /// The task's plugins.
    pub chain: Arc<PluginChain>,
    /// What exists on the engine.
    pub pod: RunningPod,
    /// Ports and addresses for updates.
    pub facts: PodFacts,
    /// Per-service state.
    pub view: PodView,
    watcher: PodWatcher,
    forwarder: AbortOnDrop,
    logs: HashMap<String, LogFollower>,
    restarts: Vec<AbortOnDrop>,
}

/// A spawned task that is aborted with its owner.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl ActivePod {
    /// Starts watching `launched` (events go to `inbox`) and copying its containers' output.
    pub fn watch(
        docker: &Docker,
        launched: Launched,
        logs_dir: &std::path::Path,
        inbox: UnboundedSender<Input>,
    ) -> ActivePod {
        let Launched {
            plan,
            chain,
            pod,
            facts,
        } = launched;
        let view = PodView::new(&plan, &pod);
        let (watcher, mut events) = PodWatcher::start(docker.clone(), &pod);
        let forwarder = AbortOnDrop(tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if inbox.send(Input::Pod(event)).is_err() {
                    return;
                }
            }
        }));
        let logs = view
            .services()
            .iter()
            .map(|(service, s)| {
                let follower =
                    LogFollower::start(docker.clone(), logs_dir, service, &s.container_id, None);
                (service.clone(), follower)
            })
            .collect();
        ActivePod {
            plan,
            chain,
            pod,
            facts,
            view,
            watcher,
            forwarder,
            logs,
            restarts: Vec::new(),
        }
    }

    /// Follows the output of a restarted container again, from now on.
    pub fn follow_again(&mut self, docker: &Docker, logs_dir: &std::path::Path, service: &str) {
        let Some(container) = self.view.services().get(service) else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let follower = LogFollower::start(
            docker.clone(),
            logs_dir,
            service,
            &container.container_id,
            Some(now - 1),
        );
        self.logs.insert(service.to_string(), follower);
    }

    /// Starts an exited container again after `delay`; a failure comes back as
    /// [`Input::RestartFailed`].
    pub fn restart_later(
        &mut self,
        docker: &Docker,
        service: String,
        container_id: String,
        delay: Duration,
        running: bool,
        inbox: UnboundedSender<Input>,
    ) {
        let docker = docker.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let result = if running {
                let options = RestartContainerOptions {
                    t: Some(10),
                    ..RestartContainerOptions::default()
                };
                docker.restart_container(&container_id, Some(options)).await
            } else {
                docker.start_container(&container_id, None).await
            };
            if let Err(error) = result {
                let _ = inbox.send(Input::RestartFailed {
                    service,
                    error: error.to_string(),
                });
            }
        });
        self.restarts.retain(|r| !r.0.is_finished());
        self.restarts.push(AbortOnDrop(task));
    }

    /// Stops watching and restarting, then stops and removes the pod in the background;
    /// [`Input::TornDown`] follows.
    pub fn tear_down(
        self,
        docker: &Docker,
        task: &TaskContext,
        grace: Duration,
        inbox: UnboundedSender<Input>,
    ) {
        let ActivePod {
            plan,
            chain,
            pod,
            watcher,
            forwarder,
            logs,
            restarts,
            ..
        } = self;
        drop(restarts);
        drop(forwarder);
        let docker = docker.clone();
        let task = task.clone();
        tokio::spawn(async move {
            watcher.stop().await;
            tear_down(&docker, &plan, &chain, &pod, &task, grace, logs).await;
            let _ = inbox.send(Input::TornDown);
        });
    }
}

/// Stops a pod that was launched but never watched (a KILL raced the launch's end).
pub fn tear_down_launched(
    docker: &Docker,
    launched: Launched,
    task: &TaskContext,
    grace: Duration,
    inbox: UnboundedSender<Input>,
) {
    let docker = docker.clone();
    let task = task.clone();
    tokio::spawn(async move {
        let Launched {
            plan, chain, pod, ..
        } = launched;
        tear_down(&docker, &plan, &chain, &pod, &task, grace, HashMap::new()).await;
        let _ = inbox.send(Input::TornDown);
    });
}

/// SIGKILLs every container of `pod` at `at` (a later KILL shortened the grace); the running
/// teardown then sees them exit.
pub fn force_kill_at(
    docker: &Docker,
    pod: RunningPod,
    at: tokio::time::Instant,
) -> tokio::task::AbortHandle {
    let docker = docker.clone();
    let task = tokio::spawn(async move {
        tokio::time::sleep_until(at).await;
        for container in &pod.containers {
            let options = KillContainerOptions {
                signal: "SIGKILL".to_string(),
            };
            if let Err(error) = docker.kill_container(&container.id, Some(options)).await {
                tracing::debug!(container = %container.id, %error, "SIGKILL at the shortened deadline");
            }
        }
    });
    task.abort_handle()
}

/// pre_kill hooks → ordered stop within `grace` → removal (per config) → post_kill hooks.
async fn tear_down(
    docker: &Docker,
    plan: &PodPlan,
    chain: &PluginChain,
    pod: &RunningPod,
    task: &TaskContext,
    grace: Duration,
    logs: HashMap<String, LogFollower>,
) {
    for error in chain.pre_kill(plan, task) {
        tracing::warn!(task_id = %task.task_id, %error, "pre-kill hook failed");
    }
    let stops = stop_pod(docker, pod, grace).await;
    tracing::info!(task_id = %task.task_id, project = %pod.project, stopped = stops.len(), "pod stopped");
    for follower in logs.into_values() {
        follower.finish(LOG_DRAIN).await;
    }
    if task.config.remove_containers_and_volumes {
        let options = RemoveOptions {
            named_volumes: task.config.remove_named_volumes,
            stop_grace: None,
        };
        let report = remove_pod(docker, pod, &options).await;
        if !report.is_clean() {
            tracing::warn!(task_id = %task.task_id, errors = ?report.errors, cgroups = ?report.cgroups.errors, "pod removal incomplete");
        }
    } else {
        tracing::info!(task_id = %task.task_id, "cleanpod.cleanvolumeandcontaineronmesoskill is false: stopped containers are kept");
    }
    for error in chain.post_kill(plan, task) {
        tracing::warn!(task_id = %task.task_id, %error, "post-kill hook failed");
    }
}
