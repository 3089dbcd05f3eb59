//! One [`Service`] → its compose mapping.

use yaml_serde::Value;

use super::{strings, Map};
use crate::units::{format_bytes, format_duration};
use crate::{
    Command, DependencyCondition, HealthTest, Healthcheck, MountKind, PortSpec, Protocol,
    RestartPolicy, SelinuxRelabel, Service, VolumeMount, VolumesFromSource,
};

pub(super) fn service_value(s: &Service) -> Value {
    let mut m = Map::new();
    m.put("image", s.image.as_str());
    m.opt("build", s.build.clone());
    m.opt("entrypoint", s.entrypoint.as_ref().map(command_value));
    m.opt("command", s.command.as_ref().map(command_value));
    if !s.environment.is_empty() {
        let env = s
            .environment
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().into(),
                    v.as_deref().map_or(Value::Null, Value::from),
                )
            })
            .collect();
        m.put("environment", Value::Mapping(env));
    }
    if !s.ports.is_empty() {
        m.put(
            "ports",
            Value::Sequence(s.ports.iter().map(|p| port_string(p).into()).collect()),
        );
    }
    if !s.expose.is_empty() {
        let expose = s.expose.iter().map(|e| match e.protocol {
            Protocol::Tcp => e.port.to_string(),
            other => format!("{}/{}", e.port, other.as_str()),
        });
        m.put("expose", Value::Sequence(expose.map(Value::from).collect()));
    }
    if !s.volumes.is_empty() {
        m.put(
            "volumes",
            Value::Sequence(s.volumes.iter().map(mount_value).collect()),
        );
    }
    if !s.volumes_from.is_empty() {
        let from = s.volumes_from.iter().map(|f| {
            let base = match &f.source {
                VolumesFromSource::Service(n) => n.clone(),
                VolumesFromSource::Container(n) => format!("container:{n}"),
            };
            Value::from(if f.read_only {
                format!("{base}:ro")
            } else {
                base
            })
        });
        m.put("volumes_from", Value::Sequence(from.collect()));
    }
    m.map("labels", &s.labels);
    m.opt("healthcheck", s.healthcheck.as_ref().map(healthcheck_value));
    if !s.depends_on.is_empty() {
        m.put("depends_on", depends_on_value(s));
    }
    m.list("links", &s.links);
    m.opt("restart", s.restart.map(restart_string));
    m.opt_str("user", &s.user);
    m.opt_str("working_dir", &s.working_dir);
    m.opt_str("hostname", &s.hostname);
    m.opt_str("domainname", &s.domainname);
    if !s.extra_hosts.is_empty() {
        let hosts = s
            .extra_hosts
            .iter()
            .map(|h| Value::from(format!("{}:{}", h.hostname, h.ip)));
        m.put("extra_hosts", Value::Sequence(hosts.collect()));
    }
    m.list("dns", &s.dns);
    m.list("dns_search", &s.dns_search);
    m.list("dns_opt", &s.dns_opt);
    m.list("cap_add", &s.cap_add);
    m.list("cap_drop", &s.cap_drop);
    m.opt("privileged", s.privileged);
    m.list("security_opt", &s.security_opt);
    if !s.ulimits.is_empty() {
        let limits = s.ulimits.iter().map(|(k, u)| {
            let v = if u.soft == u.hard {
                Value::from(u.soft)
            } else {
                let mut l = Map::new();
                l.put("soft", u.soft);
                l.put("hard", u.hard);
                l.done()
            };
            (Value::from(k.as_str()), v)
        });
        m.put("ulimits", Value::Mapping(limits.collect()));
    }
    m.map("sysctls", &s.sysctls);
    if !s.devices.is_empty() {
        let devices = s.devices.iter().map(|d| {
            let mut text = format!("{}:{}", d.source, d.target);
            if let Some(p) = &d.permissions {
                text = format!("{text}:{p}");
            }
            Value::from(text)
        });
        m.put("devices", Value::Sequence(devices.collect()));
    }
    if !s.tmpfs.is_empty() {
        let tmpfs = s.tmpfs.iter().map(|t| match &t.options {
            Some(o) => Value::from(format!("{}:{o}", t.target)),
            None => Value::from(t.target.as_str()),
        });
        m.put("tmpfs", Value::Sequence(tmpfs.collect()));
    }
    m.opt("shm_size", s.shm_size.map(format_bytes));
    m.opt("read_only", s.read_only);
    m.opt("init", s.init);
    m.opt_str("stop_signal", &s.stop_signal);
    m.opt(
        "stop_grace_period",
        s.stop_grace_period.map(format_duration),
    );
    m.opt("mem_limit", s.mem_limit.map(format_bytes));
    m.opt("memswap_limit", s.memswap_limit.map(signed_bytes));
    m.opt("mem_reservation", s.mem_reservation.map(format_bytes));
    m.opt("cpus", s.cpus);
    m.opt("cpu_shares", s.cpu_shares);
    m.opt("pids_limit", s.pids_limit);
    if !s.deploy.is_empty() {
        m.put("deploy", deploy_value(s));
    }
    if let Some(logging) = &s.logging {
        let mut l = Map::new();
        l.opt_str("driver", &logging.driver);
        l.map("options", &logging.options);
        m.put("logging", l.done());
    }
    m.opt(
        "network_mode",
        s.network_mode.as_ref().map(|n| n.to_compose_string()),
    );
    if !s.networks.is_empty() {
        m.put("networks", networks_value(s));
    }
    m.opt_str("pid", &s.pid);
    m.opt_str("ipc", &s.ipc);
    m.opt("tty", s.tty);
    m.opt("stdin_open", s.stdin_open);
    // v1 knows `missing` only as `if_not_present`; v2 accepts both.
    m.opt(
        "pull_policy",
        s.pull_policy.map(|p| match p {
            crate::PullPolicy::Missing => "if_not_present",
            other => other.as_str(),
        }),
    );
    m.opt_str("container_name", &s.container_name);
    m.opt_str("cgroup_parent", &s.cgroup_parent);
    m.opt_str("platform", &s.platform);
    m.list("profiles", &s.profiles);
    for (k, v) in &s.extensions {
        m.put(k, v.clone());
    }
    m.done()
}

