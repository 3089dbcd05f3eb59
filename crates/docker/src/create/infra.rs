//! The infra container of a shared pod: which image it runs (the plan's, or one built from dce's
//! binary) and its creation.

use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use pod::plan::{InfraSpec, INFRA_SERVICE};
use pod::PodPlan;

use super::tracker::Tracker;
use super::{container, infra_config, CreateOptions};
use crate::client::DockerError;
use crate::infra_image::{ensure_infra_image, own_binary};
use crate::running::{ContainerRole, PodContainer};

/// The image the infra container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum InfraImage {
    /// Named by the plan (`infracontainer.image`); dce does not manage it.
    Named(String),
    /// Built by dce from `binary`, so it can be built again if it vanishes.
    Built { reference: String, binary: PathBuf },
}

impl InfraImage {
    fn reference(&self) -> &str {
        match self {
            Self::Named(reference) | Self::Built { reference, .. } => reference,
        }
    }
}

/// The infra image to run, built from dce's binary when the plan names none; `None` without
/// an infra container.
pub(super) async fn resolve_infra_image(
    docker: &Docker,
    plan: &PodPlan,
    options: &CreateOptions,
) -> Result<Option<InfraImage>, DockerError> {
    let Some(infra) = plan.infra() else {
        return Ok(None);
    };
    if let Some(image) = &infra.image {
        return Ok(Some(InfraImage::Named(image.clone())));
    }
    let binary = match &options.infra_binary {
        Some(path) => path.clone(),
        None => own_binary()?,
    };
    let reference = ensure_infra_image(docker, &binary).await?;
    Ok(Some(InfraImage::Built { reference, binary }))
}

/// Creates the infra container on `network`; returns its id and how long the create took.
///
/// `dce reap --images` may remove a built image between its ensure and this create (it keeps
/// images younger than its grace period, but clocks and slow launches make that a race, not a
/// guarantee): then the image is ensured again and the create retried once.
pub(super) async fn create_infra_container(
    docker: &Docker,
    tracker: &Tracker,
    infra: &InfraSpec,
    image: &InfraImage,
    network: &str,
) -> Result<(String, Duration), DockerError> {
    let meta = infra_meta();
    let create = |reference: &str| {
        let spec = infra_config::infra_container(infra, reference, network);
        let meta = PodContainer {
            name: spec.name.clone(),
            ..meta.clone()
        };
        container::create_container(docker, tracker, spec, meta)
    };
    match (create(image.reference()).await, image) {
        (Err(error), InfraImage::Built { binary, .. }) if is_missing_image(&error) => {
            tracing::warn!(%error, "the infra image vanished before its container was created; building it again");
            let reference = ensure_infra_image(docker, binary).await?;
            create(&reference).await
        }
        (outcome, _) => outcome,
    }
}

/// The infra container as the pod records it (id and name filled in at creation).
pub(super) fn infra_meta() -> PodContainer {
    PodContainer {
        service: INFRA_SERVICE.to_string(),
        id: String::new(),
        name: String::new(),
        role: ContainerRole::Infra,
        depends_on: Vec::new(),
        stop_signal: None,
        stop_grace_period: None,
    }
}

/// The engine's answer to creating a container from an image that does not exist.
fn is_missing_image(error: &DockerError) -> bool {
    matches!(
        error,
        DockerError::Engine { status: Some(404), message, .. } if message.contains("No such image")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_image_is_retried() {
        let engine = |status, message: &str| {
            DockerError::engine(
                "create container for",
                "service infra",
                bollard::errors::Error::DockerResponseServerError {
                    status_code: status,
                    message: message.to_string(),
                },
            )
        };
        assert!(is_missing_image(&engine(
            404,
            "No such image: dce-infra:0123"
        )));
        assert!(!is_missing_image(&engine(404, "No such network: dce-t1")));
        assert!(!is_missing_image(&engine(
            409,
            "Conflict. The name is in use"
        )));
    }
}
