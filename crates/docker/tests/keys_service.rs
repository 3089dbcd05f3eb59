//! Every service-level compose key dce maps to the engine, checked in the engine's own inspect
//! output (shared network namespace, the default pod layout).

mod support;

use std::collections::HashMap;

use bollard::models::ContainerInspectResponse;
use support::harness::Harness;
use support::with_sleeper;

const POD: &str = with_sleeper!(
    r#"
services:
  basics:
    image: dce-test-busybox:latest
    entrypoint: ["/bin/sh", "-c"]
    command: ["sleep 600"]
    environment:
      FOO: bar
      EMPTY: ""
    env_file: [app.env]
    labels:
      com.example.team: infra
    user: "65534:65534"
    working_dir: /tmp
    init: true
    tty: true
    stdin_open: true
    stop_signal: SIGUSR1
    stop_grace_period: 7s
    restart: on-failure:3
    expose: ["9000", "9001/udp"]
    x-notes: an extension dce ignores
  limits:
    <<: *sleeper
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    security_opt: ["no-new-privileges:true"]
    ulimits:
      nofile: {soft: 1024, hard: 2048}
      nproc: 512
    sysctls:
      kernel.msgmax: "65536"
    devices: ["/dev/zero:/dev/myzero:rwm"]
    tmpfs: ["/run:size=65536"]
    shm_size: 64m
    read_only: true
    mem_limit: 64m
    memswap_limit: 128m
    mem_reservation: 32m
    cpus: 0.5
    cpu_shares: 512
    pids_limit: 100
    logging:
      driver: json-file
      options:
        max-size: 1m
  deployed:
    <<: *sleeper
    deploy:
      resources:
        limits: {cpus: "0.25", memory: 32m, pids: 50}
        reservations: {memory: 16m}
  priv:
    <<: *sleeper
    ipc: shareable
  ns:
    <<: *sleeper
    pid: "service:limits"
    ipc: "service:priv"
    depends_on: [limits, priv]
  hostpid:
    <<: *sleeper
    pid: host
  health:
    <<: *sleeper
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      timeout: 2s
      retries: 3
      start_period: 3s
  shellhealth:
    <<: *sleeper
    healthcheck:
      test: exit 0
  nohealth:
    <<: *sleeper
    healthcheck:
      disable: true
  mounts:
    <<: *sleeper
    volumes:
      - ./data:/data:ro
      - type: bind
        source: ./data2
        target: /data2
      - named:/named
      - type: volume
        source: named
        target: /named2
        volume: {nocopy: true}
      - /anon
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 1048576}
  from:
    <<: *sleeper
    volumes_from: ["mounts:ro"]
    depends_on: [mounts]
volumes:
  named: {}
"#
);

const INFRA: &str = pod::plan::INFRA_SERVICE;

type Check = fn(&ContainerInspectResponse) -> Result<(), String>;

fn eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

fn config(c: &ContainerInspectResponse) -> bollard::models::ContainerConfig {
    c.config.clone().unwrap_or_default()
}

