//! The infra container's configuration: it owns the pod's network namespace, so it carries the
//! pod's published ports, `/etc/hosts` entries, DNS settings, host name and network sysctls.
//! Pure.

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use pod::plan::InfraSpec;

use super::container_config::{port_map, ContainerSpec};

/// The container configuration of the infra container, running `image`, on `network` (the
/// engine id or name of the network it joins).
pub fn infra_container(infra: &InfraSpec, image: &str, network: &str) -> ContainerSpec {
    let published = infra.ports.iter().map(|port| {
        let binding = PortBinding {
            host_ip: port.host_ip.clone(),
            // Empty: the engine picks an ephemeral port (local mode without --ports).
            host_port: Some(port.host_port.map(|p| p.to_string()).unwrap_or_default()),
        };
        let key = format!("{}/{}", port.container_port, port.protocol.as_str());
        (key, binding)
    });
    let (exposed_ports, port_bindings) = port_map(published, infra.expose.iter().cloned());
    let list = |items: &Vec<String>| (!items.is_empty()).then(|| items.clone());
    let host = HostConfig {
        network_mode: Some(network.to_string()),
        port_bindings,
        extra_hosts: (!infra.extra_hosts.is_empty()).then(|| {
            infra
                .extra_hosts
                .iter()
                .map(|h| format!("{}:{}", h.hostname, h.ip))
                .collect()
        }),
        dns: list(&infra.dns),
        dns_search: list(&infra.dns_search),
        dns_options: list(&infra.dns_opt),
        sysctls: (!infra.sysctls.is_empty()).then(|| {
            infra
                .sysctls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        cgroup_parent: infra.cgroup_parent.clone(),
        ..Default::default()
    };
    ContainerSpec {
        name: infra.container_name.clone(),
        platform: String::new(),
        body: ContainerCreateBody {
            image: Some(image.to_string()),
            hostname: infra.hostname.clone(),
            domainname: infra.domainname.clone(),
            exposed_ports,
            labels: Some(
                infra
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            host_config: Some(host),
            ..Default::default()
        },
        extra_networks: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use pod::plan::{HostEntry, InfraNetwork, PortMapping};

    #[test]
    fn infra_carries_the_pods_network_settings() {
        let infra = InfraSpec {
            container_name: "dce-t-infra".into(),
            image: None,
            ports: vec![
                PortMapping {
                    service: "web".into(),
                    container_port: 8080,
                    protocol: compose::Protocol::Tcp,
                    host_port: Some(31000),
                    host_ip: None,
                },
                PortMapping {
                    service: "dns".into(),
                    container_port: 53,
                    protocol: compose::Protocol::Udp,
                    host_port: None,
                    host_ip: Some("127.0.0.1".into()),
                },
            ],
            expose: vec!["9000/tcp".into(), "8080/tcp".into()],
            extra_hosts: vec![HostEntry {
                hostname: "web".into(),
                ip: "127.0.0.1".into(),
            }],
            dns: vec!["10.0.0.53".into()],
            dns_search: vec![],
            dns_opt: vec![],
            hostname: Some("pod".into()),
            domainname: None,
            sysctls: IndexMap::from([("net.core.somaxconn".to_string(), "1024".to_string())]),
            network: InfraNetwork {
                name: "dce-t_default".into(),
                pre_existing: false,
                driver: "bridge".into(),
                labels: IndexMap::new(),
            },
            labels: IndexMap::from([("taskId".to_string(), "t".to_string())]),
            cgroup_parent: Some("/mesos/c1".into()),
        };
        let spec = infra_container(&infra, "dce-infra:abc", "net-id");
        assert_eq!(spec.name, "dce-t-infra");
        let body = spec.body;
        assert_eq!(body.image.as_deref(), Some("dce-infra:abc"));
        assert_eq!(body.hostname.as_deref(), Some("pod"));
        assert_eq!(
            body.exposed_ports,
            Some(vec!["8080/tcp".into(), "53/udp".into(), "9000/tcp".into()])
        );
        assert_eq!(body.labels.unwrap()["taskId"], "t");
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("net-id"));
        let bindings = host.port_bindings.unwrap();
        let web = &bindings["8080/tcp"].clone().unwrap()[0];
        assert_eq!(web.host_port.as_deref(), Some("31000"));
        let dns = &bindings["53/udp"].clone().unwrap()[0];
        assert_eq!(
            (dns.host_ip.as_deref(), dns.host_port.as_deref()),
            (Some("127.0.0.1"), Some(""))
        );
        assert_eq!(host.extra_hosts, Some(vec!["web:127.0.0.1".into()]));
        assert_eq!(host.dns, Some(vec!["10.0.0.53".into()]));
        assert_eq!(host.sysctls.unwrap()["net.core.somaxconn"], "1024");
        assert_eq!(host.cgroup_parent.as_deref(), Some("/mesos/c1"));
        assert_eq!(host.restart_policy, None);
    }
}
