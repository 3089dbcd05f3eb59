//! Wall-clock instants: the engine reports a container's death as an RFC 3339 timestamp
//! (`State.FinishedAt`), the agent stand-in records a monotonic `Instant`; both become
//! nanoseconds since the Unix epoch here.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch of a monotonic instant in the past (or now).
pub fn instant_to_unix_nanos(at: Instant) -> i128 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    now - at.elapsed().as_nanos() as i128
}

/// Parses the engine's UTC timestamps (`2026-11-21T07:40:01.123456789Z`, fraction optional)
/// into nanoseconds since the Unix epoch.
pub fn parse_rfc3339_utc(text: &str) -> Option<i128> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock_parts = clock.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (
        clock_parts.next()??,
        clock_parts.next()??,
        clock_parts.next()??,
    );
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
        return None;
    }
    let nanos: i128 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().ok()?
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_engine_timestamps() {
        assert_eq!(parse_rfc3339_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_utc("2000-03-01T00:00:01.5Z"),
            Some(951_868_801_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_utc("2026-11-21T07:40:01.123456789Z"),
            Some(1_795_246_801_123_456_789)
        );
        assert_eq!(parse_rfc3339_utc("2026-11-21T07:40:01+01:00"), None);
        assert_eq!(
            parse_rfc3339_utc("0001-01-01T00:00:00Z").map(|n| n < 0),
            Some(true)
        );
    }

    #[test]
    fn instants_map_to_now() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128;
        let mapped = instant_to_unix_nanos(Instant::now());
        assert!((mapped - now).abs() < 1_000_000_000);
    }
}
