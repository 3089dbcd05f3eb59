//! Pod up/down times for a 3-service pod, side by side in one run (SPEC §11), all from the same
//! compose file where a compose file is involved:
//! - dce: compose loader → pod plan → `create_pod` (per-pod network, infra container owning the
//!   network namespace, services joining it), then this crate's `stop_pod` + `remove_pod`;
//! - the floor: the same containers created and started by direct Engine API calls with maximal
//!   parallelism (network, infra, then the 3 services concurrently), same stop/remove;
//! - `docker-compose up -d` / `down` (Debian's v1 at /usr/bin/docker-compose);
//! - plain Docker CLI calls: `docker network create`, `docker run -d` × 4, `docker rm -f`,
//!   `docker network rm`.
//!
//! Plus the watcher's exit-detection latency. Runs are interleaved (the method order rotates each
//! round). Every object carries a run label and is removed at the end.
//! `cargo bench -p docker --bench pod_up_down` (`BENCH_RUNS=N`, default 5).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bench::floor::{FloorService, FloorSpec};
use bollard::query_parameters::{KillContainerOptions, ListContainersOptions};
use bollard::Docker;
use compose::{ComposeSource, InterpolationEnv, ProjectLoader};
use docker::remove::{remove_pod, RemoveOptions};
use docker::{create_pod, CreateOptions};
use docker::{labels, stop_pod, ContainerRole, PodContainer, PodEvent, PodWatcher, RunningPod};
use pod::config::CgroupParentPolicy;
use pod::plan::PodNetwork;
use pod::{Config, PluginChain, PodPlan, TaskContext};
use testkit::{TestRun, BUSYBOX_IMAGE};
use tokio_util::sync::CancellationToken;

const SERVICES: [&str; 3] = ["a", "b", "c"];
/// Exits on SIGTERM at once (busybox `sh` as PID 1 would otherwise ignore it).
const SERVICE_SCRIPT: &str = "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done";
const STOP_DEADLINE: Duration = Duration::from_secs(10);

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Method {
    Dce,
    Floor,
    ComposeV1,
    Cli,
}

impl Method {
    const ALL: [Method; 4] = [Method::Dce, Method::Floor, Method::ComposeV1, Method::Cli];

    fn label(self) -> &'static str {
        match self {
            Method::Dce => "dce (plan + create_pod / stop_pod + remove_pod)",
            Method::Floor => "floor (direct API, max parallel; same stop)",
            Method::ComposeV1 => "docker-compose v1 up -d / down",
            Method::Cli => "docker CLI run -d / rm -f",
        }
    }

    /// Containers running after `up`.
    fn expected_running(self) -> usize {
        match self {
            Method::ComposeV1 => SERVICES.len(),
            Method::Dce | Method::Floor | Method::Cli => SERVICES.len() + 1,
        }
    }
}

#[derive(Default)]
struct Samples {
    up: Vec<Duration>,
    down: Vec<Duration>,
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let docker = testkit::docker().await?;
    testkit::ensure_busybox_image(&docker).await?;
    let run = TestRun::new();
    let compose_dir = tempfile::tempdir()?;
    let compose_file = compose_dir.path().join("docker-compose.yml");
    std::fs::write(&compose_file, compose_yaml(&run))?;

    let mut samples: HashMap<Method, Samples> = HashMap::new();
    for round in 0..runs {
        for offset in 0..Method::ALL.len() {
            let method = Method::ALL[(round + offset) % Method::ALL.len()];
            let project = run.name(&format!("bench{round}{}", method_tag(method)));
            run.also_clean_label("com.docker.compose.project", &project);
            let (up, down) = match method {
                Method::Dce => dce_round(&docker, &run, &project, compose_dir.path()).await?,
                Method::Floor => floor_round(&docker, &run, &project).await?,
                Method::ComposeV1 => compose_round(&docker, &run, &project, &compose_file).await?,
                Method::Cli => cli_round(&docker, &run, &project).await?,
            };
            let entry = samples.entry(method).or_default();
            entry.up.push(up);
            entry.down.push(down);
        }
    }
    let mut latencies = Vec::new();
    for round in 0..runs {
        let project = run.name(&format!("bench{round}lat"));
        latencies.push(exit_latency_round(&docker, &run, &project, compose_dir.path()).await?);
    }
    run.cleanup().await?;
    print_report(runs, &samples);
    let (median, min, max) = stats(&latencies);
    println!(
        "\nservice stop signal sent (kill SIGTERM returned) -> PodEvent::Exited received: {:.1} / {:.1} / {:.1} ms",
        median * 1e3,
        min * 1e3,
        max * 1e3
    );
    Ok(())
}

