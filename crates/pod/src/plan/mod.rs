//! `PodPlan`: everything the runtime needs to run one pod, and nothing it has to work out again.

mod compose_form;
mod serde_forms;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::labels::LabelSet;

pub use compose_form::INFRA_SERVICE;

/// Image used for the infra container when the config names none; the runtime builds it from
/// dce's own binary (`docker import` of a one-file tarball whose command is `dce pause`).
pub const BUILTIN_INFRA_IMAGE: &str = concat!("dce-infra:", env!("CARGO_PKG_VERSION"));

/// The plan of one pod: the rewritten compose project plus what dce adds around it.
///
/// `project` is the engine's view: container names, labels, cgroup parent and network modes are
/// final (`network_mode: container:<infra>` in shared mode), `restart` is gone (kept in
/// `services` for dce), and every network/volume dce creates has its engine name in `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodPlan {
    /// Compose project name, `dce-<task>`; also the `com.docker.compose.project` label.
    pub project_name: String,
    /// How the pod is networked.
    pub network: PodNetwork,
    /// The rewritten project (serialized as a compose document).
    #[serde(with = "serde_forms::project_document")]
    pub project: compose::Project,
    /// What dce itself applies per service, in service order.
    pub services: IndexMap<String, ServicePlan>,
    /// Every published port with its host port, in allocation order.
    pub ports: Vec<PortMapping>,
    /// Labels on every container, network and volume of the pod.
    pub labels: LabelSet,
    /// cgroup parent of every container, when used.
    pub cgroup_parent: Option<String>,
    /// Every change the rewrite made, for `dce render` and the logs.
    pub rewrites: Vec<Rewrite>,
}

/// The pod's network layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum PodNetwork {
    /// One namespace owned by the infra container; every service joins it.
    Shared {
        /// The infra container.
        infra: Box<InfraSpec>,
    },
    /// Every service uses the host's namespace; no infra container.
    Host,
    /// Every service has only loopback; no infra container.
    None,
    /// Compose networking (`x-dce: {network: compose}`): each service on the project's networks.
    Compose,
}

/// The infra container that owns the shared network namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfraSpec {
    /// Container name, `<project>-infra`.
    pub container_name: String,
    /// Image; `None` means [`BUILTIN_INFRA_IMAGE`], built by dce.
    pub image: Option<String>,
    /// Published ports of the whole pod (authoritative for the runtime).
    #[serde(default)]
    pub ports: Vec<PortMapping>,
    /// Exposed (unpublished) ports of the services, as `port/protocol`.
    #[serde(default)]
    pub expose: Vec<String>,
    /// `/etc/hosts` entries: the services' own plus every service name → 127.0.0.1.
    #[serde(default)]
    pub extra_hosts: Vec<HostEntry>,
    /// DNS servers.
    #[serde(default)]
    pub dns: Vec<String>,
    /// DNS search domains.
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// resolv.conf options.
    #[serde(default)]
    pub dns_opt: Vec<String>,
    /// Host name of the pod.
    pub hostname: Option<String>,
    /// NIS domain name of the pod.
    pub domainname: Option<String>,
    /// Network-namespaced (`net.*`) sysctls of the services.
    #[serde(default)]
    pub sysctls: IndexMap<String, String>,
    /// The network it joins.
    pub network: InfraNetwork,
    /// Its labels.
    pub labels: LabelSet,
    /// Its cgroup parent.
    pub cgroup_parent: Option<String>,
}

impl InfraSpec {
    /// The image to run.
    pub fn image_or_builtin(&self) -> &str {
        self.image.as_deref().unwrap_or(BUILTIN_INFRA_IMAGE)
    }
}

/// The network the infra container joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfraNetwork {
    /// Engine name: `<project>_default`, or the operator's pre-existing network.
    pub name: String,
    /// The operator's network: not created, not removed, not labelled.
    pub pre_existing: bool,
    /// Driver when dce creates it.
    pub driver: String,
    /// Labels when dce creates it.
    pub labels: LabelSet,
}

/// One `/etc/hosts` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostEntry {
    /// Host name.
    pub hostname: String,
    /// Address.
    pub ip: String,
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// The service that published it in the compose files.
    pub service: String,
    /// Port inside the container.
    pub container_port: u16,
    /// Transport protocol.
    #[serde(with = "serde_forms::protocol")]
    pub protocol: compose::Protocol,
    /// Host port from the task's resources; `None`: Docker picks an ephemeral one.
    pub host_port: Option<u16>,
    /// Host address to bind; `None` binds all.
    pub host_ip: Option<String>,
}

