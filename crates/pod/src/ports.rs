//! Host ports from the task's `ports` resource, handed out in a fixed order.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::PodError;

/// An inclusive range of host ports offered to the task (a Mesos RANGES item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    /// First port, inclusive.
    pub begin: u16,
    /// Last port, inclusive.
    pub end: u16,
}

impl PortRange {
    /// A range from Mesos' `u64` bounds; refuses ports outside 1..=65535 and reversed bounds.
    pub fn from_mesos(begin: u64, end: u64) -> Result<PortRange, PodError> {
        let text = format!("{begin}-{end}");
        let port = |n: u64| {
            u16::try_from(n)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| PodError::PortRanges {
                    text: text.clone(),
                    message: format!("{n} is not a port (1-65535)"),
                })
        };
        let range = PortRange {
            begin: port(begin)?,
            end: port(end)?,
        };
        if range.begin > range.end {
            return Err(PodError::PortRanges {
                text,
                message: "the range ends before it begins".to_string(),
            });
        }
        Ok(range)
    }

    /// Whether `port` lies in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.begin..=self.end).contains(&port)
    }
}

/// Parses `31000-31010,32000-32005,33000` (the `--ports` syntax of `dce up`/`dce render`).
pub fn parse_port_ranges(text: &str) -> Result<Vec<PortRange>, PodError> {
    let error = |message: String| PodError::PortRanges {
        text: text.to_string(),
        message,
    };
    let mut ranges = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (begin, end) = item.split_once('-').unwrap_or((item, item));
        let number = |s: &str| {
            s.trim().parse::<u64>().map_err(|_| {
                error(format!(
                    "`{item}` is not a port or a range like 31000-31010"
                ))
            })
        };
        ranges.push(PortRange::from_mesos(number(begin)?, number(end)?)?);
    }
    Ok(ranges)
}

/// Hands out the offered host ports one at a time: ranges in offer order, ports ascending,
/// each port at most once (overlapping offers are not handed out twice).
#[derive(Debug, Clone)]
pub struct PortAllocator {
    ports: Vec<u16>,
    next: usize,
}

impl PortAllocator {
    /// An allocator over `ranges`.
    pub fn new(ranges: &[PortRange]) -> PortAllocator {
        let mut seen = HashSet::new();
        let ports = ranges
            .iter()
            .flat_map(|r| r.begin..=r.end)
            .filter(|p| seen.insert(*p))
            .collect();
        PortAllocator { ports, next: 0 }
    }

    /// Number of distinct ports offered.
    pub fn offered(&self) -> usize {
        self.ports.len()
    }

    /// The next port; `None` when exhausted.
    pub fn next_port(&mut self) -> Option<u16> {
        let port = self.ports.get(self.next).copied()?;
        self.next += 1;
        Some(port)
    }

    /// Takes `needed` ports at once, or fails naming needed and offered counts.
    pub fn take(&mut self, needed: usize) -> Result<Vec<u16>, PodError> {
        if self.ports.len() - self.next < needed {
            return Err(PodError::NotEnoughPorts {
                needed,
                offered: self.ports.len(),
            });
        }
        let taken = self.ports[self.next..self.next + needed].to_vec();
        self.next += needed;
        Ok(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_ranges_and_single_ports() {
        let ranges = parse_port_ranges("31000-31002, 32000").unwrap();
        assert_eq!(
            ranges,
            vec![
                PortRange {
                    begin: 31000,
                    end: 31002
                },
                PortRange {
                    begin: 32000,
                    end: 32000
                }
            ]
        );
        assert!(parse_port_ranges("").unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_ranges() {
        for text in ["x", "3-1", "0-5", "70000", "1-2-3"] {
            assert!(parse_port_ranges(text).is_err(), "{text}");
        }
    }

    #[test]
    fn too_few_ports_names_the_counts() {
        let mut alloc = PortAllocator::new(&parse_port_ranges("31000-31001").unwrap());
        let err = alloc.take(3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the pod publishes 3 port(s) but the task offers only 2 port(s) in its `ports` resource"
        );
    }

    fn ranges() -> impl Strategy<Value = Vec<PortRange>> {
        prop::collection::vec((1u16..=65000, 0u16..40), 0..6).prop_map(|items| {
            items
                .into_iter()
                .map(|(begin, len)| PortRange {
                    begin,
                    end: begin.saturating_add(len),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn allocation_is_deterministic_unique_and_inside_offers(offer in ranges(), want in 0usize..100) {
            let mut a = PortAllocator::new(&offer);
            let mut b = PortAllocator::new(&offer);
            let first: Vec<_> = std::iter::from_fn(|| a.next_port()).take(want).collect();
            let second: Vec<_> = std::iter::from_fn(|| b.next_port()).take(want).collect();
            prop_assert_eq!(&first, &second);
            let unique: HashSet<_> = first.iter().collect();
            prop_assert_eq!(unique.len(), first.len());
            prop_assert!(first.iter().all(|p| offer.iter().any(|r| r.contains(*p))));
        }
    }
}
