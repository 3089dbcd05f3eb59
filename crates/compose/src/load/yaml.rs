//! Reading one YAML document with hard limits: file size before parsing, and the number of
//! nodes after alias expansion (a "billion laughs" document fails fast instead of eating RAM).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use yaml_serde::{Mapping, Value};

use crate::ComposeError;

/// Limits applied to every YAML input (compose files, inline documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YamlLimits {
    /// Largest accepted input in bytes, checked before parsing.
    pub max_bytes: u64,
    /// Largest number of YAML nodes (scalars, sequences, mappings) after alias expansion.
    pub max_nodes: usize,
}

impl Default for YamlLimits {
    /// 4 MiB and one million nodes: far beyond any real pod, far below what hurts the host.
    fn default() -> Self {
        YamlLimits {
            max_bytes: 4 << 20,
            max_nodes: 1_000_000,
        }
    }
}

/// Parses `text` (already size-checked) as a single YAML document into a `Value`,
/// counting nodes as aliases are expanded. An empty document is `Value::Null`.
pub fn parse_document(text: &str, file: &str, limits: &YamlLimits) -> Result<Value, ComposeError> {
    if text.len() as u64 > limits.max_bytes {
        return Err(ComposeError::FileTooLarge {
            file: file.to_string(),
            size: text.len() as u64,
            limit: limits.max_bytes,
        });
    }
    let budget = Budget {
        remaining: Cell::new(limits.max_nodes),
        limit: limits.max_nodes,
    };
    let mut documents = yaml_serde::Deserializer::from_str(text);
    let Some(first) = documents.next() else {
        return Ok(Value::Null);
    };
    let value = NodeSeed(&budget)
        .deserialize(first)
        .map_err(|e| yaml_error(file, &e))?;
    if documents.next().is_some() {
        return Err(ComposeError::Yaml {
            file: file.to_string(),
            line: None,
            column: None,
            message: "more than one YAML document (`---`) in a compose file".to_string(),
        });
    }
    Ok(value)
}

fn yaml_error(file: &str, error: &yaml_serde::Error) -> ComposeError {
    let location = error.location();
    let mut message = error.to_string();
    // The crate appends " at line L column C"; the location is reported separately.
    if let Some(pos) = message.find(" at line ") {
        message.truncate(pos);
    }
    ComposeError::Yaml {
        file: file.to_string(),
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        message,
    }
}

struct Budget {
    remaining: Cell<usize>,
    limit: usize,
}

impl Budget {
    fn take<E: de::Error>(&self) -> Result<(), E> {
        match self.remaining.get().checked_sub(1) {
            Some(left) => {
                self.remaining.set(left);
                Ok(())
            }
            None => Err(E::custom(format!(
                "document expands to more than {} nodes (alias expansion limit; a \"billion \
                 laughs\" document?)",
                self.limit
            ))),
        }
    }
}

#[derive(Clone, Copy)]
struct NodeSeed<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.take()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.take()?;
        let mut mapping = Mapping::new();
        while let Some(key) = map.next_key_seed(KeySeed(self.0, &mapping))? {
            if mapping.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {}",
                    describe_key(&key)
                )));
            }
            let value = map.next_value_seed(self)?;
            mapping.insert(key, value);
        }
        Ok(Value::Mapping(mapping))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _data: A) -> Result<Value, A::Error> {
        Err(de::Error::custom(
            "YAML tags (`!reset`, `!override`, `!custom`) are not supported",
        ))
    }
}

/// Deserializes a mapping key, failing on a duplicate while the parser still points at the
/// key (so the error carries the key's line, not the mapping's).
struct KeySeed<'b, 'm>(&'b Budget, &'m Mapping);

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl KeySeed<'_, '_> {
    fn unique<E: de::Error>(&self, key: Value) -> Result<Value, E> {
        if self.1.contains_key(&key) {
            return Err(E::custom(format!("duplicate key {}", describe_key(&key))));
        }
        Ok(key)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        let key = NodeSeed(self.0).visit_bool(v)?;
        self.unique(key)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        let key = NodeSeed(self.0).visit_i64(v)?;
        self.unique(key)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        let key = NodeSeed(self.0).visit_u64(v)?;
        self.unique(key)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        let key = NodeSeed(self.0).visit_f64(v)?;
        self.unique(key)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        let key = NodeSeed(self.0).visit_str(v)?;
        self.unique(key)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        let key = NodeSeed(self.0).visit_unit()?;
        self.unique(key)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        NodeSeed(self.0).visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        NodeSeed(self.0).visit_map(map)
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        NodeSeed(self.0).visit_enum(data)
    }
}

fn describe_key(key: &Value) -> String {
    match key {
        Value::String(s) => format!("\"{s}\""),
        other => yaml_serde::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "(complex key)".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Value, ComposeError> {
        parse_document(text, "t.yml", &YamlLimits::default())
    }

    #[test]
    fn parses_plain_documents_in_order() {
        let v = parse("b: 1\na: [x, {c: null}]\n").unwrap();
        let keys: Vec<_> = v.as_mapping().unwrap().keys().cloned().collect();
        assert_eq!(keys, [Value::from("b"), Value::from("a")]);
        assert_eq!(parse("").unwrap(), Value::Null);
    }

    #[test]
    fn reports_line_of_syntax_errors() {
        let err = parse("services:\n  web:\n    image: [unclosed\n").unwrap_err();
        match err {
            ComposeError::Yaml { line, .. } => assert!(line.is_some()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejects_duplicate_keys_with_line() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("duplicate key \"a\""), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn alias_bomb_hits_node_limit() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            doc.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let limits = YamlLimits {
            max_bytes: 1 << 20,
            max_nodes: 100_000,
        };
        let err = parse_document(&doc, "bomb.yml", &limits).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("alias expansion limit") || text.contains("repetition limit"),
            "{text}"
        );
    }

    #[test]
    fn wide_anchor_referenced_often_hits_our_node_limit() {
        // Few alias jumps (below yaml_serde's own repetition limit), many nodes.
        let items = vec!["x"; 2000].join(", ");
        let refs = vec!["*big"; 600].join(", ");
        let doc = format!("big: &big [{items}]\nmany: [{refs}]\n");
        let err = parse(&doc).unwrap_err().to_string();
        assert!(err.contains("more than 1000000 nodes"), "{err}");
    }

    #[test]
    fn rejects_multiple_documents_and_tags() {
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
        assert!(parse("a: !reset []\n")
            .unwrap_err()
            .to_string()
            .contains("tags"));
    }

    #[test]
    fn size_limit_checked_before_parsing() {
        let limits = YamlLimits {
            max_bytes: 10,
            max_nodes: 10,
        };
        let err = parse_document("a: 1234567890\n", "big.yml", &limits).unwrap_err();
        assert!(matches!(err, ComposeError::FileTooLarge { size: 14, .. }));
    }
}
