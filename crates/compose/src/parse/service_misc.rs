//! The remaining structured service keys: healthcheck, depends_on, extra_hosts, ulimits,
//! deploy, logging, network_mode, networks.

use indexmap::{IndexMap, IndexSet};
use yaml_serde::Value;

use super::{entries, Ctx};
use crate::{
    ComposeError, DependencyCondition, DependsOn, Deploy, ExtraHost, HealthTest, Healthcheck,
    Logging, NetworkMode, ServiceNetwork, Ulimit,
};

pub(crate) fn healthcheck(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<Healthcheck, ComposeError> {
    let m = ctx.mapping(key, v)?;
    super::check_unknown(
        ctx,
        key,
        m,
        &[
            "test",
            "interval",
            "timeout",
            "start_period",
            "retries",
            "disable",
        ],
        &[(
            "start_interval",
            "needs Docker API 1.44; the engine dce targets has 1.41",
        )],
    )?;
    let mut hc = Healthcheck::default();
    let mut disabled = false;
    for (k, val) in entries(ctx, key, m)? {
        let kp = format!("{key}.{k}");
        if val.is_null() {
            continue;
        }
        match k.as_str() {
            "test" => hc.test = Some(health_test(ctx, &kp, val)?),
            "interval" => hc.interval = Some(ctx.duration(&kp, val)?),
            "timeout" => hc.timeout = Some(ctx.duration(&kp, val)?),
            "start_period" => hc.start_period = Some(ctx.duration(&kp, val)?),
            "retries" => hc.retries = Some(ctx.number(&kp, val, "an integer")?),
            _ => disabled = ctx.boolean(&kp, val)?,
        }
    }
    if disabled {
        hc.test = Some(HealthTest::Disabled);
    }
    Ok(hc)
}

fn health_test(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<HealthTest, ComposeError> {
    if let Value::Sequence(_) = v {
        let items = ctx.string_list(key, v, false)?;
        return match items.split_first() {
            Some((first, rest)) if first == "NONE" && rest.is_empty() => Ok(HealthTest::Disabled),
            Some((first, rest)) if first == "CMD" && !rest.is_empty() => {
                Ok(HealthTest::Cmd(rest.to_vec()))
            }
            Some((first, [line])) if first == "CMD-SHELL" => Ok(HealthTest::Shell(line.clone())),
            _ => Err(ctx.invalid(
                key,
                "a list test must be [\"CMD\", args…], [\"CMD-SHELL\", \"command\"] or [\"NONE\"]",
            )),
        };
    }
    let line = ctx.string(key, v)?;
    if line.trim().is_empty() {
        return Err(ctx.invalid(key, "empty healthcheck test"));
    }
    Ok(HealthTest::Shell(line))
}

/// Returns the dependencies and the names marked `required: false`.
pub(crate) fn depends_on(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<(IndexMap<String, DependsOn>, IndexSet<String>), ComposeError> {
    let mut deps = IndexMap::new();
    let mut optional = IndexSet::new();
    match v {
        Value::Null => {}
        Value::Sequence(_) => {
            for name in ctx.string_list(key, v, false)? {
                deps.insert(name, DependsOn::default());
            }
        }
        Value::Mapping(m) => {
            for (name, spec) in entries(ctx, key, m)? {
                let kp = format!("{key}.{name}");
                let mut dep = DependsOn::default();
                if !spec.is_null() {
                    let sm = ctx.mapping(&kp, spec)?;
                    super::check_unknown(ctx, &kp, sm, &["condition", "restart", "required"], &[])?;
                    for (k, val) in entries(ctx, &kp, sm)? {
                        let vkp = format!("{kp}.{k}");
                        match k.as_str() {
                            "condition" => dep.condition = condition(ctx, &vkp, val)?,
                            "restart" => dep.restart = ctx.boolean(&vkp, val)?,
                            _ => {
                                if !ctx.boolean(&vkp, val)? {
                                    optional.insert(name.clone());
                                }
                            }
                        }
                    }
                }
                deps.insert(name, dep);
            }
        }
        _ => return Err(ctx.invalid(key, "expected a list or a mapping")),
    }
    if let Some(own) = ctx.service.filter(|s| deps.contains_key(*s)) {
        return Err(ctx.invalid(key, format!("service \"{own}\" depends on itself")));
    }
    Ok((deps, optional))
}

fn condition(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<DependencyCondition, ComposeError> {
    match ctx.string(key, v)?.as_str() {
        "service_started" => Ok(DependencyCondition::ServiceStarted),
        "service_healthy" => Ok(DependencyCondition::ServiceHealthy),
        "service_completed_successfully" => Ok(DependencyCondition::ServiceCompletedSuccessfully),
        other => Err(ctx.invalid(
            key,
            format!("invalid condition \"{other}\" (expected service_started, service_healthy or service_completed_successfully)"),
        )),
    }
}

pub(crate) fn extra_hosts(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<Vec<ExtraHost>, ComposeError> {
    let mut out = Vec::new();
    match v {
        Value::Mapping(m) => {
            for (host, ips) in entries(ctx, key, m)? {
                let kp = format!("{key}.{host}");
                for ip in ctx.string_list(&kp, ips, true)? {
                    out.push(extra_host(ctx, &kp, &host, &ip)?);
                }
            }
        }
        v => {
            for (i, entry) in ctx.string_list(key, v, false)?.into_iter().enumerate() {
                let split = if entry.contains('=') {
                    entry.split_once('=')
                } else {
                    entry.split_once(':')
                };
                match split {
                    Some((host, ip)) => {
                        out.push(extra_host(ctx, &format!("{key}[{i}]"), host, ip)?)
                    }
                    None => {
                        return Err(ctx.invalid(
                            &format!("{key}[{i}]"),
                            format!("invalid extra host \"{entry}\" (expected host:ip)"),
                        ))
                    }
                }
            }
        }
    }
    Ok(out)
}

/// One `host`→`ip` entry, checked as the engine will (`--add-host`): a host name without
/// `:`, `=` or blanks, and an IP address (IPv6 optionally in brackets) or `host-gateway`.
/// Unchecked, `a:` → `1.2.3.4` would be written back as `a::1.2.3.4`, which reads differently.
fn extra_host(ctx: &Ctx<'_>, key: &str, host: &str, ip: &str) -> Result<ExtraHost, ComposeError> {
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains([':', '=']) || host.contains(char::is_whitespace) {
        return Err(ctx.invalid(
            key,
            format!("invalid extra host name \"{host}\" (expected host:ip)"),
        ));
    }
    if ip != "host-gateway" && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(ctx.invalid(
            key,
            format!("invalid IP address \"{ip}\" for extra host \"{host}\" (expected an IP address or host-gateway)"),
        ));
    }
    Ok(ExtraHost {
        hostname: host.to_string(),
        ip: ip.to_string(),
    })
}

pub(crate) fn ulimits(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<IndexMap<String, Ulimit>, ComposeError> {
    let mut out = IndexMap::new();
    for (name, spec) in entries(ctx, key, ctx.mapping(key, v)?)? {
        let kp = format!("{key}.{name}");
        let limit = match spec {
            Value::Mapping(m) => {
                super::check_unknown(ctx, &kp, m, &["soft", "hard"], &[])?;
                let get = |k: &str| match m.get(k) {
                    Some(val) => ctx.number::<i64>(&format!("{kp}.{k}"), val, "an integer"),
                    None => Err(ctx.invalid(&kp, format!("missing \"{k}\""))),
                };
                Ulimit {
                    soft: get("soft")?,
                    hard: get("hard")?,
                }
            }
            other => {
                let n = ctx.number(&kp, other, "an integer")?;
                Ulimit { soft: n, hard: n }
            }
        };
        if limit.soft > limit.hard && limit.hard >= 0 {
            return Err(ctx.invalid(&kp, "soft limit is above the hard limit"));
        }
        out.insert(name, limit);
    }
    Ok(out)
}

/// Parses `deploy:`; returns the settings and `resources.limits.pids` (a service-level
/// `pids_limit` in the model).
pub(crate) fn deploy(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<(Deploy, Option<i64>), ComposeError> {
    let mut deploy = Deploy::default();
    let mut pids = None;
    if v.is_null() {
        return Ok((deploy, pids));
    }
    let m = ctx.mapping(key, v)?;
    const SWARM: &str = "a swarm setting with no meaning for a single-engine pod";
    super::check_unknown(
        ctx,
        key,
        m,
        &["resources", "replicas", "mode"],
        &[
            ("restart_policy", "use the service-level `restart` key"),
            ("placement", SWARM),
            ("update_config", SWARM),
            ("rollback_config", SWARM),
            ("endpoint_mode", SWARM),
            ("labels", "use the service-level `labels` key"),
        ],
    )?;
    if let Some(r) = m.get("replicas").filter(|r| !r.is_null()) {
        let replicas: u64 = ctx.number(&format!("{key}.replicas"), r, "an integer")?;
        if replicas != 1 {
            return Err(ComposeError::UnsupportedKey {
                at: ctx.loc(&format!("{key}.replicas")),
                reason: format!(
                    "a dce pod runs exactly one container per service (replicas: {replicas})"
                ),
            });
        }
    }
    if let Some(mode) = m.get("mode").filter(|r| !r.is_null()) {
        let mode = ctx.string(&format!("{key}.mode"), mode)?;
        if mode != "replicated" {
            return Err(ctx.invalid(
                &format!("{key}.mode"),
                format!("mode \"{mode}\" is not supported (only replicated)"),
            ));
        }
    }
    let Some(resources) = m.get("resources").filter(|r| !r.is_null()) else {
        return Ok((deploy, pids));
    };
    let rkey = format!("{key}.resources");
    let rm = ctx.mapping(&rkey, resources)?;
    super::check_unknown(ctx, &rkey, rm, &["limits", "reservations"], &[])?;
    if let Some(limits) = rm.get("limits").filter(|r| !r.is_null()) {
        let lkey = format!("{rkey}.limits");
        let lm = ctx.mapping(&lkey, limits)?;
        super::check_unknown(ctx, &lkey, lm, &["cpus", "memory", "pids"], &[])?;
        let l = &mut deploy.resources.limits;
        for (k, val) in entries(ctx, &lkey, lm)? {
            let kp = format!("{lkey}.{k}");
            match k.as_str() {
                "cpus" => l.cpus = Some(super::service::cpus(ctx, &kp, val)?),
                "memory" => l.memory = Some(ctx.bytes(&kp, val)?),
                _ => pids = Some(ctx.number(&kp, val, "an integer")?),
            }
        }
    }
    if let Some(reservations) = rm.get("reservations").filter(|r| !r.is_null()) {
        let skey = format!("{rkey}.reservations");
        let sm = ctx.mapping(&skey, reservations)?;
        super::check_unknown(
            ctx,
            &skey,
            sm,
            &["cpus", "memory"],
            &[
                (
                    "devices",
                    "device reservations (GPUs) are not implemented by dce",
                ),
                ("generic_resources", "a swarm setting"),
            ],
        )?;
        let r = &mut deploy.resources.reservations;
        for (k, val) in entries(ctx, &skey, sm)? {
            let kp = format!("{skey}.{k}");
            match k.as_str() {
                "cpus" => r.cpus = Some(super::service::cpus(ctx, &kp, val)?),
                _ => r.memory = Some(ctx.bytes(&kp, val)?),
            }
        }
    }
    Ok((deploy, pids))
}

pub(crate) fn logging(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<Logging, ComposeError> {
    let m = ctx.mapping(key, v)?;
    super::check_unknown(ctx, key, m, &["driver", "options"], &[])?;
    Ok(Logging {
        driver: m
            .get("driver")
            .map(|d| ctx.opt_string(&format!("{key}.driver"), d))
            .transpose()?
            .flatten(),
        options: m
            .get("options")
            .map(|o| ctx.string_map(&format!("{key}.options"), o))
            .transpose()?
            .unwrap_or_default(),
    })
}

pub(crate) fn network_mode(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<NetworkMode, ComposeError> {
    let text = ctx.string(key, v)?;
    let named = |prefix: &str| {
        text.strip_prefix(prefix)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
    };
    match text.as_str() {
        "bridge" | "default" => Ok(NetworkMode::Bridge),
        "host" => Ok(NetworkMode::Host),
        "none" => Ok(NetworkMode::None),
        _ => {
            if let Some(s) = named("service:") {
                Ok(NetworkMode::Service(s))
            } else if let Some(c) = named("container:") {
                Ok(NetworkMode::Container(c))
            } else {
                Err(ctx.invalid(
                    key,
                    format!("invalid network_mode \"{text}\" (expected bridge, host, none, service:<name> or container:<name>; use `networks` to join a named network)"),
                ))
            }
        }
    }
}

pub(crate) fn service_networks(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<IndexMap<String, ServiceNetwork>, ComposeError> {
    let mut out = IndexMap::new();
    match v {
        Value::Null => {}
        Value::Sequence(_) => {
            for name in ctx.string_list(key, v, false)? {
                out.insert(name, ServiceNetwork::default());
            }
        }
        Value::Mapping(m) => {
            for (name, spec) in entries(ctx, key, m)? {
                let kp = format!("{key}.{name}");
                out.insert(name, service_network(ctx, &kp, spec)?);
            }
        }
        _ => return Err(ctx.invalid(key, "expected a list or a mapping")),
    }
    Ok(out)
}

fn service_network(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<ServiceNetwork, ComposeError> {
    let mut net = ServiceNetwork::default();
    if v.is_null() {
        return Ok(net);
    }
    let m = ctx.mapping(key, v)?;
    const NI: &str = "not implemented by dce";
    super::check_unknown(
        ctx,
        key,
        m,
        &["aliases", "ipv4_address", "ipv6_address", "priority"],
        &[
            ("link_local_ips", NI),
            ("mac_address", NI),
            ("driver_opts", NI),
            ("gw_priority", NI),
            ("interface_name", NI),
        ],
    )?;
    for (k, val) in entries(ctx, key, m)? {
        let kp = format!("{key}.{k}");
        if val.is_null() {
            continue;
        }
        match k.as_str() {
            "aliases" => net.aliases = ctx.string_list(&kp, val, false)?,
            "ipv4_address" => {
                let text = ctx.string(&kp, val)?;
                net.ipv4_address =
                    Some(text.parse().map_err(|_| {
                        ctx.invalid(&kp, format!("invalid IPv4 address \"{text}\""))
                    })?);
            }
            "ipv6_address" => {
                let text = ctx.string(&kp, val)?;
                net.ipv6_address =
                    Some(text.parse().map_err(|_| {
                        ctx.invalid(&kp, format!("invalid IPv6 address \"{text}\""))
                    })?);
            }
            _ => net.priority = Some(ctx.number(&kp, val, "an integer")?),
        }
    }
    Ok(net)
}
