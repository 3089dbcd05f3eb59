//! The reaper against the real engine: a pod whose executor process is gone is removed after the
//! grace period (containers, network, volume, cgroup directories); a pod of a live executor,
//! young orphans and objects without dce's labels are kept; a dry run removes nothing.

mod support;

use std::process::Command;
use std::time::Duration;

use docker::reap::{
    reap, start_ticks, KeepReason, ObjectKind, OrphanReason, ProcessIdentity, ReapOptions,
    ReapOutcome, ReapReport, Verdict,
};
use support::handmade::*;

/// A process that existed and is gone: a child the test spawns and kills.
fn dead_executor() -> ProcessIdentity {
    let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
    let pid = child.id();
    let start = start_ticks(pid).unwrap().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    ProcessIdentity {
        pid,
        start_ticks: start,
    }
}

fn entries_of<'a>(report: &'a ReapReport, project: &str) -> Vec<&'a docker::reap::ReapEntry> {
    report
        .entries
        .iter()
        .filter(|e| e.project.as_deref() == Some(project) || e.name.starts_with(project))
        .collect()
}

#[tokio::test]
async fn reaps_pods_of_dead_executors_after_the_grace_and_keeps_the_rest() {
    let (docker, run) = engine().await;
    let dead = dead_executor();
    let live = ProcessIdentity::current().unwrap();

    let orphan = run.name("orphan");
    let guard = CgroupGuard::for_run(&run);
    let parent = guard.0.clone();
    let NetworkedPod {
        pod: orphan_pod,
        network,
        volume,
    } = start_networked_pod(&docker, &run, &orphan, dead, &parent, true).await;

    let alive = run.name("alive");
    let alive_network = create_network(&docker, &run, &alive, live).await;
    let alive_pod = create_pod(
        &docker,
        &run,
        &alive,
        live,
        &[Spec {
            network: Some(alive_network),
            ..Spec::infra()
        }],
    )
    .await;
    start_all(&docker, &alive_pod).await;

    // Not dce's: only the run label. It must never show up.
    let foreign = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            bollard::models::ContainerCreateBody {
                image: Some(testkit::BUSYBOX_IMAGE.into()),
                cmd: Some(sh("exit 0")),
                labels: Some(run.labels()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;

    let scoped = |grace: u64, dry_run: bool| ReapOptions {
        grace: Duration::from_secs(grace),
        dry_run,
        stop_grace: Duration::from_secs(2),
        scope: vec![run.label_filter()],
        images: false,
    };

    // Within the grace period nothing is removed.
    let young = reap(&docker, &scoped(3600, false)).await.unwrap();
    assert_eq!(young.orphans().count(), 0, "{young:#?}");
    let orphan_entries = entries_of(&young, &orphan);
    assert_eq!(
        orphan_entries.len(),
        4,
        "2 containers, network, volume: {young:#?}"
    );
    assert!(orphan_entries.iter().all(|e| matches!(
        e.verdict,
        Verdict::Keep(KeepReason::TooYoung {
            orphan: OrphanReason::ExecutorGone { .. },
            ..
        })
    )));
    assert!(!young.entries.iter().any(|e| e.id == foreign));

    // A dry run lists the orphans with their reason and removes nothing.
    let dry = reap(&docker, &scoped(0, true)).await.unwrap();
    let would: Vec<_> = dry.orphans().collect();
    assert_eq!(would.len(), 4, "{dry:#?}");
    assert!(would.iter().all(|e| e.outcome == ReapOutcome::WouldRemove
        && e.verdict == Verdict::Orphan(OrphanReason::ExecutorGone { executor: dead })));
    assert!(entries_of(&dry, &alive)
        .iter()
        .all(|e| matches!(e.verdict, Verdict::Keep(KeepReason::ExecutorAlive { .. }))));
    for container in &orphan_pod.containers {
        assert!(docker.inspect_container(&container.id, None).await.is_ok());
    }

    // The real pass removes the orphan pod, cgroup directories included.
    let reaped = reap(&docker, &scoped(0, false)).await.unwrap();
    assert!(reaped.errors.is_empty(), "{reaped:#?}");
    let removed: Vec<(ObjectKind, &ReapOutcome)> =
        reaped.orphans().map(|e| (e.kind, &e.outcome)).collect();
    assert_eq!(removed.len(), 4, "{reaped:#?}");
    assert!(
        removed.iter().all(|(_, o)| **o == ReapOutcome::Removed),
        "{reaped:#?}"
    );
    for container in &orphan_pod.containers {
        assert!(docker.inspect_container(&container.id, None).await.is_err());
    }
    assert!(docker.inspect_network(&network, None).await.is_err());
    assert!(docker.inspect_volume(&volume).await.is_err());
    assert!(
        cgroup_dirs(&parent).is_empty(),
        "left: {:?}",
        cgroup_dirs(&parent)
    );
    assert!(!reaped.cgroups.removed.is_empty());

    // The live pod and the foreign container are untouched.
    assert!(docker
        .inspect_container(&alive_pod.containers[0].id, None)
        .await
        .is_ok());
    assert!(docker.inspect_container(&foreign, None).await.is_ok());
}
