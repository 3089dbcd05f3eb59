//! The executor's view of a running pod: per-service state fed by [`PodEvent`]s, and what each
//! event means for the task (restart a container, fail the pod, finish it, report health).
//!
//! Pure: no Docker calls, no timers. The supervisor applies the [`Verdict`]s.

use std::time::Duration;

use compose::DependencyCondition;
use docker::{ContainerRole, HealthStatus, PodEvent, RunningPod};
use indexmap::IndexMap;
use pod::plan::{OnUnhealthy, RestartPolicy};
use pod::PodPlan;
use serde::Serialize;

/// First restart back-off (Docker's own restart manager starts at 100 ms and doubles).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest restart back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Where one service's container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Created, not (yet) seen running.
    Created,
    /// Running.
    Running,
    /// Exited; see `exit_code`.
    Exited,
    /// Gone without dce removing it.
    Lost,
}

/// One service as reported in the `data` of status updates.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceView {
    /// Where its container is.
    pub state: ServiceState,
    /// Engine container id.
    pub container_id: String,
    /// Exit code of the last exit.
    pub exit_code: Option<i64>,
    /// Whether the last exit was the OOM killer.
    pub oom_killed: bool,
    /// Restarts done by dce.
    pub restarts: u32,
    /// Last reported health, for containers with a healthcheck.
    pub health: Option<HealthStatus>,
    #[serde(skip)]
    declares_healthcheck: bool,
    /// Gated by another service's `service_completed_successfully`: a run-once init step.
    #[serde(skip)]
    init_style: bool,
    #[serde(skip)]
    restart: RestartPolicy,
    #[serde(skip)]
    on_unhealthy: OnUnhealthy,
}

/// Why a pod failed, which picks the Mesos reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A container exited non-zero, or a container/the infra container is gone.
    Exited,
    /// The kernel's OOM killer ended a container.
    OutOfMemory,
    /// A healthcheck reported unhealthy.
    Unhealthy,
}

/// What an event means for the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do beyond bookkeeping.
    Nothing,
    /// Start this (exited) container again after `delay`.
    Restart {
        service: String,
        container_id: String,
        delay: Duration,
    },
    /// Restart this running (unhealthy) container now.
    RestartRunning {
        service: String,
        container_id: String,
    },
    /// The pod failed.
    Fail { kind: FailureKind, message: String },
    /// Every service completed with exit code 0.
    Finish,
}

/// The result of applying one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// A container's health changed (a health update is due while running).
    pub health_changed: bool,
    /// What to do.
    pub verdict: Verdict,
}

impl Outcome {
    fn only(verdict: Verdict) -> Self {
        Outcome {
            health_changed: false,
            verdict,
        }
    }
}

/// The state of every service of one pod.
#[derive(Debug, Clone)]
pub struct PodView {
    services: IndexMap<String, ServiceView>,
    infra_id: Option<String>,
    /// The events stream broke since the last state change (for the failure message).
    daemon_outage: bool,
}

impl PodView {
    /// A view of `pod` as created from `plan`, before any event.
    pub fn new(plan: &PodPlan, pod: &RunningPod) -> Self {
        let mut services = IndexMap::new();
        let mut infra_id = None;
        for container in &pod.containers {
            if container.role == ContainerRole::Infra {
                infra_id = Some(container.id.clone());
                continue;
            }
            let name = container.service.clone();
            let spec = plan.project.services.get(&name);
            let service_plan = plan.services.get(&name);
            let declares_healthcheck = spec
                .and_then(|s| s.healthcheck.as_ref())
                .and_then(|h| h.test.as_ref())
                .is_some_and(|t| *t != compose::HealthTest::Disabled);
            let init_style = plan.project.services.values().any(|other| {
                other.depends_on.get(&name).is_some_and(|d| {
                    d.condition == DependencyCondition::ServiceCompletedSuccessfully
                })
            });
            services.insert(
                name,
                ServiceView {
                    state: ServiceState::Created,
                    container_id: container.id.clone(),
                    exit_code: None,
                    oom_killed: false,
                    restarts: 0,
                    health: declares_healthcheck.then_some(HealthStatus::Starting),
                    declares_healthcheck,
                    init_style,
                    restart: service_plan.map(|p| p.restart).unwrap_or_default(),
                    on_unhealthy: service_plan.map(|p| p.on_unhealthy).unwrap_or_default(),
                },
            );
        }
        PodView {
            services,
            infra_id,
            daemon_outage: false,
        }
    }

    /// Every service, in start order.
    pub fn services(&self) -> &IndexMap<String, ServiceView> {
        &self.services
    }

    /// `Some(all healthy)` once any container has a healthcheck; `None` without healthchecks.
    pub fn healthy(&self) -> Option<bool> {
        let mut checked = self
            .services
            .values()
            .filter(|s| s.health.is_some() && s.state == ServiceState::Running)
            .peekable();
        let any = self.services.values().any(|s| s.health.is_some());
        if !any {
            return None;
        }
        if checked.peek().is_none() {
            return Some(false);
        }
        Some(checked.all(|s| s.health == Some(HealthStatus::Healthy)))
    }

    /// Whether the pod is ready for TASK_RUNNING: every service is running (and healthy when it
    /// has a healthcheck) or has completed with exit code 0, and at least one still runs.
    pub fn is_ready(&self) -> bool {
        let mut running = 0;
        for service in self.services.values() {
            match service.state {
                ServiceState::Running => {
                    if service.health.is_some() && service.health != Some(HealthStatus::Healthy) {
                        return false;
                    }
                    running += 1;
                }
                ServiceState::Exited if service.exit_code == Some(0) => {}
                _ => return false,
            }
        }
        running > 0
    }

