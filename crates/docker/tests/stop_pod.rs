//! Stopping and removing pods against the real engine: reverse dependency order, parallel
//! independent services, per-service stop signals, SIGKILL at the deadline, removal of
//! containers, networks, volumes and cgroup directories, idempotence.

mod support;

use std::path::Path;
use std::time::Duration;

use bollard::query_parameters::{InspectContainerOptions, WaitContainerOptions};
use docker::client::is_not_found;
use docker::reap::ProcessIdentity;
use docker::remove::{remove_by_labels, remove_pod, PodSelector, RemoveOptions};
use docker::{stop_pod, PodVolume, StopOutcome};
use futures_util::StreamExt;
use support::handmade::*;

/// A service whose stop-signal trap runs `on_signal` and exits with `code`. Once the trap is set
/// it appends a line to `/shared/ready`: a signal sent to a PID 1 before that is dropped.
fn logging_trap(signal: &str, on_signal: &str, code: i32) -> Vec<String> {
    sh(&format!(
        "trap '{on_signal}; exit {code}' {signal}; echo up >> /shared/ready; \
         while true; do sleep 1 & wait $!; done"
    ))
}

/// Waits until `count` services have set their traps (see [`logging_trap`]).
async fn wait_ready(dir: &Path, count: usize) {
    for _ in 0..600 {
        let ready = std::fs::read_to_string(dir.join("ready")).unwrap_or_default();
        if ready.lines().count() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the services never set their stop traps");
}

fn log_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn stops_dependents_first_in_parallel_with_each_services_signal() {
    let (docker, run) = engine().await;
    let shared = tempfile::tempdir().unwrap();
    let bind = vec![format!("{}:/shared", shared.path().display())];
    let log = |line: &str| format!("echo {line} >> /shared/log");
    // `app` and `side` are independent: each waits in its trap until the other was signalled,
    // so a sequential stop would run into their grace periods and kill them.
    let wait_for = |line: &str| format!("until grep -q {line} /shared/log; do sleep 0.1; done");
    let grace = Some(Duration::from_secs(20));
    let specs = [
        Spec {
            infra: true,
            binds: bind.clone(),
            ..Spec::new("infra", logging_trap("TERM", &log("infra"), 10))
        },
        Spec {
            stop_signal: Some("SIGUSR1".into()),
            stop_grace_period: grace,
            binds: bind.clone(),
            ..Spec::new("db", logging_trap("USR1", &log("db"), 42))
        },
        Spec {
            depends_on: vec!["db".into()],
            stop_grace_period: grace,
            binds: bind.clone(),
            ..Spec::new(
                "app",
                logging_trap("TERM", &format!("{}; {}", log("app"), wait_for("side")), 11),
            )
        },
        Spec {
            stop_grace_period: grace,
            binds: bind.clone(),
            ..Spec::new(
                "side",
                logging_trap("TERM", &format!("{}; {}", log("side"), wait_for("app")), 12),
            )
        },
    ];
    let project = run.name("order");
    let pod = create_live_pod(&docker, &run, &project, &specs).await;
    start_all(&docker, &pod).await;
    wait_ready(shared.path(), specs.len()).await;

    let stops = stop_pod(&docker, &pod, Duration::from_secs(40)).await;
    let outcomes: Vec<(&str, &StopOutcome)> = stops
        .iter()
        .map(|s| (s.service.as_str(), &s.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("infra", &StopOutcome::Graceful { exit_code: 10 }),
            ("db", &StopOutcome::Graceful { exit_code: 42 }),
            ("app", &StopOutcome::Graceful { exit_code: 11 }),
            ("side", &StopOutcome::Graceful { exit_code: 12 }),
        ]
    );
    assert_eq!(stops[1].signal.as_deref(), Some("SIGUSR1"));
    let lines = log_lines(shared.path());
    let at = |name: &str| lines.iter().position(|l| l == name).unwrap();
    assert!(at("app") < at("db"), "{lines:?}");
    assert!(
        at("db") < at("infra") && at("side") < at("infra"),
        "{lines:?}"
    );
    remove_pod(&docker, &pod, &RemoveOptions::default()).await;
}

#[tokio::test]
async fn kills_at_the_deadline_and_reports_stopped_and_gone_containers() {
    let (docker, run) = engine().await;
    let project = run.name("deadline");
    let specs = [
        Spec {
            stop_grace_period: Some(Duration::from_secs(60)),
            ..Spec::new(
                "stubborn",
                sh("trap '' TERM; while true; do sleep 1 & wait $!; done"),
            )
        },
        Spec::new("done", sh("exit 0")),
    ];
    let pod = create_live_pod(&docker, &run, &project, &specs).await;
    start_all(&docker, &pod).await;
    let _ = docker
        .wait_container(&pod.containers[1].id, None::<WaitContainerOptions>)
        .collect::<Vec<_>>()
        .await;

    let stops = stop_pod(&docker, &pod, Duration::from_secs(1)).await;
    assert_eq!(stops[0].outcome, StopOutcome::Killed { exit_code: 137 });
    assert_eq!(stops[0].signal.as_deref(), Some("SIGTERM"));
    assert_eq!(stops[1].outcome, StopOutcome::AlreadyStopped);

    let report = remove_pod(&docker, &pod, &RemoveOptions::default()).await;
    assert!(report.is_clean(), "{report:?}");
    let again = stop_pod(&docker, &pod, Duration::from_secs(1)).await;
    assert!(
        again.iter().all(|s| s.outcome == StopOutcome::AlreadyGone),
        "{again:?}"
    );
}

#[tokio::test]
async fn removal_leaves_no_container_network_volume_or_cgroup_dir() {
    let (docker, run) = engine().await;
    let project = run.name("remove");
    let guard = CgroupGuard::for_run(&run);
    let parent = guard.0.clone();
    let executor = ProcessIdentity::current().unwrap();
    let NetworkedPod {
        mut pod,
        network,
        volume,
    } = start_networked_pod(&docker, &run, &project, executor, &parent, true).await;
    pod.networks.push(network.clone());
    pod.volumes.push(PodVolume {
        name: volume.clone(),
        named: true,
    });
    assert!(
        !cgroup_dirs(&parent).is_empty(),
        "docker created the cgroup parent"
    );

    stop_pod(&docker, &pod, Duration::from_secs(10)).await;
    // Named volumes survive unless configured otherwise.
    let report = remove_pod(&docker, &pod, &RemoveOptions::default()).await;
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.containers.len(), 2);
    assert_eq!(report.networks, vec![network.clone()]);
    assert_eq!(report.volumes_kept, vec![volume.clone()]);
    assert!(docker.inspect_volume(&volume).await.is_ok());
    assert!(
        cgroup_dirs(&parent).is_empty(),
        "left: {:?}",
        cgroup_dirs(&parent)
    );
    assert!(!report.cgroups.removed.is_empty());

    let options = RemoveOptions {
        named_volumes: true,
        ..Default::default()
    };
    let report = remove_pod(&docker, &pod, &options).await;
    assert!(report.is_clean(), "{report:?}");
    assert!(
        report.containers.is_empty() && report.networks.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.volumes, vec![volume.clone()]);
    for container in &pod.containers {
        let inspect = docker
            .inspect_container(&container.id, None::<InspectContainerOptions>)
            .await;
        assert!(
            matches!(inspect, Err(ref e) if is_not_found(e)),
            "{inspect:?}"
        );
    }
    assert!(matches!(docker.inspect_network(&network, None).await, Err(ref e) if is_not_found(e)));
    assert!(matches!(docker.inspect_volume(&volume).await, Err(ref e) if is_not_found(e)));
}

#[tokio::test]
async fn removes_by_labels_without_a_handle() {
    let (docker, run) = engine().await;
    let project = run.name("bylabel");
    let guard = CgroupGuard::for_run(&run);
    let parent = guard.0.clone();
    let executor = ProcessIdentity::current().unwrap();
    let NetworkedPod { volume, .. } =
        start_networked_pod(&docker, &run, &project, executor, &parent, false).await;

    let options = RemoveOptions {
        named_volumes: true,
        stop_grace: Some(Duration::from_secs(5)),
    };
    let selector = PodSelector::Task(project.clone());
    let report = remove_by_labels(&docker, &selector, &options)
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.containers.len(), 2);
    assert_eq!(report.networks.len(), 1);
    assert_eq!(report.volumes, vec![volume]);
    assert!(
        cgroup_dirs(&parent).is_empty(),
        "left: {:?}",
        cgroup_dirs(&parent)
    );
    let again = remove_by_labels(&docker, &selector, &options)
        .await
        .unwrap();
    assert_eq!(again, Default::default());
}
