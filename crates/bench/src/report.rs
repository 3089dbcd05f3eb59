//! The printed report: Markdown tables (ready for BENCHMARKS.md) and the SPEC §11 verdicts.

use std::collections::HashMap;
use std::fmt::Write;
use std::time::Duration;

use crate::density::{DensityResult, PodNetworks};
use crate::footprint::Footprint;
use crate::launch::{Method, UpDown};
use crate::machine::Machine;
use crate::stats::{ratio, Summary};

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Results {
    /// Pod sizes measured, in order.
    pub sizes: Vec<usize>,
    /// Launch repetitions per method and size.
    pub reps: usize,
    /// Up/down samples per (method, size).
    pub launches: HashMap<(Method, usize), Vec<UpDown>>,
    /// Methods that could not run, with why.
    pub unavailable: Vec<(Method, String)>,
    /// Failure-detection latencies, and how many ended in TASK_FAILED.
    pub detections: Vec<Duration>,
    /// Failure runs whose terminal state was TASK_FAILED.
    pub detections_failed: usize,
    /// The executor's footprint with one pod of `usize` services, per variant (a label).
    pub footprints: Vec<(String, usize, Footprint)>,
    /// Density runs.
    pub density: Vec<(PodNetworks, usize, DensityResult)>,
    /// Problems met along the way (a method's error), reported rather than fatal.
    pub errors: Vec<String>,
}

impl Results {
    fn summary(&self, method: Method, size: usize, up: bool) -> Option<Summary> {
        let samples = self.launches.get(&(method, size))?;
        let values: Vec<Duration> = samples
            .iter()
            .map(|s| if up { s.up } else { s.down })
            .collect();
        Summary::of(&values)
    }
}

/// Renders the report.
pub fn render(machine: &Machine, load: (&str, &str), results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Machine\n\n| | |\n|---|---|");
    for (key, value) in &machine.lines {
        let _ = writeln!(out, "| {key} | {value} |");
    }
    let _ = writeln!(
        out,
        "| load average (1/5/15 min) | start {} · end {} |",
        load.0, load.1
    );
    for (method, why) in &results.unavailable {
        let _ = writeln!(out, "\n{} unavailable: {why}", method.label());
    }
    launch_table(&mut out, results, true);
    launch_steps(&mut out, results);
    launch_table(&mut out, results, false);
    detection(&mut out, results);
    footprint(&mut out, results);
    density(&mut out, results);
    targets(&mut out, results);
    if !results.errors.is_empty() {
        let _ = writeln!(out, "\n### Errors during the run\n");
        for error in &results.errors {
            let _ = writeln!(out, "- {error}");
        }
    }
    out
}

fn launch_table(out: &mut String, results: &Results, up: bool) {
    let (title, what) = if up {
        (
            "Pod launch",
            "dce: LAUNCH sent → TASK_RUNNING received; compose: `up -d`; floor: create + start",
        )
    } else {
        (
            "Pod teardown",
            "dce: KILL sent → TASK_KILLED received; compose: `down`; floor: stop + remove",
        )
    };
    let _ = writeln!(
        out,
        "\n### {title} (ms, median (min–max) of {} interleaved runs)\n\n{what}\n",
        results.reps
    );
    let _ = writeln!(
        out,
        "| pod | dce | compose v1 | compose v2 | floor | dce/v1 | dce/v2 | dce/floor |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for &size in &results.sizes {
        let cell = |m| {
            results
                .summary(m, size, up)
                .map(|s| s.millis())
                .unwrap_or_else(|| "–".into())
        };
        let dce = results.summary(Method::Dce, size, up);
        let _ = writeln!(
            out,
            "| {size} service{} | {} | {} | {} | {} | {} | {} | {} |",
            if size == 1 { "" } else { "s" },
            cell(Method::Dce),
            cell(Method::ComposeV1),
            cell(Method::ComposeV2),
            cell(Method::Floor),
            ratio(dce, results.summary(Method::ComposeV1, size, up)),
            ratio(dce, results.summary(Method::ComposeV2, size, up)),
            ratio(dce, results.summary(Method::Floor, size, up)),
        );
    }
}

