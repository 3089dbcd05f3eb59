//! The watcher's memory of each container, which turns engine events and inspections into
//! [`PodEvent`]s that report every state change exactly once.
//!
//! Three rules keep reports exact across a reconnect:
//! - an event already processed (same time, container and action) is dropped when the engine
//!   replays it after `since=`;
//! - an event older than the state inspect found (`StartedAt`/`FinishedAt`) is dropped, because
//!   inspection already accounted for it;
//! - a report is a transition: a `die` for a container known to be stopped, a `start` for one
//!   known to run, a health status equal to the known one, report nothing.

use std::collections::{HashMap, HashSet, VecDeque};

use super::engine::{ContainerSnapshot, EngineAction, EngineEvent, RunState};
use super::{HealthStatus, PodEvent};
use crate::running::RunningPod;

/// How many recent event keys are remembered; the engine replays at most 256 buffered events.
const REMEMBERED_EVENTS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EventKey {
    time_nano: i64,
    container_id: String,
    action: &'static str,
}

#[derive(Debug, Clone)]
struct ContainerView {
    service: String,
    /// `None` until the first inspection or event.
    running: Option<bool>,
    health: Option<HealthStatus>,
    oom_seen: bool,
    gone: bool,
    started_nanos: i64,
    finished_nanos: i64,
    /// Events older than this were accounted for by an inspection.
    floor_nanos: i64,
}

impl ContainerView {
    fn new(service: String) -> Self {
        Self {
            service,
            running: None,
            health: None,
            oom_seen: false,
            gone: false,
            started_nanos: 0,
            finished_nanos: 0,
            floor_nanos: 0,
        }
    }
}

/// What the watcher knows about the pod's containers.
#[derive(Debug, Clone)]
pub struct PodState {
    containers: HashMap<String, ContainerView>,
    recent: HashSet<EventKey>,
    recent_order: VecDeque<EventKey>,
    last_event_nanos: Option<i64>,
}

impl PodState {
    /// Starts with every container of `pod` in an unknown state.
    pub fn new(pod: &RunningPod) -> Self {
        let containers = pod
            .containers
            .iter()
            .map(|c| (c.id.clone(), ContainerView::new(c.service.clone())))
            .collect();
        Self {
            containers,
            recent: HashSet::new(),
            recent_order: VecDeque::new(),
            last_event_nanos: None,
        }
    }

    /// Time of the newest event seen, the `since=` of the next subscription.
    pub fn last_event_nanos(&self) -> Option<i64> {
        self.last_event_nanos
    }

    /// Ids of the containers being tracked, for reconciliation.
    pub fn container_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.containers.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Whether a `die` of this container still needs an inspection to learn if it was an OOM
    /// kill (no `oom` event seen, and the exit is new).
    pub fn needs_oom_check(&self, event: &EngineEvent) -> bool {
        let EngineAction::Die { exit_code } = event.action else {
            return false;
        };
        exit_code != 0
            && self
                .containers
                .get(&event.container_id)
                .is_none_or(|view| !view.oom_seen && view.running != Some(false))
    }

