//! Removing a pod from the engine: containers (forced, with their anonymous volumes), the pod's
//! networks, the volumes dce created (named ones only when configured), and the cgroup
//! directories Docker left behind for the pod's cgroup parent. Idempotent: objects already gone
//! are skipped, so removing a removed pod succeeds.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bollard::errors::Error as EngineError;
use bollard::models::{ContainerSummary, Network, Volume};
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptions, ListNetworksOptions, ListVolumesOptions,
    RemoveContainerOptions, RemoveVolumeOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::future::join_all;
use serde::Serialize;
use tracing::{info, warn};

use crate::cgroup::{remove_parent_dirs, CgroupRemoval, Hierarchies, ProtectedCgroups};
use crate::client::is_not_found;
use crate::labels;
use crate::running::RunningPod;

/// Attempts to remove a network whose endpoints the engine is still releasing.
const NETWORK_ATTEMPTS: u32 = 5;
const NETWORK_RETRY: Duration = Duration::from_millis(100);

/// What to remove besides containers and networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveOptions {
    /// Also remove named (top-level `volumes:`) volumes — config
    /// `cleanpod.cleanvolumeandcontaineronmesoskill`.
    pub named_volumes: bool,
    /// Stop running containers with the engine's `stop` and this timeout before removing them;
    /// `None` removes them forcibly at once (SIGKILL). Used when there was no `stop_pod` first.
    pub stop_grace: Option<Duration>,
}

/// Which pod `remove_by_labels` removes. Only objects that also carry dce's `io.dce.task-id`
/// label are ever selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodSelector {
    /// `com.docker.compose.project=<project>`.
    Project(String),
    /// `io.dce.task-id=<task id>`.
    Task(String),
}

impl PodSelector {
    /// The engine `label` filter values selecting the pod's objects.
    pub fn label_filters(&self) -> Vec<String> {
        let own = match self {
            Self::Project(project) => labels::filter(labels::COMPOSE_PROJECT, project),
            Self::Task(task) => labels::filter(labels::TASK_ID, task),
        };
        vec![own, labels::TASK_ID.to_string()]
    }
}

/// What a removal did. Objects that were already gone are not listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RemovalReport {
    /// Container ids removed.
    pub containers: Vec<String>,
    /// Network ids or names removed.
    pub networks: Vec<String>,
    /// Volume names removed.
    pub volumes: Vec<String>,
    /// Volume names kept because they are named and `named_volumes` was off.
    pub volumes_kept: Vec<String>,
    /// The cgroup directories removed or kept.
    pub cgroups: CgroupRemoval,
    /// Every failure, as `<object>: <engine message>`.
    pub errors: Vec<String>,
}

impl RemovalReport {
    /// True when nothing failed.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.cgroups.errors.is_empty()
    }
}

/// Errors that prevent a label-selected removal from starting.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    /// Listing the pod's objects failed.
    #[error("list {what} with labels {filters:?}: {source}")]
    List {
        what: &'static str,
        filters: Vec<String>,
        #[source]
        source: EngineError,
    },
}

/// Engine objects to tear down, in the order they must go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Teardown {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    /// Volume name and whether it is named.
    pub volumes: Vec<(String, bool)>,
    pub cgroup_parents: BTreeSet<String>,
}

/// Removes everything `pod` lists. Failures are collected in the report; the removal carries on
/// past them so that one stuck object does not leak the rest.
pub async fn remove_pod(
    docker: &Docker,
    pod: &RunningPod,
    options: &RemoveOptions,
) -> RemovalReport {
    let teardown = Teardown {
        containers: pod.containers.iter().map(|c| c.id.clone()).collect(),
        networks: pod.networks.clone(),
        volumes: pod
            .volumes
            .iter()
            .map(|v| (v.name.clone(), v.named))
            .collect(),
        cgroup_parents: pod.cgroup_parent.iter().cloned().collect(),
    };
    info!(project = %pod.project, "removing pod");
    teardown.run(docker, options).await
}

