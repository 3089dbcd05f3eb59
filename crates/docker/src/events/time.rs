//! Engine timestamps: RFC 3339 strings from inspect, nanoseconds in events, `since=` parameters.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch of an engine timestamp such as
/// `2026-11-21T06:54:30.123456789Z` (the format of `State.StartedAt`, `FinishedAt`, `Created`).
///
/// The engine writes `0001-01-01T00:00:00Z` for "never"; that and anything unparsable give
/// `None`. Offsets other than `Z` are honoured.
pub fn parse_rfc3339_nanos(text: &str) -> Option<i64> {
    let (date, rest) = text.split_once('T')?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    if year < 1970 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let zone_at = rest.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = rest.split_at(zone_at);
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut hms_parts = hms.splitn(3, ':');
    let hour: i64 = hms_parts.next()?.parse().ok()?;
    let minute: i64 = hms_parts.next()?.parse().ok()?;
    let second: i64 = hms_parts.next()?.parse().ok()?;
    let nanos = fraction_nanos(fraction)?;
    let offset_seconds = zone_offset_seconds(zone)?;
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_seconds;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn fraction_nanos(fraction: &str) -> Option<i64> {
    if fraction.is_empty() {
        return Some(0);
    }
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = fraction.parse().ok()?;
    Some(value * 10_i64.pow(9 - fraction.len() as u32))
}

fn zone_offset_seconds(zone: &str) -> Option<i64> {
    if zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (hours, minutes) = zone.get(1..)?.split_once(':')?;
    let hours: i64 = hours.parse().ok()?;
    let minutes: i64 = minutes.parse().ok()?;
    Some(sign * (hours * 3_600 + minutes * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The value of an events `since=` parameter for a nanosecond timestamp (`<secs>.<nanos>`).
pub fn since_param(nanos: i64) -> String {
    format!(
        "{}.{:09}",
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000)
    )
}

/// The local clock in nanoseconds since the epoch; the engine runs on the same host.
pub fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_engine_timestamps() {
        assert_eq!(parse_rfc3339_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_nanos("2026-11-21T06:54:30.123456789Z"),
            Some(1_795_244_070_123_456_789)
        );
        assert_eq!(
            parse_rfc3339_nanos("2026-11-21T06:54:30.5Z"),
            Some(1_795_244_070_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("2026-11-21T08:54:30+02:00"),
            Some(1_795_244_070_000_000_000)
        );
    }

    #[test]
    fn never_and_garbage_are_none() {
        assert_eq!(parse_rfc3339_nanos("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_nanos("yesterday"), None);
        assert_eq!(parse_rfc3339_nanos("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_nanos("2026-11-21T06:54:30.1234567891Z"), None);
    }

    #[test]
    fn since_has_nine_fraction_digits() {
        assert_eq!(
            since_param(1_795_244_070_000_000_005),
            "1795244070.000000005"
        );
    }
}