    /// Applies one engine event. `oom_from_inspect` is `State.OOMKilled` when the caller
    /// inspected the container after its `die`.
    pub fn apply_event(&mut self, event: &EngineEvent, oom_from_inspect: bool) -> Vec<PodEvent> {
        if !self.remember(event) {
            return Vec::new();
        }
        let view = self
            .containers
            .entry(event.container_id.clone())
            .or_insert_with(|| ContainerView::new(event.service.clone().unwrap_or_default()));
        if view.service.is_empty() {
            if let Some(service) = &event.service {
                view.service = service.clone();
            }
        }
        if event.time_nano < view.floor_nanos {
            return Vec::new();
        }
        let service = view.service.clone();
        let container_id = event.container_id.clone();
        let mut out = Vec::new();
        match event.action {
            EngineAction::Start => {
                if view.running == Some(true) {
                    return out;
                }
                view.running = Some(true);
                view.gone = false;
                view.oom_seen = false;
                view.started_nanos = view.started_nanos.max(event.time_nano);
                out.push(PodEvent::Started {
                    service: service.clone(),
                    container_id: container_id.clone(),
                });
                if view.health.is_some_and(|h| h != HealthStatus::Starting) {
                    view.health = Some(HealthStatus::Starting);
                    out.push(PodEvent::Health {
                        service,
                        container_id,
                        status: HealthStatus::Starting,
                    });
                }
            }
            EngineAction::Die { exit_code } => {
                if view.running == Some(false) {
                    return out;
                }
                view.running = Some(false);
                view.finished_nanos = view.finished_nanos.max(event.time_nano);
                out.push(PodEvent::Exited {
                    service,
                    container_id,
                    exit_code,
                    oom_killed: view.oom_seen || oom_from_inspect,
                });
            }
            EngineAction::Oom => view.oom_seen = true,
            EngineAction::Health(status) => {
                if view.health == Some(status) {
                    return out;
                }
                view.health = Some(status);
                out.push(PodEvent::Health {
                    service,
                    container_id,
                    status,
                });
            }
            EngineAction::Destroy => {
                if view.gone {
                    return out;
                }
                view.gone = true;
                view.running = Some(false);
                out.push(PodEvent::Removed {
                    service,
                    container_id,
                });
            }
        }
        out
    }

    /// Compares an inspection (`None`: the container does not exist) with what is known and
    /// reports the differences: changes missed while the stream was down, or the initial state
    /// when watching begins.
    pub fn reconcile(
        &mut self,
        container_id: &str,
        snapshot: Option<ContainerSnapshot>,
    ) -> Vec<PodEvent> {
        let Some(view) = self.containers.get_mut(container_id) else {
            return Vec::new();
        };
        let service = view.service.clone();
        let id = container_id.to_string();
        let mut out = Vec::new();
        let Some(snapshot) = snapshot else {
            if !view.gone {
                view.gone = true;
                view.running = Some(false);
                out.push(PodEvent::ContainerLost {
                    service,
                    container_id: id,
                });
            }
            return out;
        };
        view.floor_nanos = view
            .floor_nanos
            .max(snapshot.started_nanos)
            .max(snapshot.finished_nanos);
        match snapshot.state {
            RunState::Created => {
                view.running.get_or_insert(false);
            }
            RunState::Running => {
                if view.running != Some(true) {
                    view.running = Some(true);
                    view.oom_seen = false;
                    out.push(PodEvent::Started {
                        service: service.clone(),
                        container_id: id.clone(),
                    });
                }
            }
            RunState::Exited {
                exit_code,
                oom_killed,
            } => {
                // A run not seen starting (before watching began, or during a gap) is reported
                // as started first, so every `Exited` follows a `Started`.
                let start_unseen = snapshot.started_nanos > view.started_nanos;
                if start_unseen && view.running != Some(true) {
                    out.push(PodEvent::Started {
                        service: service.clone(),
                        container_id: id.clone(),
                    });
                }
                if view.running != Some(false) || snapshot.finished_nanos > view.finished_nanos {
                    out.push(PodEvent::Exited {
                        service: service.clone(),
                        container_id: id.clone(),
                        exit_code,
                        oom_killed: oom_killed || view.oom_seen,
                    });
                }
                view.running = Some(false);
            }
        }
        view.started_nanos = view.started_nanos.max(snapshot.started_nanos);
        view.finished_nanos = view.finished_nanos.max(snapshot.finished_nanos);
        if let Some(status) = snapshot.health {
            if view.health != Some(status) {
                view.health = Some(status);
                out.push(PodEvent::Health {
                    service,
                    container_id: id,
                    status,
                });
            }
        }
        out
    }

