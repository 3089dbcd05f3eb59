//! `volumes:` (short and long syntax), `volumes_from:`, `devices:`, `tmpfs:`.

use yaml_serde::Value;

use super::{entries, is_object_name, Ctx};
use crate::{
    BindOptions, ComposeError, DeviceMapping, MountKind, Propagation, SelinuxRelabel, TmpfsMount,
    TmpfsOptions, VolumeMount, VolumeOptions, VolumesFrom, VolumesFromSource,
};

const LONG_VOLUME_KEYS: &[&str] = &[
    "type",
    "source",
    "target",
    "read_only",
    "consistency",
    "bind",
    "volume",
    "tmpfs",
];
const CONSISTENCY: &[&str] = &["consistent", "cached", "delegated", "default"];

/// Parses a service's `volumes:` list. Bind sources become absolute paths.
pub(crate) fn volumes(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<Vec<VolumeMount>, ComposeError> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        _ => return Err(ctx.invalid(key, "expected a list of volumes")),
    };
    let mut out: Vec<VolumeMount> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        let mount = match item {
            Value::Mapping(_) => long_volume(ctx, &item_key, item)?,
            other => short_volume(ctx, &item_key, &ctx.string(&item_key, other)?)?,
        };
        if out.iter().any(|m| m.target == mount.target) {
            return Err(ctx.invalid(
                &item_key,
                format!("duplicate mount target \"{}\"", mount.target),
            ));
        }
        out.push(mount);
    }
    Ok(out)
}

fn blank_mount(kind: MountKind, source: Option<String>, target: String) -> VolumeMount {
    VolumeMount {
        kind,
        source,
        target,
        read_only: false,
        consistency: None,
        bind: BindOptions::default(),
        volume: VolumeOptions::default(),
        tmpfs: TmpfsOptions::default(),
    }
}

fn is_host_path(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

fn check_target(ctx: &Ctx<'_>, key: &str, target: &str) -> Result<(), ComposeError> {
    if target.starts_with('/') {
        Ok(())
    } else {
        Err(ctx.invalid(
            key,
            format!("mount target \"{target}\" must be an absolute path"),
        ))
    }
}

fn check_volume_name(ctx: &Ctx<'_>, key: &str, name: &str) -> Result<(), ComposeError> {
    if is_object_name(name) {
        Ok(())
    } else {
        Err(ctx.invalid(
            key,
            format!("invalid volume name \"{name}\" (a host path must start with /, . or ~)"),
        ))
    }
}

/// `target`, `source:target` or `source:target:opts` (opts comma-separated).
fn short_volume(ctx: &Ctx<'_>, key: &str, spec: &str) -> Result<VolumeMount, ComposeError> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, options) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, options] => (Some(*source), *target, Some(*options)),
        _ => return Err(ctx.invalid(key, format!("invalid volume \"{spec}\": too many \":\""))),
    };
    check_target(ctx, key, target)?;
    let mut mount = match source {
        None | Some("") => blank_mount(MountKind::Volume, None, target.to_string()),
        Some(src) if is_host_path(src) => {
            let path = ctx.host_path(key, src)?;
            blank_mount(
                MountKind::Bind,
                Some(path.display().to_string()),
                target.to_string(),
            )
        }
        Some(name) => {
            check_volume_name(ctx, key, name)?;
            blank_mount(
                MountKind::Volume,
                Some(name.to_string()),
                target.to_string(),
            )
        }
    };
    for option in options.into_iter().flat_map(|o| o.split(',')) {
        apply_short_option(ctx, key, &mut mount, option)?;
    }
    Ok(mount)
}

fn apply_short_option(
    ctx: &Ctx<'_>,
    key: &str,
    mount: &mut VolumeMount,
    option: &str,
) -> Result<(), ComposeError> {
    let bind_only = |mount: &VolumeMount| {
        if mount.kind == MountKind::Bind {
            Ok(())
        } else {
            Err(ctx.invalid(
                key,
                format!("option \"{option}\" applies only to bind mounts"),
            ))
        }
    };
    match option {
        "ro" => mount.read_only = true,
        "rw" => mount.read_only = false,
        "z" | "Z" => {
            bind_only(mount)?;
            mount.bind.selinux = Some(if option == "z" {
                SelinuxRelabel::Shared
            } else {
                SelinuxRelabel::Private
            });
        }
        "nocopy" => {
            if mount.kind != MountKind::Volume {
                return Err(ctx.invalid(key, "option \"nocopy\" applies only to volumes"));
            }
            mount.volume.nocopy = true;
        }
        o if CONSISTENCY.contains(&o) => mount.consistency = Some(o.to_string()),
        o => match Propagation::parse(o) {
            Some(p) => {
                bind_only(mount)?;
                mount.bind.propagation = Some(p);
            }
            None => return Err(ctx.invalid(key, format!("unknown volume option \"{o}\""))),
        },
    }
    Ok(())
}

