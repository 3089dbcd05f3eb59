use indexmap::IndexMap;
use serde::Serialize;

/// One `ulimits:` entry; `nofile: 1024` sets both limits to 1024.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// The part of `deploy:` dce honours: `resources` (other deploy keys are rejected).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Deploy {
    /// `deploy.resources`.
    pub resources: Resources,
}

impl Deploy {
    /// Nothing was set.
    pub fn is_empty(&self) -> bool {
        self.resources.limits == ResourceLimits::default()
            && self.resources.reservations == ResourceReservations::default()
    }
}

/// `deploy.resources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    /// Hard limits (override the service-level `cpus`/`mem_limit` when both are set).
    pub limits: ResourceLimits,
    /// Soft reservations.
    pub reservations: ResourceReservations,
}

/// `deploy.resources.limits`. A `pids` limit given here is loaded into
/// [`crate::Service::pids_limit`] (docker-compose v1 has no `deploy.resources.limits.pids`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceLimits {
    /// CPU count (fractional), as `cpus`.
    pub cpus: Option<f64>,
    /// Memory in bytes.
    pub memory: Option<u64>,
}

/// `deploy.resources.reservations`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceReservations {
    /// CPU count (fractional); informational on a single engine.
    pub cpus: Option<f64>,
    /// Memory in bytes (Docker `MemoryReservation`).
    pub memory: Option<u64>,
}

/// `logging:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Logging {
    /// Log driver (`json-file` when unset).
    pub driver: Option<String>,
    /// Driver options.
    pub options: IndexMap<String, String>,
}
