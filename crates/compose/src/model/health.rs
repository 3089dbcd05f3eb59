use std::time::Duration;

use serde::Serialize;

/// A service `healthcheck:`. Fields left `None` inherit the image's HEALTHCHECK settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Healthcheck {
    /// The probe; `None` keeps the image's. `disable: true` is normalized to
    /// `Some(HealthTest::Disabled)`, and a disabled healthcheck has no other field set.
    pub test: Option<HealthTest>,
    /// Time between probes.
    pub interval: Option<Duration>,
    /// Time a probe may take.
    pub timeout: Option<Duration>,
    /// Grace period during which failures do not count.
    pub start_period: Option<Duration>,
    /// Consecutive failures that make the container unhealthy.
    pub retries: Option<u64>,
}

/// `healthcheck.test` in normalized form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum HealthTest {
    /// `["NONE"]` or `disable: true`: switch off the image's healthcheck.
    Disabled,
    /// `["CMD", args…]`: exec the args directly.
    Cmd(Vec<String>),
    /// A string or `["CMD-SHELL", "line"]`: run with the container's default shell.
    Shell(String),
}

impl HealthTest {
    /// The Engine API `Healthcheck.Test` array.
    pub fn to_engine_test(&self) -> Vec<String> {
        match self {
            HealthTest::Disabled => vec!["NONE".to_string()],
            HealthTest::Cmd(args) => std::iter::once("CMD".to_string())
                .chain(args.iter().cloned())
                .collect(),
            HealthTest::Shell(line) => vec!["CMD-SHELL".to_string(), line.clone()],
        }
    }
}
