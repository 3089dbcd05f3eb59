//! Pruning stale infra images (`dce reap --images`): every dce build imports its own
//! `dce-infra:<hash>` image (about 150 MB for a debug build) and nothing else removes them, so
//! test runs and upgrades pile them up.
//!
//! Only images dce imported are candidates: tagged `dce-infra:*` *and* labelled
//! [`INFRA_IMAGE_LABEL`]. One is removed when no container (running or stopped) uses it, it is
//! not the image of the running dce binary, and it is older than the grace period. The engine
//! refuses to remove an image a container uses, which covers a container created after the
//! listing; an executor whose freshly ensured image is removed before its infra container is
//! created builds it again (see `create`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bollard::models::ImageSummary;
use bollard::query_parameters::{ListContainersOptions, ListImagesOptions, RemoveImageOptions};
use bollard::Docker;

use super::{
    planned_outcome, KeepReason, ObjectKind, OrphanReason, ReapEntry, ReapOptions, ReapOutcome,
    Verdict,
};
use crate::client::is_not_found;
use crate::infra_image::{infra_image_reference, own_binary, INFRA_IMAGE_LABEL, INFRA_IMAGE_REPO};
use crate::remove::RemoveError;

/// The infra images in the options' scope with the reaper's verdict on each.
/// `ignored_containers` are containers not to count as users (in a dry run, the orphan
/// containers that a real pass would have removed first).
pub(super) async fn judge_images(
    docker: &Docker,
    options: &ReapOptions,
    now_nanos: i64,
    ignored_containers: &HashSet<String>,
) -> Result<Vec<ReapEntry>, RemoveError> {
    let mut filters = vec![format!("{INFRA_IMAGE_LABEL}=true")];
    filters.extend(options.scope.iter().cloned());
    let images = docker
        .list_images(Some(ListImagesOptions {
            filters: Some(HashMap::from([("label".to_string(), filters.clone())])),
            ..Default::default()
        }))
        .await
        .map_err(|source| RemoveError::List {
            what: "images",
            filters: filters.clone(),
            source,
        })?;
    let candidates: Vec<(ImageSummary, Vec<String>)> = images
        .into_iter()
        .filter_map(|image| {
            let tags = infra_tags(&image);
            (!tags.is_empty()).then_some((image, tags))
        })
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let users = image_users(docker, ignored_containers).await?;
    let own = own_reference().await;
    Ok(candidates
        .into_iter()
        .map(|(image, tags)| {
            let verdict = judge(
                &image,
                &tags,
                &users,
                own.as_deref(),
                now_nanos,
                options.grace,
            );
            ReapEntry {
                kind: ObjectKind::Image,
                id: image.id,
                name: tags.join(","),
                task_id: None,
                project: None,
                outcome: planned_outcome(&verdict, options.dry_run),
                verdict,
            }
        })
        .collect())
}

/// Removes the images judged orphans: each `dce-infra` tag is removed, and the engine deletes
/// the image with its last tag. Marks the entries whose removal failed.
pub(super) async fn remove_images(docker: &Docker, entries: &mut [ReapEntry]) {
    let options = RemoveImageOptions {
        force: false,
        noprune: false,
        ..Default::default()
    };
    for entry in entries.iter_mut() {
        if entry.kind != ObjectKind::Image || entry.outcome != ReapOutcome::Removed {
            continue;
        }
        for tag in entry.name.split(',') {
            match docker.remove_image(tag, Some(options.clone()), None).await {
                Ok(_) => {}
                Err(error) if is_not_found(&error) => {}
                Err(error) => {
                    entry.outcome = ReapOutcome::Failed {
                        error: format!("image {tag}: {error}"),
                    };
                    break;
                }
            }
        }
    }
}