fn host(c: &ContainerInspectResponse) -> bollard::models::HostConfig {
    c.host_config.clone().unwrap_or_default()
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

fn cases() -> Vec<(&'static str, &'static str, Check)> {
    vec![
        ("image", "basics", |c| {
            eq(
                "Config.Image",
                config(c).image,
                Some("dce-test-busybox:latest".into()),
            )
        }),
        ("entrypoint", "basics", |c| {
            eq(
                "Entrypoint",
                config(c).entrypoint,
                strings(&["/bin/sh", "-c"]),
            )
        }),
        ("command", "basics", |c| {
            eq("Cmd", config(c).cmd, strings(&["sleep 600"]))
        }),
        ("environment", "basics", |c| {
            let env = config(c).env.unwrap_or_default();
            for want in ["FOO=bar", "EMPTY="] {
                if !env.iter().any(|e| e == want) {
                    return Err(format!("Env {env:?} lacks {want}"));
                }
            }
            Ok(())
        }),
        ("env_file", "basics", |c| {
            let env = config(c).env.unwrap_or_default();
            eq(
                "Env FROM_FILE",
                env.iter().any(|e| e == "FROM_FILE=yes"),
                true,
            )
        }),
        ("labels", "basics", |c| {
            let labels = config(c).labels.unwrap_or_default();
            eq(
                "label",
                labels.get("com.example.team").cloned(),
                Some("infra".into()),
            )
        }),
        ("user", "basics", |c| {
            eq("User", config(c).user, Some("65534:65534".into()))
        }),
        ("working_dir", "basics", |c| {
            eq("WorkingDir", config(c).working_dir, Some("/tmp".into()))
        }),
        ("init", "basics", |c| eq("Init", host(c).init, Some(true))),
        ("tty", "basics", |c| eq("Tty", config(c).tty, Some(true))),
        ("stdin_open", "basics", |c| {
            eq("OpenStdin", config(c).open_stdin, Some(true))
        }),
        ("stop_signal", "basics", |c| {
            eq("StopSignal", config(c).stop_signal, Some("SIGUSR1".into()))
        }),
        ("stop_grace_period", "basics", |c| {
            eq("StopTimeout", config(c).stop_timeout, Some(7))
        }),
        ("restart (not given to Docker)", "basics", |c| {
            let name = host(c)
                .restart_policy
                .and_then(|p| p.name)
                .map(|n| n.to_string());
            eq(
                "RestartPolicy",
                matches!(name.as_deref(), None | Some("") | Some("no")),
                true,
            )
        }),
        ("expose (moved to the infra container)", INFRA, |c| {
            let mut ports = config(c).exposed_ports.unwrap_or_default();
            ports.sort();
            eq(
                "ExposedPorts",
                ports,
                vec!["9000/tcp".to_string(), "9001/udp".to_string()],
            )
        }),
        ("cap_add", "limits", |c| {
            eq("CapAdd", host(c).cap_add, strings(&["NET_ADMIN"]))
        }),
        ("cap_drop", "limits", |c| {
            eq("CapDrop", host(c).cap_drop, strings(&["MKNOD"]))
        }),
        ("security_opt", "limits", |c| {
            eq(
                "SecurityOpt",
                host(c).security_opt,
                strings(&["no-new-privileges:true"]),
            )
        }),
        ("ulimits", "limits", |c| {
            let mut got: Vec<_> = host(c)
                .ulimits
                .unwrap_or_default()
                .into_iter()
                .map(|u| (u.name.unwrap_or_default(), u.soft, u.hard))
                .collect();
            got.sort();
            eq(
                "Ulimits",
                got,
                vec![
                    ("nofile".into(), Some(1024), Some(2048)),
                    ("nproc".into(), Some(512), Some(512)),
                ],
            )
        }),
        ("sysctls", "limits", |c| {
            eq(
                "Sysctls",
                host(c).sysctls,
                Some(HashMap::from([("kernel.msgmax".into(), "65536".into())])),
            )
        }),
        ("devices", "limits", |c| {
            let devices = host(c).devices.unwrap_or_default();
            let got: Vec<_> = devices
                .into_iter()
                .map(|d| (d.path_on_host, d.path_in_container, d.cgroup_permissions))
                .collect();
            eq(
                "Devices",
                got,
                vec![(
                    Some("/dev/zero".into()),
                    Some("/dev/myzero".into()),
                    Some("rwm".into()),
                )],
            )
        }),
        ("tmpfs", "limits", |c| {
            eq(
                "Tmpfs",
                host(c).tmpfs,
                Some(HashMap::from([("/run".into(), "size=65536".into())])),
            )
        }),
        ("shm_size", "limits", |c| {
            eq("ShmSize", host(c).shm_size, Some(64 << 20))
        }),
        ("read_only", "limits", |c| {
            eq("ReadonlyRootfs", host(c).readonly_rootfs, Some(true))
        }),
        ("mem_limit", "limits", |c| {
            eq("Memory", host(c).memory, Some(64 << 20))
        }),
        ("memswap_limit", "limits", |c| {
            eq("MemorySwap", host(c).memory_swap, Some(128 << 20))
        }),
        ("mem_reservation", "limits", |c| {
            eq(
                "MemoryReservation",
                host(c).memory_reservation,
                Some(32 << 20),
            )
        }),
        ("cpus", "limits", |c| {
            eq("NanoCpus", host(c).nano_cpus, Some(500_000_000))
        }),
        ("cpu_shares", "limits", |c| {
            eq("CpuShares", host(c).cpu_shares, Some(512))
        }),
        ("pids_limit", "limits", |c| {
            eq("PidsLimit", host(c).pids_limit, Some(100))
        }),
        ("logging", "limits", |c| {
            // The daemon adds its own default options (e.g. max-file) to the driver's.
            let log = host(c).log_config.unwrap_or_default();
            let max_size = log.config.unwrap_or_default().get("max-size").cloned();
            eq(
                "LogConfig",
                (log.typ, max_size),
                (Some("json-file".into()), Some("1m".into())),
            )
        }),
        ("deploy.resources.limits.cpus", "deployed", |c| {
            eq("NanoCpus", host(c).nano_cpus, Some(250_000_000))
        }),
        ("deploy.resources.limits.memory", "deployed", |c| {
            eq("Memory", host(c).memory, Some(32 << 20))
        }),
        ("deploy.resources.limits.pids", "deployed", |c| {
            eq("PidsLimit", host(c).pids_limit, Some(50))
        }),
        ("deploy.resources.reservations.memory", "deployed", |c| {
            eq(
                "MemoryReservation",
                host(c).memory_reservation,
                Some(16 << 20),
            )
        }),
        ("ipc", "priv", |c| {
            eq("IpcMode", host(c).ipc_mode, Some("shareable".into()))
        }),
        ("pid: service:x", "ns", |c| {
            let mode = host(c).pid_mode.unwrap_or_default();
            eq(
                "PidMode is container:",
                mode.starts_with("container:"),
                true,
            )
        }),
        ("ipc: service:x", "ns", |c| {
            let mode = host(c).ipc_mode.unwrap_or_default();
            eq(
                "IpcMode is container:",
                mode.starts_with("container:"),
                true,
            )
        }),
        ("pid: host", "hostpid", |c| {
            eq("PidMode", host(c).pid_mode, Some("host".into()))
        }),
        ("healthcheck", "health", |c| {
            let h = config(c).healthcheck.unwrap_or_default();
            eq(
                "Healthcheck",
                (h.test, h.interval, h.timeout, h.retries, h.start_period),
                (
                    strings(&["CMD", "true"]),
                    Some(1_000_000_000),
                    Some(2_000_000_000),
                    Some(3),
                    Some(3_000_000_000),
                ),
            )
        }),
        ("healthcheck.test string", "shellhealth", |c| {
            let h = config(c).healthcheck.unwrap_or_default();
            eq(
                "Healthcheck.Test",
                h.test,
                strings(&["CMD-SHELL", "exit 0"]),
            )
        }),
        ("healthcheck.disable", "nohealth", |c| {
            let h = config(c).healthcheck.unwrap_or_default();
            eq("Healthcheck.Test", h.test, strings(&["NONE"]))
        }),
        ("volumes", "mounts", |c| {
            let mut got: Vec<_> = c
                .mounts
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|m| {
                    let kind = m.typ.map(|t| t.to_string()).unwrap_or_default();
                    let source = match kind.as_str() {
                        "bind" => m
                            .source
                            .unwrap_or_default()
                            .rsplit('/')
                            .next()
                            .unwrap_or("")
                            .to_string(),
                        "volume" if m.name.as_deref().is_some_and(|n| n.ends_with("_named")) => {
                            "named".to_string()
                        }
                        _ => String::new(),
                    };
                    (
                        m.destination.unwrap_or_default(),
                        kind,
                        source,
                        m.rw.unwrap_or(false),
                    )
                })
                .collect();
            got.sort();
            let want = vec![
                (
                    "/anon".to_string(),
                    "volume".to_string(),
                    String::new(),
                    true,
                ),
                (
                    "/data".to_string(),
                    "bind".to_string(),
                    "data".to_string(),
                    false,
                ),
                (
                    "/data2".to_string(),
                    "bind".to_string(),
                    "data2".to_string(),
                    true,
                ),
                (
                    "/named".to_string(),
                    "volume".to_string(),
                    "named".to_string(),
                    true,
                ),
                (
                    "/named2".to_string(),
                    "volume".to_string(),
                    "named".to_string(),
                    true,
                ),
            ];
            eq("Mounts", got, want)
        }),
        ("volumes (tmpfs size, nocopy)", "mounts", |c| {
            let mounts = host(c).mounts.unwrap_or_default();
            let size = host(c).tmpfs.unwrap_or_default().get("/scratch").cloned();
            let nocopy = mounts
                .iter()
                .find(|m| m.target.as_deref() == Some("/named2"))
                .and_then(|m| m.volume_options.clone())
                .and_then(|o| o.no_copy);
            eq(
                "tmpfs size, nocopy",
                (size, nocopy),
                (Some("size=1048576".to_string()), Some(true)),
            )
        }),
        ("volumes_from", "from", |c| {
            let from = host(c).volumes_from.unwrap_or_default();
            eq(
                "VolumesFrom",
                from.len() == 1 && from[0].ends_with("-mounts-1:ro"),
                true,
            )
        }),
    ]
}

#[tokio::test]
async fn every_service_key_reaches_the_engine() {
    let h = Harness::new().await;
    std::fs::write(h.path().join("app.env"), "FROM_FILE=yes\n").unwrap();
    std::fs::create_dir(h.path().join("data2")).unwrap();
    let plan = h.plan(POD, Vec::new());
    let created = h.up(&plan).await.unwrap();
    let mut inspected = HashMap::new();
    for container in &created.pod.containers {
        inspected.insert(container.service.clone(), h.inspect(&container.id).await);
    }
    let mut failures = Vec::new();
    let cases = cases();
    for (key, service, check) in &cases {
        let Some(container) = inspected.get(*service) else {
            failures.push(format!("{key}: no container for service {service}"));
            continue;
        };
        if let Err(message) = check(container) {
            failures.push(format!("{key} ({service}): {message}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} keys wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Nothing lost: every service runs.
    for (service, container) in &inspected {
        let running = container.state.as_ref().and_then(|s| s.running);
        assert_eq!(running, Some(true), "{service} is not running");
    }
}
