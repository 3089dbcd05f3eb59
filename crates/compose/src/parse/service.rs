//! One service mapping → [`Service`] (plus what only loading needs: env_file contents,
//! `extends`, optional dependencies).

use indexmap::{IndexMap, IndexSet};
use yaml_serde::Value;

use super::keys::unknown_key;
use super::{entries, mounts, ports, service_misc as misc, Ctx};
use crate::load::parse_env_file;
use crate::{Command, ComposeError, PullPolicy, RestartPolicy, Service};

/// Every service key dce implements.
pub const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "volumes_from",
    "labels",
    "healthcheck",
    "depends_on",
    "links",
    "restart",
    "user",
    "working_dir",
    "hostname",
    "domainname",
    "extra_hosts",
    "dns",
    "dns_search",
    "dns_opt",
    "cap_add",
    "cap_drop",
    "privileged",
    "security_opt",
    "ulimits",
    "sysctls",
    "devices",
    "tmpfs",
    "shm_size",
    "read_only",
    "init",
    "stop_signal",
    "stop_grace_period",
    "mem_limit",
    "memswap_limit",
    "mem_reservation",
    "cpus",
    "cpu_shares",
    "pids_limit",
    "deploy",
    "logging",
    "network_mode",
    "networks",
    "pid",
    "ipc",
    "tty",
    "stdin_open",
    "pull_policy",
    "container_name",
    "cgroup_parent",
    "platform",
    "profiles",
    "extends",
    "scale",
];

const NOT_IMPLEMENTED: &str = "not implemented by dce; remove it or ask for it to be supported";

/// Valid compose-spec service keys dce rejects, and why.
pub(crate) const UNSUPPORTED_SERVICE_KEYS: &[(&str, &str)] = &[
    (
        "configs",
        "compose configs are not implemented by dce; mount the file with `volumes`",
    ),
    (
        "secrets",
        "compose secrets are not implemented by dce; mount the file with `volumes`",
    ),
    ("gpus", "GPU access is not implemented by dce"),
    (
        "develop",
        "`develop` (watch mode) is a development-only feature",
    ),
    (
        "external_links",
        "in a dce pod services reach each other on 127.0.0.1; external links have no meaning",
    ),
    (
        "mac_address",
        "the pod's network namespace is shared; a per-service MAC address cannot be set",
    ),
    ("userns_mode", NOT_IMPLEMENTED),
    ("uts", NOT_IMPLEMENTED),
    ("cgroup", NOT_IMPLEMENTED),
    ("runtime", NOT_IMPLEMENTED),
    ("isolation", "Windows-only"),
    ("credential_spec", "Windows-only"),
    ("annotations", NOT_IMPLEMENTED),
    ("attach", NOT_IMPLEMENTED),
    ("blkio_config", NOT_IMPLEMENTED),
    ("cpu_count", "Windows-only"),
    ("cpu_percent", "Windows-only"),
    ("cpu_period", NOT_IMPLEMENTED),
    ("cpu_quota", NOT_IMPLEMENTED),
    ("cpu_rt_period", NOT_IMPLEMENTED),
    ("cpu_rt_runtime", NOT_IMPLEMENTED),
    ("cpuset", NOT_IMPLEMENTED),
    ("device_cgroup_rules", NOT_IMPLEMENTED),
    ("group_add", NOT_IMPLEMENTED),
    ("label_file", NOT_IMPLEMENTED),
    ("mem_swappiness", NOT_IMPLEMENTED),
    ("oom_kill_disable", NOT_IMPLEMENTED),
    ("oom_score_adj", NOT_IMPLEMENTED),
    ("storage_opt", NOT_IMPLEMENTED),
    ("volume_driver", NOT_IMPLEMENTED),
    ("models", NOT_IMPLEMENTED),
    ("provider", NOT_IMPLEMENTED),
    (
        "post_start",
        "lifecycle hooks need Docker API 1.44; the engine dce targets has 1.41",
    ),
    (
        "pre_stop",
        "lifecycle hooks need Docker API 1.44; the engine dce targets has 1.41",
    ),
    ("pull_refresh_after", NOT_IMPLEMENTED),
    (
        "use_api_socket",
        "exposing the Docker API to a task is not allowed",
    ),
    ("container_name_prefix", NOT_IMPLEMENTED),
];

/// A service as one file (or one `extends` base) defines it, before files are merged.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartialService {
    /// The typed fields; `image` empty means "not set in this fragment".
    pub service: Service,
    /// Variables read from this fragment's `env_file`s, in order (later files win).
    pub env_from_files: IndexMap<String, Option<String>>,
    /// `extends:` of this fragment.
    pub extends: Option<ExtendsRef>,
    /// `depends_on` entries marked `required: false`.
    pub optional_deps: IndexSet<String>,
}