/// Medians of the executor's own launch step timings per pod size, and what is left of
/// LAUNCH → TASK_RUNNING outside its launch task.
fn launch_steps(out: &mut String, results: &Results) {
    let samples = |size| {
        results
            .launches
            .get(&(Method::Dce, size))
            .cloned()
            .unwrap_or_default()
    };
    let Some(keys) = results
        .sizes
        .iter()
        .flat_map(|size| samples(*size))
        .map(|s| s.steps.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
        .find(|keys| !keys.is_empty())
    else {
        return;
    };
    let _ = writeln!(
        out,
        "\nWhere dce's launch time goes (ms, medians of the executor's `pod created` log fields; `launch_ms` is the executor's launch task from planning to the containers' facts, the rest is LAUNCH delivery, task setup, the watcher seeing every container run and the TASK_RUNNING update):\n"
    );
    let header: Vec<String> = results.sizes.iter().map(|n| format!("{n} svc")).collect();
    let _ = writeln!(out, "| step | {} |", header.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(results.sizes.len()));
    let median_of = |size: usize, value: &dyn Fn(&UpDown) -> Option<f64>| {
        let mut values: Vec<f64> = samples(size).iter().filter_map(value).collect();
        Summary::of_secs(&mut values)
            .map(|s| format!("{:.0}", s.median))
            .unwrap_or_else(|| "–".into())
    };
    let step = |sample: &UpDown, key: &str| {
        sample
            .steps
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v as f64)
    };
    for key in &keys {
        let cells: Vec<String> = results
            .sizes
            .iter()
            .map(|&n| median_of(n, &|s| step(s, key)))
            .collect();
        let _ = writeln!(out, "| {key} | {} |", cells.join(" | "));
    }
    let rest: Vec<String> = results
        .sizes
        .iter()
        .map(|&n| {
            median_of(n, &|s| {
                Some(s.up.as_secs_f64() * 1e3 - step(s, "launch_ms")?)
            })
        })
        .collect();
    let _ = writeln!(
        out,
        "| LAUNCH → RUNNING minus launch_ms | {} |",
        rest.join(" | ")
    );
}

