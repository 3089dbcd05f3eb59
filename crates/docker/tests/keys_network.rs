//! Network-related compose keys checked in the engine's inspect output: in the shared layout
//! they land on the infra container; with compose networking on the services themselves; plus
//! host/none pods, `privileged` and `cgroup_parent`.

mod support;

use std::collections::HashMap;

use bollard::models::{ContainerInspectResponse, PortBinding};
use docker::create::container_config::service_container;
use docker::create::names::PodNames;
use pod::ports::PortRange;
use support::harness::Harness;
use support::with_sleeper;

fn bindings(c: &ContainerInspectResponse) -> HashMap<String, Vec<(String, String)>> {
    let ports = c
        .host_config
        .clone()
        .unwrap_or_default()
        .port_bindings
        .unwrap_or_default();
    ports
        .into_iter()
        .map(|(port, list)| {
            let mut list: Vec<_> = list
                .unwrap_or_default()
                .into_iter()
                .map(|PortBinding { host_ip, host_port }| {
                    (host_ip.unwrap_or_default(), host_port.unwrap_or_default())
                })
                .collect();
            list.sort();
            (port, list)
        })
        .collect()
}

fn sorted(list: Option<Vec<String>>) -> Vec<String> {
    let mut list = list.unwrap_or_default();
    list.sort();
    list
}

#[tokio::test]
async fn shared_layout_puts_network_keys_on_the_infra_container() {
    let h = Harness::new().await;
    let plan = h.plan(
        with_sleeper!(
            r#"
services:
  web:
    <<: *sleeper
    hostname: podhost
    domainname: example.test
    ports:
      - "8080"
      - "9090:9091/udp"
      - "127.0.0.1:7000:7001"
      - target: 6000
        published: 6000
        protocol: tcp
      - "9100-9101"
    extra_hosts: ["db.internal:10.1.2.3"]
    dns: [10.0.0.53]
    dns_search: [example.test]
    dns_opt: ["ndots:2"]
    sysctls:
      net.core.somaxconn: "1024"
  worker:
    <<: *sleeper
    network_mode: bridge
"#
        ),
        vec![PortRange {
            begin: 38100,
            end: 38109,
        }],
    );
    let created = h.up(&plan).await.unwrap();
    let infra = h.inspect(&created.pod.containers[0].id).await;
    let config = infra.config.clone().unwrap();
    let host = infra.host_config.clone().unwrap();
    assert_eq!(config.hostname.as_deref(), Some("podhost"));
    assert_eq!(config.domainname.as_deref(), Some("example.test"));
    assert_eq!(
        bindings(&infra),
        HashMap::from([
            (
                "8080/tcp".to_string(),
                vec![(String::new(), "38100".to_string())]
            ),
            (
                "9091/udp".to_string(),
                vec![(String::new(), "38101".to_string())]
            ),
            (
                "7001/tcp".to_string(),
                vec![("127.0.0.1".to_string(), "38102".to_string())]
            ),
            (
                "6000/tcp".to_string(),
                vec![(String::new(), "38103".to_string())]
            ),
            (
                "9100/tcp".to_string(),
                vec![(String::new(), "38104".to_string())]
            ),
            (
                "9101/tcp".to_string(),
                vec![(String::new(), "38105".to_string())]
            ),
        ])
    );
    let hosts = sorted(host.extra_hosts.clone());
    for want in ["db.internal:10.1.2.3", "web:127.0.0.1", "worker:127.0.0.1"] {
        assert!(hosts.iter().any(|h| h == want), "{want} not in {hosts:?}");
    }
    assert_eq!(host.dns, Some(vec!["10.0.0.53".to_string()]));
    assert_eq!(host.dns_search, Some(vec!["example.test".to_string()]));
    assert_eq!(host.dns_options, Some(vec!["ndots:2".to_string()]));
    assert_eq!(
        host.sysctls,
        Some(HashMap::from([(
            "net.core.somaxconn".to_string(),
            "1024".to_string()
        )]))
    );
    // network_mode of a service is replaced by the infra container's namespace.
    for service in &created.pod.containers[1..] {
        let inspect = h.inspect(&service.id).await;
        let mode = inspect.host_config.unwrap().network_mode.unwrap();
        assert_eq!(mode, format!("container:{}", created.pod.containers[0].id));
    }
    // The infra container joined the per-pod network, labelled for the pod.
    let network = h
        .docker
        .inspect_network(&created.pod.networks[0], None)
        .await
        .unwrap();
    assert_eq!(host.network_mode.as_deref(), network.id.as_deref());
    let labels = network.labels.unwrap_or_default();
    assert_eq!(
        labels.get(docker::labels::COMPOSE_PROJECT),
        Some(&plan.project_name)
    );
}

