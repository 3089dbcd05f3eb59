//! Finding and removing the benchmark's Docker objects.
//!
//! Every object of a run belongs to a compose project whose name contains
//! `dcebench-<run id>` (dce's projects are `dce-<task id>`, compose's and the floor's are the
//! name itself), so one label scan finds them whichever tool created them. At start the scan
//! matches any run (leftovers of an interrupted earlier run), at the end this run.

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
    RemoveVolumeOptions,
};
use bollard::Docker;

const PROJECT_LABEL: &str = "com.docker.compose.project";

/// A Docker object of the benchmark found on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenchObject {
    /// A container (id, first name).
    Container(String, String),
    /// A network (id, name).
    Network(String, String),
    /// A volume (name).
    Volume(String),
}

impl std::fmt::Display for BenchObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BenchObject::Container(_, name) => write!(f, "container {name}"),
            BenchObject::Network(_, name) => write!(f, "network {name}"),
            BenchObject::Volume(name) => write!(f, "volume {name}"),
        }
    }
}

fn project_filter() -> Option<HashMap<String, Vec<String>>> {
    Some(HashMap::from([(
        "label".to_string(),
        vec![PROJECT_LABEL.to_string()],
    )]))
}

fn matches(labels: Option<&HashMap<String, String>>, needle: &str) -> bool {
    labels
        .and_then(|l| l.get(PROJECT_LABEL))
        .is_some_and(|project| project.contains(needle))
}

/// Containers, networks and volumes whose compose project name contains `needle`.
pub async fn find(
    docker: &Docker,
    needle: &str,
) -> Result<Vec<BenchObject>, bollard::errors::Error> {
    let mut found = Vec::new();
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: project_filter(),
            ..Default::default()
        }))
        .await?;
    for c in containers {
        if matches(c.labels.as_ref(), needle) {
            let name = c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default();
            found.push(BenchObject::Container(c.id.unwrap_or_default(), name));
        }
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: project_filter(),
        }))
        .await?;
    for n in networks {
        if matches(n.labels.as_ref(), needle) {
            found.push(BenchObject::Network(
                n.id.unwrap_or_default(),
                n.name.unwrap_or_default(),
            ));
        }
    }
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions {
            filters: project_filter(),
        }))
        .await?;
    for v in volumes.volumes.unwrap_or_default() {
        if matches(Some(&v.labels), needle) {
            found.push(BenchObject::Volume(v.name));
        }
    }
    Ok(found)
}

/// Removes every object whose project name contains `needle` (containers first, as they hold
/// the networks and volumes); returns how many were removed.
pub async fn remove(docker: &Docker, needle: &str) -> Result<usize, bollard::errors::Error> {
    let found = find(docker, needle).await?;
    for object in &found {
        if let BenchObject::Container(id, _) = object {
            let options = RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            };
            ignore_gone(docker.remove_container(id, Some(options)).await)?;
        }
    }
    for object in &found {
        match object {
            BenchObject::Network(id, _) => remove_network(docker, id).await?,
            BenchObject::Volume(name) => {
                let options = RemoveVolumeOptions { force: true };
                ignore_gone(docker.remove_volume(name, Some(options)).await)?
            }
            BenchObject::Container(..) => {}
        }
    }
    Ok(found.len())
}

/// Removes a network, retrying briefly: an endpoint of a just-removed container can linger.
async fn remove_network(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    let mut attempt = 0;
    loop {
        match ignore_gone(docker.remove_network(id).await) {
            Err(_) if attempt < 10 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

fn ignore_gone(result: Result<(), bollard::errors::Error>) -> Result<(), bollard::errors::Error> {
    match result {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_on_the_project_label_only() {
        let labels = HashMap::from([(PROJECT_LABEL.to_string(), "dce-dcebench-r1-x".to_string())]);
        assert!(matches(Some(&labels), "dcebench-r1"));
        assert!(!matches(Some(&labels), "dcebench-r2"));
        let other = HashMap::from([("x".to_string(), "dcebench-r1".to_string())]);
        assert!(!matches(Some(&other), "dcebench-r1"));
        assert!(!matches(None, "dcebench-r1"));
    }
}
