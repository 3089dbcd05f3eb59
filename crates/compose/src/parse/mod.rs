//! Raw (interpolated, merge-keys-resolved) YAML → typed model, one file at a time, with
//! every error naming file, service and key.

mod keys;
mod mounts;
mod ports;
pub(crate) mod service;
mod service_misc;
mod top_level;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use indexmap::IndexMap;
use yaml_serde::{Mapping, Value};

use crate::error::Location;
use crate::load::{InterpolationEnv, Sandbox, YamlLimits};
use crate::{units, ComposeError};

pub(crate) use keys::check_unknown;
pub(crate) use service::{parse_service, PartialService};
pub(crate) use top_level::{parse_networks, parse_volumes};

/// What a parser needs to know about where it is.
pub(crate) struct Ctx<'a> {
    /// File label used in errors.
    pub file: &'a str,
    /// Service being parsed, if any.
    pub service: Option<&'a str>,
    /// Directory relative paths (bind sources, env_file) are resolved against.
    pub base_dir: &'a Path,
    /// Confinement for files read while parsing (env_file).
    pub sandbox: &'a Sandbox,
    /// Values for bare `environment` names and `~` in paths.
    pub env: &'a InterpolationEnv,
    /// Size limit for env files.
    pub limits: &'a YamlLimits,
}

