//! `dce reap`: remove the containers, networks and volumes of pods whose executor is gone
//! (SPEC §8), from cron, a systemd timer, or as a long-running `--watch` loop; with `--images`,
//! also the infra images of past dce builds that nothing uses.
//!
//! The decisions are the docker crate's reaper ([`docker::reap`]); this module is the operator's
//! view of them: one readable line per object, a summary, an exit code, and the watch loop.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;
use docker::reap::{
    KeepReason, ObjectKind, OrphanReason, ProcessIdentity, ReapEntry, ReapOptions, ReapOutcome,
    ReapReport, Verdict,
};
use tokio::signal::unix::{signal, SignalKind};

/// Examples shown at the end of `dce reap --help`.
const EXAMPLES: &str = "\
Examples:
  dce reap --dry-run              # list what would be removed, and why; remove nothing
  dce reap                        # one pass with the default 60s grace period (cron, systemd timer)
  dce reap --grace 5m --verbose   # also list what is kept, and why
  dce reap --watch 30s            # a pass every 30 seconds until SIGTERM/SIGINT (systemd service)
  dce reap --label io.dce.task-id=web.1234 --grace 0s   # one task's leftovers, now
  dce reap --images               # also remove unused dce-infra images of past dce builds

Only objects carrying dce's labels (io.dce.task-id, io.dce.executor-pid, io.dce.executor-start)
are considered; an object is removed when the executor process named by its labels no longer
exists (pid gone, or reused by a newer process) and the object is older than the grace period.
Run it on the agent host, in the host's pid namespace, as a user allowed to use the Docker socket
(and to remove cgroup directories, for the cgroup clean-up).

With --images, an infra image (dce-infra:<hash>, one per dce build) is removed when dce built it
(label io.dce.infra-image=true), no container, running or stopped, uses it, it is not the image
of this dce binary, and it is older than the grace period. Other images are never touched.

Exit status: 0 when every orphan was removed (or nothing was to do), 1 when a removal failed or
the Docker engine could not be reached, 2 on a usage error.";

/// Arguments of `dce reap`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct ReapArgs {
    /// Print what would be removed, and why; remove nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Keep orphans younger than this (a pod whose executor just died, or is still being
    /// labelled while it launches), e.g. `60s`, `5m`, `0s`.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub grace: Duration,
    /// Run a pass every INTERVAL (e.g. `30s`) until SIGTERM or SIGINT, instead of once.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_duration)]
    pub watch: Option<Duration>,
    /// How long an orphan container may take to stop before it is killed and removed.
    #[arg(
        long = "stop-grace",
        value_name = "DURATION",
        default_value = "2s",
        value_parser = parse_duration
    )]
    pub stop_grace: Duration,
    /// Only consider objects with this label (`KEY` or `KEY=VALUE`, repeatable), e.g.
    /// `io.dce.task-id=web.1234`.
    #[arg(long = "label", value_name = "KEY[=VALUE]")]
    pub labels: Vec<String>,
    /// Also remove the infra images dce built (`dce-infra:*`) that no container uses, except
    /// this binary's own, once older than the grace period.
    #[arg(long)]
    pub images: bool,
    /// Also print the objects that are kept, and why.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print each pass's full report as one JSON document instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Logging of the operator commands (`reap`, `up`): their output is their printed lines, so