    /// Records the event's key; false when it was already processed (a replay).
    fn remember(&mut self, event: &EngineEvent) -> bool {
        self.last_event_nanos = Some(
            self.last_event_nanos
                .map_or(event.time_nano, |last| last.max(event.time_nano)),
        );
        let key = EventKey {
            time_nano: event.time_nano,
            container_id: event.container_id.clone(),
            action: event.action.key(),
        };
        if !self.recent.insert(key.clone()) {
            return false;
        }
        self.recent_order.push_back(key);
        if self.recent_order.len() > REMEMBERED_EVENTS {
            if let Some(oldest) = self.recent_order.pop_front() {
                self.recent.remove(&oldest);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::running::{ContainerRole, PodContainer};

    fn pod() -> RunningPod {
        let container = |service: &str, id: &str, role| PodContainer {
            service: service.to_string(),
            id: id.to_string(),
            name: format!("p-{service}"),
            role,
            depends_on: Vec::new(),
            stop_signal: None,
            stop_grace_period: None,
        };
        RunningPod {
            project: "p".to_string(),
            containers: vec![
                container("infra", "i", ContainerRole::Infra),
                container("web", "w", ContainerRole::Service),
            ],
            networks: Vec::new(),
            volumes: Vec::new(),
            cgroup_parent: None,
        }
    }

    fn event(time_nano: i64, id: &str, action: EngineAction) -> EngineEvent {
        EngineEvent {
            time_nano,
            container_id: id.to_string(),
            service: None,
            action,
        }
    }

    fn running(started: i64, health: Option<HealthStatus>) -> Option<ContainerSnapshot> {
        Some(ContainerSnapshot {
            state: RunState::Running,
            started_nanos: started,
            finished_nanos: 0,
            health,
        })
    }

    fn exited(started: i64, finished: i64, exit_code: i64) -> Option<ContainerSnapshot> {
        Some(ContainerSnapshot {
            state: RunState::Exited {
                exit_code,
                oom_killed: false,
            },
            started_nanos: started,
            finished_nanos: finished,
            health: None,
        })
    }

    fn exited_web(exit_code: i64, oom_killed: bool) -> PodEvent {
        PodEvent::Exited {
            service: "web".into(),
            container_id: "w".into(),
            exit_code,
            oom_killed,
        }
    }

    fn started_web() -> PodEvent {
        PodEvent::Started {
            service: "web".into(),
            container_id: "w".into(),
        }
    }

    #[test]
    fn baseline_reports_current_state() {
        let mut state = PodState::new(&pod());
        assert_eq!(
            state.reconcile("w", running(10, Some(HealthStatus::Starting))),
            vec![
                started_web(),
                PodEvent::Health {
                    service: "web".into(),
                    container_id: "w".into(),
                    status: HealthStatus::Starting
                }
            ]
        );
        let infra = state.reconcile("i", exited(10, 20, 2));
        assert!(matches!(
            infra.as_slice(),
            [
                PodEvent::Started { .. },
                PodEvent::Exited { exit_code: 2, .. }
            ]
        ));
        let created = ContainerSnapshot {
            state: RunState::Created,
            started_nanos: 0,
            finished_nanos: 0,
            health: None,
        };
        let mut fresh = PodState::new(&pod());
        assert!(fresh.reconcile("w", Some(created)).is_empty());
    }

    #[test]
    fn exit_is_reported_once_and_replays_are_dropped() {
        let mut state = PodState::new(&pod());
        state.reconcile("w", running(10, None));
        let die = event(30, "w", EngineAction::Die { exit_code: 3 });
        assert_eq!(state.apply_event(&die, false), vec![exited_web(3, false)]);
        assert!(state.apply_event(&die, false).is_empty());
        assert!(!state.needs_oom_check(&die));
        assert_eq!(state.last_event_nanos(), Some(30));
    }

    #[test]
    fn oom_event_before_die_marks_the_exit() {
        let mut state = PodState::new(&pod());
        state.reconcile("w", running(10, None));
        assert!(state
            .apply_event(&event(20, "w", EngineAction::Oom), false)
            .is_empty());
        let die = event(21, "w", EngineAction::Die { exit_code: 137 });
        assert!(!state.needs_oom_check(&die));
        assert_eq!(state.apply_event(&die, false), vec![exited_web(137, true)]);
    }

    #[test]
    fn oom_found_by_inspect_marks_the_exit() {
        let mut state = PodState::new(&pod());
        state.reconcile("w", running(10, None));
        let die = event(21, "w", EngineAction::Die { exit_code: 137 });
        assert!(state.needs_oom_check(&die));
        assert_eq!(state.apply_event(&die, true), vec![exited_web(137, true)]);
    }

    #[test]
    fn exit_missed_during_a_gap_is_reported_once() {
        let mut state = PodState::new(&pod());
        state.reconcile("w", running(10, None));
        state.apply_event(&event(12, "i", EngineAction::Start), false);
        // Stream broke; web died at 40 (event logged at 41); reconcile runs before the replay.
        assert_eq!(
            state.reconcile("w", exited(10, 40, 5)),
            vec![exited_web(5, false)]
        );
        assert!(state.reconcile("i", running(11, None)).is_empty());
        // The replay (since=12) then delivers the old start and the die: both dropped.
        assert!(state
            .apply_event(&event(12, "i", EngineAction::Start), false)
            .is_empty());
        let die = event(41, "w", EngineAction::Die { exit_code: 5 });
        assert!(state.apply_event(&die, false).is_empty());
        // A later restart and exit are reported normally.
        assert_eq!(
            state.apply_event(&event(50, "w", EngineAction::Start), false),
            vec![started_web()]
        );
        let die = event(60, "w", EngineAction::Die { exit_code: 0 });
        assert_eq!(state.apply_event(&die, false), vec![exited_web(0, false)]);
    }

    #[test]
    fn restart_and_exit_both_missed_are_both_reported() {
        let mut state = PodState::new(&pod());
        state.reconcile("w", running(10, None));
        state.apply_event(&event(30, "w", EngineAction::Die { exit_code: 1 }), false);
        assert_eq!(
            state.reconcile("w", exited(50, 60, 2)),
            vec![started_web(), exited_web(2, false)]
        );
        assert!(state.reconcile("w", exited(50, 60, 2)).is_empty());
    }

    #[test]
    fn health_transitions_and_restart_resets_to_starting() {
        let mut state = PodState::new(&pod());
        state.reconcile("w", running(10, Some(HealthStatus::Starting)));
        let healthy = event(20, "w", EngineAction::Health(HealthStatus::Healthy));
        let unhealthy = event(30, "w", EngineAction::Health(HealthStatus::Unhealthy));
        assert_eq!(state.apply_event(&healthy, false).len(), 1);
        assert_eq!(state.apply_event(&unhealthy, false).len(), 1);
        state.apply_event(&event(40, "w", EngineAction::Die { exit_code: 1 }), false);
        let restart = state.apply_event(&event(50, "w", EngineAction::Start), false);
        assert_eq!(restart.len(), 2);
        assert!(matches!(
            restart[1],
            PodEvent::Health {
                status: HealthStatus::Starting,
                ..
            }
        ));
    }

    #[test]
    fn removal_seen_is_not_reported_as_lost() {
        let mut state = PodState::new(&pod());
        state.reconcile("w", running(10, None));
        assert_eq!(
            state.apply_event(&event(20, "w", EngineAction::Destroy), false),
            vec![PodEvent::Removed {
                service: "web".into(),
                container_id: "w".into()
            }]
        );
        assert!(state.reconcile("w", None).is_empty());
        assert_eq!(
            state.reconcile("i", None),
            vec![PodEvent::ContainerLost {
                service: "infra".into(),
                container_id: "i".into()
            }]
        );
    }

    #[test]
    fn unknown_container_of_the_pod_is_tracked_by_its_service_label() {
        let mut state = PodState::new(&pod());
        let mut start = event(10, "x", EngineAction::Start);
        start.service = Some("extra".into());
        assert_eq!(
            state.apply_event(&start, false),
            vec![PodEvent::Started {
                service: "extra".into(),
                container_id: "x".into()
            }]
        );
    }
}
