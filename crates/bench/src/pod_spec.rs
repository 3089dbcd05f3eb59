//! The benchmark pods: `n` busybox services alternating `sleep` and `httpd`, all with
//! `init: true` (so SIGTERM stops them at once), as one compose file used unchanged by every
//! method, and as the same containers for the floor.

use std::collections::HashMap;

use crate::floor::{FloorService, FloorSpec};

/// Label key on every benchmark container (compose files) and floor object; the value is the
/// run id. (`io.dce.*` keys are reserved by dce's rewrite, hence another prefix.)
pub const RUN_LABEL: &str = "dcebench.run";

/// Prefix of every project name and task id of the benchmark, followed by the run id; the
/// cleanup matches on it.
pub const PROJECT_PREFIX: &str = "dcebench-";

/// Service names of an `n`-service pod: `s01`, `s02`, ….
pub fn service_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("s{i:02}")).collect()
}

/// The command of the `i`-th service (1-based): odd ones sleep, even ones serve HTTP on their
/// own port (they share one network namespace under dce and the floor).
pub fn service_command(i: usize) -> Vec<String> {
    if i % 2 == 1 {
        vec!["sleep".into(), "3600".into()]
    } else {
        let port = 8000 + i;
        ["httpd", "-f", "-p", &port.to_string(), "-h", "/"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

/// The compose file of an `n`-service pod.
pub fn compose_yaml(n: usize, run_id: &str) -> String {
    let mut yaml = String::from("services:\n");
    for (index, name) in service_names(n).iter().enumerate() {
        yaml.push_str(&service_yaml(name, &service_command(index + 1), run_id));
    }
    yaml
}

/// A one-service compose file whose service exits with status 1 after `delay_ms`.
pub fn failing_compose_yaml(delay_ms: u64, run_id: &str) -> String {
    let command = vec![
        "sh".to_string(),
        "-c".to_string(),
        format!("sleep {}.{:03}; exit 1", delay_ms / 1000, delay_ms % 1000),
    ];
    format!("services:\n{}", service_yaml("dies", &command, run_id))
}

fn service_yaml(name: &str, command: &[String], run_id: &str) -> String {
    let command = serde_json::to_string(command).unwrap_or_default();
    format!(
        "  {name}:\n    image: {image}\n    init: true\n    command: {command}\n    labels:\n      {RUN_LABEL}: {run_id}\n",
        image = testkit::BUSYBOX_IMAGE,
    )
}

/// The floor's version of the `n`-service pod of project `project`, with dce's infra image.
pub fn floor_spec(n: usize, project: &str, run_id: &str, infra: &InfraContainer) -> FloorSpec {
    let labels = HashMap::from([
        (RUN_LABEL.to_string(), run_id.to_string()),
        (
            "com.docker.compose.project".to_string(),
            project.to_string(),
        ),
    ]);
    let services = service_names(n)
        .into_iter()
        .enumerate()
        .map(|(index, service)| FloorService {
            name: format!("{project}-{service}-1"),
            cmd: service_command(index + 1),
            service,
        })
        .collect();
    FloorSpec {
        project: project.to_string(),
        labels,
        image: testkit::BUSYBOX_IMAGE.to_string(),
        infra_image: infra.image.clone(),
        infra_cmd: infra.cmd.clone(),
        infra_init: infra.init,
        init: true,
        services,
    }
}

/// The image and command of dce's infra container (copied from a pod dce created, so the floor
/// runs exactly the same infra container).
#[derive(Debug, Clone)]
pub struct InfraContainer {
    /// Image reference.
    pub image: String,
    /// Command (`None`: the image's default).
    pub cmd: Option<Vec<String>>,
    /// Whether it runs docker-init as PID 1.
    pub init: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_alternate_sleep_and_httpd_on_distinct_ports() {
        assert_eq!(service_names(3), ["s01", "s02", "s03"]);
        assert_eq!(service_command(1), ["sleep", "3600"]);
        assert_eq!(service_command(2)[..4], ["httpd", "-f", "-p", "8002"]);
        assert_eq!(service_command(4)[3], "8004");
    }

    #[test]
    fn compose_file_has_every_service_with_init_and_the_run_label() {
        let yaml = compose_yaml(10, "r1");
        assert_eq!(yaml.matches("init: true").count(), 10);
        assert_eq!(yaml.matches("dcebench.run: r1").count(), 10);
        assert!(yaml.contains("  s10:\n"));
        assert!(yaml.contains(r#"command: ["httpd","-f","-p","8010","-h","/"]"#));
    }

    #[test]
    fn failing_service_sleeps_the_delay_then_exits_1() {
        let yaml = failing_compose_yaml(1250, "r1");
        assert!(
            yaml.contains(r#"["sh","-c","sleep 1.250; exit 1"]"#),
            "{yaml}"
        );
    }

    #[test]
    fn floor_spec_names_containers_like_dce() {
        let infra = InfraContainer {
            image: "dce-infra:x".into(),
            cmd: Some(vec!["pause".into()]),
            init: false,
        };
        let spec = floor_spec(3, "p", "r1", &infra);
        assert_eq!(spec.services[2].name, "p-s03-1");
        assert_eq!(spec.labels["com.docker.compose.project"], "p");
        assert!(spec.init);
    }
}