/// The image's `dce-infra:*` tags.
fn infra_tags(image: &ImageSummary) -> Vec<String> {
    let prefix = format!("{INFRA_IMAGE_REPO}:");
    let mut tags: Vec<String> = image
        .repo_tags
        .iter()
        .filter(|tag| tag.starts_with(&prefix))
        .cloned()
        .collect();
    tags.sort();
    tags
}

/// Image id → how many containers (running or stopped, not ignored) use it.
async fn image_users(
    docker: &Docker,
    ignored: &HashSet<String>,
) -> Result<HashMap<String, usize>, RemoveError> {
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .map_err(|source| RemoveError::List {
            what: "containers",
            filters: Vec::new(),
            source,
        })?;
    let mut users = HashMap::new();
    for container in containers {
        if container.id.as_ref().is_some_and(|id| ignored.contains(id)) {
            continue;
        }
        if let Some(image) = container.image_id {
            *users.entry(image).or_insert(0) += 1;
        }
    }
    Ok(users)
}

/// The infra image reference of the running binary; `None` (nothing is kept for it) when the
/// binary cannot be read, which only means no image can have been built from it by this path.
async fn own_reference() -> Option<String> {
    let reference = match own_binary() {
        Ok(binary) => infra_image_reference(&binary).await,
        Err(error) => Err(error),
    };
    reference
        .map_err(|error| tracing::warn!(%error, "cannot tell the running binary's infra image"))
        .ok()
}

fn judge(
    image: &ImageSummary,
    tags: &[String],
    users: &HashMap<String, usize>,
    own: Option<&str>,
    now_nanos: i64,
    grace: Duration,
) -> Verdict {
    if own.is_some_and(|own| tags.iter().any(|tag| tag == own)) {
        return Verdict::Keep(KeepReason::RunningBinaryImage);
    }
    if let Some(&containers) = users.get(&image.id) {
        return Verdict::Keep(KeepReason::ImageInUse { containers });
    }
    let orphan = OrphanReason::ImageUnused;
    let created = image.created.saturating_mul(1_000_000_000);
    let age = Duration::from_nanos(u64::try_from(now_nanos.saturating_sub(created)).unwrap_or(0));
    if age < grace {
        return Verdict::Keep(KeepReason::TooYoung { orphan, age });
    }
    Verdict::Orphan(orphan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, tags: &[&str], created_secs: i64) -> ImageSummary {
        ImageSummary {
            id: id.into(),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            created: created_secs,
            ..Default::default()
        }
    }

    #[test]
    fn only_dce_infra_tags_count() {
        let summary = image("sha256:1", &["other:1", "dce-infra:b", "dce-infra:a"], 0);
        assert_eq!(infra_tags(&summary), vec!["dce-infra:a", "dce-infra:b"]);
        assert!(infra_tags(&image("sha256:2", &["dce-infra-x:1"], 0)).is_empty());
    }

    #[test]
    fn verdicts_keep_own_used_and_young_images() {
        let hour = Duration::from_secs(3600);
        let now = 10 * 3_600_000_000_000;
        let old = image("sha256:old", &["dce-infra:old"], 0);
        let tags = infra_tags(&old);
        let none = HashMap::new();
        assert_eq!(
            judge(&old, &tags, &none, None, now, hour),
            Verdict::Orphan(OrphanReason::ImageUnused)
        );
        assert_eq!(
            judge(&old, &tags, &none, Some("dce-infra:old"), now, hour),
            Verdict::Keep(KeepReason::RunningBinaryImage)
        );
        let used = HashMap::from([("sha256:old".to_string(), 2)]);
        assert_eq!(
            judge(&old, &tags, &used, None, now, hour),
            Verdict::Keep(KeepReason::ImageInUse { containers: 2 })
        );
        let young = image("sha256:young", &["dce-infra:young"], 10 * 3600 - 5);
        assert!(matches!(
            judge(&young, &infra_tags(&young), &none, None, now, hour),
            Verdict::Keep(KeepReason::TooYoung {
                orphan: OrphanReason::ImageUnused,
                ..
            })
        ));
    }
}
