//! Mesos' (stout) duration format: `<number><unit>`, unit one of `ns us ms secs mins hrs days
//! weeks`, the number an integer or a decimal fraction (`1.5secs`). Used by the agent for every
//! duration it puts in the executor's environment (ref §1).

use std::time::Duration;

/// Why a duration text is not in stout format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// No number before the unit.
    #[error("duration {0:?} has no number (expected e.g. \"5secs\")")]
    MissingNumber(String),
    /// The number part does not parse.
    #[error("duration {0:?} has an invalid number")]
    BadNumber(String),
    /// No unit, or one stout does not know.
    #[error("duration {text:?} has unknown unit {unit:?} (expected ns, us, ms, secs, mins, hrs, days or weeks)")]
    UnknownUnit {
        /// The whole text.
        text: String,
        /// The unit part.
        unit: String,
    },
    /// Larger than `Duration` can hold in nanoseconds.
    #[error("duration {0:?} is too large")]
    TooLarge(String),
}

const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("ms", 1_000_000),
    ("secs", 1_000_000_000),
    ("mins", 60_000_000_000),
    ("hrs", 3_600_000_000_000),
    ("days", 86_400_000_000_000),
    ("weeks", 604_800_000_000_000),
];

/// Parses a stout duration (`5secs`, `1.5secs`, `15mins`, `100ms`, …); surrounding whitespace
/// is ignored. Negative durations are rejected (the number may not carry a sign).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(DurationError::MissingNumber(text.to_owned()));
    }
    let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(DurationError::UnknownUnit {
            text: text.to_owned(),
            unit: unit.to_owned(),
        });
    };
    let nanos = if number.contains('.') {
        let value: f64 = number
            .parse()
            .map_err(|_| DurationError::BadNumber(text.to_owned()))?;
        let nanos = (value * scale as f64).round();
        if !nanos.is_finite() || nanos >= u64::MAX as f64 {
            return Err(DurationError::TooLarge(text.to_owned()));
        }
        nanos as u64
    } else {
        let value: u64 = number
            .parse()
            .map_err(|_| DurationError::TooLarge(text.to_owned()))?;
        value
            .checked_mul(scale)
            .ok_or_else(|| DurationError::TooLarge(text.to_owned()))?
    };
    Ok(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit() {
        let cases = [
            ("7ns", Duration::from_nanos(7)),
            ("7us", Duration::from_micros(7)),
            ("7ms", Duration::from_millis(7)),
            ("7secs", Duration::from_secs(7)),
            ("7mins", Duration::from_secs(7 * 60)),
            ("7hrs", Duration::from_secs(7 * 3600)),
            ("7days", Duration::from_secs(7 * 86_400)),
            ("7weeks", Duration::from_secs(7 * 604_800)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn fractions_and_whitespace() {
        assert_eq!(parse_duration("1.5secs"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0.25mins"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration(".5ms"), Ok(Duration::from_micros(500)));
        assert_eq!(
            parse_duration("2."),
            Err(DurationError::UnknownUnit {
                text: "2.".into(),
                unit: String::new()
            })
        );
        assert_eq!(parse_duration(" 15mins\n"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("0secs"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            parse_duration("secs"),
            Err(DurationError::MissingNumber(_))
        ));
        assert!(matches!(
            parse_duration(""),
            Err(DurationError::MissingNumber(_))
        ));
        assert!(matches!(
            parse_duration("-1secs"),
            Err(DurationError::MissingNumber(_))
        ));
        assert!(matches!(
            parse_duration("5"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("5s"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("5 secs"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("1.2.3secs"),
            Err(DurationError::BadNumber(_))
        ));
        assert!(matches!(
            parse_duration("99999999999999999999weeks"),
            Err(DurationError::TooLarge(_))
        ));
        assert!(matches!(
            parse_duration("100000000weeks"),
            Err(DurationError::TooLarge(_))
        ));
        assert!(matches!(
            parse_duration("1e300weeks"),
            Err(DurationError::UnknownUnit { .. })
        ));
    }
}
