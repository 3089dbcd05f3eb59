//! `depends_on` order: services are created once their dependencies are; a cycle or an unknown
//! dependency would wait forever, so they are rejected before anything is created.

use compose::Project;

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
    for dependency in service.depends_on.keys() {
        visit(project, dependency, visiting, order)?;
    }
    visiting.pop();
    order.push(name.to_string());
    Ok(())
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
