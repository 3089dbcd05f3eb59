//! Reaping pods whose executor is gone (SPEC §8): if the executor was SIGKILLed it could not
//! tear its pod down, so `dce reap` finds dce-labelled containers, networks and volumes whose
//! executor process (pid + start-time labels) no longer exists and that are older than a grace
//! period, and removes them. Objects without dce's labels are never touched. On request it
//! also prunes the infra images of past dce builds ([`images`]).
//!
//! The reaper must see the executors' pids: run it in the host's pid namespace.

mod images;
mod process;

pub use process::{start_ticks, Liveness, ProcessIdentity};

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use bollard::Docker;
use serde::Serialize;
use tracing::info;

use crate::cgroup::CgroupRemoval;
use crate::events::time::{now_nanos, parse_rfc3339_nanos};
use crate::labels;
use crate::remove::{LabelledObjects, RemovalReport, RemoveError, RemoveOptions, Teardown};

/// How the reaper decides and acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReapOptions {
    /// Objects younger than this are kept even when their executor is gone (it may be a launch
    /// in progress whose labels are being written, or a clock skew).
    pub grace: Duration,
    /// List what would be removed, remove nothing.
    pub dry_run: bool,
    /// Timeout of the engine `stop` before an orphan container is removed.
    pub stop_grace: Duration,
    /// Extra `label` filters (`key` or `key=value`) narrowing the scan, e.g. one task.
    pub scope: Vec<String>,
    /// Also remove the infra images dce built (`dce-infra:*`, labelled
    /// `io.dce.infra-image=true`) that no container uses, other than the running binary's,
    /// older than `grace`.
    pub images: bool,
}

impl Default for ReapOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(60),
            dry_run: false,
            stop_grace: Duration::from_secs(2),
            scope: Vec::new(),
            images: false,
        }
    }
}

/// Kind of engine object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ObjectKind {
    Container,
    Network,
    Volume,
    /// An infra image dce built (only with [`ReapOptions::images`]).
    Image,
}

/// Why an object is an orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OrphanReason {
    /// No process has the labelled pid.
    ExecutorGone { executor: ProcessIdentity },
    /// The pid belongs to a newer process.
    ExecutorPidReused {
        executor: ProcessIdentity,
        actual_start_ticks: u64,
    },
    /// An infra image no container uses, not the running binary's.
    ImageUnused,
}

/// Why an object is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum KeepReason {
    /// Its executor still runs.
    ExecutorAlive { executor: ProcessIdentity },
    /// It is an orphan but younger than the grace period.
    TooYoung { orphan: OrphanReason, age: Duration },
    /// Its creation time is unknown, so the grace cannot be checked.
    AgeUnknown { orphan: OrphanReason },
    /// It lacks the executor pid/start labels (or they do not parse), so ownership is unknown.
    NoExecutorLabels,
    /// `/proc` could not be read for its executor.
    ProcUnreadable { error: String },
    /// An infra image that containers (running or stopped) still use.
    ImageInUse { containers: usize },
    /// The infra image of the running dce binary.
    RunningBinaryImage,
}

/// The reaper's decision about one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Orphan(OrphanReason),
    Keep(KeepReason),
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ReapOutcome {
    /// Removed (or found already gone while removing).
    Removed,
    /// Dry run: would have been removed.
    WouldRemove,
    /// Not an orphan, or too young.
    Kept,
    /// A named volume still in use, or an engine error.
    Failed { error: String },
}

/// One dce-labelled object the reaper looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReapEntry {
    pub kind: ObjectKind,
    /// Container, network or image id, volume name.
    pub id: String,
    /// Container or network name, volume name, an image's `dce-infra` tags (comma-separated).
    pub name: String,
    pub task_id: Option<String>,
    pub project: Option<String>,
    pub verdict: Verdict,
    pub outcome: ReapOutcome,
}

/// Everything one reaper pass saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReapReport {
    pub dry_run: bool,
    pub entries: Vec<ReapEntry>,
    /// Cgroup directories of orphan containers' cgroup parents.
    pub cgroups: CgroupRemoval,
    /// Failures not tied to one listed object.
    pub errors: Vec<String>,
}

impl ReapReport {
    /// Entries judged orphans (removed, would be removed, or failed).
    pub fn orphans(&self) -> impl Iterator<Item = &ReapEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.verdict, Verdict::Orphan(_)))
    }
}