/// Removes the containers, networks and volumes carrying the selected pod's labels (for cleanup
/// when no [`RunningPod`] is at hand), and the cgroup parents those containers used.
pub async fn remove_by_labels(
    docker: &Docker,
    selector: &PodSelector,
    options: &RemoveOptions,
) -> Result<RemovalReport, RemoveError> {
    let filters = selector.label_filters();
    let teardown = Teardown::select(docker, &filters).await?;
    info!(
        ?selector,
        containers = teardown.containers.len(),
        "removing pod by labels"
    );
    Ok(teardown.run(docker, options).await)
}

/// The containers (running or not), networks and volumes carrying every label filter: what both
/// a label-selected removal and the reaper start from.
pub(crate) struct LabelledObjects {
    pub containers: Vec<ContainerSummary>,
    pub networks: Vec<Network>,
    pub volumes: Vec<Volume>,
}

impl LabelledObjects {
    /// Lists the objects matching every `label` filter (`key` or `key=value`).
    pub(crate) async fn list(docker: &Docker, filters: &[String]) -> Result<Self, RemoveError> {
        let filter_map = || Some(HashMap::from([("label".to_string(), filters.to_vec())]));
        let list_error = |what| {
            let filters = filters.to_vec();
            move |source| RemoveError::List {
                what,
                filters,
                source,
            }
        };
        let containers = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: filter_map(),
                ..Default::default()
            }))
            .await
            .map_err(list_error("containers"))?;
        let networks = docker
            .list_networks(Some(ListNetworksOptions {
                filters: filter_map(),
            }))
            .await
            .map_err(list_error("networks"))?;
        let volumes = docker
            .list_volumes(Some(ListVolumesOptions {
                filters: filter_map(),
            }))
            .await
            .map_err(list_error("volumes"))?;
        Ok(Self {
            containers,
            networks,
            volumes: volumes.volumes.unwrap_or_default(),
        })
    }
}

impl Teardown {
    /// Lists the objects matching every label filter.
    pub(crate) async fn select(docker: &Docker, filters: &[String]) -> Result<Self, RemoveError> {
        let LabelledObjects {
            containers,
            networks,
            volumes,
        } = LabelledObjects::list(docker, filters).await?;
        let containers: Vec<String> = containers.into_iter().filter_map(|c| c.id).collect();
        Ok(Self {
            cgroup_parents: cgroup_parents(docker, &containers).await,
            containers,
            networks: networks.into_iter().filter_map(|n| n.id).collect(),
            // Volumes dce labels are the ones it created for top-level `volumes:`: named.
            volumes: volumes.into_iter().map(|v| (v.name, true)).collect(),
        })
    }

    /// Stops (optionally), then removes containers, networks, volumes and cgroup directories.
    pub(crate) async fn run(&self, docker: &Docker, options: &RemoveOptions) -> RemovalReport {
        let mut report = RemovalReport::default();
        if let Some(grace) = options.stop_grace {
            stop_all(docker, &self.containers, grace, &mut report).await;
        }
        let removals = self
            .containers
            .iter()
            .map(|id| remove_container(docker, id));
        for (id, outcome) in self.containers.iter().zip(join_all(removals).await) {
            match outcome {
                Ok(true) => report.containers.push(id.clone()),
                Ok(false) => {}
                Err(error) => report.errors.push(format!("container {id}: {error}")),
            }
        }
        for network in &self.networks {
            match remove_network(docker, network).await {
                Ok(true) => report.networks.push(network.clone()),
                Ok(false) => {}
                Err(error) => report.errors.push(format!("network {network}: {error}")),
            }
        }
        for (volume, named) in &self.volumes {
            if *named && !options.named_volumes {
                report.volumes_kept.push(volume.clone());
                continue;
            }
            match remove_volume(docker, volume).await {
                Ok(true) => report.volumes.push(volume.clone()),
                Ok(false) => {}
                Err(error) => report.errors.push(format!("volume {volume}: {error}")),
            }
        }
        if !self.cgroup_parents.is_empty() {
            remove_cgroups(&self.cgroup_parents, &mut report);
        }
        if !report.is_clean() {
            warn!(errors = ?report.errors, cgroup_errors = ?report.cgroups.errors, "pod removal incomplete");
        }
        report
    }
}

