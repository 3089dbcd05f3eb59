//! Unit tests of the pure Service → container configuration mapping.

use std::net::IpAddr;
use std::time::Duration;

use compose::{
    BindOptions, Command, DeviceMapping, ExposedPort, ExtraHost, HealthTest, Healthcheck, Logging,
    MountKind, NetworkMode, PortRange, PortSpec, Project, Propagation, Protocol, SelinuxRelabel,
    Service, ServiceNetwork, TmpfsMount, TmpfsOptions, Ulimit, VolumeMount, VolumeOptions,
    VolumesFrom, VolumesFromSource,
};
use indexmap::IndexMap;
use pod::plan::{PodNetwork, ServicePlan};
use pod::PodPlan;

use super::container_config::{service_container, ContainerSpec};
use super::names::PodNames;

/// The container configuration of `service` in `plan`.
fn container_of(plan: &PodPlan, service: &str) -> ContainerSpec {
    service_container(
        service,
        &plan.project.services[service],
        &PodNames::from_plan(plan),
    )
    .unwrap()
}

fn plan_with(services: Vec<(&str, Service)>) -> PodPlan {
    let mut project = Project::default();
    for (name, service) in services {
        project.services.insert(name.to_string(), service);
    }
    project.volumes.insert(
        "data".to_string(),
        compose::Volume {
            name: Some("dce-t_data".to_string()),
            ..Default::default()
        },
    );
    project.networks.insert(
        "front".to_string(),
        compose::Network {
            name: Some("dce-t_front".to_string()),
            ..Default::default()
        },
    );
    project.networks.insert(
        "back".to_string(),
        compose::Network {
            name: Some("dce-t_back".to_string()),
            ..Default::default()
        },
    );
    let services = project
        .services
        .keys()
        .map(|name| {
            (
                name.clone(),
                ServicePlan {
                    container_name: format!("dce-t-{name}-1"),
                    restart: Default::default(),
                    on_unhealthy: Default::default(),
                },
            )
        })
        .collect();
    PodPlan {
        project_name: "dce-t".to_string(),
        network: PodNetwork::Compose,
        project,
        services,
        ports: Vec::new(),
        labels: IndexMap::new(),
        cgroup_parent: None,
        rewrites: Vec::new(),
    }
}

fn image(image: &str) -> Service {
    Service {
        image: image.to_string(),
        ..Default::default()
    }
}

fn mount(kind: MountKind, source: Option<&str>, target: &str) -> VolumeMount {
    VolumeMount {
        kind,
        source: source.map(str::to_string),
        target: target.to_string(),
        read_only: false,
        consistency: None,
        bind: BindOptions::default(),
        volume: VolumeOptions::default(),
        tmpfs: TmpfsOptions::default(),
    }
}

#[test]
fn command_entrypoint_env_and_process_settings() {
    let mut service = image("app:1");
    service.command = Some(Command::Shell("echo 'a b' c".to_string()));
    service.entrypoint = Some(Command::Exec(Vec::new()));
    service.environment.insert("A".into(), Some("1".into()));
    service.environment.insert("UNSET".into(), None);
    service.user = Some("1000:1000".into());
    service.working_dir = Some("/w".into());
    service.stop_signal = Some("SIGINT".into());
    service.stop_grace_period = Some(Duration::from_millis(1500));
    service.tty = Some(true);
    service.stdin_open = Some(false);
    service.init = Some(true);
    service.read_only = Some(true);
    service.privileged = Some(false);
    service.platform = Some("linux/amd64".into());
    let plan = plan_with(vec![("app", service)]);
    let spec = container_of(&plan, "app");
    let body = spec.body;
    assert_eq!(spec.name, "dce-t-app-1");
    assert_eq!(spec.platform, "linux/amd64");
    assert_eq!(body.image.as_deref(), Some("app:1"));
    assert_eq!(
        body.cmd,
        Some(vec!["echo".into(), "a b".into(), "c".into()])
    );
    assert_eq!(
        body.entrypoint,
        Some(vec![]),
        "an empty entrypoint clears the image's"
    );
    assert_eq!(body.env, Some(vec!["A=1".into(), "UNSET".into()]));
    assert_eq!(body.user.as_deref(), Some("1000:1000"));
    assert_eq!(body.working_dir.as_deref(), Some("/w"));
    assert_eq!(body.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(body.stop_timeout, Some(2), "rounded up");
    assert_eq!((body.tty, body.open_stdin), (Some(true), Some(false)));
    let host = body.host_config.unwrap();
    assert_eq!(host.init, Some(true));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.privileged, Some(false));
    assert_eq!(host.restart_policy, None, "dce applies restart itself");
}

