//! The launch of one pod (SPEC §4), up to the moment every container has been started:
//! identity → load and validate → admission and rewrite → plan files → images → create.
//!
//! It runs as its own task so that the supervisor's inbox stays free; cancelling it (KILL,
//! SHUTDOWN, launch timeout) stops it at once and removes whatever it created.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bollard::Docker;
use compose::{ComposeSource, InterpolationEnv, ProjectLoader, YamlLimits};
use docker::images::{ensure_images, image_requests, ImageProgress, PullSettings};
use docker::images_auth::RegistryCredentials;
use docker::{create_pod, CreateOptions, DockerError, RunningPod};
use mesos::Reason;
use pod::{ErrorReason, PluginChain, PodError, PodPlan, TaskContext};
use tokio_util::sync::CancellationToken;

use super::pod_files::TaskFiles;
use super::status::PodFacts;

/// Everything a launch needs.
pub struct LaunchJob {
    /// The engine.
    pub docker: Docker,
    /// The task, with its effective config.
    pub task: TaskContext,
    /// Compose sources (empty: the sandbox's default file).
    pub sources: Vec<ComposeSource>,
    /// Where the pod's files go.
    pub files: TaskFiles,
    /// Binary the built-in infra image is made from (`None`: this executable).
    pub infra_binary: Option<PathBuf>,
}

/// A pod whose containers have all been started.
pub struct Launched {
    /// The final plan.
    pub plan: PodPlan,
    /// The task's plugins (for the later hooks).
    pub chain: Arc<PluginChain>,
    /// What exists on the engine.
    pub pod: RunningPod,
    /// Ports and addresses for status updates.
    pub facts: PodFacts,
}

/// Why a launch failed, as Mesos is told.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchFailure {
    /// The Mesos reason.
    pub reason: Reason,
    /// What went wrong, naming file, service, key or the engine's message.
    pub message: String,
    /// The launch was cancelled (KILL, SHUTDOWN, timeout), not failed.
    pub cancelled: bool,
}