fn long_volume(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<VolumeMount, ComposeError> {
    let m = ctx.mapping(key, v)?;
    super::check_unknown(ctx, key, m, LONG_VOLUME_KEYS, &[])?;
    let field = |name: &str| m.get(name).filter(|v| !v.is_null());
    let kind_text = match field("type") {
        Some(t) => ctx.string(&format!("{key}.type"), t)?,
        None => return Err(ctx.invalid(key, "missing \"type\" (bind, volume or tmpfs)")),
    };
    let kind = match kind_text.as_str() {
        "bind" => MountKind::Bind,
        "volume" => MountKind::Volume,
        "tmpfs" => MountKind::Tmpfs,
        other => {
            return Err(ComposeError::UnsupportedKey {
                at: ctx.loc(&format!("{key}.type")),
                reason: format!(
                    "\"{other}\" mounts are not supported (only bind, volume and tmpfs)"
                ),
            })
        }
    };
    let target = match field("target") {
        Some(t) => ctx.string(&format!("{key}.target"), t)?,
        None => return Err(ctx.invalid(key, "missing \"target\"")),
    };
    check_target(ctx, &format!("{key}.target"), &target)?;
    let source = field("source")
        .map(|s| ctx.string(&format!("{key}.source"), s))
        .transpose()?;
    let source = match (kind, source) {
        (MountKind::Bind, Some(src)) => Some(
            ctx.host_path(&format!("{key}.source"), &src)?
                .display()
                .to_string(),
        ),
        (MountKind::Bind, None) => return Err(ctx.invalid(key, "a bind mount needs \"source\"")),
        (MountKind::Volume, Some(name)) if !name.is_empty() => {
            check_volume_name(ctx, &format!("{key}.source"), &name)?;
            Some(name)
        }
        (MountKind::Volume, _) => None,
        (MountKind::Tmpfs, Some(_)) => {
            return Err(ctx.invalid(key, "a tmpfs mount takes no \"source\""))
        }
        (MountKind::Tmpfs, None) => None,
    };
    let mut mount = blank_mount(kind, source, target);
    if let Some(ro) = field("read_only") {
        mount.read_only = ctx.boolean(&format!("{key}.read_only"), ro)?;
    }
    if let Some(c) = field("consistency") {
        let c = ctx.string(&format!("{key}.consistency"), c)?;
        if !CONSISTENCY.contains(&c.as_str()) {
            return Err(ctx.invalid(
                &format!("{key}.consistency"),
                format!("invalid consistency \"{c}\""),
            ));
        }
        mount.consistency = Some(c);
    }
    let sub_options =
        |name: &str, wanted: MountKind| -> Result<Option<&yaml_serde::Mapping>, ComposeError> {
            match field(name) {
                None => Ok(None),
                Some(_) if kind != wanted => Err(ctx.invalid(
                    &format!("{key}.{name}"),
                    format!("\"{name}\" options on a {kind_text} mount"),
                )),
                Some(v) => ctx.mapping(&format!("{key}.{name}"), v).map(Some),
            }
        };
    if let Some(b) = sub_options("bind", MountKind::Bind)? {
        let bkey = format!("{key}.bind");
        super::check_unknown(
            ctx,
            &bkey,
            b,
            &["propagation", "create_host_path", "selinux"],
            &[("recursive", "needs Docker API 1.44")],
        )?;
        for (k, val) in entries(ctx, &bkey, b)? {
            let kp = format!("{bkey}.{k}");
            match k.as_str() {
                "propagation" => {
                    let p = ctx.string(&kp, val)?;
                    mount.bind.propagation =
                        Some(Propagation::parse(&p).ok_or_else(|| {
                            ctx.invalid(&kp, format!("invalid propagation \"{p}\""))
                        })?);
                }
                "create_host_path" => mount.bind.create_host_path = ctx.boolean(&kp, val)?,
                _ => {
                    mount.bind.selinux = match ctx.string(&kp, val)?.as_str() {
                        "z" => Some(SelinuxRelabel::Shared),
                        "Z" => Some(SelinuxRelabel::Private),
                        other => {
                            return Err(ctx.invalid(
                                &kp,
                                format!("invalid selinux option \"{other}\" (z or Z)"),
                            ))
                        }
                    }
                }
            }
        }
    }
    if let Some(vo) = sub_options("volume", MountKind::Volume)? {
        let vkey = format!("{key}.volume");
        super::check_unknown(
            ctx,
            &vkey,
            vo,
            &["nocopy"],
            &[("subpath", "needs Docker API 1.45")],
        )?;
        if let Some(n) = vo.get("nocopy") {
            mount.volume.nocopy = ctx.boolean(&format!("{vkey}.nocopy"), n)?;
        }
    }
    if let Some(t) = sub_options("tmpfs", MountKind::Tmpfs)? {
        let tkey = format!("{key}.tmpfs");
        super::check_unknown(ctx, &tkey, t, &["size", "mode"], &[])?;
        if let Some(size) = t.get("size") {
            mount.tmpfs.size = Some(ctx.bytes(&format!("{tkey}.size"), size)?);
        }
        if let Some(mode) = t.get("mode") {
            mount.tmpfs.mode = Some(file_mode(ctx, &format!("{tkey}.mode"), mode)?);
        }
    }
    Ok(mount)
}

/// A file mode: a YAML integer is read as written in octal digits when it looks like one
/// (`1777`), as compose users write it; a string is parsed as octal.
fn file_mode(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<u32, ComposeError> {
    let text = super::scalar_text(v).unwrap_or_default();
    u32::from_str_radix(text.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            ctx.invalid(
                key,
                format!("invalid file mode \"{text}\" (octal, e.g. 1777)"),
            )
        })
}

/// `service[:ro|:rw]` or `container:name[:ro|:rw]`.
pub(crate) fn volumes_from(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<Vec<VolumesFrom>, ComposeError> {
    let mut out = Vec::new();
    for (i, text) in ctx.string_list(key, v, false)?.into_iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        let (rest, read_only) = match text.rsplit_once(':') {
            Some((rest, "ro")) => (rest, true),
            Some((rest, "rw")) => (rest, false),
            _ => (text.as_str(), false),
        };
        let source = match rest.split_once(':') {
            Some(("container", name)) if !name.is_empty() => {
                VolumesFromSource::Container(name.to_string())
            }
            None if !rest.is_empty() => VolumesFromSource::Service(rest.to_string()),
            _ => return Err(ctx.invalid(&item_key, format!("invalid volumes_from \"{text}\""))),
        };
        out.push(VolumesFrom { source, read_only });
    }
    Ok(out)
}

/// `/dev/host[:/dev/container[:perms]]`.
pub(crate) fn devices(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<Vec<DeviceMapping>, ComposeError> {
    let mut out: Vec<DeviceMapping> = Vec::new();
    for (i, text) in ctx.string_list(key, v, false)?.into_iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, permissions) = match parts.as_slice() {
            [s] => (*s, *s, None),
            [s, t] => (*s, *t, None),
            [s, t, p] => (*s, *t, Some(p.to_string())),
            _ => return Err(ctx.invalid(&item_key, format!("invalid device \"{text}\""))),
        };
        if !source.starts_with('/') || !target.starts_with('/') {
            return Err(ctx.invalid(&item_key, format!("invalid device \"{text}\": paths must be absolute (CDI devices are not supported)")));
        }
        if let Some(p) = &permissions {
            if p.is_empty() || !p.chars().all(|c| "rwm".contains(c)) {
                return Err(ctx.invalid(
                    &item_key,
                    format!("invalid device permissions \"{p}\" (r, w, m)"),
                ));
            }
        }
        if out.iter().any(|d| d.target == target) {
            return Err(ctx.invalid(&item_key, format!("duplicate device target \"{target}\"")));
        }
        out.push(DeviceMapping {
            source: source.to_string(),
            target: target.to_string(),
            permissions,
        });
    }
    Ok(out)
}

/// `tmpfs: /run` or a list of `/path[:options]`.
pub(crate) fn tmpfs(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<Vec<TmpfsMount>, ComposeError> {
    ctx.string_list(key, v, true)?
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let (target, options) = match text.split_once(':') {
                Some((t, o)) => (t.to_string(), Some(o.to_string())),
                None => (text.clone(), None),
            };
            check_target(ctx, &format!("{key}[{i}]"), &target)?;
            Ok(TmpfsMount { target, options })
        })
        .collect()
}