#[tokio::test]
async fn compose_networking_keeps_network_keys_on_the_services() {
    let h = Harness::new().await;
    let plan = h.plan(
        with_sleeper!(
            r#"
x-dce:
  network: compose
services:
  api:
    <<: *sleeper
    hostname: apihost
    ports: ["8080"]
    extra_hosts: ["db.internal:10.1.2.3"]
    dns: [10.0.0.53]
    networks:
      front:
        aliases: [api-front]
      back: {}
  sidecar:
    <<: *sleeper
    network_mode: "service:api"
    depends_on: [api]
  plain:
    <<: *sleeper
networks:
  front: {}
  back:
    internal: true
    labels:
      com.example.tier: back
"#
        ),
        Vec::new(),
    );
    let created = h.up(&plan).await.unwrap();
    assert_eq!(created.pod.networks.len(), 3, "front, back and default");
    let by_service: HashMap<_, _> = created
        .pod
        .containers
        .iter()
        .map(|c| (c.service.as_str(), c.id.clone()))
        .collect();
    let api = h.inspect(&by_service["api"]).await;
    let config = api.config.clone().unwrap();
    let host = api.host_config.clone().unwrap();
    assert_eq!(config.hostname.as_deref(), Some("apihost"));
    assert_eq!(
        host.extra_hosts,
        Some(vec!["db.internal:10.1.2.3".to_string()])
    );
    assert_eq!(host.dns, Some(vec!["10.0.0.53".to_string()]));
    let ports = bindings(&api);
    assert_eq!(ports.keys().collect::<Vec<_>>(), ["8080/tcp"]);
    let networks = api.network_settings.unwrap().networks.unwrap();
    let front = networks
        .iter()
        .find(|(name, _)| name.ends_with("_front"))
        .map(|(_, n)| n.clone())
        .expect("joined front");
    let aliases = sorted(front.aliases);
    assert!(
        aliases.contains(&"api".to_string()) && aliases.contains(&"api-front".to_string()),
        "{aliases:?}"
    );
    assert!(
        networks.keys().any(|n| n.ends_with("_back")),
        "{networks:?}"
    );

    // The engine keeps the reference as given (name) or resolved (id), depending on whether
    // `api` already ran when `sidecar` was created.
    let sidecar = h.inspect(&by_service["sidecar"]).await;
    let mode = sidecar.host_config.clone().unwrap().network_mode.unwrap();
    let api_name = &created
        .pod
        .containers
        .iter()
        .find(|c| c.service == "api")
        .unwrap()
        .name;
    assert!(
        mode == format!("container:{}", by_service["api"])
            || mode == format!("container:{api_name}"),
        "{mode}"
    );
    assert_eq!(sidecar.state.and_then(|s| s.running), Some(true));
    let plain = h.inspect(&by_service["plain"]).await;
    let plain_networks = plain.network_settings.unwrap().networks.unwrap();
    assert_eq!(plain_networks.len(), 1);
    assert!(plain_networks.keys().all(|n| n.ends_with("_default")));

    let mut back_internal = None;
    for id in &created.pod.networks {
        let network = h.docker.inspect_network(id, None).await.unwrap();
        if network
            .name
            .as_deref()
            .is_some_and(|n| n.ends_with("_back"))
        {
            back_internal = Some((
                network.internal,
                network
                    .labels
                    .unwrap_or_default()
                    .get("com.example.tier")
                    .cloned(),
            ));
        }
    }
    assert_eq!(back_internal, Some((Some(true), Some("back".to_string()))));
}

