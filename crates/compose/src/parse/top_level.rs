//! Top-level `networks:` and `volumes:`.

use indexmap::IndexMap;
use yaml_serde::Value;

use super::{entries, Ctx};
use crate::{ComposeError, Ipam, IpamPool, Network, Volume};

/// Parses top-level `networks:`.
pub(crate) fn parse_networks(
    ctx: &Ctx<'_>,
    v: &Value,
) -> Result<IndexMap<String, Network>, ComposeError> {
    let mut out = IndexMap::new();
    if v.is_null() {
        return Ok(out);
    }
    for (name, spec) in entries(ctx, "networks", ctx.mapping("networks", v)?)? {
        let key = format!("networks.{name}");
        let mut net = Network::default();
        if !spec.is_null() {
            let m = ctx.mapping(&key, spec)?;
            super::check_unknown(
                ctx,
                &key,
                m,
                &[
                    "name",
                    "driver",
                    "driver_opts",
                    "external",
                    "internal",
                    "attachable",
                    "enable_ipv6",
                    "ipam",
                    "labels",
                ],
                &[("enable_ipv4", "needs Docker API 1.47")],
            )?;
            for (k, val) in entries(ctx, &key, m)? {
                let kp = format!("{key}.{k}");
                match k.as_str() {
                    "name" => net.name = ctx.opt_string(&kp, val)?,
                    "driver" => net.driver = ctx.opt_string(&kp, val)?,
                    "driver_opts" => net.driver_opts = ctx.string_map(&kp, val)?,
                    "external" => net.external = external(ctx, &kp, val, &mut net.name)?,
                    "internal" => net.internal = ctx.opt_bool(&kp, val)?,
                    "attachable" => net.attachable = ctx.opt_bool(&kp, val)?,
                    "enable_ipv6" => net.enable_ipv6 = ctx.opt_bool(&kp, val)?,
                    "ipam" => net.ipam = Some(ipam(ctx, &kp, val)?),
                    _ => net.labels = ctx.string_map(&kp, val)?,
                }
            }
        }
        out.insert(name, net);
    }
    Ok(out)
}

/// Parses top-level `volumes:`.
pub(crate) fn parse_volumes(
    ctx: &Ctx<'_>,
    v: &Value,
) -> Result<IndexMap<String, Volume>, ComposeError> {
    let mut out = IndexMap::new();
    if v.is_null() {
        return Ok(out);
    }
    for (name, spec) in entries(ctx, "volumes", ctx.mapping("volumes", v)?)? {
        let key = format!("volumes.{name}");
        let mut vol = Volume::default();
        if !spec.is_null() {
            let m = ctx.mapping(&key, spec)?;
            super::check_unknown(
                ctx,
                &key,
                m,
                &["name", "driver", "driver_opts", "external", "labels"],
                &[],
            )?;
            for (k, val) in entries(ctx, &key, m)? {
                let kp = format!("{key}.{k}");
                match k.as_str() {
                    "name" => vol.name = ctx.opt_string(&kp, val)?,
                    "driver" => vol.driver = ctx.opt_string(&kp, val)?,
                    "driver_opts" => vol.driver_opts = ctx.string_map(&kp, val)?,
                    "external" => vol.external = external(ctx, &kp, val, &mut vol.name)?,
                    _ => vol.labels = ctx.string_map(&kp, val)?,
                }
            }
        }
        out.insert(name, vol);
    }
    Ok(out)
}

/// `external: true` or the legacy `external: {name: x}` (which also sets the name).
fn external(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
    name: &mut Option<String>,
) -> Result<bool, ComposeError> {
    match v {
        Value::Mapping(m) => {
            super::check_unknown(ctx, key, m, &["name"], &[])?;
            if let Some(n) = m.get("name") {
                *name = ctx.opt_string(&format!("{key}.name"), n)?;
            }
            Ok(true)
        }
        v => ctx.boolean(key, v),
    }
}

fn ipam(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<Ipam, ComposeError> {
    let m = ctx.mapping(key, v)?;
    super::check_unknown(ctx, key, m, &["driver", "config", "options"], &[])?;
    let mut ipam = Ipam::default();
    for (k, val) in entries(ctx, key, m)? {
        let kp = format!("{key}.{k}");
        match k.as_str() {
            "driver" => ipam.driver = ctx.opt_string(&kp, val)?,
            "options" => ipam.options = ctx.string_map(&kp, val)?,
            _ => {
                let Value::Sequence(items) = val else {
                    return Err(ctx.invalid(&kp, "expected a list of pools"));
                };
                for (i, item) in items.iter().enumerate() {
                    let ik = format!("{kp}[{i}]");
                    let pm = ctx.mapping(&ik, item)?;
                    super::check_unknown(
                        ctx,
                        &ik,
                        pm,
                        &["subnet", "ip_range", "gateway", "aux_addresses"],
                        &[],
                    )?;
                    let s = |f: &str| {
                        pm.get(f)
                            .map(|x| ctx.opt_string(&format!("{ik}.{f}"), x))
                            .transpose()
                            .map(Option::flatten)
                    };
                    ipam.config.push(IpamPool {
                        subnet: s("subnet")?,
                        ip_range: s("ip_range")?,
                        gateway: s("gateway")?,
                        aux_addresses: pm
                            .get("aux_addresses")
                            .map(|a| ctx.string_map(&format!("{ik}.aux_addresses"), a))
                            .transpose()?
                            .unwrap_or_default(),
                    });
                }
            }
        }
    }
    Ok(ipam)
}