fn method_tag(method: Method) -> &'static str {
    match method {
        Method::Dce => "dce",
        Method::Floor => "api",
        Method::ComposeV1 => "cv",
        Method::Cli => "cli",
    }
}

fn compose_yaml(run: &TestRun) -> String {
    let script = SERVICE_SCRIPT.replace('$', "$$");
    let mut yaml = String::from("services:\n");
    for service in SERVICES {
        yaml.push_str(&format!(
            "  {service}:\n    image: {BUSYBOX_IMAGE}\n    command: [\"sh\", \"-c\", \"{script}\"]\n    labels:\n      {}: {}\n",
            testkit::RUN_LABEL,
            run.id()
        ));
    }
    yaml
}

/// Number of running containers of `project` (by the run label and name prefix).
async fn running(docker: &Docker, run: &TestRun, project: &str) -> BenchResult<usize> {
    let options = ListContainersOptions {
        filters: Some(HashMap::from([
            ("label".to_string(), vec![run.label_filter()]),
            ("name".to_string(), vec![project.to_string()]),
            ("status".to_string(), vec!["running".to_string()]),
        ])),
        ..Default::default()
    };
    Ok(docker.list_containers(Some(options)).await?.len())
}

async fn check(
    docker: &Docker,
    run: &TestRun,
    project: &str,
    method: Method,
    up: bool,
) -> BenchResult<()> {
    let count = running(docker, run, project).await?;
    let expected = if up { method.expected_running() } else { 0 };
    if count != expected {
        return Err(format!(
            "{method:?} {}: {count} running, expected {expected}",
            if up { "up" } else { "down" }
        )
        .into());
    }
    Ok(())
}

async fn floor_round(
    docker: &Docker,
    run: &TestRun,
    project: &str,
) -> BenchResult<(Duration, Duration)> {
    let started = Instant::now();
    let pod = floor_up(docker, run, project).await?;
    let up = started.elapsed();
    check(docker, run, project, Method::Floor, true).await?;
    let started = Instant::now();
    stop_pod(docker, &pod, STOP_DEADLINE).await;
    let report = remove_pod(docker, &pod, &RemoveOptions::default()).await;
    let down = started.elapsed();
    if !report.is_clean() {
        return Err(format!("floor removal: {:?}", report.errors).into());
    }
    check(docker, run, project, Method::Floor, false).await?;
    Ok((up, down))
}

/// The project through dce's own path: compose loader, pod plan, `create_pod`.
async fn dce_round(
    docker: &Docker,
    run: &TestRun,
    project: &str,
    sandbox: &Path,
) -> BenchResult<(Duration, Duration)> {
    let started = Instant::now();
    let plan = plan(run, project, sandbox)?;
    let created = create_pod(
        docker,
        &plan,
        &CreateOptions::default(),
        &CancellationToken::new(),
    )
    .await?;
    let up = started.elapsed();
    check(docker, run, project, Method::Dce, true).await?;
    let started = Instant::now();
    stop_pod(docker, &created.pod, STOP_DEADLINE).await;
    let report = remove_pod(docker, &created.pod, &RemoveOptions::default()).await;
    let down = started.elapsed();
    if !report.is_clean() {
        return Err(format!("dce removal: {:?}", report.errors).into());
    }
    check(docker, run, project, Method::Dce, false).await?;
    Ok((up, down))
}

