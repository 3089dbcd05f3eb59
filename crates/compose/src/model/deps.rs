use serde::Serialize;

/// One `depends_on` entry (list form gives `service_started`, `restart: false`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependsOn {
    /// What the dependency must reach before this service starts.
    pub condition: DependencyCondition,
    /// Restart this service when the dependency is restarted (compose v2 `restart:`).
    /// Not written by [`crate::Project::to_yaml`]: docker-compose v1 rejects it.
    pub restart: bool,
}

impl Default for DependsOn {
    fn default() -> Self {
        DependsOn {
            condition: DependencyCondition::ServiceStarted,
            restart: false,
        }
    }
}

/// `depends_on.<svc>.condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DependencyCondition {
    /// `service_started`: the container has been started.
    ServiceStarted,
    /// `service_healthy`: the container's healthcheck reports healthy.
    ServiceHealthy,
    /// `service_completed_successfully`: the container exited with code 0.
    ServiceCompletedSuccessfully,
}

impl DependencyCondition {
    /// The compose spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyCondition::ServiceStarted => "service_started",
            DependencyCondition::ServiceHealthy => "service_healthy",
            DependencyCondition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }
}

/// `restart:` — applied by dce itself, never handed to Docker (SPEC §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RestartPolicy {
    /// `no` (also `"no"` and `none`): any exit is final.
    No,
    /// `always`.
    Always,
    /// `on-failure[:N]`: restart on non-zero exit, at most N times when given.
    OnFailure {
        /// The `:N` suffix.
        max_retries: Option<u32>,
    },
    /// `unless-stopped`.
    UnlessStopped,
}

/// `pull_policy:` — when to pull the service's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PullPolicy {
    /// `always`.
    Always,
    /// `missing` (also `if_not_present`), compose's default.
    Missing,
    /// `never`: the image must already be present.
    Never,
    /// `build`: dce does not build; treated by the runtime like `missing`.
    Build,
}

impl PullPolicy {
    /// The compose spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "always",
            PullPolicy::Missing => "missing",
            PullPolicy::Never => "never",
            PullPolicy::Build => "build",
        }
    }
}
