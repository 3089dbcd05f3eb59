//! `depends_on` order: services are created once their dependencies are; a cycle or an unknown
//! dependency would wait forever, so they are rejected before anything is created.
//!
//! Besides `depends_on`, a service depends (with `service_started`) on every service whose
//! container it refers to — `volumes_from`, `network_mode`, `pid` and `ipc` of the form
//! `service:<name>` — as in compose: the engine needs that container to exist.

use compose::{DependencyCondition, NetworkMode, Project, Service, VolumesFromSource};

use crate::client::DockerError;

/// The services in an order where every dependency comes before its dependents (file order
/// otherwise).
pub fn dependency_order(project: &Project) -> Result<Vec<String>, DockerError> {
    let mut order: Vec<String> = Vec::with_capacity(project.services.len());
    let mut visiting: Vec<String> = Vec::new();
    for name in project.services.keys() {
        visit(project, name, &mut visiting, &mut order)?;
    }
    Ok(order)
}

fn visit(
    project: &Project,
    name: &str,
    visiting: &mut Vec<String>,
    order: &mut Vec<String>,
) -> Result<(), DockerError> {
    if order.iter().any(|done| done == name) {
        return Ok(());
    }
    if let Some(at) = visiting.iter().position(|v| v == name) {
        let mut cycle = visiting[at..].to_vec();
        cycle.push(name.to_string());
        return Err(DockerError::InvalidPlan {
            service: name.to_string(),
            message: format!("depends_on forms a cycle: {}", cycle.join(" -> ")),
        });
    }
    let service = project
        .services
        .get(name)
        .ok_or_else(|| DockerError::InvalidPlan {
            service: visiting.last().cloned().unwrap_or_default(),
            message: format!("depends on `{name}`, which the pod does not have"),
        })?;
    visiting.push(name.to_string());
    for (dependency, _) in dependencies(service) {
        visit(project, &dependency, visiting, order)?;
    }
    visiting.pop();
    order.push(name.to_string());
    Ok(())
}

/// What `service` waits for before it is started: its `depends_on` entries, then the services
/// it refers to (condition `service_started`), each once.
pub fn dependencies(service: &Service) -> Vec<(String, DependencyCondition)> {
    let mut out: Vec<(String, DependencyCondition)> = service
        .depends_on
        .iter()
        .map(|(name, how)| (name.clone(), how.condition))
        .collect();
    for name in references(service) {
        if !out.iter().any(|(known, _)| *known == name) {
            out.push((name, DependencyCondition::ServiceStarted));
        }
    }
    out
}

/// The services whose containers `service`'s configuration names (`volumes_from`,
/// `network_mode`, `pid`, `ipc`): they must exist before it is created.
pub fn references(service: &Service) -> Vec<String> {
    let mut referred: Vec<&str> = service
        .volumes_from
        .iter()
        .filter_map(|v| match &v.source {
            VolumesFromSource::Service(name) => Some(name.as_str()),
            VolumesFromSource::Container(_) => None,
        })
        .collect();
    if let Some(NetworkMode::Service(name)) = &service.network_mode {
        referred.push(name);
    }
    for mode in [&service.pid, &service.ipc].into_iter().flatten() {
        if let Some(name) = mode.strip_prefix("service:") {
            referred.push(name);
        }
    }
    let mut out: Vec<String> = Vec::new();
    for name in referred {
        if !out.iter().any(|known| known == name) {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use compose::{DependsOn, Service};

    fn project(edges: &[(&str, &[&str])]) -> Project {
        let mut project = Project::default();
        for (name, deps) in edges {
            let mut service = Service::default();
            for dep in *deps {
                service
                    .depends_on
                    .insert(dep.to_string(), DependsOn::default());
            }
            project.services.insert(name.to_string(), service);
        }
        project
    }

    #[test]
    fn dependencies_come_first_and_file_order_is_kept_otherwise() {
        let order = dependency_order(&project(&[
            ("web", &["api"]),
            ("api", &["db", "cache"]),
            ("db", &[]),
            ("cache", &[]),
            ("batch", &[]),
        ]))
        .unwrap();
        assert_eq!(order, ["db", "cache", "api", "web", "batch"]);
    }

    #[test]
    fn referred_services_are_implicit_dependencies() {
        let mut project = project(&[("data", &[]), ("db", &[]), ("app", &["db"])]);
        let app = project.services.get_mut("app").unwrap();
        app.volumes_from.push(compose::VolumesFrom {
            source: VolumesFromSource::Service("data".into()),
            read_only: false,
        });
        app.pid = Some("service:db".into());
        app.ipc = Some("host".into());
        let deps: Vec<_> = dependencies(&project.services["app"])
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(deps, ["db", "data"]);
        // `app` comes first in the file but after what it refers to.
        project.services.move_index(2, 0);
        assert_eq!(dependency_order(&project).unwrap(), ["db", "data", "app"]);
    }

    #[test]
    fn cycles_and_unknown_dependencies_are_errors() {
        let error = dependency_order(&project(&[("a", &["b"]), ("b", &["a"])]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("a -> b -> a"), "{error}");
        let error = dependency_order(&project(&[("a", &["ghost"])]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "service a: depends on `ghost`, which the pod does not have"
        );
    }
}
