//! Property: any project `to_yaml` writes loads back into an equal project.

use std::time::Duration;

use compose::{
    Command, ComposeSource, DependencyCondition, DependsOn, ExposedPort, ExtraHost, HealthTest,
    Healthcheck, InterpolationEnv, MountKind, PortRange, PortSpec, Project, ProjectLoader,
    Protocol, RestartPolicy, Service, TmpfsMount, Ulimit, Volume, VolumeMount,
};
use indexmap::IndexMap;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._:/=-]{0,12}",
        "\\PC{0,10}",
        Just("yes".to_string()),
        Just("22:22".to_string()),
        Just("$HOME ${X}".to_string()),
        Just("line1\nline2".to_string()),
        Just("0644".to_string()),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    (0u64..100_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n))
}

fn port() -> impl Strategy<Value = PortSpec> {
    (
        1u16..=65535,
        prop::option::of(1u16..=65535),
        prop::option::of(prop_oneof![
            Just("127.0.0.1"),
            Just("::1"),
            Just("10.1.2.3")
        ]),
        prop_oneof![
            Just(Protocol::Tcp),
            Just(Protocol::Udp),
            Just(Protocol::Sctp)
        ],
    )
        .prop_map(|(target, published, ip, protocol)| PortSpec {
            target,
            published: published.map(PortRange::single),
            host_ip: ip.map(|i| i.parse().unwrap()),
            protocol,
        })
}

fn mount(index: usize) -> impl Strategy<Value = VolumeMount> {
    let target = format!("/mnt/t{index}");
    (
        0u8..4,
        any::<bool>(),
        prop::option::of(1u64..1 << 30),
        "[a-z]{1,8}",
    )
        .prop_map(move |(kind, read_only, size, path)| {
            let (kind, source) = match kind {
                0 => (MountKind::Bind, Some(format!("/{path}"))),
                1 => (MountKind::Volume, Some("shared".to_string())),
                2 => (MountKind::Volume, None),
                _ => (MountKind::Tmpfs, None),
            };
            let mut m = VolumeMount {
                kind,
                source,
                target: target.clone(),
                read_only,
                consistency: None,
                bind: Default::default(),
                volume: Default::default(),
                tmpfs: Default::default(),
            };
            if kind == MountKind::Tmpfs {
                m.tmpfs.size = size;
            }
            m
        })
}

fn healthcheck() -> impl Strategy<Value = Healthcheck> {
    (
        prop::option::of(prop_oneof![
            Just(HealthTest::Disabled),
            prop::collection::vec("[a-z0-9-]{1,6}", 1..4).prop_map(HealthTest::Cmd),
            "[a-z0-9 |&-]{1,20}"
                .prop_filter("non-blank", |s| !s.trim().is_empty())
                .prop_map(HealthTest::Shell),
        ]),
        prop::option::of(duration()),
        prop::option::of(duration()),
        prop::option::of(0u64..100),
    )
        .prop_map(|(test, interval, timeout, retries)| match test {
            Some(HealthTest::Disabled) => Healthcheck {
                test,
                ..Healthcheck::default()
            },
            test => Healthcheck {
                test,
                interval,
                timeout,
                start_period: None,
                retries,
            },
        })
}

