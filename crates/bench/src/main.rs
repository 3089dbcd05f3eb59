//! `dce-bench`: runs every SPEC §11 measurement in one go and prints a Markdown report.
//!
//! `cargo run --release -p bench -- [--quick]`. Everything it creates belongs to a compose
//! project named `…dcebench-<run id>…`; objects of earlier interrupted runs are removed at start,
//! this run's at the end, also after an error, Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bench::compose_cli::ComposeTool;
use bench::density::PodNetworks;
use bench::launch::{LaunchBench, Method};
use bench::machine::{load_average, Machine};
use bench::pod_spec::PROJECT_PREFIX;
use bench::report::Results;
use bench::{cleanup, dce_task, density, failure, footprint, report};
use bollard::Docker;
use clap::Parser;

/// Measures dce against docker-compose v1/v2 and the direct Engine API floor (SPEC §11).
#[derive(Debug, Parser)]
#[command(name = "dce-bench")]
struct Args {
    /// A short run (3 repetitions, 5 s idle, density 5 and 10 pods).
    #[arg(long)]
    quick: bool,
    /// Launch/teardown repetitions per method and pod size (default 9, quick 3).
    #[arg(long)]
    reps: Option<usize>,
    /// Failure-detection runs (default 15, quick 5).
    #[arg(long)]
    failures: Option<usize>,
    /// Idle window of the footprint measurement in seconds (default 30, quick 5).
    #[arg(long)]
    idle: Option<u64>,
    /// Density pod counts (default 10,50; quick 5,10).
    #[arg(long, value_delimiter = ',')]
    density: Option<Vec<usize>>,
    /// Services per pod in the density runs.
    #[arg(long, default_value_t = 1)]
    density_services: usize,
    /// Use this dce binary instead of building the release one.
    #[arg(long)]
    dce: Option<PathBuf>,
    /// Do not fetch compose v2.
    #[arg(long)]
    no_v2: bool,
}

