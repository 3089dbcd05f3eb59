//! Small messages shared by tasks, executors, agents and statuses.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::enums::ValueType;
use super::wire;

/// `mesos.v1.Label`: a key with an optional value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Label key.
    pub key: String,
    /// Label value; Mesos allows labels without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `mesos.v1.Labels`: written as `{"labels":[...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    /// The labels in order; keys may repeat.
    #[serde(default, deserialize_with = "wire::vec")]
    pub labels: Vec<Label>,
}

impl Labels {
    /// Builds labels from key/value pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            labels: pairs
                .into_iter()
                .map(|(k, v)| Label {
                    key: k.into(),
                    value: Some(v.into()),
                })
                .collect(),
        }
    }

    /// Value of the first label with exactly this key (`Some("")` for a label without a value).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.key == key)
            .map(|l| l.value.as_deref().unwrap_or(""))
    }

    /// Iterates over `(key, value)` pairs; a missing value reads as `""`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.labels
            .iter()
            .map(|l| (l.key.as_str(), l.value.as_deref().unwrap_or("")))
    }
}

/// `mesos.v1.DurationInfo`: nanoseconds as int64 (may exceed 2^53; never parsed via f64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationInfo {
    /// Signed nanoseconds.
    #[serde(deserialize_with = "wire::lenient")]
    pub nanoseconds: i64,
}

impl DurationInfo {
    /// As a `Duration`; negative values clamp to zero.
    pub fn to_duration(&self) -> Duration {
        Duration::from_nanos(u64::try_from(self.nanoseconds).unwrap_or(0))
    }

    /// From a `Duration`, saturating at `i64::MAX` nanoseconds.
    pub fn from_duration(d: Duration) -> Self {
        Self {
            nanoseconds: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        }
    }
}

/// `mesos.v1.KillPolicy`: how long a task may take to stop gracefully.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillPolicy {
    /// Time between the graceful stop and the forced kill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<DurationInfo>,
}

impl KillPolicy {
    /// A policy with this grace period.
    pub fn with_grace(grace: Duration) -> Self {
        Self {
            grace_period: Some(DurationInfo::from_duration(grace)),
        }
    }

    /// The grace period as a `Duration`, if set.
    pub fn grace(&self) -> Option<Duration> {
        self.grace_period.map(|g| g.to_duration())
    }
}

/// `mesos.v1.Value.Scalar`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scalar {
    /// The amount (e.g. cpus, MiB of mem).
    #[serde(deserialize_with = "wire::lenient")]
    pub value: f64,
}

/// `mesos.v1.Value.Range`: both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Range {
    /// First value, inclusive.
    #[serde(deserialize_with = "wire::lenient")]
    pub begin: u64,
    /// Last value, inclusive.
    #[serde(deserialize_with = "wire::lenient")]
    pub end: u64,
}

/// `mesos.v1.Value.Ranges`: written as `{"range":[...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranges {
    /// The ranges in order.
    #[serde(default, deserialize_with = "wire::vec")]
    pub range: Vec<Range>,
}

/// `mesos.v1.Value.Set`: written as `{"item":[...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSet {
    /// The items.
    #[serde(default, deserialize_with = "wire::vec")]
    pub item: Vec<String>,
}

/// `mesos.v1.Resource`: the typed parts an executor uses; reservation details stay opaque JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// `cpus`, `mem`, `disk`, `ports`, …
    pub name: String,
    /// Which of `scalar`/`ranges`/`set` holds the value.
    #[serde(rename = "type")]
    pub kind: ValueType,
    /// Value of a SCALAR resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<Scalar>,
    /// Value of a RANGES resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Ranges>,
    /// Value of a SET resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<ValueSet>,
    /// Pre-refinement role (deprecated in v1 but still seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Allocation role injected by the agent, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<serde_json::Value>,
    /// Post-refinement reservations, kept as JSON.
    #[serde(
        default,
        deserialize_with = "wire::vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub reservations: Vec<serde_json::Value>,
}

impl Resource {
    /// A SCALAR resource.
    pub fn scalar(name: impl Into<String>, value: f64) -> Self {
        Self {
            name: name.into(),
            kind: ValueType::Scalar,
            scalar: Some(Scalar { value }),
            ranges: None,
            set: None,
            role: None,
            allocation_info: None,
            reservations: Vec::new(),
        }
    }

    /// A RANGES resource, each `(begin, end)` inclusive.
    pub fn ranges(name: impl Into<String>, ranges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        Self {
            name: name.into(),
            kind: ValueType::Ranges,
            scalar: None,
            ranges: Some(Ranges {
                range: ranges
                    .into_iter()
                    .map(|(begin, end)| Range { begin, end })
                    .collect(),
            }),
            set: None,
            role: None,
            allocation_info: None,
            reservations: Vec::new(),
        }
    }
}

/// Sum of the SCALAR resources named `name`.
pub(crate) fn scalar_sum(resources: &[Resource], name: &str) -> Option<f64> {
    let mut found = None;
    for r in resources.iter().filter(|r| r.name == name) {
        if let Some(s) = r.scalar {
            *found.get_or_insert(0.0) += s.value;
        }
    }
    found
}

/// Every range of the RANGES resources named `name`, in order.
pub(crate) fn ranges_of(resources: &[Resource], name: &str) -> Vec<Range> {
    resources
        .iter()
        .filter(|r| r.name == name)
        .filter_map(|r| r.ranges.as_ref())
        .flat_map(|r| r.range.iter().copied())
        .collect()
}