#[test]
fn healthcheck_forms() {
    let cases = [
        (HealthTest::Disabled, vec!["NONE"]),
        (HealthTest::Cmd(vec!["true".into()]), vec!["CMD", "true"]),
        (
            HealthTest::Shell("exit 0".into()),
            vec!["CMD-SHELL", "exit 0"],
        ),
    ];
    for (test, want) in cases {
        let mut service = image("a");
        service.healthcheck = Some(Healthcheck {
            test: Some(test),
            interval: Some(Duration::from_millis(250)),
            timeout: Some(Duration::from_secs(2)),
            start_period: Some(Duration::from_secs(5)),
            retries: Some(4),
        });
        let plan = plan_with(vec![("a", service)]);
        let spec = container_of(&plan, "a");
        let health = spec.body.healthcheck.unwrap();
        assert_eq!(health.test.unwrap(), want);
        assert_eq!(health.interval, Some(250_000_000));
        assert_eq!(health.timeout, Some(2_000_000_000));
        assert_eq!(health.start_period, Some(5_000_000_000));
        assert_eq!(health.retries, Some(4));
    }
}

#[test]
fn ports_and_expose() {
    let mut service = image("a");
    service.ports = vec![
        PortSpec {
            target: 80,
            published: Some(PortRange::single(31000)),
            host_ip: None,
            protocol: Protocol::Tcp,
        },
        PortSpec {
            target: 80,
            published: None,
            host_ip: Some("127.0.0.1".parse::<IpAddr>().unwrap()),
            protocol: Protocol::Tcp,
        },
        PortSpec {
            target: 53,
            published: Some(PortRange {
                start: 5300,
                end: 5310,
            }),
            host_ip: None,
            protocol: Protocol::Udp,
        },
    ];
    service.expose = vec![
        ExposedPort {
            port: 9000,
            protocol: Protocol::Tcp,
        },
        ExposedPort {
            port: 80,
            protocol: Protocol::Tcp,
        },
    ];
    let plan = plan_with(vec![("a", service)]);
    let body = container_of(&plan, "a").body;
    assert_eq!(
        body.exposed_ports,
        Some(vec!["80/tcp".into(), "53/udp".into(), "9000/tcp".into()])
    );
    let bindings = body.host_config.unwrap().port_bindings.unwrap();
    let tcp: Vec<_> = bindings["80/tcp"]
        .clone()
        .unwrap()
        .into_iter()
        .map(|b| (b.host_ip, b.host_port))
        .collect();
    assert_eq!(
        tcp,
        vec![
            (None, Some("31000".to_string())),
            (Some("127.0.0.1".to_string()), Some(String::new())),
        ]
    );
    let udp = bindings["53/udp"].clone().unwrap();
    assert_eq!(udp[0].host_port.as_deref(), Some("5300-5310"));
}

