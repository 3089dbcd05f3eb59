//! Engine names and labels of the networks and volumes the pod creates.

use crate::labels::{COMPOSE_NETWORK, COMPOSE_VOLUME};
use crate::naming::resource_name;
use crate::plan::PodPlan;

use super::Notes;

/// Gives every non-external top-level volume the name `<project>_<key>` and the pod's labels.
pub fn name_volumes(plan: &mut PodPlan, notes: &mut Notes) {
    for (key, volume) in plan.project.volumes.iter_mut().filter(|(_, v)| !v.external) {
        let name = resource_name(&plan.project_name, key);
        if let Some(own) = volume.name.as_ref().filter(|own| **own != name) {
            notes.add(
                format!("volume {key}"),
                "name",
                format!("`{own}` becomes `{name}`: volumes dce creates belong to the pod"),
            );
        }
        volume.name = Some(name);
        volume.labels.extend(plan.labels.clone());
        volume
            .labels
            .insert(COMPOSE_VOLUME.to_string(), key.clone());
    }
}

/// Gives every non-external top-level network the name `<project>_<key>` and the pod's labels.
pub fn name_networks(plan: &mut PodPlan, notes: &mut Notes) {
    for (key, network) in plan
        .project
        .networks
        .iter_mut()
        .filter(|(_, n)| !n.external)
    {
        let name = resource_name(&plan.project_name, key);
        if let Some(own) = network.name.as_ref().filter(|own| **own != name) {
            notes.add(
                format!("network {key}"),
                "name",
                format!("`{own}` becomes `{name}`: networks dce creates belong to the pod"),
            );
        }
        network.name = Some(name);
        network.labels.extend(plan.labels.clone());
        network
            .labels
            .insert(COMPOSE_NETWORK.to_string(), key.clone());
    }
}