fn command_value(c: &Command) -> Value {
    match c {
        Command::Shell(line) => Value::from(line.as_str()),
        Command::Exec(args) => strings(args),
    }
}

/// `[host_ip:][published:]target[/proto]`, the short form both compose versions accept.
pub(crate) fn port_string(p: &PortSpec) -> String {
    let mut text = String::new();
    match (p.host_ip, p.published) {
        (Some(ip), published) => {
            let ip = match ip {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            };
            let published = published.map(|r| r.to_string()).unwrap_or_default();
            text.push_str(&format!("{ip}:{published}:"));
        }
        (None, Some(published)) => text.push_str(&format!("{published}:")),
        (None, None) => {}
    }
    text.push_str(&p.target.to_string());
    if p.protocol != Protocol::Tcp {
        text.push('/');
        text.push_str(p.protocol.as_str());
    }
    text
}

fn mount_value(v: &VolumeMount) -> Value {
    let short_ok = v.kind != MountKind::Tmpfs
        && v.source.is_some()
        && v.bind.create_host_path
        && v.tmpfs.size.is_none()
        && v.tmpfs.mode.is_none();
    if short_ok {
        let mut options: Vec<&str> = Vec::new();
        if v.read_only {
            options.push("ro");
        }
        match v.bind.selinux {
            Some(SelinuxRelabel::Shared) => options.push("z"),
            Some(SelinuxRelabel::Private) => options.push("Z"),
            None => {}
        }
        if let Some(p) = v.bind.propagation {
            options.push(p.as_str());
        }
        if v.volume.nocopy {
            options.push("nocopy");
        }
        if let Some(c) = &v.consistency {
            options.push(c);
        }
        let mut text = format!("{}:{}", v.source.as_deref().unwrap_or_default(), v.target);
        if !options.is_empty() {
            text = format!("{text}:{}", options.join(","));
        }
        return Value::from(text);
    }
    let plain_anonymous =
        v.kind == MountKind::Volume && !v.read_only && v.consistency.is_none() && !v.volume.nocopy;
    if plain_anonymous {
        return Value::from(v.target.as_str());
    }
    let mut m = Map::new();
    m.put(
        "type",
        match v.kind {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        },
    );
    m.opt_str("source", &v.source);
    m.put("target", v.target.as_str());
    if v.read_only {
        m.put("read_only", true);
    }
    m.opt_str("consistency", &v.consistency);
    if v.kind == MountKind::Bind {
        let mut b = Map::new();
        b.opt("propagation", v.bind.propagation.map(|p| p.as_str()));
        if !v.bind.create_host_path {
            b.put("create_host_path", false);
        }
        b.opt(
            "selinux",
            v.bind.selinux.map(|s| {
                if s == SelinuxRelabel::Shared {
                    "z"
                } else {
                    "Z"
                }
            }),
        );
        m.put("bind", b.done());
    }
    if v.volume.nocopy {
        let mut vo = Map::new();
        vo.put("nocopy", true);
        m.put("volume", vo.done());
    }
    if v.tmpfs.size.is_some() || v.tmpfs.mode.is_some() {
        let mut t = Map::new();
        t.opt("size", v.tmpfs.size);
        t.opt("mode", v.tmpfs.mode.map(|mode| format!("{mode:o}")));
        m.put("tmpfs", t.done());
    }
    m.done()
}