#[test]
fn mounts_of_every_kind() {
    let mut service = image("a");
    let mut bind = mount(MountKind::Bind, Some("/srv/data"), "/data");
    bind.read_only = true;
    bind.bind.selinux = Some(SelinuxRelabel::Private);
    bind.bind.propagation = Some(Propagation::Rslave);
    let mut strict_bind = mount(MountKind::Bind, Some("/srv/exists"), "/exists");
    strict_bind.bind.create_host_path = false;
    let mut named = mount(MountKind::Volume, Some("data"), "/named");
    named.volume.nocopy = true;
    let anonymous = mount(MountKind::Volume, None, "/anon");
    let mut tmpfs = mount(MountKind::Tmpfs, None, "/scratch");
    tmpfs.tmpfs.size = Some(1 << 20);
    tmpfs.tmpfs.mode = Some(0o1777);
    service.volumes = vec![bind, strict_bind, named, anonymous, tmpfs];
    service.tmpfs = vec![TmpfsMount {
        target: "/run".into(),
        options: Some("size=64k".into()),
    }];
    service.volumes_from = vec![
        VolumesFrom {
            source: VolumesFromSource::Service("b".into()),
            read_only: true,
        },
        VolumesFrom {
            source: VolumesFromSource::Container("legacy".into()),
            read_only: false,
        },
    ];
    let plan = plan_with(vec![("a", service), ("b", image("b"))]);
    let host = container_of(&plan, "a").body.host_config.unwrap();
    assert_eq!(
        host.binds,
        Some(vec!["/srv/data:/data:ro,Z,rslave".to_string()])
    );
    let mounts = host.mounts.unwrap();
    let summary: Vec<_> = mounts
        .iter()
        .map(|m| {
            (
                m.typ.map(|t| t.to_string()).unwrap_or_default(),
                m.source.clone(),
                m.target.clone().unwrap_or_default(),
                m.volume_options.as_ref().and_then(|o| o.no_copy),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "bind".into(),
                Some("/srv/exists".into()),
                "/exists".into(),
                None
            ),
            (
                "volume".into(),
                Some("dce-t_data".into()),
                "/named".into(),
                Some(true)
            ),
            ("volume".into(), None, "/anon".into(), None),
        ]
    );
    let tmpfs = host.tmpfs.unwrap();
    assert_eq!(tmpfs["/scratch"], "size=1048576,mode=1777");
    assert_eq!(tmpfs["/run"], "size=64k");
    assert_eq!(
        host.volumes_from,
        Some(vec!["dce-t-b-1:ro".to_string(), "legacy".to_string()])
    );
}

#[test]
fn limits_devices_and_kernel_settings() {
    let mut service = image("a");
    service.cap_add = vec!["NET_ADMIN".into()];
    service.cap_drop = vec!["ALL".into()];
    service.security_opt = vec!["no-new-privileges:true".into()];
    service
        .ulimits
        .insert("nofile".into(), Ulimit { soft: 10, hard: 20 });
    service.sysctls.insert("kernel.msgmax".into(), "1".into());
    service.devices = vec![DeviceMapping {
        source: "/dev/zero".into(),
        target: "/dev/z".into(),
        permissions: None,
    }];
    service.shm_size = Some(1 << 26);
    service.mem_limit = Some(1 << 27);
    service.memswap_limit = Some(-1);
    service.cpus = Some(1.5);
    service.cpu_shares = Some(256);
    service.pids_limit = Some(64);
    service.deploy.resources.limits.memory = Some(1 << 26);
    service.deploy.resources.reservations.memory = Some(1 << 20);
    service.logging = Some(Logging {
        driver: None,
        options: IndexMap::from([("max-size".to_string(), "1m".to_string())]),
    });
    service.pid = Some("service:b".into());
    service.ipc = Some("host".into());
    let plan = plan_with(vec![("a", service), ("b", image("b"))]);
    let host = container_of(&plan, "a").body.host_config.unwrap();
    assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".into()]));
    assert_eq!(host.cap_drop, Some(vec!["ALL".into()]));
    assert_eq!(
        host.security_opt,
        Some(vec!["no-new-privileges:true".into()])
    );
    let ulimit = &host.ulimits.unwrap()[0];
    assert_eq!(
        (ulimit.name.as_deref(), ulimit.soft, ulimit.hard),
        (Some("nofile"), Some(10), Some(20))
    );
    assert_eq!(host.sysctls.unwrap()["kernel.msgmax"], "1");
    let device = &host.devices.unwrap()[0];
    assert_eq!(device.cgroup_permissions.as_deref(), Some("rwm"));
    assert_eq!(host.shm_size, Some(1 << 26));
    assert_eq!(
        host.memory,
        Some(1 << 26),
        "deploy limit wins over mem_limit"
    );
    assert_eq!(host.memory_swap, Some(-1));
    assert_eq!(host.memory_reservation, Some(1 << 20));
    assert_eq!(host.nano_cpus, Some(1_500_000_000));
    assert_eq!(host.cpu_shares, Some(256));
    assert_eq!(host.pids_limit, Some(64));
    let log = host.log_config.unwrap();
    assert_eq!(log.typ, None, "the daemon's default driver");
    assert_eq!(log.config.unwrap()["max-size"], "1m");
    assert_eq!(host.pid_mode.as_deref(), Some("container:dce-t-b-1"));
    assert_eq!(host.ipc_mode.as_deref(), Some("host"));
}