    /// Applies one event from the pod's watcher.
    pub fn apply(&mut self, event: &PodEvent) -> Outcome {
        match event {
            PodEvent::DaemonDisconnected { .. } => {
                self.daemon_outage = true;
                Outcome::only(Verdict::Nothing)
            }
            PodEvent::DaemonReconnected => Outcome::only(Verdict::Nothing),
            PodEvent::Started { container_id, .. } => self.started(container_id),
            PodEvent::Exited {
                container_id,
                exit_code,
                oom_killed,
                ..
            } => self.exited(container_id, *exit_code, *oom_killed),
            PodEvent::Health {
                container_id,
                status,
                ..
            } => self.health(container_id, *status),
            PodEvent::Removed { container_id, .. }
            | PodEvent::ContainerLost { container_id, .. } => self.lost(container_id),
        }
    }

    fn by_container(&mut self, container_id: &str) -> Option<(&String, &mut ServiceView)> {
        self.services
            .iter_mut()
            .find(|(_, s)| s.container_id == container_id)
    }

    fn started(&mut self, container_id: &str) -> Outcome {
        self.daemon_outage = false;
        if let Some((_, service)) = self.by_container(container_id) {
            service.state = ServiceState::Running;
            if service.declares_healthcheck && service.restarts > 0 {
                service.health = Some(HealthStatus::Starting);
            }
        }
        Outcome::only(Verdict::Nothing)
    }

    fn exited(&mut self, container_id: &str, exit_code: i64, oom_killed: bool) -> Outcome {
        let outage = self.outage_note();
        if self.infra_id.as_deref() == Some(container_id) {
            return Outcome::only(Verdict::Fail {
                kind: FailureKind::Exited,
                message: format!(
                    "the pod's infra container (owner of its network namespace) exited with code {exit_code}{outage}"
                ),
            });
        }
        let Some((name, service)) = self.by_container(container_id) else {
            return Outcome::only(Verdict::Nothing);
        };
        let name = name.clone();
        service.state = ServiceState::Exited;
        service.exit_code = Some(exit_code);
        service.oom_killed = oom_killed;
        let failed = oom_killed || exit_code != 0;
        let restart = match service.restart {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => failed || !service.init_style,
            RestartPolicy::OnFailure { .. } => failed,
        };
        let exhausted = match service.restart {
            RestartPolicy::OnFailure {
                max_retries: Some(max),
            } => service.restarts >= max,
            _ => false,
        };
        if restart && !exhausted {
            let delay = backoff(service.restarts);
            service.restarts += 1;
            return Outcome::only(Verdict::Restart {
                service: name,
                container_id: container_id.to_string(),
                delay,
            });
        }
        if failed {
            let what = if oom_killed {
                "was killed by the kernel's OOM killer (memory limit reached)".to_string()
            } else {
                format!("exited with code {exit_code}")
            };
            let restarts = match service.restarts {
                0 => String::new(),
                n => format!(" after {n} restart(s) (restart policy exhausted)"),
            };
            let kind = if oom_killed {
                FailureKind::OutOfMemory
            } else {
                FailureKind::Exited
            };
            return Outcome::only(Verdict::Fail {
                kind,
                message: format!("service `{name}` {what}{restarts}{outage}"),
            });
        }
        if self.all_completed() {
            Outcome::only(Verdict::Finish)
        } else {
            Outcome::only(Verdict::Nothing)
        }
    }

    fn health(&mut self, container_id: &str, status: HealthStatus) -> Outcome {
        let Some((name, service)) = self.by_container(container_id) else {
            return Outcome::only(Verdict::Nothing);
        };
        if service.health == Some(status) {
            return Outcome::only(Verdict::Nothing);
        }
        service.health = Some(status);
        let verdict = match (status, service.on_unhealthy) {
            (HealthStatus::Unhealthy, OnUnhealthy::Fail) => Verdict::Fail {
                kind: FailureKind::Unhealthy,
                message: format!("service `{name}` is unhealthy (its healthcheck failed)"),
            },
            (HealthStatus::Unhealthy, OnUnhealthy::Restart) => {
                let verdict = Verdict::RestartRunning {
                    service: name.clone(),
                    container_id: container_id.to_string(),
                };
                service.restarts += 1;
                verdict
            }
            _ => Verdict::Nothing,
        };
        Outcome {
            health_changed: true,
            verdict,
        }
    }

    fn lost(&mut self, container_id: &str) -> Outcome {
        let outage = self.outage_note();
        if self.infra_id.as_deref() == Some(container_id) {
            return Outcome::only(Verdict::Fail {
                kind: FailureKind::Exited,
                message: format!("the pod's infra container disappeared{outage}"),
            });
        }
        let Some((name, service)) = self.by_container(container_id) else {
            return Outcome::only(Verdict::Nothing);
        };
        service.state = ServiceState::Lost;
        Outcome::only(Verdict::Fail {
            kind: FailureKind::Exited,
            message: format!("the container of service `{name}` disappeared{outage}"),
        })
    }

    fn all_completed(&self) -> bool {
        self.services
            .values()
            .all(|s| s.state == ServiceState::Exited && s.exit_code == Some(0))
    }

    fn outage_note(&self) -> &'static str {
        if self.daemon_outage {
            " while the connection to the Docker daemon was lost (daemon restart?)"
        } else {
            ""
        }
    }
}

/// Back-off before restart number `restarts + 1`.
fn backoff(restarts: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1u32 << restarts.min(16))
        .min(MAX_BACKOFF)
}

#[cfg(test)]
#[path = "pod_view_tests.rs"]
mod tests;