impl PortMapping {
    /// The label form used in status updates: `port.<service>.<port>/<proto>`.
    pub fn label_key(&self) -> String {
        format!(
            "port.{}.{}/{}",
            self.service,
            self.container_port,
            self.protocol.as_str()
        )
    }
}

/// What dce applies to one service beyond what Docker is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePlan {
    /// Final container name.
    pub container_name: String,
    /// The restart policy from the file, applied by dce (Docker gets none).
    pub restart: RestartPolicy,
    /// What an `unhealthy` report does (`x-dce.on-unhealthy`).
    pub on_unhealthy: OnUnhealthy,
}

/// A service's restart policy as dce applies it (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "policy")]
pub enum RestartPolicy {
    /// Any non-zero exit fails the pod.
    #[default]
    No,
    /// Restart on every exit.
    Always,
    /// Restart on non-zero exit, at most `max_retries` times when given.
    OnFailure {
        /// Restart limit.
        max_retries: Option<u32>,
    },
    /// As `always` for dce (nobody stops a pod's container by hand through dce).
    UnlessStopped,
}

impl From<compose::RestartPolicy> for RestartPolicy {
    fn from(policy: compose::RestartPolicy) -> Self {
        match policy {
            compose::RestartPolicy::No => RestartPolicy::No,
            compose::RestartPolicy::Always => RestartPolicy::Always,
            compose::RestartPolicy::OnFailure { max_retries } => {
                RestartPolicy::OnFailure { max_retries }
            }
            compose::RestartPolicy::UnlessStopped => RestartPolicy::UnlessStopped,
        }
    }
}

/// What dce does when a service's healthcheck reports `unhealthy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnhealthy {
    /// The pod fails (default, dce-go parity).
    #[default]
    Fail,
    /// Restart the container in place.
    Restart,
    /// Report the health change only.
    Ignore,
}

impl OnUnhealthy {
    /// Parses `fail`, `restart` or `ignore`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "fail" => Some(OnUnhealthy::Fail),
            "restart" => Some(OnUnhealthy::Restart),
            "ignore" => Some(OnUnhealthy::Ignore),
            _ => None,
        }
    }
}

/// One change made by the rewrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    /// What was changed: `pod`, `service web`, `network backend`, `volume data`.
    pub subject: String,
    /// The compose key concerned.
    pub key: String,
    /// What happened and why, in one sentence.
    pub explanation: String,
}

impl std::fmt::Display for Rewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.subject, self.key, self.explanation)
    }
}

impl PodPlan {
    /// The infra container, in shared network mode.
    pub fn infra(&self) -> Option<&InfraSpec> {
        match &self.network {
            PodNetwork::Shared { infra } => Some(infra),
            _ => None,
        }
    }

    /// Every network dce creates for the pod, by compose key, each with its engine name in
    /// `name` and its labels: the infra container's per-pod network in shared mode (unless the
    /// operator's pre-existing one is used), the project's non-external networks in compose mode.
    pub fn networks_to_create(&self) -> Vec<(String, compose::Network)> {
        let mut networks: Vec<_> = self
            .project
            .networks
            .iter()
            .filter(|(_, n)| !n.external)
            .map(|(k, n)| (k.clone(), n.clone()))
            .collect();
        if let Some(infra) = self.infra().filter(|i| !i.network.pre_existing) {
            networks.push((
                compose_form::INFRA_NETWORK_KEY.to_string(),
                compose_form::infra_network(infra),
            ));
        }
        networks
    }

    /// Volumes of the project that dce creates (not external), by key.
    pub fn volumes_to_create(&self) -> impl Iterator<Item = (&String, &compose::Volume)> {
        self.project.volumes.iter().filter(|(_, v)| !v.external)
    }

    /// A self-contained compose project a person can run with `docker compose -f`: the infra
    /// container is a service, and networks join it as `service:` (see [`INFRA_SERVICE`]).
    pub fn compose_project(&self) -> compose::Project {
        compose_form::compose_project(self)
    }

    /// [`Self::compose_project`] as YAML, written to `pod/generated-compose.yml`.
    pub fn generated_compose(&self) -> String {
        self.compose_project().to_yaml()
    }
}

impl PodPlan {
    /// The plan before any plugin ran: the project as loaded, the pod's name and labels. Plugins
    /// before `general` in the order see this.
    pub fn unrewritten(project: compose::Project, task: &crate::TaskContext) -> PodPlan {
        let project_name = crate::naming::project_name(&task.task_id);
        PodPlan {
            labels: crate::labels::common_labels(task, &project_name),
            project_name,
            network: PodNetwork::Compose,
            project,
            services: IndexMap::new(),
            ports: Vec::new(),
            cgroup_parent: None,
            rewrites: Vec::new(),
        }
    }
}
