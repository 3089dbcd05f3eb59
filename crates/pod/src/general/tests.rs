use compose::{ExtraHost, NetworkMode, PortSpec, Protocol, Service};

use super::*;
use crate::cgroup::{CgroupDriver, CgroupVersion, ExecutorCgroup};
use crate::config::Config;
use crate::context::test_context;
use crate::plan::{OnUnhealthy, PodNetwork, RestartPolicy};
use crate::ports::PortRange;

fn port(target: u16, published: Option<u16>) -> PortSpec {
    PortSpec {
        target,
        published: published.map(compose::PortRange::single),
        host_ip: None,
        protocol: Protocol::Tcp,
    }
}

fn service(ports: Vec<PortSpec>) -> Service {
    Service {
        image: "busybox".into(),
        ports,
        ..Service::default()
    }
}

fn project(services: Vec<(&str, Service)>) -> compose::Project {
    let mut project = compose::Project::default();
    for (name, service) in services {
        project.services.insert(name.to_string(), service);
    }
    project
}

fn plan(project: compose::Project, task: &TaskContext) -> Result<PodPlan, PodError> {
    let mut plan = PodPlan::unrewritten(project, task);
    rewrite(&mut plan, task)?;
    Ok(plan)
}

fn task() -> TaskContext {
    test_context(Config::default())
}

#[test]
fn shared_mode_moves_ports_to_the_infra_in_order() {
    let p = project(vec![
        ("web", service(vec![port(8081, None)])),
        (
            "nginx",
            service(vec![port(80, Some(80)), port(443, Some(443))]),
        ),
    ]);
    let plan = plan(p, &task()).unwrap();
    let infra = plan.infra().unwrap();
    let got: Vec<_> = infra
        .ports
        .iter()
        .map(|m| (m.service.as_str(), m.container_port, m.host_port))
        .collect();
    assert_eq!(
        got,
        vec![
            ("web", 8081, Some(31000)),
            ("nginx", 80, Some(31001)),
            ("nginx", 443, Some(31002))
        ]
    );
    assert_eq!(plan.ports, infra.ports);
    for service in plan.project.services.values() {
        assert!(service.ports.is_empty());
        assert_eq!(
            service.network_mode,
            Some(NetworkMode::Container(infra.container_name.clone()))
        );
    }
    let hosts: Vec<_> = infra
        .extra_hosts
        .iter()
        .map(|h| format!("{}:{}", h.hostname, h.ip))
        .collect();
    assert_eq!(hosts, vec!["web:127.0.0.1", "nginx:127.0.0.1"]);
}

#[test]
fn no_offered_ports_means_docker_ephemeral() {
    let mut task = task();
    task.offered_ports.clear();
    let p = project(vec![("web", service(vec![port(80, Some(80))]))]);
    let plan = plan(p, &task).unwrap();
    assert_eq!(plan.ports[0].host_port, None);
}

#[test]
fn too_few_ports() {
    let mut task = task();
    task.offered_ports = vec![PortRange {
        begin: 31000,
        end: 31000,
    }];
    let p = project(vec![(
        "web",
        service(vec![port(80, None), port(443, None)]),
    )]);
    assert_eq!(
        plan(p, &task).unwrap_err().to_string(),
        "the pod publishes 2 port(s) but the task offers only 1 port(s) in its `ports` resource"
    );
}

#[test]
fn duplicate_container_port() {
    let p = project(vec![
        ("a", service(vec![port(80, Some(8080))])),
        ("b", service(vec![port(80, Some(8081))])),
    ]);
    assert_eq!(
        plan(p, &task()).unwrap_err().to_string(),
        "container port 80/tcp is published by both service `a` and service `b`; services share one network namespace, so a container port can be published once"
    );
}

#[test]
fn one_service_may_publish_a_port_twice() {
    let p = project(vec![(
        "a",
        service(vec![port(80, Some(80)), port(80, Some(8080))]),
    )]);
    assert_eq!(plan(p, &task()).unwrap().ports.len(), 2);
}

#[test]
fn mixed_network_modes() {
    let host = Service {
        network_mode: Some(NetworkMode::Host),
        ..service(vec![])
    };
    let p = project(vec![("web", host), ("db", service(vec![]))]);
    assert_eq!(
        plan(p, &task()).unwrap_err().to_string(),
        "mixed network modes are not supported: `web` use(s) network_mode: host, while `db` share(s) the pod network; a pod is either all `network_mode: host`, all `network_mode: none`, or shares one network namespace (no network_mode)"
    );
}

