//! YAML merge keys (`<<: *anchor`, `<<: [*a, *b]`), resolved in place.
//!
//! yaml_serde's `apply_merge` uses `swap_remove`, which moves a mapping's last key to where
//! `<<` was; here merged keys land at the `<<` position and every explicit key keeps its place,
//! so services and their keys stay in the order the user wrote them.

use yaml_serde::{Mapping, Value};

/// Resolves every merge key in `value`, recursively. Explicit keys win over merged ones;
/// among several merged mappings the first one listed wins (YAML merge-key semantics).
pub fn resolve_merge_keys(value: &mut Value) -> Result<(), String> {
    match value {
        Value::Mapping(mapping) => {
            for (_, child) in mapping.iter_mut() {
                resolve_merge_keys(child)?;
            }
            if mapping.contains_key("<<") {
                *mapping = merge_mapping(std::mem::take(mapping))?;
            }
            Ok(())
        }
        Value::Sequence(items) => items.iter_mut().try_for_each(resolve_merge_keys),
        _ => Ok(()),
    }
}

fn merge_mapping(mapping: Mapping) -> Result<Mapping, String> {
    let explicit: Vec<Value> = mapping
        .keys()
        .filter(|k| k.as_str() != Some("<<"))
        .cloned()
        .collect();
    let mut out = Mapping::new();
    for (key, value) in mapping {
        if key.as_str() != Some("<<") {
            out.insert(key, value);
            continue;
        }
        let sources = match value {
            Value::Mapping(m) => vec![m],
            Value::Sequence(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::Mapping(m) => Ok(m),
                    _ => Err("a `<<` merge list may only contain mappings".to_string()),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err("`<<` must be a mapping or a list of mappings".to_string()),
        };
        for source in sources {
            for (k, v) in source {
                if !explicit.contains(&k) && !out.contains_key(&k) {
                    out.insert(k, v);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(text: &str) -> Value {
        let mut v: Value = yaml_serde::from_str(text).unwrap();
        resolve_merge_keys(&mut v).unwrap();
        v
    }

    #[test]
    fn keeps_key_order_and_explicit_wins() {
        let v = resolved(
            "base: &b {image: a, user: root, tty: true}\nsvc:\n  hostname: h\n  <<: *b\n  user: app\n  mem_limit: 1g\n",
        );
        let svc = v.get("svc").unwrap().as_mapping().unwrap();
        let keys: Vec<_> = svc.keys().map(|k| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["hostname", "image", "tty", "user", "mem_limit"]);
        assert_eq!(svc.get("user").unwrap(), &Value::from("app"));
    }

    #[test]
    fn first_of_a_list_wins() {
        let v = resolved("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n");
        let c = v.get("c").unwrap();
        assert_eq!(c.get("x").unwrap(), &Value::from(1));
        assert_eq!(c.get("y").unwrap(), &Value::from(2));
    }

    #[test]
    fn rejects_scalar_merge() {
        let mut v: Value = yaml_serde::from_str("a:\n  <<: 3\n").unwrap();
        assert!(resolve_merge_keys(&mut v).is_err());
    }
}