/// only warnings and errors are logged unless `DCE_LOG` (or `RUST_LOG`) asks for more.
pub(crate) fn init_logging() {
    let filter = std::env::var("DCE_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|text| tracing_subscriber::EnvFilter::try_new(text).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `--grace 60s`-style durations, with the same syntax as the config file.
fn parse_duration(text: &str) -> Result<Duration, String> {
    pod::config::parse_duration(text)
}

/// Runs `dce reap`; returns the process exit code.
pub fn run(args: ReapArgs) -> anyhow::Result<i32> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match runtime.block_on(run_async(args)) {
        Ok(code) => Ok(code),
        Err(error) => {
            eprintln!("dce reap: {error:#}");
            Ok(1)
        }
    }
}

async fn run_async(args: ReapArgs) -> anyhow::Result<i32> {
    let options = ReapOptions {
        grace: args.grace,
        dry_run: args.dry_run,
        stop_grace: args.stop_grace,
        scope: args.labels.clone(),
        images: args.images,
    };
    let Some(interval) = args.watch else {
        let docker = connect().await?;
        let report = docker::reap(&docker, &options)
            .await
            .context("the reaper could not list dce's objects")?;
        print_report(&report, &args);
        return Ok(exit_code(&report));
    };
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tracing::info!(interval = ?interval, grace = ?args.grace, "reaping every interval until SIGTERM/SIGINT");
    loop {
        // A failing pass (engine restarting) is reported and retried at the next interval.
        match connect().await {
            Ok(docker) => match docker::reap(&docker, &options).await {
                Ok(report) => print_report(&report, &args),
                Err(error) => eprintln!("dce reap: pass failed: {error}"),
            },
            Err(error) => eprintln!("dce reap: pass skipped: {error:#}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    Ok(0)
}

async fn connect() -> anyhow::Result<bollard::Docker> {
    let endpoint = docker::EngineEndpoint::from_env();
    docker::connect(&endpoint).await.with_context(|| {
        format!(
            "the Docker engine is needed to find dce's objects (set DOCKER_HOST if it does not \
             listen on {})",
            docker::client::DEFAULT_HOST
        )
    })
}

fn print_report(report: &ReapReport, args: &ReapArgs) {
    if args.json {
        match serde_json::to_string(report) {
            Ok(json) => println!("{json}"),
            Err(error) => eprintln!("dce reap: cannot encode the report: {error}"),
        }
        return;
    }
    print!("{}", report_lines(report, args.verbose));
}

/// 1 when any removal failed, else 0.
fn exit_code(report: &ReapReport) -> i32 {
    let failed = report
        .entries
        .iter()
        .any(|e| matches!(e.outcome, ReapOutcome::Failed { .. }));
    if failed || !report.errors.is_empty() || !report.cgroups.errors.is_empty() {
        1
    } else {
        0
    }
}

/// The report as text: one line per orphan (removed, would remove, failed), per orphan still
/// within the grace period, per kept object when `verbose`; then cgroup directories, errors and
/// a summary (the summary only when there was something to say).
fn report_lines(report: &ReapReport, verbose: bool) -> String {
    let mut text = String::new();
    for entry in &report.entries {
        let young = matches!(entry.verdict, Verdict::Keep(KeepReason::TooYoung { .. }));
        if matches!(entry.verdict, Verdict::Orphan(_)) || young || verbose {
            let _ = writeln!(text, "{}", entry_line(entry));
        }
    }
    for dir in &report.cgroups.removed {
        let _ = writeln!(text, "removed cgroup directory {}", dir.display());
    }
    for dir in &report.cgroups.in_use {
        let _ = writeln!(
            text,
            "kept cgroup directory {}: it still holds processes or child groups",
            dir.display()
        );
    }
    for error in report.errors.iter().chain(&report.cgroups.errors) {
        let _ = writeln!(text, "error: {error}");
    }
    let count =
        |wanted: fn(&ReapEntry) -> bool| report.entries.iter().filter(|e| wanted(e)).count();
    let removed = count(|e| e.outcome == ReapOutcome::Removed);
    let would = count(|e| e.outcome == ReapOutcome::WouldRemove);
    let failed = count(|e| matches!(e.outcome, ReapOutcome::Failed { .. }));
    let waiting = count(|e| matches!(e.verdict, Verdict::Keep(KeepReason::TooYoung { .. })));
    let kept = count(|e| e.outcome == ReapOutcome::Kept);
    if removed + would + failed + waiting > 0 || verbose || !report.errors.is_empty() {
        let action = if report.dry_run {
            format!("{would} would be removed")
        } else {
            format!("{removed} removed, {failed} failed")
        };
        let _ = writeln!(
            text,
            "reap{}: {action}, {kept} kept ({waiting} orphans within the grace period), {} scanned",
            if report.dry_run { " (dry run)" } else { "" },
            report.entries.len()
        );
    }
    text
}

/// `removed container dce-t1-web-1 (3f2a1b9c0d1e) of task t1: executor pid 42 is gone`.
fn entry_line(entry: &ReapEntry) -> String {
    let action = match &entry.outcome {
        ReapOutcome::Removed => "removed",
        ReapOutcome::WouldRemove => "would remove",
        ReapOutcome::Kept => "kept",
        ReapOutcome::Failed { .. } => "failed to remove",
    };
    let kind = match entry.kind {
        ObjectKind::Container => "container",
        ObjectKind::Network => "network",
        ObjectKind::Volume => "volume",
        ObjectKind::Image => "image",
    };
    let mut object = format!("{kind} {}", entry.name);
    if entry.kind != ObjectKind::Volume && entry.id != entry.name {
        let short: String = entry
            .id
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect();
        let _ = write!(object, " ({short})");
    }
    if let Some(task) = &entry.task_id {
        let _ = write!(object, " of task {task}");
    }
    let why = match &entry.verdict {
        Verdict::Orphan(reason) => orphan_text(reason),
        Verdict::Keep(reason) => keep_text(reason),
    };
    match &entry.outcome {
        ReapOutcome::Failed { error } => format!("{action} {object}: {why}; {error}"),
        _ => format!("{action} {object}: {why}"),
    }
}

fn executor_text(executor: &ProcessIdentity) -> String {
    format!(
        "executor pid {} (started at tick {})",
        executor.pid, executor.start_ticks
    )
}

fn orphan_text(reason: &OrphanReason) -> String {
    match reason {
        OrphanReason::ExecutorGone { executor } => {
            format!("{} is gone", executor_text(executor))
        }
        OrphanReason::ExecutorPidReused { executor, .. } => format!(
            "{} is gone (the pid now belongs to a newer process)",
            executor_text(executor)
        ),
        OrphanReason::ImageUnused => {
            "no container uses it and it is not this dce's own image".to_string()
        }
    }
}

fn keep_text(reason: &KeepReason) -> String {
    match reason {
        KeepReason::ExecutorAlive { executor } => {
            format!("{} is alive", executor_text(executor))
        }
        KeepReason::TooYoung { orphan, age } => format!(
            "{}, but the object is only {} old (within the grace period)",
            orphan_text(orphan),
            whole_seconds(*age)
        ),
        KeepReason::AgeUnknown { orphan } => format!(
            "{}, but the engine reports no creation time, so the grace period cannot be checked",
            orphan_text(orphan)
        ),
        KeepReason::NoExecutorLabels => {
            "it has no readable executor pid/start labels, so its owner is unknown".to_string()
        }
        KeepReason::ProcUnreadable { error } => {
            format!("the executor's /proc entry could not be read ({error})")
        }
        KeepReason::ImageInUse { containers } => {
            format!("{containers} container(s) use it")
        }
        KeepReason::RunningBinaryImage => "it is the image of this dce binary".to_string(),
    }
}

fn whole_seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: ObjectKind, verdict: Verdict, outcome: ReapOutcome) -> ReapEntry {
        ReapEntry {
            kind,
            id: "3f2a1b9c0d1e2f3a4b5c".into(),
            name: "dce-t1-web-1".into(),
            task_id: Some("t1".into()),
            project: Some("dce-t1".into()),
            verdict,
            outcome,
        }
    }

    const GONE: OrphanReason = OrphanReason::ExecutorGone {
        executor: ProcessIdentity {
            pid: 42,
            start_ticks: 1000,
        },
    };

    #[test]
    fn one_line_per_object_says_what_and_why() {
        let removed = entry(
            ObjectKind::Container,
            Verdict::Orphan(GONE),
            ReapOutcome::Removed,
        );
        assert_eq!(
            entry_line(&removed),
            "removed container dce-t1-web-1 (3f2a1b9c0d1e) of task t1: executor pid 42 \
             (started at tick 1000) is gone"
        );
        let young = entry(
            ObjectKind::Volume,
            Verdict::Keep(KeepReason::TooYoung {
                orphan: GONE,
                age: Duration::from_millis(12_500),
            }),
            ReapOutcome::Kept,
        );
        let line = entry_line(&young);
        assert!(line.starts_with("kept volume dce-t1-web-1 of task t1: executor pid 42"));
        assert!(
            line.ends_with("only 12s old (within the grace period)"),
            "{line}"
        );
        let failed = entry(
            ObjectKind::Network,
            Verdict::Orphan(GONE),
            ReapOutcome::Failed {
                error: "network has active endpoints".into(),
            },
        );
        assert!(entry_line(&failed).starts_with("failed to remove network"));
        assert!(entry_line(&failed).ends_with("; network has active endpoints"));
    }

    #[test]
    fn kept_objects_only_when_verbose_and_summary_only_when_relevant() {
        let alive = entry(
            ObjectKind::Container,
            Verdict::Keep(KeepReason::ExecutorAlive {
                executor: ProcessIdentity {
                    pid: 7,
                    start_ticks: 1,
                },
            }),
            ReapOutcome::Kept,
        );
        let quiet = ReapReport {
            entries: vec![alive.clone()],
            ..Default::default()
        };
        assert_eq!(report_lines(&quiet, false), "");
        let verbose = report_lines(&quiet, true);
        assert!(verbose.contains("kept container dce-t1-web-1"), "{verbose}");
        assert!(verbose.contains("is alive"));
        assert!(verbose.ends_with(
            "0 removed, 0 failed, 1 kept (0 orphans within the grace period), 1 scanned\n"
        ));

        let dry = ReapReport {
            dry_run: true,
            entries: vec![
                alive,
                entry(
                    ObjectKind::Container,
                    Verdict::Orphan(GONE),
                    ReapOutcome::WouldRemove,
                ),
            ],
            ..Default::default()
        };
        let text = report_lines(&dry, false);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.starts_with("would remove container"));
        assert!(text.contains("reap (dry run): 1 would be removed, 1 kept"));
        assert_eq!(exit_code(&dry), 0);
    }

    #[test]
    fn image_lines_name_the_tags_and_a_short_id() {
        let image = |verdict, outcome| ReapEntry {
            kind: ObjectKind::Image,
            id: "sha256:e7689b1b9d82aaaa".into(),
            name: "dce-infra:3ad0c0619476da1d".into(),
            task_id: None,
            project: None,
            verdict,
            outcome,
        };
        let removed = image(
            Verdict::Orphan(OrphanReason::ImageUnused),
            ReapOutcome::Removed,
        );
        assert_eq!(
            entry_line(&removed),
            "removed image dce-infra:3ad0c0619476da1d (e7689b1b9d82): no container uses it and \
             it is not this dce's own image"
        );
        let used = image(
            Verdict::Keep(KeepReason::ImageInUse { containers: 2 }),
            ReapOutcome::Kept,
        );
        assert!(entry_line(&used).ends_with(": 2 container(s) use it"));
        let own = image(
            Verdict::Keep(KeepReason::RunningBinaryImage),
            ReapOutcome::Kept,
        );
        assert!(entry_line(&own).ends_with(": it is the image of this dce binary"));
    }

    #[test]
    fn images_are_pruned_only_when_asked() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            reap: ReapArgs,
        }
        let parse = |args: &[&str]| <Cli as clap::Parser>::try_parse_from(args).unwrap().reap;
        assert!(!parse(&["reap"]).images);
        assert!(parse(&["reap", "--images", "--dry-run"]).images);
    }

    #[test]
    fn a_failed_removal_is_a_non_zero_exit() {
        let report = ReapReport {
            entries: vec![entry(
                ObjectKind::Volume,
                Verdict::Orphan(GONE),
                ReapOutcome::Failed {
                    error: "volume is in use".into(),
                },
            )],
            ..Default::default()
        };
        assert_eq!(exit_code(&report), 1);
        assert_eq!(exit_code(&ReapReport::default()), 0);
    }
}