/// `extends: svc` or `extends: {service: svc, file: path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExtendsRef {
    pub service: String,
    pub file: Option<String>,
}

/// Parses one service mapping.
pub(crate) fn parse_service(ctx: &Ctx<'_>, value: &Value) -> Result<PartialService, ComposeError> {
    let m = match value {
        // `web:` with no body is an (incomplete) empty service fragment.
        Value::Null => return Ok(PartialService::default()),
        v => ctx.mapping("", v)?,
    };
    let mut out = PartialService::default();
    for (key, v) in entries(ctx, "", m)? {
        parse_key(ctx, &key, v, &mut out)?;
    }
    Ok(out)
}

fn parse_key(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
    out: &mut PartialService,
) -> Result<(), ComposeError> {
    let s = &mut out.service;
    match key {
        "image" => {
            s.image = ctx.string(key, v)?;
            if s.image.trim().is_empty() {
                return Err(ctx.invalid(key, "image must not be empty"));
            }
        }
        "build" => s.build = Some(v.clone()),
        "command" => s.command = command(ctx, key, v)?,
        "entrypoint" => s.entrypoint = command(ctx, key, v)?,
        "environment" => s.environment = environment(ctx, key, v)?,
        "env_file" => out.env_from_files = env_files(ctx, key, v)?,
        "ports" => s.ports = ports::ports(ctx, key, v)?,
        "expose" => s.expose = ports::expose(ctx, key, v)?,
        "volumes" => s.volumes = mounts::volumes(ctx, key, v)?,
        "volumes_from" => s.volumes_from = mounts::volumes_from(ctx, key, v)?,
        "devices" => s.devices = mounts::devices(ctx, key, v)?,
        "tmpfs" => s.tmpfs = mounts::tmpfs(ctx, key, v)?,
        "labels" => s.labels = ctx.string_map(key, v)?,
        "healthcheck" => s.healthcheck = Some(misc::healthcheck(ctx, key, v)?),
        "depends_on" => {
            let (deps, optional) = misc::depends_on(ctx, key, v)?;
            s.depends_on = deps;
            out.optional_deps = optional;
        }
        "links" => s.links = ctx.string_list(key, v, false)?,
        "restart" => s.restart = restart(ctx, key, v)?,
        "user" => s.user = ctx.opt_string(key, v)?,
        "working_dir" => s.working_dir = ctx.opt_string(key, v)?,
        "hostname" => s.hostname = ctx.opt_string(key, v)?,
        "domainname" => s.domainname = ctx.opt_string(key, v)?,
        "extra_hosts" => s.extra_hosts = misc::extra_hosts(ctx, key, v)?,
        "dns" => s.dns = ctx.string_list(key, v, true)?,
        "dns_search" => s.dns_search = ctx.string_list(key, v, true)?,
        "dns_opt" => s.dns_opt = ctx.string_list(key, v, false)?,
        "cap_add" => s.cap_add = ctx.string_list(key, v, false)?,
        "cap_drop" => s.cap_drop = ctx.string_list(key, v, false)?,
        "privileged" => s.privileged = ctx.opt_bool(key, v)?,
        "security_opt" => s.security_opt = ctx.string_list(key, v, false)?,
        "ulimits" => s.ulimits = misc::ulimits(ctx, key, v)?,
        "sysctls" => s.sysctls = ctx.string_map(key, v)?,
        "shm_size" => s.shm_size = opt(v, |v| ctx.bytes(key, v))?,
        "read_only" => s.read_only = ctx.opt_bool(key, v)?,
        "init" => s.init = ctx.opt_bool(key, v)?,
        "stop_signal" => s.stop_signal = ctx.opt_string(key, v)?,
        "stop_grace_period" => s.stop_grace_period = opt(v, |v| ctx.duration(key, v))?,
        "mem_limit" => s.mem_limit = opt(v, |v| ctx.bytes(key, v))?,
        "memswap_limit" => s.memswap_limit = opt(v, |v| signed_bytes(ctx, key, v))?,
        "mem_reservation" => s.mem_reservation = opt(v, |v| ctx.bytes(key, v))?,
        "cpus" => s.cpus = opt(v, |v| cpus(ctx, key, v))?,
        "cpu_shares" => s.cpu_shares = opt(v, |v| ctx.number(key, v, "an integer"))?,
        "pids_limit" => {
            let pids = opt(v, |v| ctx.number(key, v, "an integer"))?;
            if s.pids_limit.is_some() && pids.is_some() && s.pids_limit != pids {
                return Err(ctx.invalid(
                    key,
                    "pids_limit and deploy.resources.limits.pids are set to different values",
                ));
            }
            s.pids_limit = pids.or(s.pids_limit);
        }
        "deploy" => {
            let (deploy, pids) = misc::deploy(ctx, key, v)?;
            s.deploy = deploy;
            if let Some(pids) = pids {
                if s.pids_limit.is_some_and(|p| p != pids) {
                    return Err(ctx.invalid(
                        key,
                        "pids_limit and deploy.resources.limits.pids are set to different values",
                    ));
                }
                s.pids_limit = Some(pids);
            }
        }
        "logging" => s.logging = Some(misc::logging(ctx, key, v)?),
        "network_mode" => s.network_mode = opt(v, |v| misc::network_mode(ctx, key, v))?,
        "networks" => s.networks = misc::service_networks(ctx, key, v)?,
        "pid" => s.pid = ctx.opt_string(key, v)?,
        "ipc" => s.ipc = ctx.opt_string(key, v)?,
        "tty" => s.tty = ctx.opt_bool(key, v)?,
        "stdin_open" => s.stdin_open = ctx.opt_bool(key, v)?,
        "pull_policy" => s.pull_policy = opt(v, |v| pull_policy(ctx, key, v))?,
        "container_name" => s.container_name = ctx.opt_string(key, v)?,
        "cgroup_parent" => s.cgroup_parent = ctx.opt_string(key, v)?,
        "platform" => s.platform = ctx.opt_string(key, v)?,
        "profiles" => s.profiles = ctx.string_list(key, v, false)?,
        "extends" => out.extends = Some(extends(ctx, key, v)?),
        "scale" => {
            let scale: u64 = ctx.number(key, v, "an integer")?;
            if scale != 1 {
                return Err(ComposeError::UnsupportedKey {
                    at: ctx.loc(key),
                    reason: format!(
                        "a dce pod runs exactly one container per service (scale: {scale})"
                    ),
                });
            }
        }
        k if k.starts_with("x-") => {
            s.extensions.insert(k.to_string(), v.clone());
        }
        k => {
            if let Some((_, reason)) = UNSUPPORTED_SERVICE_KEYS.iter().find(|(u, _)| *u == k) {
                return Err(ComposeError::UnsupportedKey {
                    at: ctx.loc(k),
                    reason: reason.to_string(),
                });
            }
            return Err(unknown_key(ctx, "", k, SERVICE_KEYS));
        }
    }
    Ok(())
}

