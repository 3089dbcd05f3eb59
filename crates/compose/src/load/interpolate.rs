//! Variable interpolation in compose values: `$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, `$$`.
//! Defaults and alternatives may themselves contain interpolations.

use yaml_serde::Value;

use crate::error::Location;
use crate::ComposeError;

/// Expands every `$` form in `input`; `lookup` returns a variable's value when set.
/// Unset variables without a default become empty (with a warning), as in compose.
pub fn interpolate_str(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body_and_tail) = after.strip_prefix('{') {
            let end = matching_brace(body_and_tail)
                .ok_or_else(|| format!("unterminated \"${{\" in \"{input}\""))?;
            out.push_str(&expand_braced(&body_and_tail[..end], input, lookup)?);
            rest = &body_and_tail[end + 1..];
        } else {
            let name_len = name_length(after);
            if name_len == 0 {
                return Err(format!(
                    "invalid interpolation format in \"{input}\": a lone \"$\" (write \"$$\" for a literal dollar sign)"
                ));
            }
            out.push_str(&value_or_empty(&after[..name_len], lookup));
            rest = &after[name_len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Interpolates every string scalar of `value` (keys are left alone). `path` is the key path
/// of `value` from the document root, used to say where a failure is.
pub fn interpolate_value(
    value: &mut Value,
    file: &str,
    path: &mut Vec<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ComposeError> {
    match value {
        Value::String(s) if s.contains('$') => {
            *s = interpolate_str(s, lookup).map_err(|message| ComposeError::Interpolation {
                at: location(file, path),
                message,
            })?;
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(format!("[{i}]"));
                interpolate_value(item, file, path, lookup)?;
                path.pop();
            }
        }
        Value::Mapping(mapping) => {
            for (key, child) in mapping.iter_mut() {
                path.push(key_text(key));
                interpolate_value(child, file, path, lookup)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Turns a root-relative key path into a [`Location`], splitting off `services.<name>`.
pub fn location(file: &str, path: &[String]) -> Location {
    let (service, rest) = match path {
        [first, name, rest @ ..] if first == "services" => (Some(name.clone()), rest),
        _ => (None, path),
    };
    let mut key = String::new();
    for part in rest {
        if !key.is_empty() && !part.starts_with('[') {
            key.push('.');
        }
        key.push_str(part);
    }
    Location::new(file, service.as_deref(), key)
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "?".to_string(),
    }
}

fn name_length(s: &str) -> usize {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        len = i + c.len_utf8();
    }
    len
}

/// Index of the `}` closing a `${` whose body starts at `s[0]`, honouring nested braces.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn value_or_empty(name: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    lookup(name).unwrap_or_else(|| {
        tracing::warn!(
            variable = name,
            "variable is not set, substituting an empty string"
        );
        String::new()
    })
}

fn expand_braced(
    body: &str,
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let name_len = name_length(body);
    if name_len == 0 {
        return Err(format!(
            "invalid interpolation format in \"{input}\": \"${{{body}}}\""
        ));
    }
    let name = &body[..name_len];
    let op = &body[name_len..];
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let word = |prefix: usize| interpolate_str(&op[prefix..], lookup);
    Ok(match op.as_bytes() {
        [] => value_or_empty(name, lookup),
        [b':', b'-', ..] => {
            if non_empty {
                value.unwrap_or_default()
            } else {
                word(2)?
            }
        }
        [b'-', ..] => {
            if set {
                value.unwrap_or_default()
            } else {
                word(1)?
            }
        }
        [b':', b'+', ..] => {
            if non_empty {
                word(2)?
            } else {
                String::new()
            }
        }
        [b'+', ..] => {
            if set {
                word(1)?
            } else {
                String::new()
            }
        }
        [b':', b'?', ..] => {
            if non_empty {
                value.unwrap_or_default()
            } else {
                return Err(required_message(name, &word(2)?, "unset or empty"));
            }
        }
        [b'?', ..] => match value {
            Some(v) => v,
            None => return Err(required_message(name, &word(1)?, "unset")),
        },
        _ => {
            return Err(format!(
                "invalid interpolation format in \"{input}\": \"${{{body}}}\""
            ))
        }
    })
}

fn required_message(name: &str, custom: &str, state: &str) -> String {
    if custom.is_empty() {
        format!("required variable {name} is {state}")
    } else {
        format!("required variable {name} is {state}: {custom}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(input: &str) -> Result<String, String> {
        let lookup = |name: &str| match name {
            "SET" => Some("value".to_string()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("8080".to_string()),
            _ => None,
        };
        interpolate_str(input, &lookup)
    }

    #[test]
    fn plain_forms() {
        assert_eq!(expand("a $SET b ${SET}c").unwrap(), "a value b valuec");
        assert_eq!(expand("$UNSET|${UNSET}").unwrap(), "|");
        assert_eq!(expand("cost: $$5 $${SET}").unwrap(), "cost: $5 ${SET}");
        assert_eq!(expand("${PORT}:80").unwrap(), "8080:80");
        assert_eq!(expand("$SET.x").unwrap(), "value.x");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(expand("${UNSET:-d}").unwrap(), "d");
        assert_eq!(expand("${EMPTY:-d}").unwrap(), "d");
        assert_eq!(expand("${EMPTY-d}").unwrap(), "");
        assert_eq!(expand("${UNSET-d}").unwrap(), "d");
        assert_eq!(expand("${SET:-d}").unwrap(), "value");
        assert_eq!(
            expand("${SET:+alt}|${EMPTY:+alt}|${UNSET:+alt}").unwrap(),
            "alt||"
        );
        assert_eq!(
            expand("${SET+alt}|${EMPTY+alt}|${UNSET+alt}").unwrap(),
            "alt|alt|"
        );
        assert_eq!(expand("${UNSET:-${PORT}}").unwrap(), "8080");
        assert_eq!(expand("${UNSET:-a:b-c}").unwrap(), "a:b-c");
    }

    #[test]
    fn required_variables() {
        let err = expand("${UNSET:?please set UNSET}").unwrap_err();
        assert_eq!(
            err,
            "required variable UNSET is unset or empty: please set UNSET"
        );
        assert!(expand("${EMPTY:?x}").is_err());
        assert_eq!(expand("${EMPTY?x}").unwrap(), "");
        assert!(expand("${UNSET?}").unwrap_err().contains("UNSET is unset"));
    }

    #[test]
    fn malformed() {
        assert!(expand("${").is_err());
        assert!(expand("${}").is_err());
        assert!(expand("${SET%x}").is_err());
        assert!(expand("a $ b").is_err());
        assert!(expand("end$").is_err());
    }

    #[test]
    fn value_paths_name_service_and_key() {
        let mut v: Value =
            yaml_serde::from_str("services:\n  web:\n    environment:\n      - A=${X:?no}\n")
                .unwrap();
        let err = interpolate_value(&mut v, "c.yml", &mut Vec::new(), &|_| None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.yml: service \"web\": key \"environment[0]\": interpolation failed: required variable X is unset or empty: no"
        );
    }
}