fn service(deps: Vec<String>) -> impl Strategy<Value = Service> {
    let basics = (
        "[a-z]{1,8}(:[0-9.]{1,4})?",
        prop::option::of(prop_oneof![
            prop::collection::vec(text(), 0..4).prop_map(Command::Exec),
            "[a-z0-9]{1,5}( [a-z0-9]{1,5}){0,3}".prop_map(Command::Shell),
        ]),
        prop::collection::vec(("[A-Z_][A-Z0-9_]{0,6}", prop::option::of(text())), 0..5),
        prop::collection::vec(("[a-z][a-z0-9.-]{0,10}", text()), 0..4),
        prop::collection::vec(port(), 0..4),
        prop::collection::vec((1u16..=65535, any::<bool>()), 0..3),
    );
    let more = (
        prop::collection::vec(0usize..1, 0..4),
        prop::option::of(healthcheck()),
        prop::option::of(prop_oneof![
            Just(RestartPolicy::No),
            Just(RestartPolicy::Always),
            Just(RestartPolicy::UnlessStopped),
            prop::option::of(0u32..10)
                .prop_map(|max_retries| RestartPolicy::OnFailure { max_retries }),
        ]),
        prop::option::of(text()),
        prop::option::of(1u64..1 << 40),
        prop::option::of((0u32..64_000).prop_map(|c| f64::from(c) / 1000.0)),
        prop::option::of(duration()),
        prop::collection::vec(("[a-z]{1,6}", -1i64..100_000, 0i64..100_000), 0..3),
    );
    let deps_choice = prop::collection::vec(
        prop_oneof![
            Just(DependencyCondition::ServiceStarted),
            Just(DependencyCondition::ServiceHealthy),
            Just(DependencyCondition::ServiceCompletedSuccessfully),
        ],
        deps.len(),
    );
    (basics, more, deps_choice, any::<bool>())
        .prop_flat_map(move |(b, m, conds, tmpfs)| {
            let deps = deps.clone();
            let mounts: Vec<_> = (0..m.0.len()).map(mount).collect();
            (mounts, Just((b, m, conds, tmpfs, deps)))
        })
        .prop_map(
            |(volumes, ((image, command, env, labels, ports, expose), m, conds, tmpfs, deps))| {
                let (_, healthcheck, restart, user, mem_limit, cpus, grace, ulimits) = m;
                Service {
                    image,
                    command,
                    environment: env.into_iter().collect(),
                    labels: labels.into_iter().collect(),
                    ports,
                    expose: expose
                        .into_iter()
                        .map(|(port, udp)| ExposedPort {
                            port,
                            protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
                        })
                        .fold(Vec::new(), |mut v, e| {
                            if !v.contains(&e) {
                                v.push(e);
                            }
                            v
                        }),
                    volumes,
                    healthcheck,
                    restart,
                    user,
                    mem_limit,
                    cpus,
                    stop_grace_period: grace,
                    ulimits: ulimits
                        .into_iter()
                        .map(|(n, soft, hard)| {
                            (
                                n,
                                Ulimit {
                                    soft: soft.min(hard),
                                    hard,
                                },
                            )
                        })
                        .collect(),
                    depends_on: deps
                        .into_iter()
                        .zip(conds)
                        .map(|(d, condition)| {
                            (
                                d,
                                DependsOn {
                                    condition,
                                    restart: false,
                                },
                            )
                        })
                        .collect(),
                    tmpfs: if tmpfs {
                        vec![TmpfsMount {
                            target: "/run".into(),
                            options: Some("size=1m".into()),
                        }]
                    } else {
                        vec![]
                    },
                    extra_hosts: vec![ExtraHost {
                        hostname: "db".into(),
                        ip: "10.0.0.1".into(),
                    }],
                    ..Default::default()
                }
            },
        )
}

fn project() -> impl Strategy<Value = Project> {
    (
        service(vec![]),
        service(vec!["first".into()]),
        service(vec!["first".into(), "second".into()]),
    )
        .prop_map(|(a, b, c)| {
            let mut volumes = IndexMap::new();
            volumes.insert("shared".to_string(), Volume::default());
            Project {
                name: None,
                services: [
                    ("first".to_string(), a),
                    ("second".to_string(), b),
                    ("third".to_string(), c),
                ]
                .into_iter()
                .collect(),
                networks: IndexMap::new(),
                volumes,
                extensions: [("x-note".to_string(), yaml_serde::Value::from("yes $x"))]
                    .into_iter()
                    .collect(),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn to_yaml_round_trips(project in project()) {
        let yaml = project.to_yaml();
        let dir = tempfile::tempdir().unwrap();
        let loaded = ProjectLoader::new(dir.path(), InterpolationEnv::empty())
            .load(&[ComposeSource::Inline { name: "gen".into(), content: yaml.clone() }])
            .map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        prop_assert_eq!(loaded, project, "{}", yaml);
    }
}

/// docker-compose v1 (PyYAML, YAML 1.1) accepts generated projects, odd strings included.
#[test]
fn docker_compose_v1_accepts_generated_projects() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let binary = "/usr/bin/docker-compose";
    if !std::path::Path::new(binary).exists() {
        println!("skipped: {binary} is not installed");
        return;
    }
    let mut runner = TestRunner::deterministic();
    for case in 0..6 {
        let project = project().new_tree(&mut runner).unwrap().current();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("generated.yml");
        std::fs::write(&path, project.to_yaml()).unwrap();
        let output = std::process::Command::new(binary)
            .arg("-f")
            .arg(&path)
            .args(["config", "-q"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "case {case}: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            project.to_yaml()
        );
    }
}