fn opt<T>(
    v: &Value,
    parse: impl FnOnce(&Value) -> Result<T, ComposeError>,
) -> Result<Option<T>, ComposeError> {
    match v {
        Value::Null => Ok(None),
        v => parse(v).map(Some),
    }
}

fn command(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<Option<Command>, ComposeError> {
    match v {
        Value::Null => Ok(None),
        Value::Sequence(_) => Ok(Some(Command::Exec(ctx.string_list(key, v, false)?))),
        v => {
            let line = ctx.string(key, v)?;
            crate::shell_words::split(&line).map_err(|e| {
                ctx.invalid(key, format!("cannot split \"{line}\" into words: {e}"))
            })?;
            Ok(Some(Command::Shell(line)))
        }
    }
}

fn environment(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<IndexMap<String, Option<String>>, ComposeError> {
    let mut env = ctx.key_value_map(key, v)?;
    for (name, value) in env.iter_mut() {
        if value.is_none() {
            *value = ctx.env.get(name).map(str::to_string);
        }
    }
    Ok(env)
}

fn env_files(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<IndexMap<String, Option<String>>, ComposeError> {
    let mut files: Vec<(String, String, bool)> = Vec::new();
    match v {
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                let item_key = format!("{key}[{i}]");
                match item {
                    Value::Mapping(m) => {
                        super::check_unknown(
                            ctx,
                            &item_key,
                            m,
                            &["path", "required", "format"],
                            &[],
                        )?;
                        let path = m
                            .get("path")
                            .ok_or_else(|| ctx.invalid(&item_key, "missing \"path\""))?;
                        let required = m
                            .get("required")
                            .map(|r| ctx.boolean(&item_key, r))
                            .transpose()?;
                        if let Some(format) = m.get("format") {
                            return Err(ctx.invalid(
                                &item_key,
                                format!(
                                    "unsupported env_file format {:?}",
                                    ctx.string(&item_key, format)?
                                ),
                            ));
                        }
                        files.push((
                            item_key.clone(),
                            ctx.string(&item_key, path)?,
                            required.unwrap_or(true),
                        ));
                    }
                    other => files.push((item_key.clone(), ctx.string(&item_key, other)?, true)),
                }
            }
        }
        Value::Null => {}
        other => files.push((key.to_string(), ctx.string(key, other)?, true)),
    }
    let mut vars = IndexMap::new();
    for (item_key, path, required) in files {
        let text = match read_env_file(ctx, &item_key, &path) {
            Ok(text) => text,
            Err(ComposeError::Io { source, .. })
                if !required && source.kind() == std::io::ErrorKind::NotFound =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        let parsed = parse_env_file(&text, ctx.env)
            .map_err(|e| ctx.invalid(&item_key, format!("env file \"{path}\": {e}")))?;
        vars.extend(parsed);
    }
    Ok(vars)
}

fn read_env_file(ctx: &Ctx<'_>, key: &str, path: &str) -> Result<String, ComposeError> {
    let resolved = ctx
        .sandbox
        .resolve_existing(ctx.base_dir, path)
        .map_err(|e| match e {
            ComposeError::Io { source, .. } => ComposeError::Io {
                path: format!(
                    "{} (env_file of service \"{}\" in {})",
                    path,
                    ctx.service.unwrap_or("?"),
                    ctx.file
                ),
                source,
            },
            ComposeError::OutsideSandbox {
                resolved, sandbox, ..
            } => ComposeError::Invalid {
                at: ctx.loc(key),
                message: format!(
                    "env file \"{path}\" resolves to {}, outside the sandbox {}",
                    resolved.display(),
                    sandbox.display()
                ),
            },
            other => other,
        })?;
    crate::load::read_limited(&resolved, path, ctx.limits.max_bytes)
}

fn restart(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<Option<RestartPolicy>, ComposeError> {
    let text = match v {
        Value::Null => return Ok(None),
        // An unquoted `restart: no` is the YAML boolean false.
        Value::Bool(false) => "no".to_string(),
        v => ctx.string(key, v)?,
    };
    let policy = match text.as_str() {
        "no" | "none" | "" => RestartPolicy::No,
        "always" => RestartPolicy::Always,
        "unless-stopped" => RestartPolicy::UnlessStopped,
        "on-failure" => RestartPolicy::OnFailure { max_retries: None },
        other => match other.strip_prefix("on-failure:") {
            Some(n) => RestartPolicy::OnFailure {
                max_retries: Some(n.parse().map_err(|_| {
                    ctx.invalid(key, format!("invalid retry count in \"{other}\""))
                })?),
            },
            None => {
                return Err(ctx.invalid(
                    key,
                    format!("invalid restart policy \"{other}\" (expected no, always, on-failure[:N] or unless-stopped)"),
                ))
            }
        },
    };
    Ok(Some(policy))
}

fn pull_policy(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<PullPolicy, ComposeError> {
    match ctx.string(key, v)?.as_str() {
        "always" => Ok(PullPolicy::Always),
        "missing" | "if_not_present" => Ok(PullPolicy::Missing),
        "never" => Ok(PullPolicy::Never),
        "build" => Ok(PullPolicy::Build),
        other => Err(ctx.invalid(
            key,
            format!("invalid pull_policy \"{other}\" (expected always, missing, if_not_present, never or build)"),
        )),
    }
}

pub(super) fn cpus(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<f64, ComposeError> {
    let cpus: f64 = ctx.number(key, v, "a number of CPUs")?;
    if !cpus.is_finite() || cpus < 0.0 {
        return Err(ctx.invalid(key, format!("invalid CPU count {cpus}")));
    }
    Ok(cpus)
}

fn signed_bytes(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<i64, ComposeError> {
    if let Some(n) = v.as_i64().filter(|n| *n < 0) {
        return Ok(n);
    }
    if v.as_str().map(str::trim) == Some("-1") {
        return Ok(-1);
    }
    i64::try_from(ctx.bytes(key, v)?).map_err(|_| ctx.invalid(key, "byte size too large"))
}

fn extends(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<ExtendsRef, ComposeError> {
    match v {
        Value::Mapping(m) => {
            super::check_unknown(ctx, key, m, &["service", "file"], &[])?;
            let service = m
                .get("service")
                .ok_or_else(|| ctx.invalid(key, "missing \"service\""))?;
            Ok(ExtendsRef {
                service: ctx.string(&format!("{key}.service"), service)?,
                file: m
                    .get("file")
                    .map(|f| ctx.string(&format!("{key}.file"), f))
                    .transpose()?,
            })
        }
        v => Ok(ExtendsRef {
            service: ctx.string(key, v)?,
            file: None,
        }),
    }
}