/// `HostConfig.CgroupParent` of each container that has one.
pub(crate) async fn cgroup_parents(docker: &Docker, containers: &[String]) -> BTreeSet<String> {
    let inspections = containers
        .iter()
        .map(|id| docker.inspect_container(id, None::<InspectContainerOptions>));
    join_all(inspections)
        .await
        .into_iter()
        .filter_map(|inspect| inspect.ok()?.host_config?.cgroup_parent)
        .filter(|parent| !parent.is_empty())
        .collect()
}

async fn stop_all(
    docker: &Docker,
    containers: &[String],
    grace: Duration,
    report: &mut RemovalReport,
) {
    let timeout = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
    let stops = containers.iter().map(|id| {
        docker.stop_container(
            id,
            Some(StopContainerOptions {
                t: Some(timeout),
                signal: None,
            }),
        )
    });
    for (id, outcome) in containers.iter().zip(join_all(stops).await) {
        match outcome {
            Ok(()) => {}
            // 404: gone; 304: already stopped.
            Err(error) if is_not_found(&error) || status_of(&error) == Some(304) => {}
            Err(error) => report.errors.push(format!("stop container {id}: {error}")),
        }
    }
}

fn status_of(error: &EngineError) -> Option<u16> {
    match error {
        EngineError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// `Ok(false)` when the container was already gone.
async fn remove_container(docker: &Docker, id: &str) -> Result<bool, EngineError> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        link: false,
    };
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(true),
        Err(error) if is_not_found(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// `Ok(false)` when the network was already gone. Retries briefly: the engine may still be
/// releasing the endpoints of containers removed a moment ago.
async fn remove_network(docker: &Docker, network: &str) -> Result<bool, EngineError> {
    let mut attempt = 1;
    loop {
        match docker.remove_network(network).await {
            Ok(()) => return Ok(true),
            Err(error) if is_not_found(&error) => return Ok(false),
            Err(_) if attempt < NETWORK_ATTEMPTS => {
                tokio::time::sleep(NETWORK_RETRY * attempt).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// `Ok(false)` when the volume was already gone.
async fn remove_volume(docker: &Docker, volume: &str) -> Result<bool, EngineError> {
    match docker
        .remove_volume(volume, Some(RemoveVolumeOptions { force: false }))
        .await
    {
        Ok(()) => Ok(true),
        Err(error) if is_not_found(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

fn remove_cgroups(parents: &BTreeSet<String>, report: &mut RemovalReport) {
    let hierarchies = match Hierarchies::detect() {
        Ok(hierarchies) => hierarchies,
        Err(error) => {
            report
                .cgroups
                .errors
                .push(format!("read /proc/self/mountinfo: {error}"));
            return;
        }
    };
    let protected = match ProtectedCgroups::of_current_process(&hierarchies) {
        Ok(protected) => protected,
        Err(error) => {
            report
                .cgroups
                .errors
                .push(format!("read /proc/self/cgroup: {error}"));
            return;
        }
    };
    for parent in parents {
        let removal = remove_parent_dirs(&hierarchies, parent, &protected);
        report.cgroups.removed.extend(removal.removed);
        report.cgroups.in_use.extend(removal.in_use);
        report.cgroups.protected.extend(removal.protected);
        report.cgroups.errors.extend(removal.errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_always_require_the_dce_task_label() {
        assert_eq!(
            PodSelector::Project("dce-t1".into()).label_filters(),
            vec!["com.docker.compose.project=dce-t1", "io.dce.task-id"]
        );
        assert_eq!(
            PodSelector::Task("t1".into()).label_filters(),
            vec!["io.dce.task-id=t1", "io.dce.task-id"]
        );
    }
}