impl LaunchFailure {
    fn launch(message: impl Into<String>) -> Self {
        LaunchFailure {
            reason: Reason::ContainerLaunchFailed,
            message: message.into(),
            cancelled: false,
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        LaunchFailure {
            reason: Reason::TaskInvalid,
            message: message.into(),
            cancelled: false,
        }
    }

    /// The failure of a plugin or planning step.
    pub fn from_pod(error: &PodError) -> Self {
        let reason = match error.reason() {
            ErrorReason::TaskInvalid => Reason::TaskInvalid,
            ErrorReason::TaskUnauthorized => Reason::TaskUnauthorized,
        };
        LaunchFailure {
            reason,
            message: error.to_string(),
            cancelled: false,
        }
    }

    fn from_docker(error: DockerError) -> Self {
        let cancelled = matches!(error, DockerError::Cancelled);
        LaunchFailure {
            reason: Reason::ContainerLaunchFailed,
            message: error.to_string(),
            cancelled,
        }
    }

    fn cancelled() -> Self {
        LaunchFailure::from_docker(DockerError::Cancelled)
    }
}

/// Runs the launch; `progress` receives human progress lines for TASK_STARTING messages.
pub async fn launch(
    job: LaunchJob,
    cancel: CancellationToken,
    progress: impl Fn(String) + Send + Sync + 'static,
) -> Result<Launched, LaunchFailure> {
    let LaunchJob {
        docker,
        task,
        sources,
        files,
        infra_binary,
    } = job;
    let task = Arc::new(task);
    let started = std::time::Instant::now();
    let planning = {
        let task = task.clone();
        let files = files.clone();
        tokio::task::spawn_blocking(move || plan(&task, &sources, &files))
    };
    let (mut plan, chain) = tokio::select! {
        planned = planning => planned.map_err(|e| LaunchFailure::launch(format!("planning the pod panicked: {e}")))??,
        _ = cancel.cancelled() => return Err(LaunchFailure::cancelled()),
    };
    tracing::info!(task_id = %task.task_id, project = %plan.project_name, "pod planned");

    let planned = started.elapsed();
    let settings = pull_settings(&task)?;
    let requests = image_requests(&plan.project);
    let images = ensure_images(&docker, &requests, &settings, move |event| {
        if let Some(line) = image_progress(&event) {
            progress(line);
        }
    });
    tokio::select! {
        pulled = images => pulled.map_err(LaunchFailure::from_docker)?,
        _ = cancel.cancelled() => return Err(LaunchFailure::cancelled()),
    }
    let chain = Arc::new(chain);
    {
        let before = plan.clone();
        chain
            .post_pull(&mut plan, &task)
            .map_err(|e| LaunchFailure::from_pod(&e))?;
        if plan != before {
            files
                .write_plan(&plan)
                .map_err(|e| LaunchFailure::launch(format!("cannot write the pod plan: {e}")))?;
        }
    }

    let imaged = started.elapsed();
    let options = CreateOptions { infra_binary };
    let created = create_pod(&docker, &plan, &options, &cancel)
        .await
        .map_err(LaunchFailure::from_docker)?;
    let facts = pod_facts(&docker, &plan, &created.pod).await;
    let t = &created.timings;
    let slowest_service = t
        .services
        .iter()
        .map(|s| s.waited + s.create + s.start)
        .max();
    tracing::info!(
        task_id = %task.task_id,
        project = %plan.project_name,
        launch_ms = started.elapsed().as_millis() as u64,
        plan_ms = planned.as_millis() as u64,
        images_ms = (imaged - planned).as_millis() as u64,
        total_ms = t.total.as_millis() as u64,
        networks_ms = t.networks.as_millis() as u64,
        infra_image_ms = t.infra_image.as_millis() as u64,
        infra_create_ms = t.infra_create.as_millis() as u64,
        infra_start_ms = t.infra_start.as_millis() as u64,
        slowest_service_ms = slowest_service.unwrap_or_default().as_millis() as u64,
        "pod created"
    );
    Ok(Launched {
        plan,
        chain,
        pod: created.pod,
        facts,
    })
}

/// The synchronous part: identity, load, plugins, plan files.
fn plan(
    task: &TaskContext,
    sources: &[ComposeSource],
    files: &TaskFiles,
) -> Result<(PodPlan, PluginChain), LaunchFailure> {
    let project_name = pod::naming::project_name(&task.task_id);
    files
        .write_identity(task, &project_name)
        .map_err(|e| LaunchFailure::launch(format!("cannot write the pod identity: {e}")))?;
    let limits = YamlLimits {
        max_bytes: task.config.yaml_max_bytes,
        max_nodes: usize::try_from(task.config.yaml_max_nodes).unwrap_or(usize::MAX),
    };
    let project = ProjectLoader::new(&task.sandbox, InterpolationEnv::from_process())
        .with_limits(limits)
        .load(sources)
        .map_err(|e| LaunchFailure::invalid(e.to_string()))?;
    let chain = PluginChain::from_config(&task.config, Vec::new())
        .map_err(|e| LaunchFailure::from_pod(&e))?;
    let plan = pod::plan_pod(project, task, &chain).map_err(|e| LaunchFailure::from_pod(&e))?;
    files
        .write_plan(&plan)
        .map_err(|e| LaunchFailure::launch(format!("cannot write the pod plan: {e}")))?;
    Ok((plan, chain))
}

fn pull_settings(task: &TaskContext) -> Result<PullSettings, LaunchFailure> {
    let credentials = match RegistryCredentials::default_path() {
        Some(path) => RegistryCredentials::load(&path).map_err(LaunchFailure::from_docker)?,
        None => RegistryCredentials::default(),
    };
    Ok(PullSettings {
        skip_pull: task.config.skip_pull,
        retries: task.config.pull_retry,
        credentials,
        ..PullSettings::default()
    })
}

/// A TASK_STARTING line for the image events worth telling the framework about.
fn image_progress(event: &ImageProgress) -> Option<String> {
    match event {
        ImageProgress::Pulling { image, attempt } if *attempt > 1 => {
            Some(format!("pulling image {image} (attempt {attempt})"))
        }
        ImageProgress::Pulling { image, .. } => Some(format!("pulling image {image}")),
        ImageProgress::RetryScheduled {
            image,
            delay,
            error,
            ..
        } => Some(format!(
            "pulling image {image} failed ({error}); retrying in {} ms",
            delay.as_millis()
        )),
        ImageProgress::Pulled { image } => Some(format!("pulled image {image}")),
        ImageProgress::Present { .. } | ImageProgress::Status { .. } => None,
    }
}

/// The pod's addresses and final host ports (ephemeral ones read back from the engine).
async fn pod_facts(docker: &Docker, plan: &PodPlan, pod: &RunningPod) -> PodFacts {
    let holder = match plan.infra() {
        Some(_) => pod
            .containers
            .iter()
            .find(|c| c.role == docker::ContainerRole::Infra),
        None => pod.containers.first(),
    };
    let settings = match holder {
        Some(container) => docker
            .inspect_container(&container.id, None)
            .await
            .map_err(|e| tracing::warn!(error = %e, "cannot inspect the pod's network holder"))
            .ok()
            .and_then(|inspect| inspect.network_settings),
        None => None,
    };
    let ip_addresses = settings
        .as_ref()
        .and_then(|s| s.networks.as_ref())
        .map(|networks| {
            networks
                .values()
                .filter_map(|n| n.ip_address.clone())
                .filter(|ip| !ip.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let published: HashMap<String, String> = settings
        .and_then(|s| s.ports)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(port, bindings)| {
            let host = bindings?.into_iter().find_map(|b| b.host_port)?;
            Some((port, host))
        })
        .collect();
    let ports = plan
        .ports
        .iter()
        .filter_map(|mapping| {
            let host = match mapping.host_port {
                Some(port) => port.to_string(),
                None => published
                    .get(&format!(
                        "{}/{}",
                        mapping.container_port,
                        mapping.protocol.as_str()
                    ))?
                    .clone(),
            };
            Some((mapping.label_key(), host))
        })
        .collect();
    PodFacts {
        project: plan.project_name.clone(),
        ports,
        ip_addresses,
    }
}