/// One reaper pass over the engine.
pub async fn reap(docker: &Docker, options: &ReapOptions) -> Result<ReapReport, RemoveError> {
    let mut filters = vec![labels::TASK_ID.to_string()];
    filters.extend(options.scope.iter().cloned());
    let found = list_labelled(docker, &filters).await?;
    let now = now_nanos();
    let mut liveness = HashMap::new();
    let mut entries: Vec<ReapEntry> = found
        .into_iter()
        .map(|object| {
            let verdict = judge(&object, now, options.grace, &mut liveness);
            let outcome = planned_outcome(&verdict, options.dry_run);
            ReapEntry {
                kind: object.kind,
                id: object.id,
                name: object.name,
                task_id: object.labels.get(labels::TASK_ID).cloned(),
                project: object.labels.get(labels::COMPOSE_PROJECT).cloned(),
                verdict,
                outcome,
            }
        })
        .collect();
    let mut report = ReapReport {
        dry_run: options.dry_run,
        ..Default::default()
    };
    let orphans = entries
        .iter()
        .filter(|e| matches!(e.verdict, Verdict::Orphan(_)));
    info!(
        scanned = entries.len(),
        orphans = orphans.clone().count(),
        dry_run = options.dry_run,
        "reaper pass"
    );
    if !options.dry_run {
        let teardown = teardown_of(docker, orphans).await;
        let removal = teardown
            .run(
                docker,
                &RemoveOptions {
                    named_volumes: true,
                    stop_grace: Some(options.stop_grace),
                },
            )
            .await;
        apply_failures(&mut entries, &removal, &mut report.errors);
        report.cgroups = removal.cgroups;
    }
    if options.images {
        // After the teardown, so images only orphan containers used go in the same pass; a
        // dry run discounts those containers instead.
        let orphan_containers: HashSet<String> = entries
            .iter()
            .filter(|e| e.kind == ObjectKind::Container && e.outcome == ReapOutcome::WouldRemove)
            .map(|e| e.id.clone())
            .collect();
        let mut image_entries =
            images::judge_images(docker, options, now, &orphan_containers).await?;
        if !options.dry_run {
            images::remove_images(docker, &mut image_entries).await;
        }
        info!(
            scanned = image_entries.len(),
            orphans = image_entries
                .iter()
                .filter(|e| matches!(e.verdict, Verdict::Orphan(_)))
                .count(),
            dry_run = options.dry_run,
            "image pass"
        );
        entries.extend(image_entries);
    }
    report.entries = entries;
    Ok(report)
}

/// The outcome before acting: `Removed` stands until a removal fails.
fn planned_outcome(verdict: &Verdict, dry_run: bool) -> ReapOutcome {
    match (verdict, dry_run) {
        (Verdict::Keep(_), _) => ReapOutcome::Kept,
        (Verdict::Orphan(_), true) => ReapOutcome::WouldRemove,
        (Verdict::Orphan(_), false) => ReapOutcome::Removed,
    }
}

/// A labelled object, kind-independent.
struct Labelled {
    kind: ObjectKind,
    id: String,
    name: String,
    labels: HashMap<String, String>,
    created_nanos: Option<i64>,
}

async fn list_labelled(docker: &Docker, filters: &[String]) -> Result<Vec<Labelled>, RemoveError> {
    let LabelledObjects {
        containers,
        networks,
        volumes,
    } = LabelledObjects::list(docker, filters).await?;
    let mut found = Vec::new();
    for container in containers {
        let Some(id) = container.id else { continue };
        found.push(Labelled {
            kind: ObjectKind::Container,
            name: container
                .names
                .and_then(|names| names.into_iter().next())
                .map(|name| name.trim_start_matches('/').to_string())
                .unwrap_or_else(|| id.clone()),
            id,
            labels: container.labels.unwrap_or_default(),
            created_nanos: container
                .created
                .map(|secs| secs.saturating_mul(1_000_000_000)),
        });
    }
    for network in networks {
        let Some(id) = network.id else { continue };
        found.push(Labelled {
            kind: ObjectKind::Network,
            name: network.name.unwrap_or_else(|| id.clone()),
            id,
            labels: network.labels.unwrap_or_default(),
            created_nanos: date_nanos(&network.created),
        });
    }
    for volume in volumes {
        found.push(Labelled {
            kind: ObjectKind::Volume,
            id: volume.name.clone(),
            name: volume.name,
            labels: volume.labels,
            created_nanos: date_nanos(&volume.created_at),
        });
    }
    Ok(found)
}

/// An engine date (a string, or a date type when another crate enables bollard's date
/// features; both serialize as RFC 3339) in nanoseconds.
fn date_nanos<T: Serialize>(date: &Option<T>) -> Option<i64> {
    let value = serde_json::to_value(date.as_ref()?).ok()?;
    parse_rfc3339_nanos(value.as_str()?)
}

