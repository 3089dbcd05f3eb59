use super::*;
use compose::{DeviceMapping, VolumeMount, VolumesFrom};

const SANDBOX: &str = "/var/lib/mesos/slaves/a/runs/cid";

fn bind(source: &str) -> VolumeMount {
    VolumeMount {
        kind: MountKind::Bind,
        source: Some(source.to_string()),
        target: "/data".to_string(),
        read_only: false,
        consistency: None,
        bind: Default::default(),
        volume: Default::default(),
        tmpfs: Default::default(),
    }
}

fn project(service: Service) -> Project {
    let mut project = Project::default();
    project.services.insert("web".to_string(), service);
    project
}

fn denied(service: Service, policy: &AdmissionConfig) -> String {
    admit(&project(service), policy, Path::new(SANDBOX))
        .unwrap_err()
        .to_string()
}

fn baseline() -> AdmissionConfig {
    AdmissionConfig::default()
}

#[test]
fn a_plain_service_is_admitted() {
    let service = Service {
        image: "busybox".into(),
        cap_add: vec!["NET_BIND_SERVICE".into(), "cap_kill".into()],
        volumes: vec![bind(&format!("{SANDBOX}/app"))],
        ..Service::default()
    };
    admit(&project(service), &baseline(), Path::new(SANDBOX)).unwrap();
}

#[test]
fn privileged() {
    let service = Service {
        privileged: Some(true),
        ..Service::default()
    };
    assert_eq!(
        denied(service, &baseline()),
        "denied by the admission policy `baseline`: service `web` privileged: true (privileged containers are not allowed)"
    );
}

#[test]
fn host_pid_and_ipc() {
    let service = Service {
        pid: Some("host".into()),
        ipc: Some("host".into()),
        ..Service::default()
    };
    let message = denied(service, &baseline());
    assert!(
        message.contains("service `web` pid: host (the host's namespace is not allowed)"),
        "{message}"
    );
    assert!(message.contains("service `web` ipc: host"), "{message}");
}

#[test]
fn host_network_unless_allowed() {
    let service = Service {
        network_mode: Some(NetworkMode::Host),
        ..Service::default()
    };
    let message = denied(service.clone(), &baseline());
    assert!(message.contains("service `web` network_mode: host (the host's network is not allowed (policy.allowhostnetwork))"), "{message}");
    let allowing = AdmissionConfig {
        allow_host_network: true,
        ..baseline()
    };
    admit(&project(service), &allowing, Path::new(SANDBOX)).unwrap();
}

#[test]
fn capabilities_outside_the_default_set() {
    let service = Service {
        cap_add: vec!["SYS_ADMIN".into(), "ALL".into(), "CHOWN".into()],
        ..Service::default()
    };
    let message = denied(service, &baseline());
    assert!(
        message
            .contains("service `web` cap_add: SYS_ADMIN (not in Docker's default capability set)"),
        "{message}"
    );
    assert!(message.contains("cap_add: ALL"), "{message}");
    assert!(!message.contains("CHOWN"), "{message}");
}

#[test]
fn devices() {
    let service = Service {
        devices: vec![DeviceMapping {
            source: "/dev/fuse".into(),
            target: "/dev/fuse".into(),
            permissions: None,
        }],
        ..Service::default()
    };
    assert!(denied(service, &baseline())
        .contains("service `web` devices: /dev/fuse (host devices are not allowed)"));
}

#[test]
fn docker_socket_even_when_allow_listed() {
    let policy = AdmissionConfig {
        bind_mount_allow_list: vec!["/var/run".into()],
        ..baseline()
    };
    for source in ["/var/run/docker.sock", "/run/docker.sock", "/var/run", "/"] {
        let service = Service {
            volumes: vec![bind(source)],
            ..Service::default()
        };
        let message = denied(service, &policy);
        assert!(message.contains(&format!("service `web` volumes: {source} (mounting the container engine's socket is not allowed)")), "{message}");
    }
}

