//! Building the TaskStatus updates dce sends (SPEC §6): message, reason, health, the pod's IP
//! addresses, the port mapping and project name as labels, and per-service JSON in `data`.

use mesos::{
    ContainerStatus, IpAddress, Labels, NetworkInfo, Reason, TaskId, TaskState, TaskStatus,
};
use serde::Serialize;

use super::pod_view::{PodView, ServiceView};

/// Label key carrying the pod's compose project name.
pub const PROJECT_LABEL: &str = "project";

/// What the updates of a task say about its pod once the pod exists.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    /// Compose project name.
    pub project: String,
    /// `port.<service>.<port>/<proto>` → host port, in allocation order.
    pub ports: Vec<(String, String)>,
    /// The pod's IP addresses.
    pub ip_addresses: Vec<String>,
}

#[derive(Serialize)]
struct PodData<'a> {
    project: &'a str,
    services: Vec<ServiceData<'a>>,
}

#[derive(Serialize)]
struct ServiceData<'a> {
    name: &'a str,
    #[serde(flatten)]
    view: &'a ServiceView,
}

/// One update for `task_id`. `pod` is `None` before the pod exists.
pub fn task_status(
    task_id: &TaskId,
    state: TaskState,
    message: impl Into<String>,
    reason: Option<Reason>,
    pod: Option<(&PodFacts, &PodView)>,
) -> TaskStatus {
    let mut status = TaskStatus::new(task_id.clone(), state);
    status.message = Some(message.into());
    status.reason = reason;
    if let Some((facts, view)) = pod {
        status.healthy = view.healthy();
        let mut labels: Vec<(String, String)> =
            vec![(PROJECT_LABEL.to_string(), facts.project.clone())];
        labels.extend(facts.ports.iter().cloned());
        status.labels = Some(Labels::from_pairs(labels));
        if !facts.ip_addresses.is_empty() {
            status.container_status = Some(ContainerStatus {
                network_infos: vec![NetworkInfo {
                    ip_addresses: facts
                        .ip_addresses
                        .iter()
                        .map(|ip| IpAddress {
                            protocol: None,
                            ip_address: Some(ip.clone()),
                        })
                        .collect(),
                    ..NetworkInfo::default()
                }],
                ..ContainerStatus::default()
            });
        }
        let data = PodData {
            project: &facts.project,
            services: view
                .services()
                .iter()
                .map(|(name, view)| ServiceData { name, view })
                .collect(),
        };
        status.data = serde_json::to_vec(&data).ok();
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_without_a_pod_has_only_message_and_reason() {
        let status = task_status(
            &TaskId::new("t1"),
            TaskState::Failed,
            "bad.yml: service `web`: key `bogus`",
            Some(Reason::TaskInvalid),
            None,
        );
        assert_eq!(status.state, TaskState::Failed);
        assert_eq!(status.reason, Some(Reason::TaskInvalid));
        assert!(status.message.unwrap().contains("bogus"));
        assert!(status.labels.is_none() && status.data.is_none() && status.healthy.is_none());
    }
}
