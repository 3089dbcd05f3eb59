//! `ports:` (short, integer and long syntax) and `expose:`.

use std::net::IpAddr;

use yaml_serde::Value;

use super::{entries, Ctx};
use crate::{ComposeError, ExposedPort, PortRange, PortSpec, Protocol};

const LONG_PORT_KEYS: &[&str] = &[
    "target",
    "published",
    "host_ip",
    "protocol",
    "mode",
    "name",
    "app_protocol",
];

/// Parses a `ports:` list into canonical entries, expanding ranges.
pub(crate) fn ports(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<Vec<PortSpec>, ComposeError> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        other => return Err(ctx.invalid(key, format!("expected a list of ports, found {other:?}"))),
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        match item {
            Value::Mapping(_) => out.push(long_port(ctx, &item_key, item)?),
            Value::Number(_) | Value::String(_) => {
                let text = super::scalar_text(item).unwrap_or_default();
                out.extend(short_port(&text).map_err(|e| ctx.invalid(&item_key, e))?);
            }
            other => {
                return Err(ctx.invalid(&item_key, format!("expected a port, found {other:?}")))
            }
        }
    }
    Ok(out)
}

/// Parses `[[ip:]host:]container[/proto]` where host and container may be ranges.
pub(crate) fn short_port(spec: &str) -> Result<Vec<PortSpec>, String> {
    let bad = |why: &str| format!("invalid port \"{spec}\": {why}");
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((rest, proto)) => (
            rest,
            Protocol::parse(proto).ok_or_else(|| bad("unknown protocol"))?,
        ),
        None => (spec, Protocol::Tcp),
    };
    let (ip_text, host_text, container_text) =
        split_port_parts(rest).ok_or_else(|| bad("too many parts"))?;
    let host_ip = match ip_text {
        Some(ip) if !ip.is_empty() => Some(parse_ip(ip).ok_or_else(|| bad("invalid host IP"))?),
        _ => None,
    };
    let container = parse_range(container_text).ok_or_else(|| bad("invalid container port"))?;
    let published = match host_text {
        Some(h) if !h.is_empty() => Some(parse_range(h).ok_or_else(|| bad("invalid host port"))?),
        _ => None,
    };
    let container_len = container.end - container.start;
    if let Some(p) = published {
        if container_len > 0 && p.end - p.start != container_len {
            return Err(bad("host and container port ranges differ in size"));
        }
    }
    let mut out = Vec::new();
    for offset in 0..=container_len {
        let published = match published {
            Some(p) if container_len > 0 => Some(PortRange::single(p.start + offset)),
            other => other,
        };
        out.push(PortSpec {
            target: container.start + offset,
            published,
            host_ip,
            protocol,
        });
    }
    Ok(out)
}