fn healthcheck_value(h: &Healthcheck) -> Value {
    let mut m = Map::new();
    match &h.test {
        Some(HealthTest::Disabled) => m.put("test", strings(&["NONE".to_string()])),
        Some(HealthTest::Cmd(args)) => {
            let mut list = vec!["CMD".to_string()];
            list.extend(args.iter().cloned());
            m.put("test", strings(&list));
        }
        Some(HealthTest::Shell(line)) => {
            m.put("test", strings(&["CMD-SHELL".to_string(), line.clone()]))
        }
        None => {}
    }
    m.opt("interval", h.interval.map(format_duration));
    m.opt("timeout", h.timeout.map(format_duration));
    m.opt("start_period", h.start_period.map(format_duration));
    m.opt("retries", h.retries);
    m.done()
}

fn depends_on_value(s: &Service) -> Value {
    if s.depends_on
        .values()
        .all(|d| d.condition == DependencyCondition::ServiceStarted)
    {
        return strings(&s.depends_on.keys().cloned().collect::<Vec<_>>());
    }
    let deps = s.depends_on.iter().map(|(name, d)| {
        let mut dm = Map::new();
        dm.put("condition", d.condition.as_str());
        (Value::from(name.as_str()), dm.done())
    });
    Value::Mapping(deps.collect())
}

fn restart_string(r: RestartPolicy) -> String {
    match r {
        RestartPolicy::No => "no".to_string(),
        RestartPolicy::Always => "always".to_string(),
        RestartPolicy::UnlessStopped => "unless-stopped".to_string(),
        RestartPolicy::OnFailure { max_retries: None } => "on-failure".to_string(),
        RestartPolicy::OnFailure {
            max_retries: Some(n),
        } => format!("on-failure:{n}"),
    }
}

fn signed_bytes(n: i64) -> Value {
    match u64::try_from(n) {
        Ok(bytes) => Value::from(format_bytes(bytes)),
        Err(_) => Value::from(n),
    }
}

fn deploy_value(s: &Service) -> Value {
    let r = &s.deploy.resources;
    let mut resources = Map::new();
    let mut limits = Map::new();
    limits.opt("cpus", r.limits.cpus.map(|c| c.to_string()));
    limits.opt("memory", r.limits.memory.map(format_bytes));
    if !limits.0.is_empty() {
        resources.put("limits", limits.done());
    }
    let mut reservations = Map::new();
    reservations.opt("cpus", r.reservations.cpus.map(|c| c.to_string()));
    reservations.opt("memory", r.reservations.memory.map(format_bytes));
    if !reservations.0.is_empty() {
        resources.put("reservations", reservations.done());
    }
    let mut d = Map::new();
    d.put("resources", resources.done());
    d.done()
}

fn networks_value(s: &Service) -> Value {
    let plain = s
        .networks
        .values()
        .all(|n| *n == crate::ServiceNetwork::default());
    if plain {
        return strings(&s.networks.keys().cloned().collect::<Vec<_>>());
    }
    let nets = s.networks.iter().map(|(name, n)| {
        let mut nm = Map::new();
        nm.list("aliases", &n.aliases);
        nm.opt("ipv4_address", n.ipv4_address.map(|a| a.to_string()));
        nm.opt("ipv6_address", n.ipv6_address.map(|a| a.to_string()));
        nm.opt("priority", n.priority);
        (Value::from(name.as_str()), nm.done())
    });
    Value::Mapping(nets.collect())
}
