//! The built-in `general` plugin: the rewrite of SPEC §3 from a compose project to a pod.
//!
//! It runs at `pre_pull` on a plan whose `project` is still as the user wrote it and leaves the
//! engine's view of the pod in it, with every change recorded in `plan.rewrites`.

mod extensions;
mod network;
mod ports;
mod resources;
mod shared;
#[cfg(test)]
mod tests;

use indexmap::IndexMap;

use crate::cgroup::{decide_cgroup_parent, CgroupParentDecision};
use crate::context::TaskContext;
use crate::error::PodError;
use crate::labels::{container_labels, is_reserved};
use crate::naming::{container_name, infra_container_name};
use crate::plan::{PodPlan, Rewrite, ServicePlan};
use crate::plugin::{Plugin, GENERAL_PLUGIN};

pub use extensions::X_DCE;
pub use network::NetworkLayout;

/// The built-in rewrite plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeneralPlugin;

impl Plugin for GeneralPlugin {
    fn name(&self) -> &str {
        GENERAL_PLUGIN
    }

    fn pre_pull(&self, plan: &mut PodPlan, task: &TaskContext) -> Result<(), PodError> {
        rewrite(plan, task)
    }
}

/// Collects the explanations of what the rewrite changed.
#[derive(Debug, Default)]
pub(crate) struct Notes(Vec<Rewrite>);

impl Notes {
    pub(crate) fn add(
        &mut self,
        subject: impl Into<String>,
        key: &str,
        explanation: impl Into<String>,
    ) {
        self.0.push(Rewrite {
            subject: subject.into(),
            key: key.to_string(),
            explanation: explanation.into(),
        });
    }

    pub(crate) fn service(&mut self, service: &str, key: &str, explanation: impl Into<String>) {
        self.add(format!("service {service}"), key, explanation);
    }
}

/// Applies the rewrite to `plan` (whose `project` is as loaded).
pub fn rewrite(plan: &mut PodPlan, task: &TaskContext) -> Result<(), PodError> {
    if plan.project.services.is_empty() {
        return Err(PodError::InvalidProject {
            key: "services".to_string(),
            message: "the pod has no services".to_string(),
        });
    }
    let mut notes = Notes::default();
    let networking = extensions::project_networking(&plan.project.extensions)?
        .unwrap_or(task.config.network_mode);
    let layout = network::decide_layout(&plan.project, networking)?;
    if let Some(name) = plan.project.name.take() {
        notes.add(
            "pod",
            "name",
            format!(
                "project `{name}` is named `{}` by dce so that pods never collide",
                plan.project_name
            ),
        );
    }
    let cgroup_parent = decide_cgroup(task, &mut notes)?;
    let services = rewrite_services(plan, &mut notes, cgroup_parent.as_deref())?;
    let mut allocator = crate::ports::PortAllocator::new(&task.offered_ports);
    let network = network::apply_layout(
        plan,
        layout,
        task,
        cgroup_parent.as_deref(),
        &mut allocator,
        &mut notes,
    )?;
    resources::name_volumes(plan, &mut notes);
    plan.network = network;
    plan.services = services;
    plan.cgroup_parent = cgroup_parent;
    plan.rewrites.extend(notes.0);
    Ok(())
}

fn decide_cgroup(task: &TaskContext, notes: &mut Notes) -> Result<Option<String>, PodError> {
    let decision = decide_cgroup_parent(
        task.config.cgroup_parent,
        task.cgroup.as_ref(),
        task.docker_cgroup_driver,
        &task.container_id,
    )?;
    Ok(match decision {
        CgroupParentDecision::Use(path) => {
            notes.add("pod", "cgroup_parent", format!("every container is created under the executor's cgroup `{path}`, so the task's limits bind the whole pod"));
            Some(path)
        }
        CgroupParentDecision::NotUsed(reason) => {
            notes.add(
                "pod",
                "cgroup_parent",
                format!("containers are not put under the executor's cgroup: {reason}"),
            );
            None
        }
    })
}

/// Names, labels, restart, cgroup parent and `x-dce` of every service.
fn rewrite_services(
    plan: &mut PodPlan,
    notes: &mut Notes,
    cgroup_parent: Option<&str>,
) -> Result<IndexMap<String, ServicePlan>, PodError> {
    let project = plan.project_name.clone();
    let infra_name = infra_container_name(&project);
    let mut plans = IndexMap::new();
    let mut taken: IndexMap<String, String> = IndexMap::new();
    taken.insert(infra_name, "the infra container".to_string());
    for (name, service) in plan.project.services.iter_mut() {
        let final_name = container_name(&project, name, service.container_name.as_deref());
        if let Some(owner) = taken.insert(final_name.clone(), format!("service `{name}`")) {
            return Err(PodError::InvalidService {
                service: name.clone(),
                key: "container_name".to_string(),
                message: format!("container name `{final_name}` is already used by {owner}"),
            });
        }
        if let Some(own) = &service.container_name {
            notes.service(
                name,
                "container_name",
                format!("`{own}` becomes `{final_name}`"),
            );
        }
        service.container_name = Some(final_name.clone());

        let user_labels = std::mem::take(&mut service.labels);
        for key in user_labels.keys().filter(|k| is_reserved(k)) {
            notes.service(
                name,
                "labels",
                format!("`{key}` is set by dce; the file's value is replaced"),
            );
        }
        service.labels = user_labels
            .into_iter()
            .filter(|(k, _)| !is_reserved(k))
            .chain(container_labels(&plan.labels, name))
            .collect();

        let restart = service.restart.take().map(Into::into).unwrap_or_default();
        if restart != crate::plan::RestartPolicy::No {
            notes.service(
                name,
                "restart",
                "applied by dce, not by Docker, so that every exit is seen",
            );
        }

        if let Some(own) = service.cgroup_parent.take() {
            notes.service(
                name,
                "cgroup_parent",
                format!("`{own}` is overridden: the pod's containers belong to the task"),
            );
        }
        service.cgroup_parent = cgroup_parent.map(str::to_string);

        let on_unhealthy = extensions::service_on_unhealthy(name, &service.extensions)?;
        plans.insert(
            name.clone(),
            ServicePlan {
                container_name: final_name,
                restart,
                on_unhealthy,
            },
        );
    }
    Ok(plans)
}