fn judge(
    object: &Labelled,
    now_nanos: i64,
    grace: Duration,
    liveness: &mut HashMap<ProcessIdentity, Result<Liveness, String>>,
) -> Verdict {
    let pid = object
        .labels
        .get(labels::EXECUTOR_PID)
        .and_then(|p| p.parse().ok());
    let start = object
        .labels
        .get(labels::EXECUTOR_START)
        .and_then(|s| s.parse().ok());
    let (Some(pid), Some(start_ticks)) = (pid, start) else {
        return Verdict::Keep(KeepReason::NoExecutorLabels);
    };
    let executor = ProcessIdentity { pid, start_ticks };
    let state = liveness
        .entry(executor)
        .or_insert_with(|| executor.liveness().map_err(|e| e.to_string()))
        .clone();
    let orphan = match state {
        Err(error) => return Verdict::Keep(KeepReason::ProcUnreadable { error }),
        Ok(Liveness::Alive) => return Verdict::Keep(KeepReason::ExecutorAlive { executor }),
        Ok(Liveness::Gone) => OrphanReason::ExecutorGone { executor },
        Ok(Liveness::PidReused { actual_start_ticks }) => OrphanReason::ExecutorPidReused {
            executor,
            actual_start_ticks,
        },
    };
    let Some(created) = object.created_nanos else {
        return Verdict::Keep(KeepReason::AgeUnknown { orphan });
    };
    let age = Duration::from_nanos(u64::try_from(now_nanos.saturating_sub(created)).unwrap_or(0));
    if age < grace {
        return Verdict::Keep(KeepReason::TooYoung { orphan, age });
    }
    Verdict::Orphan(orphan)
}

/// The orphans as one teardown (containers first, then networks, volumes, cgroup parents).
async fn teardown_of<'a>(
    docker: &Docker,
    orphans: impl Iterator<Item = &'a ReapEntry>,
) -> Teardown {
    let mut teardown = Teardown::default();
    for entry in orphans {
        match entry.kind {
            ObjectKind::Container => teardown.containers.push(entry.id.clone()),
            ObjectKind::Network => teardown.networks.push(entry.id.clone()),
            ObjectKind::Volume => teardown.volumes.push((entry.id.clone(), true)),
            ObjectKind::Image => {}
        }
    }
    teardown.cgroup_parents = crate::remove::cgroup_parents(docker, &teardown.containers).await;
    teardown
}

/// Marks the entries whose removal failed; errors naming no entry go to `errors`.
fn apply_failures(entries: &mut [ReapEntry], removal: &RemovalReport, errors: &mut Vec<String>) {
    let mut matched = BTreeSet::new();
    for entry in entries.iter_mut() {
        if entry.outcome != ReapOutcome::Removed {
            continue;
        }
        if let Some(error) = removal.errors.iter().find(|e| e.contains(&entry.id)) {
            matched.insert(error.clone());
            entry.outcome = ReapOutcome::Failed {
                error: error.clone(),
            };
        }
    }
    errors.extend(
        removal
            .errors
            .iter()
            .filter(|e| !matched.contains(*e))
            .cloned(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(labels: &[(&str, &str)], created_nanos: Option<i64>) -> Labelled {
        Labelled {
            kind: ObjectKind::Container,
            id: "c".into(),
            name: "c".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            created_nanos,
        }
    }

    #[test]
    fn verdicts_follow_executor_liveness_and_age() {
        let me = ProcessIdentity::current().unwrap();
        let pid = me.pid.to_string();
        let start = me.start_ticks.to_string();
        let wrong_start = (me.start_ticks + 1).to_string();
        let now = now_nanos();
        let hour = Duration::from_secs(3600);
        let old = Some(now - 2 * 3_600_000_000_000);
        let mut cache = HashMap::new();

        let alive = labelled(
            &[
                (labels::EXECUTOR_PID, &pid),
                (labels::EXECUTOR_START, &start),
            ],
            old,
        );
        assert!(matches!(
            judge(&alive, now, hour, &mut cache),
            Verdict::Keep(KeepReason::ExecutorAlive { .. })
        ));
        let reused = labelled(
            &[
                (labels::EXECUTOR_PID, &pid),
                (labels::EXECUTOR_START, &wrong_start),
            ],
            old,
        );
        assert!(matches!(
            judge(&reused, now, hour, &mut cache),
            Verdict::Orphan(OrphanReason::ExecutorPidReused { .. })
        ));
        let young = labelled(
            &[
                (labels::EXECUTOR_PID, &pid),
                (labels::EXECUTOR_START, &wrong_start),
            ],
            Some(now),
        );
        assert!(matches!(
            judge(&young, now, hour, &mut cache),
            Verdict::Keep(KeepReason::TooYoung { .. })
        ));
        let unlabelled = labelled(&[(labels::EXECUTOR_PID, "x")], old);
        assert_eq!(
            judge(&unlabelled, now, hour, &mut cache),
            Verdict::Keep(KeepReason::NoExecutorLabels)
        );
    }

    #[test]
    fn dates_parse_from_engine_strings() {
        assert_eq!(
            date_nanos(&Some("1970-01-01T00:00:01Z".to_string())),
            Some(1_000_000_000)
        );
        assert_eq!(date_nanos::<String>(&None), None);
    }
}