#[test]
fn host_and_none_modes_have_no_infra() {
    for (mode, expected) in [
        (NetworkMode::Host, PodNetwork::Host),
        (NetworkMode::None, PodNetwork::None),
    ] {
        let s = Service {
            network_mode: Some(mode.clone()),
            ..service(vec![port(80, Some(80))])
        };
        let plan = plan(project(vec![("a", s.clone()), ("b", s)]), &task()).unwrap();
        assert_eq!(plan.network, expected);
        assert!(plan.ports.is_empty());
        assert_eq!(plan.project.services["a"].network_mode, Some(mode));
    }
}

#[test]
fn conflicting_hostnames_and_hosts() {
    let a = Service {
        hostname: Some("one".into()),
        ..service(vec![])
    };
    let b = Service {
        hostname: Some("two".into()),
        ..service(vec![])
    };
    assert_eq!(
        plan(project(vec![("a", a), ("b", b)]), &task()).unwrap_err().to_string(),
        "service `b` sets `hostname` to \"two\", but service `a` sets it to \"one\"; services share one network namespace, so the values must agree"
    );
    let host = |ip: &str| Service {
        extra_hosts: vec![ExtraHost {
            hostname: "db".into(),
            ip: ip.into(),
        }],
        ..service(vec![])
    };
    let err = plan(
        project(vec![("a", host("10.0.0.1")), ("b", host("10.0.0.2"))]),
        &task(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("service `b` sets `extra_hosts db` to \"10.0.0.2\""),
        "{err}"
    );
    let ok = plan(
        project(vec![("a", host("10.0.0.1")), ("b", host("10.0.0.1"))]),
        &task(),
    )
    .unwrap();
    assert_eq!(ok.infra().unwrap().extra_hosts[0].ip, "10.0.0.1");
}

#[test]
fn names_labels_restart_and_unhealthy_policy() {
    let mut s = service(vec![]);
    s.container_name = Some("front".into());
    s.restart = Some(compose::RestartPolicy::OnFailure {
        max_retries: Some(3),
    });
    s.labels.insert("taskId".into(), "spoofed".into());
    s.labels.insert("team".into(), "a".into());
    s.extensions.insert(
        X_DCE.into(),
        yaml_serde::from_str("on-unhealthy: restart").unwrap(),
    );
    let plan = plan(project(vec![("web", s)]), &task()).unwrap();
    let web = &plan.project.services["web"];
    let name = format!("{}-front", plan.project_name);
    assert_eq!(web.container_name.as_deref(), Some(name.as_str()));
    assert_eq!(web.restart, None);
    assert_eq!(web.labels["taskId"], "web.1");
    assert_eq!(web.labels["team"], "a");
    assert_eq!(web.labels["com.docker.compose.service"], "web");
    assert_eq!(web.labels["io.dce.executor-start"], "123456");
    let service_plan = &plan.services["web"];
    assert_eq!(
        service_plan.restart,
        RestartPolicy::OnFailure {
            max_retries: Some(3)
        }
    );
    assert_eq!(service_plan.on_unhealthy, OnUnhealthy::Restart);
}

#[test]
fn container_name_collisions_are_errors() {
    let mut a = service(vec![]);
    a.container_name = Some("b-1".into());
    let err = plan(project(vec![("a", a), ("b", service(vec![]))]), &task()).unwrap_err();
    assert!(
        err.to_string().contains("is already used by service `a`"),
        "{err}"
    );
    let mut infra = service(vec![]);
    infra.container_name = Some("infra".into());
    let err = plan(project(vec![("x", infra)]), &task()).unwrap_err();
    assert!(
        err.to_string()
            .contains("is already used by the infra container"),
        "{err}"
    );
}

#[test]
fn cgroup_parent_follows_the_decision() {
    let mut task = task();
    task.cgroup = Some(ExecutorCgroup {
        version: CgroupVersion::V1,
        path: "/mesos/cid-1".into(),
    });
    task.docker_cgroup_driver = Some(CgroupDriver::Cgroupfs);
    let mut s = service(vec![]);
    s.cgroup_parent = Some("/elsewhere".into());
    let plan_used = plan(project(vec![("web", s.clone())]), &task).unwrap();
    assert_eq!(plan_used.cgroup_parent.as_deref(), Some("/mesos/cid-1"));
    assert_eq!(
        plan_used.project.services["web"].cgroup_parent.as_deref(),
        Some("/mesos/cid-1")
    );
    assert_eq!(
        plan_used.infra().unwrap().cgroup_parent.as_deref(),
        Some("/mesos/cid-1")
    );
    task.docker_cgroup_driver = Some(CgroupDriver::Systemd);
    let plan_unused = plan(project(vec![("web", s)]), &task).unwrap();
    assert_eq!(plan_unused.project.services["web"].cgroup_parent, None);
    assert!(plan_unused
        .rewrites
        .iter()
        .any(|r| r.explanation.contains("systemd cgroup driver")));
}

#[test]
fn compose_networking_keeps_ports_on_services() {
    let mut task = task();
    task.config.network_mode = crate::config::PodNetworking::Compose;
    let mut db = service(vec![port(5432, Some(5432))]);
    db.networks.insert("back".into(), Default::default());
    let mut p = project(vec![("web", service(vec![port(80, Some(80))])), ("db", db)]);
    p.networks
        .insert("back".into(), compose::Network::default());
    let plan = plan(p, &task).unwrap();
    assert_eq!(plan.network, PodNetwork::Compose);
    assert_eq!(
        plan.project.services["web"].ports[0].published,
        Some(compose::PortRange::single(31000))
    );
    assert!(plan.project.services["web"]
        .networks
        .contains_key("default"));
    let names: Vec<_> = plan
        .networks_to_create()
        .into_iter()
        .map(|(k, n)| (k, n.name.unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("back".to_string(), format!("{}_back", plan.project_name)),
            (
                "default".to_string(),
                format!("{}_default", plan.project_name)
            )
        ]
    );
}

#[test]
fn shared_mode_creates_the_infra_network_unless_pre_existing() {
    let p = project(vec![("web", service(vec![]))]);
    let shared = plan(p.clone(), &task()).unwrap();
    let networks = shared.networks_to_create();
    assert_eq!(networks.len(), 1);
    assert_eq!(networks[0].0, "default");
    assert_eq!(
        networks[0].1.name,
        Some(format!("{}_default", shared.project_name))
    );
    assert_eq!(
        networks[0].1.labels["com.docker.compose.network"],
        "default"
    );
    let mut task = task();
    task.config.infra_network.pre_existing = true;
    task.config.infra_network.name = Some("net".into());
    let joined = plan(p, &task).unwrap();
    assert!(joined.networks_to_create().is_empty());
    assert_eq!(joined.infra().unwrap().network.name, "net");
}

#[test]
fn the_infra_service_name_is_reserved_in_shared_mode() {
    let err = plan(project(vec![("dce-infra", service(vec![]))]), &task()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "service `dce-infra`: `services`: the name is reserved for dce's infra container; rename the service"
    );
}

#[test]
fn empty_project_is_an_error() {
    let err = plan(compose::Project::default(), &task()).unwrap_err();
    assert_eq!(err.to_string(), "`services`: the pod has no services");
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn offers() -> impl Strategy<Value = Vec<PortRange>> {
        prop::collection::vec((1024u16..60000, 0u16..8), 0..4).prop_map(|items| {
            items
                .into_iter()
                .map(|(begin, len)| PortRange {
                    begin,
                    end: begin + len,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn host_ports_are_deterministic_unique_and_offered(
            counts in prop::collection::vec(0usize..5, 1..5),
            offered in offers(),
        ) {
            let mut target = 1u16;
            let services: Vec<(String, Service)> = counts
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let ports = (0..*n)
                        .map(|_| {
                            target += 1;
                            port(target, Some(80))
                        })
                        .collect();
                    (format!("s{i}"), service(ports))
                })
                .collect();
            let build = || {
                let mut p = compose::Project::default();
                for (name, s) in &services {
                    p.services.insert(name.clone(), s.clone());
                }
                p
            };
            let mut task = task();
            task.offered_ports = offered.clone();
            let needed: usize = counts.iter().sum();
            let distinct: HashSet<u16> = offered.iter().flat_map(|r| r.begin..=r.end).collect();
            match (plan(build(), &task), plan(build(), &task)) {
                (Ok(first), Ok(second)) => {
                    prop_assert_eq!(&first.ports, &second.ports);
                    prop_assert_eq!(first.ports.len(), needed);
                    let hosts: Vec<Option<u16>> = first.ports.iter().map(|m| m.host_port).collect();
                    if distinct.is_empty() {
                        prop_assert!(hosts.iter().all(Option::is_none));
                    } else {
                        let unique: HashSet<_> = hosts.iter().collect();
                        prop_assert_eq!(unique.len(), hosts.len());
                        prop_assert!(hosts.iter().all(|h| h.is_some_and(|p| distinct.contains(&p))));
                    }
                }
                (Err(PodError::NotEnoughPorts { needed: n, offered: o }), Err(_)) => {
                    prop_assert_eq!(n, needed);
                    prop_assert_eq!(o, distinct.len());
                    prop_assert!(needed > distinct.len() && !distinct.is_empty());
                }
                (first, _) => prop_assert!(false, "unexpected outcome {:?}", first.err()),
            }
        }
    }
}
