//! The last loading step: environment assembly, profiles, and the checks that need the
//! whole merged project (references between services, volumes and networks).

use indexmap::IndexMap;

use crate::error::Location;
use crate::parse::PartialService;
use crate::{
    ComposeError, HealthTest, Healthcheck, MountKind, NetworkMode, Project, Service,
    VolumesFromSource,
};

/// Turns merged partial services into the project's services and validates references.
pub(crate) fn finish(
    mut project: Project,
    partials: IndexMap<String, PartialService>,
    origin: &IndexMap<String, String>,
    profiles: &[String],
) -> Result<Project, ComposeError> {
    let at = |service: &str, key: &str| {
        Location::new(
            origin.get(service).cloned().unwrap_or_default(),
            Some(service),
            key,
        )
    };
    let invalid = |service: &str, key: &str, message: String| ComposeError::Invalid {
        at: at(service, key),
        message,
    };
    let active = |s: &Service| {
        s.profiles.is_empty() || profiles.iter().any(|p| p == "*" || s.profiles.contains(p))
    };
    let all_names: Vec<String> = partials.keys().cloned().collect();
    let mut optional: IndexMap<String, Vec<String>> = IndexMap::new();
    for (name, partial) in partials {
        let PartialService {
            mut service,
            env_from_files,
            optional_deps,
            ..
        } = partial;
        if !active(&service) {
            tracing::info!(service = %name, profiles = ?service.profiles, "service left out: none of its profiles is active");
            continue;
        }
        let explicit = std::mem::take(&mut service.environment);
        let mut env = env_from_files;
        for (k, v) in explicit {
            match (v, env.get(&k)) {
                (None, Some(Some(_))) => {}
                (v, _) => {
                    env.insert(k, v);
                }
            }
        }
        service.environment = env;
        // A disabled healthcheck has no timings (docker-compose v1 rejects the combination).
        if let Some(hc) = service
            .healthcheck
            .as_mut()
            .filter(|h| h.test == Some(HealthTest::Disabled))
        {
            *hc = Healthcheck {
                test: Some(HealthTest::Disabled),
                ..Healthcheck::default()
            };
        }
        optional.insert(name.clone(), optional_deps.into_iter().collect());
        project.services.insert(name, service);
    }
    if project.services.is_empty() {
        let file = origin.values().next().cloned().unwrap_or_default();
        return Err(ComposeError::Invalid {
            at: Location::new(file, None, "services"),
            message: "the project defines no (active) services".to_string(),
        });
    }
    let names: Vec<String> = project.services.keys().cloned().collect();
    let known = |n: &str| names.iter().any(|x| x == n);
    let mut container_names: IndexMap<String, String> = IndexMap::new();
    for (name, s) in project.services.iter_mut() {
        if s.image.is_empty() {
            let hint = if s.build.is_some() {
                " (dce does not build images: `build` needs `image`)"
            } else {
                ""
            };
            return Err(invalid(name, "image", format!("no image given{hint}")));
        }
        let optional_deps = optional.get(name).cloned().unwrap_or_default();
        let mut missing = Vec::new();
        for dep in s.depends_on.keys() {
            if !known(dep) {
                if optional_deps.contains(dep) {
                    missing.push(dep.clone());
                } else if all_names.contains(dep) {
                    return Err(invalid(
                        name,
                        &format!("depends_on.{dep}"),
                        format!("depends on \"{dep}\", which no active profile enables"),
                    ));
                } else {
                    return Err(invalid(
                        name,
                        &format!("depends_on.{dep}"),
                        format!("depends on undefined service \"{dep}\""),
                    ));
                }
            }
        }
        for dep in missing {
            s.depends_on.shift_remove(&dep);
        }
        for link in &s.links {
            let target = link.split(':').next().unwrap_or_default();
            if !known(target) {
                return Err(invalid(
                    name,
                    "links",
                    format!("links to undefined service \"{target}\""),
                ));
            }
        }
        for from in &s.volumes_from {
            if let VolumesFromSource::Service(target) = &from.source {
                if !known(target) {
                    return Err(invalid(
                        name,
                        "volumes_from",
                        format!("volumes_from undefined service \"{target}\""),
                    ));
                }
            }
        }
        if let Some(NetworkMode::Service(target)) = &s.network_mode {
            if !known(target) || target == name {
                return Err(invalid(
                    name,
                    "network_mode",
                    format!("network_mode refers to invalid service \"{target}\""),
                ));
            }
            if !s.networks.is_empty() {
                return Err(invalid(
                    name,
                    "networks",
                    "`networks` cannot be combined with `network_mode`".to_string(),
                ));
            }
        }
        if s.network_mode.is_some() && !s.networks.is_empty() {
            return Err(invalid(
                name,
                "networks",
                "`networks` cannot be combined with `network_mode`".to_string(),
            ));
        }
        for (key, value) in [("pid", &s.pid), ("ipc", &s.ipc)] {
            if let Some(target) = value.as_deref().and_then(|v| v.strip_prefix("service:")) {
                if !known(target) || target == name {
                    return Err(invalid(
                        name,
                        key,
                        format!("{key} refers to invalid service \"{target}\""),
                    ));
                }
            }
        }
        for (i, mount) in s.volumes.iter().enumerate() {
            if let (MountKind::Volume, Some(volume)) = (mount.kind, &mount.source) {
                if !project.volumes.contains_key(volume) {
                    return Err(invalid(
                        name,
                        &format!("volumes[{i}]"),
                        format!(
                            "named volume \"{volume}\" is not declared in the top-level `volumes`"
                        ),
                    ));
                }
            }
        }
        for network in s.networks.keys() {
            if network != "default" && !project.networks.contains_key(network) {
                return Err(invalid(
                    name,
                    &format!("networks.{network}"),
                    format!("network \"{network}\" is not declared in the top-level `networks`"),
                ));
            }
        }
        if let Some(cn) = &s.container_name {
            if let Some(other) = container_names.insert(cn.clone(), name.clone()) {
                return Err(invalid(
                    name,
                    "container_name",
                    format!("container_name \"{cn}\" is also used by service \"{other}\""),
                ));
            }
        }
    }
    check_dependency_cycles(&project, &at)?;
    Ok(project)
}

fn check_dependency_cycles(
    project: &Project,
    at: &dyn Fn(&str, &str) -> Location,
) -> Result<(), ComposeError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    fn visit(
        project: &Project,
        name: &str,
        marks: &mut IndexMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(name).copied().unwrap_or(Mark::New) {
            Mark::Done => return None,
            Mark::Visiting => {
                let start = path.iter().position(|p| p == name).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(name.to_string());
                return Some(cycle);
            }
            Mark::New => {}
        }
        marks.insert(name.to_string(), Mark::Visiting);
        path.push(name.to_string());
        if let Some(service) = project.services.get(name) {
            for dep in service.dependency_names() {
                if let Some(cycle) = visit(project, dep, marks, path) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        marks.insert(name.to_string(), Mark::Done);
        None
    }
    let mut marks = IndexMap::new();
    for name in project.services.keys() {
        if let Some(cycle) = visit(project, name, &mut marks, &mut Vec::new()) {
            return Err(ComposeError::Invalid {
                at: at(&cycle[0], "depends_on"),
                message: format!("dependency cycle: {}", cycle.join(" -> ")),
            });
        }
    }
    Ok(())
}
