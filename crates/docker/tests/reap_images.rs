//! Pruning of stale infra images (`dce reap --images`) against the real engine: an old unused
//! image dce built is removed; one a container uses, the running binary's own, and an
//! unlabelled one of the same repository are kept; a dry run removes nothing. The test's images
//! carry its run label (the reaper's scope), so images of other runs on the host are untouched.

use std::time::Duration;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, CreateImageOptions, ListImagesOptions};
use bollard::{body_full, Docker};
use bytes::Bytes;
use docker::client::is_not_found;
use docker::infra_image::{infra_image_reference, own_binary, INFRA_IMAGE_LABEL, INFRA_IMAGE_REPO};
use docker::reap::{
    reap, KeepReason, ObjectKind, OrphanReason, ReapEntry, ReapOptions, ReapOutcome, ReapReport,
    Verdict,
};
use futures_util::TryStreamExt;
use testkit::{TestRun, RUN_LABEL};

/// Imports a one-file image as `reference` with these labels; returns its id. The file holds
/// the reference, so every image has its own id.
async fn import(docker: &Docker, reference: &str, labels: &[(&str, &str)]) -> String {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o755);
    header.set_size(reference.len() as u64);
    builder
        .append_data(&mut header, "dce", reference.as_bytes())
        .unwrap();
    let tarball = builder.into_inner().unwrap();
    let (repo, tag) = reference.split_once(':').unwrap();
    let options = CreateImageOptions {
        from_src: Some("-".to_string()),
        repo: Some(repo.to_string()),
        tag: Some(tag.to_string()),
        changes: labels
            .iter()
            .map(|(key, value)| format!("LABEL {key}={value}"))
            .collect(),
        ..Default::default()
    };
    let _: Vec<_> = docker
        .create_image(Some(options), Some(body_full(Bytes::from(tarball))), None)
        .try_collect()
        .await
        .unwrap();
    docker.inspect_image(reference).await.unwrap().id.unwrap()
}

async fn exists(docker: &Docker, image: &str) -> bool {
    match docker.inspect_image(image).await {
        Ok(_) => true,
        Err(error) if is_not_found(&error) => false,
        Err(error) => panic!("inspect image {image}: {error}"),
    }
}

fn images_of(report: &ReapReport) -> Vec<&ReapEntry> {
    report
        .entries
        .iter()
        .filter(|e| e.kind == ObjectKind::Image)
        .collect()
}

fn entry<'a>(report: &'a ReapReport, id: &str) -> &'a ReapEntry {
    images_of(report)
        .into_iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no entry for image {id}: {report:#?}"))
}

#[tokio::test]
async fn prunes_old_unused_dce_images_and_keeps_the_rest() {
    let docker = testkit::docker().await.unwrap();
    let run = TestRun::new();
    let run_id = run.id().to_string();
    let dce_built = [(INFRA_IMAGE_LABEL, "true"), (RUN_LABEL, run_id.as_str())];
    let reference = |what: &str| format!("{INFRA_IMAGE_REPO}:{}-{what}", run.id());

    let old = import(&docker, &reference("old"), &dce_built).await;
    let used = import(&docker, &reference("used"), &dce_built).await;
    let unlabelled = import(&docker, &reference("plain"), &[(RUN_LABEL, &run_id)]).await;
    let own_reference = infra_image_reference(&own_binary().unwrap()).await.unwrap();
    let own = import(&docker, &own_reference, &dce_built).await;
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(run.name("user")),
                platform: String::new(),
            }),
            ContainerCreateBody {
                image: Some(used.clone()),
                cmd: Some(vec!["/dce".to_string()]),
                labels: Some(run.labels()),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let options = |grace: u64, dry_run: bool| ReapOptions {
        grace: Duration::from_secs(grace),
        dry_run,
        scope: vec![run.label_filter()],
        images: true,
        ..Default::default()
    };

    // A dry run lists the old unused image and removes nothing.
    let dry = reap(&docker, &options(0, true)).await.unwrap();
    assert_eq!(images_of(&dry).len(), 3, "{dry:#?}");
    let would = entry(&dry, &old);
    assert_eq!(would.verdict, Verdict::Orphan(OrphanReason::ImageUnused));
    assert_eq!(would.outcome, ReapOutcome::WouldRemove);
    assert_eq!(would.name, reference("old"));
    assert_eq!(
        entry(&dry, &used).verdict,
        Verdict::Keep(KeepReason::ImageInUse { containers: 1 })
    );
    assert_eq!(
        entry(&dry, &own).verdict,
        Verdict::Keep(KeepReason::RunningBinaryImage)
    );
    for image in [&old, &used, &unlabelled, &own] {
        assert!(exists(&docker, image).await, "dry run removed {image}");
    }

    // Within the grace period the unused image is kept.
    let young = reap(&docker, &options(3600, false)).await.unwrap();
    assert!(matches!(
        entry(&young, &old).verdict,
        Verdict::Keep(KeepReason::TooYoung {
            orphan: OrphanReason::ImageUnused,
            ..
        })
    ));
    assert!(exists(&docker, &old).await);

    // Past it, only the old unused image goes; the unlabelled one is never considered.
    let pass = reap(&docker, &options(0, false)).await.unwrap();
    assert_eq!(entry(&pass, &old).outcome, ReapOutcome::Removed);
    assert!(images_of(&pass)
        .iter()
        .filter(|e| e.id != old)
        .all(|e| e.outcome == ReapOutcome::Kept));
    assert!(images_of(&pass).iter().all(|e| e.id != unlabelled));
    assert!(!exists(&docker, &old).await);
    for image in [&used, &unlabelled, &own] {
        assert!(exists(&docker, image).await, "{image} was removed");
    }

    // The run's guard removes the container and the images it created.
    run.cleanup().await.unwrap();
    let left = docker
        .list_images(Some(ListImagesOptions {
            filters: Some(run.filters()),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}
