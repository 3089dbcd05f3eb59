//! Soak: many launch/kill cycles through ONE long-lived executor (a keeper task keeps it
//! alive; each cycle runs two pods at once), mixing clean kills, kills in the middle of a
//! launch, crashing services (exit 1), unhealthy pods and batch pods that finish. The
//! executor's RSS and open fds are sampled after every cycle; afterwards nothing of the run may
//! be left: containers, networks, volumes (by the run's framework-id label) and cgroup
//! directories (when the Mesos cgroup placement can be reproduced here).
//!
//! `DCE_SOAK_CYCLES` sets the number of cycles (default 20; the full run is 200).

mod executor_support;

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use executor_support::*;
use mesos::TaskState;
use mesos_agent::{CgroupPlacement, ExecutorExit};

/// What one pod of a cycle does, and the terminal state it must end in.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Runs until killed → TASK_KILLED.
    Killed,
    /// Its service exits 1 → TASK_FAILED.
    Crash,
    /// Its healthcheck fails → TASK_FAILED.
    Unhealthy,
    /// Its only service exits 0 → TASK_FINISHED.
    Batch,
    /// Killed right after TASK_STARTING, wherever the launch is → TASK_KILLED.
    KilledLaunching,
}

const KINDS: [Kind; 5] = [
    Kind::Killed,
    Kind::Crash,
    Kind::Unhealthy,
    Kind::Batch,
    Kind::KilledLaunching,
];

impl Kind {
    fn compose(self) -> String {
        match self {
            Kind::Killed => {
                format!("services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n  side:\n    image: {IMAGE}\n    command: {SLEEPER}\n    volumes: [\"scratch:/scratch\"]\nvolumes:\n  scratch: {{}}\n")
            }
            Kind::Crash => format!(
                "services:\n  app:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"sleep 1; exit 1\"]\n    volumes: [\"/anonymous\"]\n"
            ),
            Kind::Unhealthy => format!(
                "services:\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 1s\n      retries: 1\n"
            ),
            Kind::Batch => format!(
                "services:\n  job:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"echo done\"]\n"
            ),
            Kind::KilledLaunching => format!(
                "services:\n  db:\n    image: {IMAGE}\n    command: {SLEEPER}\n    volumes: [\"/anonymous\"]\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 1s\n      retries: 100000\n  app:\n    image: {IMAGE}\n    command: {SLEEPER}\n    depends_on:\n      db:\n        condition: service_healthy\n"
            ),
        }
    }

    fn file(self) -> String {
        format!("{self:?}.yml").to_lowercase()
    }

    fn end(self) -> TaskState {
        match self {
            Kind::Killed | Kind::KilledLaunching => TaskState::Killed,
            Kind::Crash | Kind::Unhealthy => TaskState::Failed,
            Kind::Batch => TaskState::Finished,
        }
    }
}

/// One sample of the executor's footprint.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kib: u64,
    fds: usize,
}

fn sample(pid: u32) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    Sample { rss_kib, fds }
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

async fn run_pod(h: &Harness, kind: Kind, name: &str) {
    let task_id = h.task_id(name);
    // Named volumes are kept by default (SPEC §7: config); this run asks for their removal.
    let task = h
        .task(&task_id, &kind.file(), port_block())
        .label("config.cleanpod.removenamedvolumes", Some("true"))
        .build();
    h.launch(task);
    match kind {
        Kind::Killed => {
            h.wait_state(&task_id, TaskState::Running).await;
            h.agent.kill(&task_id, None);
        }
        Kind::KilledLaunching => {
            h.wait_state(&task_id, TaskState::Starting).await;
            h.agent.kill(&task_id, None);
        }
        _ => {}
    }
    let end = h.wait_terminal(&task_id).await;
    assert_eq!(*end.state(), kind.end(), "{name}: {:?}", h.states(&task_id));
    let terminals = h
        .agent
        .updates(&task_id)
        .into_iter()
        .filter(|r| r.is_terminal())
        .count();
    assert_eq!(terminals, 1, "{name}: {:?}", h.states(&task_id));
}

/// Objects on the engine carrying `label`.
async fn objects_labelled(h: &Harness, label: &str) -> Vec<String> {
    let filters = || {
        Some(HashMap::from([(
            "label".to_string(),
            vec![label.to_string()],
        )]))
    };
    let mut left = Vec::new();
    for c in h
        .docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: filters(),
            ..Default::default()
        }))
        .await
        .unwrap()
    {
        left.push(format!("container {:?}", c.names));
    }
    for n in h
        .docker
        .list_networks(Some(ListNetworksOptions { filters: filters() }))
        .await
        .unwrap()
    {
        left.push(format!("network {:?}", n.name));
    }
    for v in h
        .docker
        .list_volumes(Some(ListVolumesOptions { filters: filters() }))
        .await
        .unwrap()
        .volumes
        .unwrap_or_default()
    {
        left.push(format!("volume {}", v.name));
    }
    left
}

