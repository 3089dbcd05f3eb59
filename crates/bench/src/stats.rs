//! Medians and spreads of repeated measurements.

use std::time::Duration;

/// Median, minimum and maximum of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The median (mean of the two middle values for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// How many values.
    pub count: usize,
}

impl Summary {
    /// Summarizes `samples`; `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        let mut secs: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
        Summary::of_secs(&mut secs)
    }

    /// Summarizes values in seconds (sorted in place).
    pub fn of_secs(secs: &mut [f64]) -> Option<Summary> {
        if secs.is_empty() {
            return None;
        }
        secs.sort_by(f64::total_cmp);
        let n = secs.len();
        let median = if n % 2 == 1 {
            secs[n / 2]
        } else {
            (secs[n / 2 - 1] + secs[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: secs[0],
            max: secs[n - 1],
            count: n,
        })
    }

    /// `median (min–max)` in milliseconds.
    pub fn millis(&self) -> String {
        format!(
            "{:.0} ({:.0}–{:.0})",
            self.median * 1e3,
            self.min * 1e3,
            self.max * 1e3
        )
    }
}

/// `a / b` of two medians as `0.42×`, or `–` when either is missing.
pub fn ratio(a: Option<Summary>, b: Option<Summary>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b.median > 0.0 => format!("{:.2}×", a.median / b.median),
        _ => "–".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn odd_and_even_medians() {
        let odd = Summary::of(&ms(&[30, 10, 20])).unwrap();
        assert_eq!((odd.median, odd.min, odd.max), (0.02, 0.01, 0.03));
        let even = Summary::of(&ms(&[40, 10, 20, 30])).unwrap();
        assert!((even.median - 0.025).abs() < 1e-12);
        assert_eq!(even.count, 4);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn formats_millis_and_ratios() {
        let a = Summary::of(&ms(&[500, 400, 600])).unwrap();
        let b = Summary::of(&ms(&[1000])).unwrap();
        assert_eq!(a.millis(), "500 (400–600)");
        assert_eq!(ratio(Some(a), Some(b)), "0.50×");
        assert_eq!(ratio(Some(a), None), "–");
    }
}