fn detection(out: &mut String, results: &Results) {
    let _ = writeln!(out, "\n### Failure detection\n");
    match Summary::of(&results.detections) {
        Some(s) => {
            let _ = writeln!(
                out,
                "A service exits 1 after 1.5–2.5 s; container `State.FinishedAt` → terminal update received by the stand-in: median {:.1} ms (min {:.1}, max {:.1}) over {} runs; {} of them TASK_FAILED.",
                s.median * 1e3,
                s.min * 1e3,
                s.max * 1e3,
                s.count,
                results.detections_failed
            );
        }
        None => {
            let _ = writeln!(out, "not measured");
        }
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn footprint(out: &mut String, results: &Results) {
    let _ = writeln!(out, "\n### Executor footprint\n");
    if results.footprints.is_empty() {
        let _ = writeln!(out, "not measured");
        return;
    }
    let _ = writeln!(
        out,
        "One `dce executor` with one running pod, idle after TASK_RUNNING; /proc/<pid>/status and /proc/<pid>/stat:\n\n| variant | pod | idle window | peak RSS (VmHWM) | steady RSS (VmRSS) | of which anon / file | CPU, start → RUNNING | CPU while idle |\n|---|---|---|---|---|---|---|---|"
    );
    for (variant, size, f) in &results.footprints {
        let share = f.idle_cpu.as_secs_f64() / f.idle.as_secs_f64() * 100.0;
        let _ = writeln!(
            out,
            "| {variant} | {size} services | {} s | {:.1} MiB | {:.1} MiB | {:.1} / {:.1} MiB | {} ms | {} ms ({share:.2} % of one core) |",
            f.idle.as_secs(),
            mib(f.peak_rss_kib),
            mib(f.steady_rss_kib),
            mib(f.anon_rss_kib),
            mib(f.file_rss_kib),
            f.launch_cpu.as_millis(),
            f.idle_cpu.as_millis(),
        );
    }
}

fn density(out: &mut String, results: &Results) {
    let _ = writeln!(out, "\n### Density\n\nN pods launched together, one `dce executor` per pod, each under its own agent stand-in.\n");
    let _ = writeln!(out, "| pods × services | infra network | RUNNING | first LAUNCH → last RUNNING | median own launch | KILLED | first KILL → last KILLED | executors' RSS / PSS total | left behind |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for (networks, services, d) in &results.density {
        let network = match networks {
            PodNetworks::PerPod => "per pod",
            PodNetworks::Shared => "one shared",
        };
        let left = if d.left.is_empty() {
            "nothing".to_string()
        } else {
            format!("{} objects", d.left.len())
        };
        let _ = writeln!(
            out,
            "| {} × {services} | {network} | {}/{} | {:.2} s | {:.2} s | {}/{} | {:.2} s | {:.1} / {:.1} MiB | {left} |",
            d.pods,
            d.running,
            d.pods,
            d.all_running.as_secs_f64(),
            d.median_running.as_secs_f64(),
            d.killed,
            d.pods,
            d.all_killed.as_secs_f64(),
            mib(d.total_rss_kib),
            mib(d.total_pss_kib),
        );
    }
    for (networks, _, d) in &results.density {
        if let Some(failure) = &d.first_failure {
            let _ = writeln!(
                out,
                "\n{} pods, {networks:?} networks, first failure: {failure}",
                d.pods
            );
        }
        if !d.left.is_empty() {
            let _ = writeln!(out, "\n{} pods left: {}", d.pods, d.left.join(", "));
        }
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn targets(out: &mut String, results: &Results) {
    let _ = writeln!(
        out,
        "\n### SPEC §11 targets\n\n| target | measured | verdict |\n|---|---|---|"
    );
    let dce = results.summary(Method::Dce, 3, true);
    for (method, limit) in [
        (Method::ComposeV1, 0.5),
        (Method::ComposeV2, 0.8),
        (Method::Floor, 1.2),
    ] {
        let other = results.summary(method, 3, true);
        let r = dce.zip(other).map(|(a, b)| a.median / b.median);
        let _ = writeln!(
            out,
            "| launch, 3 services ≤ {limit} × {} | {} | {} |",
            method.label(),
            r.map(|r| format!("{r:.2}×")).unwrap_or_else(|| "–".into()),
            verdict(r.map(|r| r <= limit))
        );
    }
    let det = Summary::of(&results.detections);
    let _ = writeln!(
        out,
        "| exit → update median < 100 ms | {} | {} |",
        det.map(|s| format!("{:.1} ms", s.median * 1e3))
            .unwrap_or_else(|| "–".into()),
        verdict(det.map(|s| s.median < 0.1))
    );
    let kill = results.summary(Method::Dce, 3, false);
    let _ = writeln!(
        out,
        "| KILL → TASK_KILLED < 1 s (3 services) | {} | {} |",
        kill.map(|s| format!("{:.0} ms", s.median * 1e3))
            .unwrap_or_else(|| "–".into()),
        verdict(kill.map(|s| s.median < 1.0))
    );
    if let Some((_, _, f)) = results.footprints.first() {
        let _ = writeln!(
            out,
            "| executor RSS ≤ 10 MiB | steady {:.1} MiB, peak {:.1} MiB | {} |",
            mib(f.steady_rss_kib),
            mib(f.peak_rss_kib),
            verdict(Some(f.peak_rss_kib <= 10 * 1024))
        );
        let share = f.idle_cpu.as_secs_f64() / f.idle.as_secs_f64() * 100.0;
        let _ = writeln!(
            out,
            "| idle CPU ~0 (< 0.5 % of a core) | {share:.2} % | {} |",
            verdict(Some(share < 0.5))
        );
    }
    for (networks, _, d) in results.density.iter().filter(|(_, _, d)| d.pods >= 50) {
        let all = d.running == d.pods && d.killed == d.pods && d.left.is_empty();
        let _ = writeln!(
            out,
            "| {} pods launched, killed, nothing left ({networks:?} networks) | {}/{} running, {}/{} killed, {} left | {} |",
            d.pods, d.running, d.pods, d.killed, d.pods, d.left.len(), verdict(Some(all))
        );
    }
}