/// Plans the sandbox's compose file as task `task_id`: no cgroup parent (the other methods use
/// none either), the test pause image as infra image, every object labelled with the run.
fn plan(run: &TestRun, task_id: &str, sandbox: &Path) -> BenchResult<PodPlan> {
    let project = ProjectLoader::new(sandbox, InterpolationEnv::empty())
        .load(&[ComposeSource::File("docker-compose.yml".into())])?;
    let config = Config {
        cgroup_parent: CgroupParentPolicy::Off,
        infra_image: Some(testkit::PAUSE_IMAGE.to_string()),
        ..Config::default()
    };
    let task = TaskContext::local(task_id, sandbox.to_path_buf(), Vec::new(), config.clone());
    let chain = PluginChain::from_config(&config, Vec::new())?;
    let mut plan = pod::plan_pod(project, &task, &chain)?;
    let (key, value) = (testkit::RUN_LABEL.to_string(), run.id().to_string());
    plan.labels.insert(key.clone(), value.clone());
    // `io.dce.*` keys in a compose file are reserved (the rewrite drops them), so the run
    // label goes on after planning.
    for service in plan.project.services.values_mut() {
        service.labels.insert(key.clone(), value.clone());
    }
    for network in plan.project.networks.values_mut() {
        network.labels.insert(key.clone(), value.clone());
    }
    if let PodNetwork::Shared { infra } = &mut plan.network {
        infra.labels.insert(key, value);
    }
    run.also_clean_label(labels::COMPOSE_PROJECT, &plan.project_name);
    Ok(plan)
}

/// Time from a service's SIGTERM (the kill call returned; its trap exits at once) to the
/// watcher's `Exited` event: the exit-detection latency of SPEC §11.
async fn exit_latency_round(
    docker: &Docker,
    run: &TestRun,
    project: &str,
    sandbox: &Path,
) -> BenchResult<Duration> {
    let plan = plan(run, project, sandbox)?;
    let pod = create_pod(
        docker,
        &plan,
        &CreateOptions::default(),
        &CancellationToken::new(),
    )
    .await?
    .pod;
    let (watcher, mut events) = PodWatcher::start(docker.clone(), &pod);
    let mut started = 0;
    while started < pod.containers.len() {
        if let PodEvent::Started { .. } = recv(&mut events).await? {
            started += 1;
        }
    }
    let victim = pod
        .containers
        .iter()
        .find(|c| c.role == ContainerRole::Service)
        .ok_or("the pod has no service")?;
    let kill = KillContainerOptions {
        signal: "SIGTERM".into(),
    };
    docker.kill_container(&victim.id, Some(kill)).await?;
    let killed = Instant::now();
    loop {
        if let PodEvent::Exited { container_id, .. } = recv(&mut events).await? {
            if container_id == victim.id {
                break;
            }
        }
    }
    let latency = killed.elapsed();
    watcher.stop().await;
    stop_pod(docker, &pod, STOP_DEADLINE).await;
    remove_pod(docker, &pod, &RemoveOptions::default()).await;
    Ok(latency)
}

async fn recv(events: &mut tokio::sync::mpsc::Receiver<PodEvent>) -> BenchResult<PodEvent> {
    match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
        Ok(Some(event)) => Ok(event),
        Ok(None) => Err("the watcher ended".into()),
        Err(_) => Err("no pod event within 30 s".into()),
    }
}

/// What `create` does for this pod, as direct Engine API calls (the floor shared with
/// `dce-bench`).
async fn floor_up(docker: &Docker, run: &TestRun, project: &str) -> BenchResult<RunningPod> {
    let mut labels = run.labels();
    labels.insert(labels::COMPOSE_PROJECT.into(), project.into());
    let script = || {
        vec![
            "sh".to_string(),
            "-c".to_string(),
            SERVICE_SCRIPT.to_string(),
        ]
    };
    let spec = FloorSpec {
        project: project.into(),
        labels,
        image: BUSYBOX_IMAGE.into(),
        infra_image: BUSYBOX_IMAGE.into(),
        infra_cmd: Some(script()),
        infra_init: false,
        init: false,
        services: SERVICES
            .iter()
            .map(|service| FloorService {
                service: service.to_string(),
                name: format!("{project}-{service}-1"),
                cmd: script(),
            })
            .collect(),
    };
    let floor = bench::floor::floor_up(docker, &spec).await?;
    let container = |service: &str, name: &str, id: &str, role| PodContainer {
        service: service.to_string(),
        id: id.to_string(),
        name: name.to_string(),
        role,
        depends_on: Vec::new(),
        stop_signal: None,
        stop_grace_period: None,
    };
    let (infra_name, infra_id) = &floor.infra;
    let mut containers = vec![container(
        "infra",
        infra_name,
        infra_id,
        ContainerRole::Infra,
    )];
    containers.extend(
        floor
            .services
            .iter()
            .map(|(service, name, id)| container(service, name, id, ContainerRole::Service)),
    );
    Ok(RunningPod {
        project: project.into(),
        containers,
        networks: vec![floor.network],
        volumes: Vec::new(),
        cgroup_parent: None,
    })
}

