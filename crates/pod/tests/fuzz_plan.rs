//! Fuzzing the planner (proptest, bounded for CI; `DCE_FUZZ_CASES` raises the case count):
//! compose-like pods with odd service names, network modes, ports, container names and
//! dependencies, odd task ids and port offers, under both policy modes.
//!
//! Properties: planning never panics; a plan has a sanitized project name, unique container
//! names, host ports unique and inside the offer; its generated compose file loads again.

use compose::{ComposeSource, InterpolationEnv, ProjectLoader};
use pod::config::AdmissionMode;
use pod::ports::PortRange;
use pod::{Config, PluginChain, TaskContext};
use proptest::prelude::*;

fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("DCE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn service_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            &[
                "web",
                "db",
                "Web_1",
                "a.b",
                "x-y",
                "_",
                "infra",
                "dce-infra"
            ][..]
        )
        .prop_map(str::to_string),
        "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,70}",
    ]
}

/// Service-level lines (four-space indented) that shape the plan; `{other}` is replaced by
/// another service's name.
const SNIPPETS: &[&str] = &[
    "    ports: [\"80\"]\n",
    "    ports: [\"8080:80/udp\", \"127.0.0.1::443\"]\n",
    "    ports: [\"9000-9003:9000-9003\"]\n",
    "    ports: [{target: 53, protocol: udp}]\n",
    "    expose: [\"7000\"]\n",
    "    network_mode: host\n",
    "    network_mode: none\n",
    "    network_mode: \"service:{other}\"\n",
    "    pid: \"service:{other}\"\n",
    "    ipc: shareable\n",
    "    volumes_from: [\"{other}\"]\n",
    "    container_name: custom\n",
    "    container_name: \"UPPER.case\"\n",
    "    hostname: h1\n",
    "    hostname: h2\n",
    "    dns: [\"1.1.1.1\"]\n",
    "    extra_hosts: [\"x:10.0.0.1\"]\n",
    "    depends_on: [\"{other}\"]\n",
    "    depends_on: {\"{other}\": {condition: service_healthy}}\n",
    "    healthcheck: {test: [\"CMD\", \"true\"], interval: 1s}\n",
    "    restart: on-failure:2\n",
    "    restart: always\n",
    "    x-dce: {on-unhealthy: ignore}\n",
    "    sysctls: {net.core.somaxconn: 1024}\n",
    "    networks: [default]\n",
    "    volumes: [\"data:/data\", \"/anon\", \"./files:/files:ro\"]\n",
    "    tmpfs: [\"/run\"]\n",
    "    privileged: true\n",
    "    cap_add: [NET_ADMIN]\n",
    "    cgroup_parent: /elsewhere\n",
];

const TOP: &[&str] = &[
    "",
    "x-dce: {network: compose}\n",
    "volumes:\n  data: {}\n",
    "networks:\n  default: {}\n  back: {}\n",
    "name: custom-name\n",
];

fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (
                service_name(),
                prop::collection::vec(prop::sample::select(SNIPPETS), 0..5),
            ),
            1..4,
        ),
        prop::sample::select(TOP),
        prop::sample::select(TOP),
    )
        .prop_map(|(services, top1, top2)| {
            let names: Vec<String> = services.iter().map(|(n, _)| n.clone()).collect();
            let mut text = String::from("services:\n");
            for (i, (name, snippets)) in services.iter().enumerate() {
                let other = &names[(i + 1) % names.len()];
                text.push_str(&format!("  \"{name}\":\n    image: busybox\n"));
                let mut seen = std::collections::HashSet::new();
                for snippet in snippets {
                    let key = snippet.trim_start().split(':').next().unwrap_or_default();
                    if seen.insert(key.to_string()) {
                        text.push_str(&snippet.replace("{other}", other));
                    }
                }
            }
            for top in [top1, top2] {
                if !text.contains(top.split(':').next().unwrap_or_default()) || top.is_empty() {
                    text.push_str(top);
                }
            }
            text
        })
}

fn task_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("t".to_string()),
        "[a-zA-Z0-9_.:/ -]{1,40}",
        "\\PC{1,20}",
        "[a-z]{200,300}",
    ]
}

fn offer() -> impl Strategy<Value = Vec<PortRange>> {
    prop::collection::vec((1u64..65535, 0u64..8), 0..3).prop_map(|ranges| {
        ranges
            .into_iter()
            .filter_map(|(begin, len)| PortRange::from_mesos(begin, (begin + len).min(65535)).ok())
            .collect()
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn planning_never_panics_and_plans_are_consistent(
        text in document(),
        task in task_id(),
        offered in offer(),
        privileged in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        let Ok(project) = ProjectLoader::new(dir.path(), InterpolationEnv::empty())
            .load(&[ComposeSource::Inline { name: "<fuzz>".into(), content: text.clone() }])
        else {
            return Ok(());
        };
        let mut config = Config::default();
        if privileged {
            config.admission.mode = AdmissionMode::Privileged;
        }
        let chain = PluginChain::from_config(&config, Vec::new()).unwrap();
        let context = TaskContext::local(&task, dir.path().to_path_buf(), offered.clone(), config);
        let Ok(plan) = pod::plan_pod(project, &context, &chain) else {
            return Ok(());
        };
        prop_assert!(
            plan.project_name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'),
            "project name {:?}", plan.project_name
        );
        prop_assert!(plan.project_name.len() <= 63, "project name {:?}", plan.project_name);
        let mut names: Vec<&str> = plan.services.values().map(|s| s.container_name.as_str()).collect();
        if let pod::plan::PodNetwork::Shared { infra } = &plan.network {
            names.push(&infra.container_name);
        }
        let unique: std::collections::HashSet<&str> = names.iter().copied().collect();
        prop_assert_eq!(unique.len(), names.len(), "container names {:?}", names);
        let mut hosts = std::collections::HashSet::new();
        for port in &plan.ports {
            if let Some(host) = port.host_port {
                prop_assert!(offered.iter().any(|r| r.contains(host)), "{} outside {:?}", host, offered);
                prop_assert!(hosts.insert((host, port.protocol)), "{} twice", host);
            }
        }
        let generated = plan.generated_compose();
        let again = ProjectLoader::new(dir.path(), InterpolationEnv::empty())
            .load(&[ComposeSource::Inline { name: "<generated>".into(), content: generated.clone() }]);
        prop_assert!(again.is_ok(), "generated file does not load: {:?}\n{}\nfrom:\n{}", again.err(), generated, text);
    }
}
