//! One test's identity on the engine and the guarantee that its objects are removed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bollard::query_parameters::{
    ListContainersOptions, ListImagesOptions, ListNetworksOptions, ListVolumesOptions,
    RemoveContainerOptions, RemoveImageOptions, RemoveVolumeOptions,
};
use bollard::Docker;

use crate::TestkitError;

/// Label key carried by every Docker object a test creates; its value is the run id.
pub const RUN_LABEL: &str = "io.dce.test-run";

/// A unique run id plus a cleanup guard: dropping it removes every container, network, volume
/// and image labelled with the run id (or with any label added by [`TestRun::also_clean_label`]), also when
/// the test panics.
#[derive(Debug)]
pub struct TestRun {
    id: String,
    filters: Mutex<Vec<String>>,
}

impl Default for TestRun {
    fn default() -> Self {
        Self::new()
    }
}

impl TestRun {
    /// A fresh run id, usable as (part of) a Docker object name and a compose project name.
    pub fn new() -> Self {
        let uuid = uuid::Uuid::new_v4().simple().to_string();
        let id = format!("dcet{}", &uuid[..12]);
        let filters = Mutex::new(vec![format!("{RUN_LABEL}={id}")]);
        Self { id, filters }
    }

    /// The run id (lowercase letters and digits only).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A name unique to this run: `<run id>-<suffix>`.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.id)
    }

    /// The run-id label as a map, ready to merge into an object's labels.
    pub fn labels(&self) -> HashMap<String, String> {
        HashMap::from([(RUN_LABEL.to_string(), self.id.clone())])
    }

    /// `io.dce.test-run=<id>`, the engine filter value matching this run's objects.
    pub fn label_filter(&self) -> String {
        format!("{RUN_LABEL}={}", self.id)
    }

    /// The engine list `filters` selecting this run's objects (containers, networks, volumes,
    /// images).
    pub fn filters(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([("label".to_string(), vec![self.label_filter()])])
    }

    /// Also remove objects carrying `key=value` at cleanup (for objects created by tools that do
    /// not take our label, e.g. `com.docker.compose.project=<project>`).
    pub fn also_clean_label(&self, key: &str, value: &str) {
        if let Ok(mut filters) = self.filters.lock() {
            filters.push(format!("{key}={value}"));
        }
    }

    /// Removes every object of this run now; also done on drop.
    pub async fn cleanup(&self) -> Result<(), TestkitError> {
        let filters = self.filters.lock().map(|f| f.clone()).unwrap_or_default();
        remove_labelled(&filters).await
    }
}

impl Drop for TestRun {
    fn drop(&mut self) {
        let filters = self.filters.lock().map(|f| f.clone()).unwrap_or_default();
        // Drop may run inside a test's runtime, so the cleanup gets its own thread and runtime.
        let outcome = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|rt| {
                    rt.block_on(remove_labelled(&filters))
                        .map_err(|e| e.to_string())
                })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("testkit: cleanup of run {} failed: {e}", self.id),
            Err(_) => eprintln!("testkit: cleanup thread of run {} panicked", self.id),
        }
    }
}

/// Removes containers first (they hold networks, volumes and images), then networks, volumes
/// and images.
async fn remove_labelled(filters: &[String]) -> Result<(), TestkitError> {
    let docker = crate::docker().await?;
    for filter in filters {
        remove_containers(&docker, filter).await?;
    }
    for filter in filters {
        remove_networks(&docker, filter).await?;
        remove_volumes(&docker, filter).await?;
        remove_images(&docker, filter).await?;
    }
    Ok(())
}

fn label_filter(filter: &str) -> Option<HashMap<String, Vec<String>>> {
    Some(HashMap::from([(
        "label".to_string(),
        vec![filter.to_string()],
    )]))
}

async fn remove_containers(docker: &Docker, filter: &str) -> Result<(), TestkitError> {
    let options = ListContainersOptions {
        all: true,
        filters: label_filter(filter),
        ..Default::default()
    };
    for container in docker.list_containers(Some(options)).await? {
        let Some(id) = container.id else { continue };
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match docker.remove_container(&id, Some(options)).await {
            Ok(()) => {}
            Err(e) if is_gone(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn remove_networks(docker: &Docker, filter: &str) -> Result<(), TestkitError> {
    let options = ListNetworksOptions {
        filters: label_filter(filter),
    };
    for network in docker.list_networks(Some(options)).await? {
        let Some(id) = network.id else { continue };
        // An endpoint of a just-removed container can linger for a moment.
        let mut attempt = 0;
        loop {
            match docker.remove_network(&id).await {
                Ok(()) => break,
                Err(e) if is_gone(&e) => break,
                Err(_) if attempt < 10 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

async fn remove_volumes(docker: &Docker, filter: &str) -> Result<(), TestkitError> {
    let options = ListVolumesOptions {
        filters: label_filter(filter),
    };
    let volumes = docker.list_volumes(Some(options)).await?.volumes;
    for volume in volumes.unwrap_or_default() {
        let options = RemoveVolumeOptions { force: true };
        match docker.remove_volume(&volume.name, Some(options)).await {
            Ok(()) => {}
            Err(e) if is_gone(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Every tag of each labelled image goes (forced: an image with several tags is untagged
/// otherwise, not removed).
async fn remove_images(docker: &Docker, filter: &str) -> Result<(), TestkitError> {
    let options = ListImagesOptions {
        filters: label_filter(filter),
        ..Default::default()
    };
    for image in docker.list_images(Some(options)).await? {
        let options = RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        match docker.remove_image(&image.id, Some(options), None).await {
            Ok(_) => {}
            Err(e) if is_gone(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn is_gone(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}
