//! Unknown-key detection with "did you mean" hints.

use yaml_serde::Mapping;

use super::{entries, join, Ctx};
use crate::ComposeError;

/// Checks that every key of `m` is in `known`; keys listed in `unsupported` (with a reason)
/// are valid compose but not implemented by dce. `x-*` keys pass when `extensions` is set.
pub(crate) fn check_unknown(
    ctx: &Ctx<'_>,
    parent: &str,
    m: &Mapping,
    known: &[&str],
    unsupported: &[(&str, &str)],
) -> Result<(), ComposeError> {
    for (key, _) in entries(ctx, parent, m)? {
        if known.contains(&key.as_str()) {
            continue;
        }
        if let Some((_, reason)) = unsupported.iter().find(|(k, _)| *k == key) {
            return Err(ComposeError::UnsupportedKey {
                at: ctx.loc(&join(parent, &key)),
                reason: reason.to_string(),
            });
        }
        return Err(unknown_key(ctx, parent, &key, known));
    }
    Ok(())
}

/// The error for a key that is not in `known`, with the closest known key as a hint.
pub(crate) fn unknown_key(ctx: &Ctx<'_>, parent: &str, key: &str, known: &[&str]) -> ComposeError {
    ComposeError::UnknownKey {
        at: ctx.loc(&join(parent, key)),
        suggestion: closest(key, known),
    }
}

fn closest(key: &str, known: &[&str]) -> Option<String> {
    let lower = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (levenshtein(&lower, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_string())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys() {
        let known = ["image", "environment", "ports", "healthcheck"];
        assert_eq!(closest("imagee", &known).as_deref(), Some("image"));
        assert_eq!(
            closest("enviroment", &known).as_deref(),
            Some("environment")
        );
        assert_eq!(closest("Ports", &known).as_deref(), Some("ports"));
        assert_eq!(closest("completely_else", &known), None);
    }
}
