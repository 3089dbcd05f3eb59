//! Shared helpers of the `create_*` tests: compose text → `PodPlan` through the real compose
//! loader and pod rewrite, every object labelled with the test's run id.

use std::path::Path;

use bollard::models::ContainerInspectResponse;
use bollard::Docker;
use compose::{ComposeSource, InterpolationEnv, ProjectLoader};
use docker::{create_pod, CreateOptions, CreatedPod, DockerError};
use pod::config::{AdmissionMode, CgroupParentPolicy};
use pod::ports::PortRange;
use pod::{Config, PluginChain, PodPlan, TaskContext};
use testkit::{TestRun, RUN_LABEL};
use tokio_util::sync::CancellationToken;

/// A test's engine connection, run id and sandbox.
pub struct Harness {
    pub docker: Docker,
    pub run: TestRun,
    pub sandbox: tempfile::TempDir,
}

impl Harness {
    pub async fn new() -> Harness {
        let docker = testkit::docker().await.unwrap();
        testkit::ensure_busybox_image(&docker).await.unwrap();
        Harness {
            docker,
            run: TestRun::new(),
            sandbox: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.sandbox.path()
    }

    /// Plans `yaml` with the privileged admission policy, no cgroup parent, the test pause image
    /// as infra image and `ports` offered.
    pub fn plan(&self, yaml: &str, ports: Vec<PortRange>) -> PodPlan {
        self.plan_with(yaml, ports, |_| {})
    }

    pub fn plan_with(
        &self,
        yaml: &str,
        ports: Vec<PortRange>,
        configure: impl FnOnce(&mut Config),
    ) -> PodPlan {
        std::fs::write(self.path().join("docker-compose.yml"), yaml).unwrap();
        let project = ProjectLoader::new(self.path(), InterpolationEnv::empty())
            .load(&[ComposeSource::File("docker-compose.yml".into())])
            .unwrap();
        let mut config = Config::default();
        config.admission.mode = AdmissionMode::Privileged;
        config.cgroup_parent = CgroupParentPolicy::Off;
        config.infra_image = Some(testkit::PAUSE_IMAGE.to_string());
        configure(&mut config);
        let task = TaskContext::local(
            self.run.id(),
            self.path().to_path_buf(),
            ports,
            config.clone(),
        );
        let chain = PluginChain::from_config(&config, Vec::new()).unwrap();
        let mut plan = pod::plan_pod(project, &task, &chain).unwrap();
        label_everything(&mut plan, &self.run);
        self.run
            .also_clean_label(docker::labels::COMPOSE_PROJECT, &plan.project_name);
        plan
    }

    pub async fn up(&self, plan: &PodPlan) -> Result<CreatedPod, DockerError> {
        create_pod(
            &self.docker,
            plan,
            &CreateOptions::default(),
            &CancellationToken::new(),
        )
        .await
    }

    pub async fn inspect(&self, name: &str) -> ContainerInspectResponse {
        self.docker.inspect_container(name, None).await.unwrap()
    }

    /// Names of the pod's containers, networks and volumes still on the engine.
    pub async fn leftovers(&self) -> Vec<String> {
        let filters = Some(self.run.filters());
        let mut names = Vec::new();
        let containers = self
            .docker
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: filters.clone(),
                ..Default::default()
            }))
            .await
            .unwrap();
        names.extend(
            containers
                .into_iter()
                .flat_map(|c| c.names.unwrap_or_default()),
        );
        let networks = self
            .docker
            .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
                filters: filters.clone(),
            }))
            .await
            .unwrap();
        names.extend(networks.into_iter().filter_map(|n| n.name));
        let volumes = self
            .docker
            .list_volumes(Some(bollard::query_parameters::ListVolumesOptions {
                filters,
            }))
            .await
            .unwrap();
        names.extend(
            volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.name),
        );
        names
    }
}

/// Adds the run label to every container, network and volume the plan creates.
pub fn label_everything(plan: &mut PodPlan, run: &TestRun) {
    let (key, value) = (RUN_LABEL.to_string(), run.id().to_string());
    plan.labels.insert(key.clone(), value.clone());
    for service in plan.project.services.values_mut() {
        service.labels.insert(key.clone(), value.clone());
    }
    for network in plan.project.networks.values_mut() {
        network.labels.insert(key.clone(), value.clone());
    }
    for volume in plan.project.volumes.values_mut() {
        volume.labels.insert(key.clone(), value.clone());
    }
    if let pod::plan::PodNetwork::Shared { infra } = &mut plan.network {
        infra.labels.insert(key.clone(), value.clone());
        if !infra.network.pre_existing {
            infra.network.labels.insert(key, value);
        }
    }
}