#[test]
fn networks_aliases_and_network_modes() {
    let mut service = image("a");
    service.hostname = Some("ahost".into());
    service.extra_hosts = vec![ExtraHost {
        hostname: "db".into(),
        ip: "10.0.0.2".into(),
    }];
    service.networks.insert(
        "back".into(),
        ServiceNetwork {
            aliases: vec!["a-back".into()],
            ipv4_address: Some("172.30.0.5".parse().unwrap()),
            ..Default::default()
        },
    );
    service.networks.insert(
        "front".into(),
        ServiceNetwork {
            priority: Some(10),
            ..Default::default()
        },
    );
    let mut sidecar = image("s");
    sidecar.network_mode = Some(NetworkMode::Service("a".into()));
    sidecar.hostname = Some("ignored".into());
    let plan = plan_with(vec![("a", service), ("s", sidecar)]);
    let mut names = PodNames::from_plan(&plan);
    names.set_network_id("back", "id-back".into());
    let spec = service_container("a", &plan.project.services["a"], &names).unwrap();
    let host = spec.body.host_config.clone().unwrap();
    assert_eq!(spec.body.hostname.as_deref(), Some("ahost"));
    assert_eq!(host.extra_hosts, Some(vec!["db:10.0.0.2".into()]));
    // The higher priority network is joined at create, the other one afterwards.
    assert_eq!(host.network_mode.as_deref(), Some("dce-t_front"));
    let endpoints = spec
        .body
        .networking_config
        .unwrap()
        .endpoints_config
        .unwrap();
    assert_eq!(endpoints["dce-t_front"].aliases, Some(vec!["a".into()]));
    assert_eq!(spec.extra_networks.len(), 1);
    let (network, endpoint) = &spec.extra_networks[0];
    assert_eq!(network, "id-back");
    assert_eq!(endpoint.aliases, Some(vec!["a".into(), "a-back".into()]));
    assert_eq!(
        endpoint
            .ipam_config
            .as_ref()
            .unwrap()
            .ipv4_address
            .as_deref(),
        Some("172.30.0.5")
    );

    let spec = service_container("s", &plan.project.services["s"], &names).unwrap();
    assert_eq!(
        spec.body.host_config.unwrap().network_mode.as_deref(),
        Some("container:dce-t-a-1")
    );
    assert_eq!(
        spec.body.hostname, None,
        "conflicts with a shared namespace"
    );
}

#[test]
fn unknown_references_are_errors_naming_the_service() {
    let mut service = image("a");
    service.volumes = vec![mount(MountKind::Volume, Some("ghost"), "/g")];
    let plan = plan_with(vec![("a", service)]);
    let error = service_container(
        "a",
        &plan.project.services["a"],
        &PodNames::from_plan(&plan),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        error,
        "service a: mounts volume `ghost`, which is not declared under top-level `volumes`"
    );
    let mut service = image("a");
    service.pid = Some("service:ghost".into());
    let plan = plan_with(vec![("a", service)]);
    let error = service_container(
        "a",
        &plan.project.services["a"],
        &PodNames::from_plan(&plan),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("`ghost`"), "{error}");
}
