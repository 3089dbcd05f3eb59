//! Config values before they are typed, and the parsers that type them.

use std::time::Duration;

/// A config value as written: one scalar (as text) or a list of scalars.
///
/// Task-label overrides are always text, so every typed key also accepts its text form (a list
/// as comma-separated text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawValue {
    /// A YAML scalar (string, number, bool) or a label value; YAML null is the empty text.
    Scalar(String),
    /// A YAML sequence of scalars.
    List(Vec<String>),
}

impl RawValue {
    /// The value as one text; a list is an error for scalar keys.
    pub fn scalar(&self) -> Result<&str, String> {
        match self {
            RawValue::Scalar(text) => Ok(text.trim()),
            RawValue::List(_) => Err("expected a single value, not a list".to_string()),
        }
    }

    /// The value as a list: a YAML sequence, or comma-separated text (empty text = empty list).
    pub fn list(&self) -> Vec<String> {
        match self {
            RawValue::List(items) => items.clone(),
            RawValue::Scalar(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

/// Parses `true`/`false` (any case).
pub fn parse_bool(raw: &RawValue) -> Result<bool, String> {
    let text = raw.scalar()?;
    match text.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("`{text}` is not a boolean (true or false)")),
    }
}

/// Parses a non-negative integer.
pub fn parse_u64(raw: &RawValue) -> Result<u64, String> {
    let text = raw.scalar()?;
    text.parse()
        .map_err(|_| format!("`{text}` is not a non-negative integer"))
}

/// Parses a non-empty text.
pub fn parse_text(raw: &RawValue) -> Result<String, String> {
    let text = raw.scalar()?;
    if text.is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(text.to_string())
}

/// Parses a text where empty means "not set".
pub fn parse_optional_text(raw: &RawValue) -> Result<Option<String>, String> {
    let text = raw.scalar()?;
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// Parses a duration written as number-unit pairs: `500s`, `1m`, `1m30s`, `250ms`, `2h`.
///
/// A bare number is refused rather than guessed (dce-go read it as milliseconds in one place and
/// as nanoseconds in another).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid =
        || format!("`{text}` is not a duration (write e.g. `500s`, `1m30s`, `250ms`, `2h`)");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        let after = &rest[digits..];
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let unit = match &after[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(invalid()),
        };
        let part = unit
            .checked_mul(u32::try_from(number).map_err(|_| invalid())?)
            .ok_or_else(invalid)?;
        total = total.checked_add(part).ok_or_else(invalid)?;
        rest = &after[unit_len..];
    }
    Ok(total)
}

/// Parses a duration config value.
pub fn parse_duration_value(raw: &RawValue) -> Result<Duration, String> {
    parse_duration(raw.scalar()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("500s"), Ok(Duration::from_secs(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    }

    #[test]
    fn bad_durations_are_refused() {
        for text in ["", "25", "xyz", "s", "5 s", "5d", "-5s", "1.5s"] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("is not a duration"), "{text}: {err}");
        }
    }

    #[test]
    fn lists_from_text_or_sequence() {
        assert_eq!(
            RawValue::Scalar("a, b,,c".into()).list(),
            vec!["a", "b", "c"]
        );
        assert_eq!(RawValue::Scalar(String::new()).list(), Vec::<String>::new());
        assert_eq!(RawValue::List(vec!["x".into()]).list(), vec!["x"]);
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool(&RawValue::Scalar("TRUE".into())), Ok(true));
        assert!(parse_bool(&RawValue::Scalar("yes".into())).is_err());
    }
}