#[test]
fn binds_outside_the_sandbox_unless_allow_listed() {
    let service = Service {
        volumes: vec![bind("/etc"), bind(&format!("{SANDBOX}/../../other"))],
        ..Service::default()
    };
    let message = denied(service.clone(), &baseline());
    assert!(message.contains("service `web` volumes: /etc (bind mounts outside the sandbox are allowed only under policy.bindmountallowlist)"), "{message}");
    assert!(message.contains("/../../other"), "{message}");
    let policy = AdmissionConfig {
        bind_mount_allow_list: vec!["/etc".into(), "/var/lib/mesos/slaves/a".into()],
        ..baseline()
    };
    admit(&project(service), &policy, Path::new(SANDBOX)).unwrap();
}

#[test]
fn unconfined_security_profiles() {
    let service = Service {
        security_opt: vec![
            "seccomp:unconfined".into(),
            "apparmor=unconfined".into(),
            "no-new-privileges:true".into(),
        ],
        ..Service::default()
    };
    let message = denied(service, &baseline());
    assert!(
        message.contains(
            "security_opt: seccomp:unconfined (disabling a security profile is not allowed)"
        ),
        "{message}"
    );
    assert!(
        message.contains("security_opt: apparmor=unconfined"),
        "{message}"
    );
    assert!(!message.contains("no-new-privileges"), "{message}");
}

#[test]
fn namespaces_and_volumes_of_foreign_containers() {
    let service = Service {
        volumes_from: vec![VolumesFrom {
            source: VolumesFromSource::Container("other".into()),
            read_only: false,
        }],
        pid: Some("container:other".into()),
        ..Service::default()
    };
    let message = denied(service, &baseline());
    assert!(
        message.contains("volumes_from: container:other"),
        "{message}"
    );
    assert!(message.contains("pid: container:other"), "{message}");
}

#[test]
fn bind_volumes_in_disguise() {
    let mut project = project(Service::default());
    let mut volume = compose::Volume::default();
    volume.driver_opts.insert("type".into(), "none".into());
    volume.driver_opts.insert("o".into(), "bind".into());
    volume.driver_opts.insert("device".into(), "/etc".into());
    project.volumes.insert("cfg".into(), volume);
    let message = admit(&project, &baseline(), Path::new(SANDBOX))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("service `volumes.cfg` driver_opts.device: /etc"),
        "{message}"
    );
}

#[test]
fn every_violation_is_listed_and_classified_unauthorized() {
    let service = Service {
        privileged: Some(true),
        devices: vec![DeviceMapping {
            source: "/dev/sda".into(),
            target: "/dev/sda".into(),
            permissions: None,
        }],
        ..Service::default()
    };
    let mut project = project(service.clone());
    project.services.insert("db".into(), service);
    let err = admit(&project, &baseline(), Path::new(SANDBOX)).unwrap_err();
    assert_eq!(err.reason(), crate::ErrorReason::TaskUnauthorized);
    let PodError::Denied { violations, .. } = err else {
        panic!("not denied")
    };
    assert_eq!(violations.len(), 4);
}

#[test]
fn privileged_policy_allows_everything() {
    let policy = AdmissionConfig {
        mode: AdmissionMode::Privileged,
        ..baseline()
    };
    let service = Service {
        privileged: Some(true),
        volumes: vec![bind("/var/run/docker.sock")],
        ..Service::default()
    };
    admit(&project(service), &policy, Path::new(SANDBOX)).unwrap();
}

#[test]
fn symlinks_out_of_the_sandbox_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = dir.path().join("sandbox");
    std::fs::create_dir(&sandbox).unwrap();
    std::os::unix::fs::symlink("/etc", sandbox.join("link")).unwrap();
    let inside = Service {
        volumes: vec![bind(&sandbox.join("data/new").display().to_string())],
        ..Service::default()
    };
    admit(&project(inside), &baseline(), &sandbox).unwrap();
    let escaping = Service {
        volumes: vec![bind(&sandbox.join("link/ssl").display().to_string())],
        ..Service::default()
    };
    let message = admit(&project(escaping), &baseline(), &sandbox)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("link/ssl (bind mounts outside the sandbox"),
        "{message}"
    );
}