/// Splits into (ip, host, container); an IPv6 host IP may be bracketed or bare.
fn split_port_parts(s: &str) -> Option<(Option<&str>, Option<&str>, &str)> {
    if let Some(after) = s.strip_prefix('[') {
        let (ip, rest) = after.split_once(']')?;
        let rest = rest.strip_prefix(':')?;
        let (host, container) = rest.split_once(':')?;
        return Some((Some(ip), Some(host), container));
    }
    let mut parts = s.rsplitn(3, ':');
    let container = parts.next()?;
    let host = parts.next();
    let ip = parts.next();
    Some((ip, host, container))
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// `80` or `8000-8010` (ports 1..=65535; the start not after the end).
pub(crate) fn parse_range(s: &str) -> Option<PortRange> {
    let port = |p: &str| p.trim().parse::<u16>().ok().filter(|p| *p > 0);
    match s.split_once('-') {
        Some((a, b)) => {
            let (start, end) = (port(a)?, port(b)?);
            (start <= end).then_some(PortRange { start, end })
        }
        None => port(s).map(PortRange::single),
    }
}

fn long_port(ctx: &Ctx<'_>, key: &str, v: &Value) -> Result<PortSpec, ComposeError> {
    let m = ctx.mapping(key, v)?;
    super::check_unknown(ctx, key, m, LONG_PORT_KEYS, &[])?;
    let mut spec = PortSpec {
        target: 0,
        published: None,
        host_ip: None,
        protocol: Protocol::Tcp,
    };
    for (k, val) in entries(ctx, key, m)? {
        let k_path = format!("{key}.{k}");
        match k.as_str() {
            "target" => {
                spec.target = ctx.number(&k_path, val, "a port number")?;
                if spec.target == 0 {
                    return Err(ctx.invalid(&k_path, "port 0 is not valid"));
                }
            }
            "published" => {
                if let Some(text) = ctx.opt_string(&k_path, val)? {
                    if !text.is_empty() {
                        spec.published = Some(parse_range(&text).ok_or_else(|| {
                            ctx.invalid(&k_path, format!("invalid published port \"{text}\""))
                        })?);
                    }
                }
            }
            "host_ip" => {
                if let Some(text) = ctx.opt_string(&k_path, val)? {
                    spec.host_ip = Some(parse_ip(&text).ok_or_else(|| {
                        ctx.invalid(&k_path, format!("invalid IP address \"{text}\""))
                    })?);
                }
            }
            "protocol" => {
                let text = ctx.string(&k_path, val)?;
                spec.protocol = Protocol::parse(&text)
                    .ok_or_else(|| ctx.invalid(&k_path, format!("unknown protocol \"{text}\"")))?;
            }
            // Swarm routing mode: meaningless on a single engine, validated only.
            "mode" => match ctx.string(&k_path, val)?.as_str() {
                "host" | "ingress" => {}
                other => {
                    return Err(ctx.invalid(
                        &k_path,
                        format!("invalid mode \"{other}\" (expected host or ingress)"),
                    ))
                }
            },
            // Human-readable metadata with no effect on the engine, validated only.
            _ => {
                ctx.string(&k_path, val)?;
            }
        }
    }
    if spec.target == 0 {
        return Err(ctx.invalid(key, "missing \"target\""));
    }
    Ok(spec)
}

/// Parses `expose:` (`"3000"`, `3000`, `"8000-8010"`, `"53/udp"`), expanding ranges.
pub(crate) fn expose(
    ctx: &Ctx<'_>,
    key: &str,
    v: &Value,
) -> Result<Vec<ExposedPort>, ComposeError> {
    let mut out = Vec::new();
    for (i, text) in ctx.string_list(key, v, false)?.into_iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        let (ports, protocol) = match text.rsplit_once('/') {
            Some((p, proto)) => (
                p,
                Protocol::parse(proto).ok_or_else(|| {
                    ctx.invalid(&item_key, format!("unknown protocol in \"{text}\""))
                })?,
            ),
            None => (text.as_str(), Protocol::Tcp),
        };
        let range = parse_range(ports)
            .ok_or_else(|| ctx.invalid(&item_key, format!("invalid port \"{text}\"")))?;
        out.extend((range.start..=range.end).map(|port| ExposedPort { port, protocol }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> PortSpec {
        let mut v = short_port(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    #[test]
    fn short_forms() {
        assert_eq!(
            one("80"),
            PortSpec {
                target: 80,
                published: None,
                host_ip: None,
                protocol: Protocol::Tcp
            }
        );
        let p = one("8080:80/udp");
        assert_eq!(
            (p.target, p.published, p.protocol),
            (80, Some(PortRange::single(8080)), Protocol::Udp)
        );
        let p = one("127.0.0.1:8080:80");
        assert_eq!(p.host_ip, Some("127.0.0.1".parse().unwrap()));
        let p = one("127.0.0.1::80");
        assert_eq!((p.published, p.target), (None, 80));
        let p = one("[::1]:8080:80");
        assert_eq!(p.host_ip, Some("::1".parse().unwrap()));
        let p = one("::1:8080:80");
        assert_eq!(p.host_ip, Some("::1".parse().unwrap()));
        let p = one("8000-8010:80");
        assert_eq!(
            p.published,
            Some(PortRange {
                start: 8000,
                end: 8010
            })
        );
    }

    #[test]
    fn ranges_expand() {
        let v = short_port("8000-8002:80-82").unwrap();
        let pairs: Vec<_> = v
            .iter()
            .map(|p| (p.published.unwrap().start, p.target))
            .collect();
        assert_eq!(pairs, [(8000, 80), (8001, 81), (8002, 82)]);
        assert_eq!(short_port("3000-3002").unwrap().len(), 3);
    }

    #[test]
    fn bad_forms() {
        for bad in [
            "0",
            "70000",
            "a:80",
            "80/xyz",
            "8000-8001:80-82",
            "8080:80-82",
            "1:2:3:4:5",
            "90-80",
            "x.y.z.w:1:2",
        ] {
            assert!(short_port(bad).is_err(), "{bad}");
        }
    }
}