/// Sub-directories (container cgroups) below the executor's cgroups.
fn cgroup_children(h: &Harness) -> Vec<String> {
    let mut children = Vec::new();
    for dir in h.executor.cgroup_dirs() {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                children.push(entry.path().display().to_string());
            }
        }
    }
    children
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_launch_kill_crash_unhealthy_cycles_leak_nothing() {
    let cycles: usize = std::env::var("DCE_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let cgroups = std::path::Path::new("/sys/fs/cgroup/freezer/cgroup.procs").exists();
    let h = Harness::start_with(Setup {
        cgroup: cgroups.then(CgroupPlacement::default),
        ..Setup::default()
    })
    .await;
    let framework = h.agent.config().framework_id.value.clone();
    let run_label = format!("io.dce.framework-id={framework}");
    h.run.also_clean_label("io.dce.framework-id", &framework);
    for kind in KINDS {
        h.write(&kind.file(), &kind.compose());
    }
    // The keeper holds the executor alive across every cycle.
    h.write(
        "keeper.yml",
        &format!("services:\n  keeper:\n    image: {IMAGE}\n    command: {SLEEPER}\n"),
    );
    let keeper = h.task_id("keeper");
    h.launch(h.task(&keeper, "keeper.yml", port_block()).build());
    h.wait_state(&keeper, TaskState::Running).await;

    let pid = h.executor.pid();
    let mut samples = vec![sample(pid)];
    let mut ends: HashMap<String, usize> = HashMap::new();
    for cycle in 0..cycles {
        let a = KINDS[cycle % KINDS.len()];
        let b = KINDS[(cycle + 1) % KINDS.len()];
        let name_a = format!("c{cycle}a");
        let name_b = format!("c{cycle}b");
        tokio::join!(run_pod(&h, a, &name_a), run_pod(&h, b, &name_b));
        for kind in [a, b] {
            *ends.entry(kind.end().to_string()).or_default() += 1;
        }
        samples.push(sample(pid));
    }
    let running_pods = objects_labelled(&h, &run_label).await;
    // While the executor (and its cgroups) still exist, only the keeper's containers may have
    // cgroups below it.
    let keeper_ids: Vec<String> = h
        .containers(&keeper)
        .await
        .into_iter()
        .filter_map(|c| c.id)
        .collect();
    let between = cgroup_children(&h);
    let foreign: Vec<&String> = between
        .iter()
        .filter(|dir| !keeper_ids.iter().any(|id| dir.ends_with(id.as_str())))
        .collect();
    if cgroups {
        assert!(!between.is_empty(), "the keeper's cgroups are not visible");
    }
    assert!(foreign.is_empty(), "cgroups of ended pods: {foreign:?}");
    h.kill(&keeper).await;
    assert_eq!(h.wait_exit().await, ExecutorExit::Code(0));

    let left = objects_labelled(&h, &run_label).await;
    let cgroup_left = cgroup_children(&h);
    let third = samples.len().div_ceil(3);
    let early_rss = median(samples[..third].iter().map(|s| s.rss_kib).collect());
    let late_rss = median(
        samples[samples.len() - third..]
            .iter()
            .map(|s| s.rss_kib)
            .collect(),
    );
    let early_fds = median(samples[..third].iter().map(|s| s.fds as u64).collect());
    let late_fds = median(
        samples[samples.len() - third..]
            .iter()
            .map(|s| s.fds as u64)
            .collect(),
    );
    let max_rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let max_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    eprintln!(
        "soak: {cycles} cycles, {} pods ({ends:?}) + keeper; executor RSS KiB first {} early-median {early_rss} late-median {late_rss} max {max_rss}; fds first {} early-median {early_fds} late-median {late_fds} max {max_fds}; objects while only the keeper ran: {}; container cgroup dirs then: {} (all the keeper's); leftovers: {}; cgroup dirs left: {}",
        cycles * 2,
        samples[0].rss_kib,
        samples[0].fds,
        running_pods.len(),
        between.len(),
        left.len(),
        cgroup_left.len(),
    );
    assert!(left.is_empty(), "left on the engine: {left:?}");
    assert!(cgroup_left.is_empty(), "cgroup dirs left: {cgroup_left:?}");
    // Only the keeper's pod (infra + keeper containers, network) existed between cycles.
    assert!(running_pods.len() <= 3, "between cycles: {running_pods:?}");
    // Generous bounds: no growth trend, not a tight budget.
    assert!(
        late_rss <= early_rss + early_rss / 2 + 8 * 1024,
        "RSS grew from {early_rss} KiB to {late_rss} KiB"
    );
    assert!(
        late_fds <= early_fds + 16,
        "open fds grew from {early_fds} to {late_fds}"
    );
}