async fn compose_round(
    docker: &Docker,
    run: &TestRun,
    project: &str,
    file: &std::path::Path,
) -> BenchResult<(Duration, Duration)> {
    let compose = |args: &[&str]| {
        let mut command = Command::new("docker-compose");
        command
            .arg("-p")
            .arg(project)
            .arg("-f")
            .arg(file)
            .args(args);
        command
    };
    let up = timed(compose(&["up", "-d"]))?;
    check(docker, run, project, Method::ComposeV1, true).await?;
    let down = timed(compose(&["down"]))?;
    check(docker, run, project, Method::ComposeV1, false).await?;
    Ok((up, down))
}

async fn cli_round(
    docker: &Docker,
    run: &TestRun,
    project: &str,
) -> BenchResult<(Duration, Duration)> {
    let label = run.label_filter();
    let network = format!("{project}-net");
    let infra = format!("{project}-infra");
    let docker_cli = |args: Vec<String>| {
        let mut command = Command::new("docker");
        command.args(args);
        command
    };
    let run_args = |name: &str, network_mode: &str| -> Vec<String> {
        [
            "run",
            "-d",
            "--name",
            name,
            "--label",
            &label,
            "--network",
            network_mode,
            BUSYBOX_IMAGE,
            "sh",
            "-c",
            SERVICE_SCRIPT,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut names = vec![infra.clone()];
    names.extend(SERVICES.iter().map(|s| format!("{project}-{s}-1")));

    let started = Instant::now();
    timed(docker_cli(
        ["network", "create", "--label", &label, &network]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    ))?;
    timed(docker_cli(run_args(&infra, &network)))?;
    for name in &names[1..] {
        timed(docker_cli(run_args(name, &format!("container:{infra}"))))?;
    }
    let up = started.elapsed();
    check(docker, run, project, Method::Cli, true).await?;

    let started = Instant::now();
    let mut rm: Vec<String> = vec!["rm".into(), "-f".into()];
    rm.extend(names.iter().cloned());
    timed(docker_cli(rm))?;
    timed(docker_cli(vec!["network".into(), "rm".into(), network]))?;
    let down = started.elapsed();
    check(docker, run, project, Method::Cli, false).await?;
    Ok((up, down))
}

/// Runs a command to completion, failing on a non-zero exit.
fn timed(mut command: Command) -> BenchResult<Duration> {
    let started = Instant::now();
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(started.elapsed())
}

/// Median, min and max in seconds.
fn stats(samples: &[Duration]) -> (f64, f64, f64) {
    let mut secs: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    let median = if secs.len() % 2 == 1 {
        secs[secs.len() / 2]
    } else {
        (secs[secs.len() / 2 - 1] + secs[secs.len() / 2]) / 2.0
    };
    (median, secs[0], secs[secs.len() - 1])
}

fn print_report(runs: usize, samples: &HashMap<Method, Samples>) {
    println!("\n3-service pod, {runs} interleaved runs, seconds (median / min / max)\n");
    println!("{:<50} {:>24} {:>24}", "method", "up", "down");
    let mut medians = HashMap::new();
    for method in Method::ALL {
        let Some(s) = samples.get(&method) else {
            continue;
        };
        let up = stats(&s.up);
        let down = stats(&s.down);
        medians.insert(method, (up.0, down.0));
        println!(
            "{:<50} {:>8.3} / {:.3} / {:.3} {:>8.3} / {:.3} / {:.3}",
            method.label(),
            up.0,
            up.1,
            up.2,
            down.0,
            down.1,
            down.2
        );
    }
    let (Some(dce), Some(floor), Some(cv), Some(cli)) = (
        medians.get(&Method::Dce),
        medians.get(&Method::Floor),
        medians.get(&Method::ComposeV1),
        medians.get(&Method::Cli),
    ) else {
        return;
    };
    println!("\nratios of medians (dce / other):");
    println!(
        "  vs floor:             up {:.2}, down {:.2}",
        dce.0 / floor.0,
        dce.1 / floor.1
    );
    println!(
        "  vs docker-compose v1: up {:.2}, down {:.2}",
        dce.0 / cv.0,
        dce.1 / cv.1
    );
    println!(
        "  vs docker CLI:        up {:.2}, down {:.2}",
        dce.0 / cli.0,
        dce.1 / cli.1
    );
}