impl Ctx<'_> {
    pub fn loc(&self, key: &str) -> Location {
        Location::new(self.file, self.service, key)
    }

    pub fn invalid(&self, key: &str, message: impl Into<String>) -> ComposeError {
        ComposeError::Invalid {
            at: self.loc(key),
            message: message.into(),
        }
    }

    fn expected(&self, key: &str, what: &str, v: &Value) -> ComposeError {
        self.invalid(key, format!("expected {what}, found {}", describe(v)))
    }

    /// A scalar as a string (numbers and booleans are converted, as compose does).
    pub fn string(&self, key: &str, v: &Value) -> Result<String, ComposeError> {
        scalar_text(v).ok_or_else(|| self.expected(key, "a string", v))
    }

    /// Like [`Ctx::string`], with `null` meaning "not set".
    pub fn opt_string(&self, key: &str, v: &Value) -> Result<Option<String>, ComposeError> {
        match v {
            Value::Null => Ok(None),
            v => self.string(key, v).map(Some),
        }
    }

    pub fn boolean(&self, key: &str, v: &Value) -> Result<bool, ComposeError> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "on" => Ok(true),
                "false" | "no" | "n" | "off" => Ok(false),
                _ => Err(self.expected(key, "a boolean", v)),
            },
            _ => Err(self.expected(key, "a boolean", v)),
        }
    }

    pub fn opt_bool(&self, key: &str, v: &Value) -> Result<Option<bool>, ComposeError> {
        match v {
            Value::Null => Ok(None),
            v => self.boolean(key, v).map(Some),
        }
    }

    /// An integer or float, from a YAML number or a numeric string.
    pub fn number<T: FromStr>(&self, key: &str, v: &Value, what: &str) -> Result<T, ComposeError> {
        match v {
            Value::Number(_) | Value::String(_) => scalar_text(v)
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| self.expected(key, what, v)),
            _ => Err(self.expected(key, what, v)),
        }
    }

    pub fn bytes(&self, key: &str, v: &Value) -> Result<u64, ComposeError> {
        match v {
            Value::Number(n) => n
                .as_u64()
                .ok_or_else(|| self.expected(key, "a byte size", v)),
            Value::String(s) => units::parse_bytes(s).map_err(|e| self.invalid(key, e)),
            _ => Err(self.expected(key, "a byte size (e.g. 512m)", v)),
        }
    }

    pub fn duration(&self, key: &str, v: &Value) -> Result<Duration, ComposeError> {
        match v {
            Value::Number(_) | Value::String(_) => {
                let text = scalar_text(v).unwrap_or_default();
                units::parse_duration(&text).map_err(|e| self.invalid(key, e))
            }
            _ => Err(self.expected(key, "a duration (e.g. 1m30s)", v)),
        }
    }

    pub fn mapping<'v>(&self, key: &str, v: &'v Value) -> Result<&'v Mapping, ComposeError> {
        v.as_mapping()
            .ok_or_else(|| self.expected(key, "a mapping", v))
    }

    /// A list of strings; when `single` is allowed a lone string is a one-item list.
    pub fn string_list(
        &self,
        key: &str,
        v: &Value,
        single: bool,
    ) -> Result<Vec<String>, ComposeError> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.string(&format!("{key}[{i}]"), item))
                .collect(),
            Value::String(_) if single => Ok(vec![self.string(key, v)?]),
            _ => Err(self.expected(key, "a list of strings", v)),
        }
    }

    /// A `KEY=VALUE` list or a mapping → ordered map. List items without `=` and null mapping
    /// values give `None`.
    pub fn key_value_map(
        &self,
        key: &str,
        v: &Value,
    ) -> Result<IndexMap<String, Option<String>>, ComposeError> {
        let mut out = IndexMap::new();
        match v {
            Value::Null => {}
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let entry = self.string(&format!("{key}[{i}]"), item)?;
                    let (k, val) = match entry.split_once('=') {
                        Some((k, val)) => (k.to_string(), Some(val.to_string())),
                        None => (entry, None),
                    };
                    if k.is_empty() {
                        return Err(self.invalid(&format!("{key}[{i}]"), "empty name"));
                    }
                    out.insert(k, val);
                }
            }
            Value::Mapping(m) => {
                for (k, val) in m {
                    let name = self.string(key, k)?;
                    let item_key = format!("{key}.{name}");
                    out.insert(name, self.opt_string(&item_key, val)?);
                }
            }
            _ => return Err(self.expected(key, "a list or a mapping", v)),
        }
        Ok(out)
    }

    /// Like [`Ctx::key_value_map`] with a missing value read as an empty string (labels,
    /// sysctls, driver options).
    pub fn string_map(
        &self,
        key: &str,
        v: &Value,
    ) -> Result<IndexMap<String, String>, ComposeError> {
        Ok(self
            .key_value_map(key, v)?
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect())
    }

    /// Resolves a host path written in the file: `~` from `HOME`, relative against the
    /// base directory, then normalized. Does not require the path to exist.
    pub fn host_path(&self, key: &str, path: &str) -> Result<PathBuf, ComposeError> {
        let expanded = if path == "~" || path.starts_with("~/") {
            let home = self.env.get("HOME").ok_or_else(|| {
                self.invalid(
                    key,
                    format!("cannot expand \"~\" in \"{path}\": HOME is not set"),
                )
            })?;
            PathBuf::from(format!("{home}{}", &path[1..]))
        } else {
            PathBuf::from(path)
        };
        Ok(crate::load::normalize(&self.base_dir.join(expanded)))
    }
}

/// The text of a scalar (string, number, boolean).
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{s}\""),
        Value::Sequence(_) => "a list".to_string(),
        Value::Mapping(_) => "a mapping".to_string(),
        Value::Tagged(_) => "a tagged value".to_string(),
    }
}

/// Iterates a mapping's entries with string keys, failing on any other key type.
pub(crate) fn entries<'v>(
    ctx: &Ctx<'_>,
    key: &str,
    m: &'v Mapping,
) -> Result<Vec<(String, &'v Value)>, ComposeError> {
    m.iter()
        .map(|(k, v)| match k {
            Value::String(s) => Ok((s.clone(), v)),
            other => Err(ctx.invalid(
                key,
                format!("keys must be strings, found {}", describe(other)),
            )),
        })
        .collect()
}

/// Joins a parent key path and a child key.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

/// Whether `name` is a valid service or volume name: a letter or digit, then letters, digits,
/// `.`, `_` or `-` (compose's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, one character allowed).
pub(crate) fn is_object_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}