#[tokio::test]
async fn host_and_none_pods_have_no_infra_container() {
    for mode in ["host", "none"] {
        let h = Harness::new().await;
        let plan = h.plan(
            &format!(
                with_sleeper!(
                    r#"
services:
  a:
    <<: *sleeper
    network_mode: {mode}
"#
                ),
                mode = mode
            ),
            Vec::new(),
        );
        let created = h.up(&plan).await.unwrap();
        assert_eq!(created.pod.containers.len(), 1, "{mode}");
        assert!(created.pod.networks.is_empty(), "{mode}");
        let a = h.inspect(&created.pod.containers[0].id).await;
        assert_eq!(a.host_config.unwrap().network_mode.as_deref(), Some(mode));
    }
}

/// `privileged` containers cannot start in this test environment (the engine runs without the
/// capabilities to grant them), so the key is checked on a created, not started, container.
#[tokio::test]
async fn privileged_reaches_the_engine() {
    let h = Harness::new().await;
    let plan = h.plan(
        r#"
services:
  p:
    image: dce-test-busybox:latest
    privileged: true
"#,
        Vec::new(),
    );
    let names = PodNames::from_plan(&plan);
    let spec = service_container("p", &plan.project.services["p"], &names).unwrap();
    let mut body = spec.body;
    body.host_config.as_mut().unwrap().network_mode = None;
    let options = bollard::query_parameters::CreateContainerOptions {
        name: Some(spec.name),
        ..Default::default()
    };
    let created = h
        .docker
        .create_container(Some(options), body)
        .await
        .unwrap();
    let inspect = h.inspect(&created.id).await;
    assert_eq!(inspect.host_config.unwrap().privileged, Some(true));
}

#[tokio::test]
async fn cgroup_parent_reaches_every_container() {
    let h = Harness::new().await;
    let mut plan = h.plan(
        with_sleeper!(
            r#"
services:
  a:
    <<: *sleeper
"#
        ),
        Vec::new(),
    );
    let parent = format!("/{}", h.run.name("cg"));
    plan.cgroup_parent = Some(parent.clone());
    for service in plan.project.services.values_mut() {
        service.cgroup_parent = Some(parent.clone());
    }
    if let pod::plan::PodNetwork::Shared { infra } = &mut plan.network {
        infra.cgroup_parent = Some(parent.clone());
    }
    let created = h.up(&plan).await.unwrap();
    for container in &created.pod.containers {
        let inspect = h.inspect(&container.id).await;
        assert_eq!(
            inspect.host_config.unwrap().cgroup_parent,
            Some(parent.clone())
        );
    }
    assert_eq!(created.pod.cgroup_parent, Some(parent));
    // Docker leaves the parent's cgroup directories behind; removing the pod removes them.
    let report =
        docker::remove_pod(&h.docker, &created.pod, &docker::RemoveOptions::default()).await;
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test]
async fn infra_joins_the_operators_pre_existing_network() {
    let h = Harness::new().await;
    let network_name = h.run.name("operator-net");
    h.docker
        .create_network(bollard::models::NetworkCreateRequest {
            name: network_name.clone(),
            labels: Some(h.run.labels()),
            ..Default::default()
        })
        .await
        .unwrap();
    let plan = h.plan_with(
        with_sleeper!(
            r#"
services:
  a:
    <<: *sleeper
"#
        ),
        Vec::new(),
        |config| {
            config.infra_network.pre_existing = true;
            config.infra_network.name = Some(network_name.clone());
        },
    );
    let created = h.up(&plan).await.unwrap();
    assert!(
        created.pod.networks.is_empty(),
        "the operator's network is not the pod's"
    );
    let infra = h.inspect(&created.pod.containers[0].id).await;
    let networks = infra.network_settings.unwrap().networks.unwrap();
    assert_eq!(networks.keys().collect::<Vec<_>>(), [&network_name]);
    docker::remove_pod(&h.docker, &created.pod, &docker::RemoveOptions::default()).await;
    assert!(
        h.docker.inspect_network(&network_name, None).await.is_ok(),
        "removing the pod keeps the operator's network"
    );
}
