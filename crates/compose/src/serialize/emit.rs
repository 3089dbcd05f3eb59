//! A small block-style YAML writer with conservative quoting.
//!
//! yaml_serde decides quoting by YAML 1.2 rules, but docker-compose v1 reads files with PyYAML
//! (YAML 1.1), where a plain `yes` is a boolean and `22:22` a base-60 integer. Here a string
//! is written plain only when it is unambiguous under both versions; everything else is
//! double-quoted.

use std::fmt::Write;

use yaml_serde::Value;

/// Writes `value` as a YAML document.
pub(crate) fn to_yaml_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Mapping(m) if !m.is_empty() => write_mapping(m, 0, &mut out),
        Value::Sequence(s) if !s.is_empty() => write_sequence(s, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Mapping(m) => !m.is_empty(),
        Value::Sequence(s) => !s.is_empty(),
        Value::Tagged(t) => is_block(&t.value),
        _ => false,
    }
}

fn untagged(value: &Value) -> &Value {
    match value {
        Value::Tagged(t) => untagged(&t.value),
        v => v,
    }
}

fn write_mapping(m: &yaml_serde::Mapping, indent: usize, out: &mut String) {
    for (i, (k, v)) in m.iter().enumerate() {
        // The first key of a mapping inside a sequence item shares the "- " line.
        if i > 0 || !out.ends_with("- ") {
            push_indent(indent, out);
        }
        out.push_str(&scalar(k));
        out.push(':');
        write_child(untagged(v), indent, out);
    }
}

fn write_sequence(s: &[Value], indent: usize, out: &mut String) {
    for item in s {
        push_indent(indent, out);
        out.push('-');
        match untagged(item) {
            Value::Mapping(m) if !m.is_empty() => {
                out.push(' ');
                write_mapping(m, indent + 2, out);
            }
            Value::Sequence(inner) if !inner.is_empty() => {
                out.push('\n');
                write_sequence(inner, indent + 2, out);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn write_child(v: &Value, indent: usize, out: &mut String) {
    if is_block(v) {
        out.push('\n');
        match v {
            Value::Mapping(m) => write_mapping(m, indent + 2, out),
            Value::Sequence(s) => write_sequence(s, indent + 2, out),
            _ => {}
        }
    } else {
        out.push(' ');
        out.push_str(&scalar(v));
        out.push('\n');
    }
}

fn push_indent(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::String(s) => string(s),
        Value::Sequence(_) => "[]".to_string(),
        Value::Mapping(_) => "{}".to_string(),
        Value::Tagged(t) => scalar(&t.value),
    }
}

fn number(n: &yaml_serde::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.is_nan() => ".nan".to_string(),
        Some(f) if n.is_f64() && f.is_infinite() => {
            if f > 0.0 { ".inf" } else { "-.inf" }.to_string()
        }
        _ => n.to_string(),
    }
}

/// Words YAML 1.1 or 1.2 read as booleans or null when plain.
const KEYWORDS: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
];

fn plain_ok(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && !KEYWORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// Characters outside YAML's printable set, and those YAML treats as line breaks or byte
/// order marks, which must be escaped inside a double-quoted scalar.
fn needs_escape(c: char) -> bool {
    let code = c as u32;
    let printable = matches!(code, 0x20..=0x7e | 0xa0..=0xd7ff | 0xe000..=0xfffd | 0x10000..);
    !printable || matches!(code, 0x2028 | 0x2029 | 0xfeff)
}

fn string(s: &str) -> String {
    if plain_ok(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let code = c as u32;
                let _ = if code <= 0xff {
                    write!(out, "\\x{code:02x}")
                } else {
                    write!(out, "\\u{code:04x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quotes_yaml_1_1_traps() {
        for trap in [
            "yes", "No", "on", "22:22", "0644", "1_000", "1e3", ".5", "", "null", "~", "a: b",
            "#x", "- x", "*x", "&a", "!t", "%x", "@x", "`x", "{x", "[x", "x #y",
        ] {
            assert!(string(trap).starts_with('"'), "{trap}");
        }
        assert_eq!(string("busybox"), "busybox");
        assert_eq!(string("/var/lib/data"), "/var/lib/data");
        assert_eq!(string("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(string("a\u{85}b\u{2028}\u{1}"), "\"a\\x85b\\u2028\\x01\"");
    }

    #[test]
    fn nested_layout() {
        let v: Value =
            yaml_serde::from_str("a:\n  - x: 1\n    z: [1, 2]\n  - [p, q]\n  - {}\nb: {}\nc: []\n")
                .unwrap();
        let text = to_yaml_string(&v);
        assert_eq!(text, "a:\n  - x: 1\n    z:\n      - 1\n      - 2\n  -\n    - p\n    - q\n  - {}\nb: {}\nc: []\n");
        assert_eq!(yaml_serde::from_str::<Value>(&text).unwrap(), v);
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
            "[a-z0-9:._ -]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Sequence),
                prop::collection::vec(("[a-z0-9:_-]{1,6}", inner), 0..5).prop_map(|entries| {
                    Value::Mapping(
                        entries
                            .into_iter()
                            .map(|(k, v)| (Value::String(k), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn emitted_yaml_parses_back_identically(v in arb_value()) {
            let text = to_yaml_string(&v);
            let back: Value = yaml_serde::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(back, v, "{}", text);
        }
    }
}