const SIZES: [usize; 3] = [1, 3, 10];

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let docker = Docker::connect_with_defaults()?.negotiate_version().await?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let stale = cleanup::remove(&docker, PROJECT_PREFIX).await?;
    if stale > 0 {
        eprintln!("removed {stale} objects of earlier interrupted runs");
    }
    let outcome = tokio::select! {
        outcome = run(&args, &docker, &run_id) => outcome,
        _ = interrupted() => Err(anyhow::anyhow!("interrupted")),
    };
    // The executors were SIGKILLed with their stand-ins; a call already sent to the engine may
    // still land, hence a second sweep.
    let needle = format!("{PROJECT_PREFIX}{run_id}");
    let mut removed = cleanup::remove(&docker, &needle).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    removed += cleanup::remove(&docker, &needle).await?;
    if removed > 0 {
        eprintln!("cleanup: removed {removed} objects of this run");
    }
    match outcome {
        Ok(text) => {
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("dce-bench: {error:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn interrupted() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn run(args: &Args, docker: &Docker, run_id: &str) -> anyhow::Result<String> {
    progress("start");
    let quick = args.quick;
    let reps = args.reps.unwrap_or(if quick { 3 } else { 9 });
    let failures = args.failures.unwrap_or(if quick { 5 } else { 15 });
    let idle = Duration::from_secs(args.idle.unwrap_or(if quick { 5 } else { 30 }));
    let densities = args
        .density
        .clone()
        .unwrap_or(if quick { vec![5, 10] } else { vec![10, 50] });

    testkit::ensure_busybox_image(docker)
        .await
        .context("building the test image")?;
    let dce = match &args.dce {
        Some(path) => path.clone(),
        None => {
            progress("building dce (release)");
            dce_task::build_release_dce().await?
        }
    };
    let mut results = Results {
        sizes: SIZES.to_vec(),
        reps,
        ..Results::default()
    };
    let v1 = match ComposeTool::v1().await {
        Ok(tool) => Some(tool),
        Err(error) => {
            eprintln!("v1 unavailable: {error}");
            results
                .unavailable
                .push((Method::ComposeV1, error.to_string()));
            None
        }
    };
    let v2 = if args.no_v2 {
        results
            .unavailable
            .push((Method::ComposeV2, "--no-v2".into()));
        None
    } else {
        match ComposeTool::v2(&cache_dir()?).await {
            Ok(tool) => Some(tool),
            Err(error) => {
                eprintln!("v2 unavailable: {error}");
                results
                    .unavailable
                    .push((Method::ComposeV2, error.to_string()));
                None
            }
        }
    };
    let machine = Machine::describe(docker, v1.as_ref(), v2.as_ref()).await;
    let load_start = load_average();
    progress(&format!("run {run_id}; load average {load_start}"));

    let mut bench = LaunchBench {
        docker: docker.clone(),
        run_id: run_id.to_string(),
        dce: dce.clone(),
        v1,
        v2,
        infra: None,
        files: tempfile::tempdir()?,
    };
    progress("warm-up (builds dce's infra image if missing)");
    bench.learn_infra().await.context("warm-up dce launch")?;
    for method in Method::ALL.into_iter().filter(|m| bench.available(*m)) {
        bench
            .measure(method, 3, "warm")
            .await
            .with_context(|| format!("warm-up of {}", method.label()))?;
    }
    launches(&bench, &mut results).await;
    progress(&format!("failure detection × {failures}"));
    for k in 0..failures {
        let task_id = format!("{PROJECT_PREFIX}{run_id}-fail{k:02}");
        match failure::measure(docker, &dce, &task_id, run_id).await {
            Ok(d) => {
                results.detections.push(d.latency);
                results.detections_failed += usize::from(d.failed);
            }
            Err(error) => results
                .errors
                .push(format!("failure detection {k}: {error}")),
        }
    }
    // With the built-in infra image the executor hashes its own binary at launch; with a
    // configured one it does not: the difference shows what that costs in peak memory.
    let configured = bench
        .infra
        .as_ref()
        .map(|infra| format!("infracontainer:\n  image: {}\n", infra.image));
    let variants = [
        ("built-in infra image (default)", None),
        ("configured infracontainer.image", configured),
    ];
    for (k, (variant, config)) in variants.into_iter().enumerate() {
        progress(&format!(
            "executor footprint, {variant} ({} s idle)",
            idle.as_secs()
        ));
        let task_id = format!("{PROJECT_PREFIX}{run_id}-mem{k}");
        match footprint::measure(&dce, &task_id, run_id, 3, idle, config.as_deref()).await {
            Ok(f) => results.footprints.push((variant.to_string(), 3, f)),
            Err(error) => results
                .errors
                .push(format!("footprint ({variant}): {error}")),
        }
    }
    let largest = densities.iter().copied().max().unwrap_or(0);
    let mut runs: Vec<(PodNetworks, usize)> = densities
        .iter()
        .map(|n| (PodNetworks::PerPod, *n))
        .collect();
    runs.push((PodNetworks::Shared, largest));
    for (networks, pods) in runs {
        progress(&format!("density: {pods} pods, {networks:?} networks"));
        let tag = if networks == PodNetworks::Shared {
            "s"
        } else {
            "p"
        };
        let prefix = format!("{PROJECT_PREFIX}{run_id}-d{tag}{pods}");
        match density::measure(
            docker,
            &dce,
            &prefix,
            pods,
            args.density_services,
            run_id,
            &networks,
        )
        .await
        {
            Ok(d) => results.density.push((networks, args.density_services, d)),
            Err(error) => results.errors.push(format!("density {pods}: {error}")),
        }
        // Whatever a failed density run left must not disturb the next one.
        cleanup::remove(docker, &prefix).await?;
    }
    let load_end = load_average();
    progress("done");
    Ok(report::render(&machine, (&load_start, &load_end), &results))
}

/// Launch/teardown rounds: per repetition every pod size, and per size every method in an order
/// that rotates, so no method always follows the same one.
async fn launches(bench: &LaunchBench, results: &mut Results) {
    let methods: Vec<Method> = Method::ALL
        .into_iter()
        .filter(|m| bench.available(*m))
        .collect();
    for rep in 0..results.reps {
        progress(&format!(
            "launch/teardown round {}/{}",
            rep + 1,
            results.reps
        ));
        for (index, &size) in SIZES.iter().enumerate() {
            for offset in 0..methods.len() {
                let method = methods[(rep + index + offset) % methods.len()];
                let label = format!("r{rep}-n{size:02}");
                match bench.measure(method, size, &label).await {
                    Ok(sample) => results
                        .launches
                        .entry((method, size))
                        .or_default()
                        .push(sample),
                    Err(error) => {
                        results.errors.push(format!(
                            "{} {size} services round {rep}: {error}",
                            method.label()
                        ));
                        let _ =
                            cleanup::remove(&bench.docker, &bench.project(&label, method)).await;
                    }
                }
            }
        }
    }
}

/// A progress line on stderr, with the time since the benchmark started.
fn progress(what: &str) {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let started = STARTED.get_or_init(std::time::Instant::now);
    eprintln!("[{:>6.1} s] {what}…", started.elapsed().as_secs_f64());
}

/// `<target dir>/dce-bench-cache`, next to the build output.
fn cache_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe
        .ancestors()
        .nth(3)
        .context("no target directory above dce-bench")?;
    Ok(target.join("dce-bench-cache"))
}
