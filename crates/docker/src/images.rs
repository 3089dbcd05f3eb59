//! Making sure every image of a pod is on the host before anything is created.
//!
//! Per service `pull_policy` (compose semantics, default `missing`; `build` means the image must
//! already exist, since dce builds nothing), pulls in parallel, retries
//! with exponential back-off and jitter (`launchtask.pullretry`), `launchtask.skippull`, registry
//! credentials from the executor user's Docker config, and progress through a callback so the
//! executor can show it in TASK_STARTING updates.

use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptions;
use bollard::Docker;
use compose::{Project, PullPolicy};
use futures_util::future::try_join_all;
use futures_util::StreamExt;
use pod::plan::INFRA_SERVICE;
use pod::PodPlan;
use rand::Rng;
use tokio::sync::mpsc;

use crate::client::{is_not_found, DockerError};
use crate::images_auth::{RegistryAuth, RegistryCredentials};

/// Longest pause between two pull attempts, whatever the base and attempt.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

/// How images are obtained (dce's `launchtask.*` configuration).
#[derive(Debug, Clone)]
pub struct PullSettings {
    /// `launchtask.skippull`: never pull; an absent image is an error.
    pub skip_pull: bool,
    /// `launchtask.pullretry`: attempts after the first failed one.
    pub retries: u32,
    /// Delay before the first retry; doubled for each further one (with jitter).
    pub retry_base: Duration,
    /// Registry credentials (empty: anonymous pulls).
    pub credentials: RegistryCredentials,
}

impl Default for PullSettings {
    fn default() -> Self {
        PullSettings {
            skip_pull: false,
            retries: 3,
            retry_base: Duration::from_secs(1),
            credentials: RegistryCredentials::default(),
        }
    }
}

impl PullSettings {
    /// dce's `launchtask.pullretry` and `launchtask.skippull` with the executor user's registry
    /// credentials (see [`RegistryCredentials::default_path`]).
    pub fn from_config(config: &pod::Config) -> Result<Self, DockerError> {
        let credentials = match RegistryCredentials::default_path() {
            Some(path) => RegistryCredentials::load(&path)?,
            None => RegistryCredentials::default(),
        };
        Ok(PullSettings {
            skip_pull: config.skip_pull,
            retries: config.pull_retry,
            credentials,
            ..Default::default()
        })
    }
}

/// One image the pod needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRequest {
    /// Image reference as written in the compose file.
    pub image: String,
    /// The strictest `pull_policy` of the services using it.
    pub policy: PullPolicy,
    /// The first service using it (named in errors).
    pub service: String,
    /// `platform:` of that service, passed to the pull.
    pub platform: Option<String>,
}

/// What is happening to the pod's images, for progress reporting.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageProgress {
    /// The image is already on the host; nothing to do.
    Present {
        /// Image reference.
        image: String,
    },
    /// A pull attempt started.
    Pulling {
        /// Image reference.
        image: String,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// A status line of a running pull (`Downloading`, `Extracting`, …).
    Status {
        /// Image reference.
        image: String,
        /// The engine's status text, with the layer id when there is one.
        status: String,
        /// Bytes done, when the engine says.
        current: Option<i64>,
        /// Bytes in total, when the engine says.
        total: Option<i64>,
    },
    /// An attempt failed; another follows after `delay`.
    RetryScheduled {
        /// Image reference.
        image: String,
        /// The attempt that failed.
        attempt: u32,
        /// Pause before the next attempt.
        delay: Duration,
        /// The engine's message.
        error: String,
    },
    /// The image was pulled.
    Pulled {
        /// Image reference.
        image: String,
    },
}

/// The images `project` needs, one request per distinct reference, in service order.
pub fn image_requests(project: &Project) -> Vec<ImageRequest> {
    let mut requests: Vec<ImageRequest> = Vec::new();
    for (name, service) in &project.services {
        let policy = service.pull_policy.unwrap_or(PullPolicy::Missing);
        match requests.iter_mut().find(|r| r.image == service.image) {
            Some(existing) if strictness(policy) > strictness(existing.policy) => {
                existing.policy = policy;
            }
            Some(_) => {}
            None => requests.push(ImageRequest {
                image: service.image.clone(),
                policy,
                service: name.clone(),
                platform: service.platform.clone(),
            }),
        }
    }
    requests
}

/// The images a pod plan needs: every service's, plus a configured infra image (pulled when
/// missing). The built-in infra image is not listed: dce builds it (see
/// [`crate::infra_image`]).
pub fn plan_image_requests(plan: &PodPlan) -> Vec<ImageRequest> {
    let mut requests = image_requests(&plan.project);
    if let Some(image) = plan.infra().and_then(|infra| infra.image.clone()) {
        if !requests.iter().any(|r| r.image == image) {
            requests.push(ImageRequest {
                image,
                policy: PullPolicy::Missing,
                service: INFRA_SERVICE.to_string(),
                platform: None,
            });
        }
    }
    requests
}

/// `always` beats `missing`, which beats `never` and `build` (the image must already exist).
fn strictness(policy: PullPolicy) -> u8 {
    match policy {
        PullPolicy::Never | PullPolicy::Build => 0,
        PullPolicy::Missing => 1,
        PullPolicy::Always => 2,
    }
}

/// Ensures every requested image is present, pulling in parallel as the policies require.
/// The first failure cancels the other pulls and is returned.
pub async fn ensure_images<F>(
    docker: &Docker,
    requests: &[ImageRequest],
    settings: &PullSettings,
    mut progress: F,
) -> Result<(), DockerError>
where
    F: FnMut(ImageProgress) + Send,
{
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let work = try_join_all(
        requests
            .iter()
            .map(|request| ensure_image(docker, request, settings, sender.clone())),
    );
    drop(sender);
    tokio::pin!(work);
    loop {
        tokio::select! {
            Some(event) = receiver.recv() => progress(event),
            result = &mut work => {
                while let Ok(event) = receiver.try_recv() {
                    progress(event);
                }
                return result.map(|_| ());
            }
        }
    }
}

async fn ensure_image(
    docker: &Docker,
    request: &ImageRequest,
    settings: &PullSettings,
    progress: mpsc::UnboundedSender<ImageProgress>,
) -> Result<(), DockerError> {
    let image = request.image.clone();
    let present = match docker.inspect_image(&image).await {
        Ok(_) => true,
        Err(e) if is_not_found(&e) => false,
        Err(e) => return Err(DockerError::engine("inspect", format!("image {image}"), e)),
    };
    let absent = |reason| DockerError::ImageAbsent {
        service: request.service.clone(),
        image: image.clone(),
        reason,
    };
    let must_pull = match request.policy {
        PullPolicy::Always => true,
        PullPolicy::Missing => !present,
        PullPolicy::Never | PullPolicy::Build if present => false,
        PullPolicy::Never => return Err(absent("pull_policy is never")),
        PullPolicy::Build => {
            return Err(absent(
                "pull_policy is build (dce builds no images; build it on the host first)",
            ))
        }
    };
    if must_pull && settings.skip_pull {
        if present {
            let _ = progress.send(ImageProgress::Present { image });
            return Ok(());
        }
        return Err(absent("launchtask.skippull is set"));
    }
    if !must_pull {
        let _ = progress.send(ImageProgress::Present { image });
        return Ok(());
    }
    pull_with_retries(docker, request, settings, &progress).await
}

async fn pull_with_retries(
    docker: &Docker,
    request: &ImageRequest,
    settings: &PullSettings,
    progress: &mpsc::UnboundedSender<ImageProgress>,
) -> Result<(), DockerError> {
    let image = &request.image;
    let (credentials, helper) = match settings.credentials.for_image(image) {
        RegistryAuth::Credentials(c) => (Some(c), None),
        RegistryAuth::UnsupportedHelper(h) => (None, Some(h)),
        RegistryAuth::Anonymous => (None, None),
    };
    let attempts = settings.retries.saturating_add(1);
    let mut attempt = 1;
    loop {
        let _ = progress.send(ImageProgress::Pulling {
            image: image.clone(),
            attempt,
        });
        let outcome = pull_once(docker, request, credentials.clone(), progress).await;
        let message = match outcome {
            Ok(()) => {
                let _ = progress.send(ImageProgress::Pulled {
                    image: image.clone(),
                });
                return Ok(());
            }
            Err(message) => message,
        };
        if attempt >= attempts {
            let hint = helper
                .map(|h| {
                    format!(
                        " (credential helper `{h}` is configured for this registry; dce does not \
                         run credential helpers, put the credentials under `auths`)"
                    )
                })
                .unwrap_or_default();
            return Err(DockerError::PullFailed {
                service: request.service.clone(),
                image: image.clone(),
                attempts,
                message: format!("{message}{hint}"),
            });
        }
        let delay = retry_delay(settings.retry_base, attempt);
        tracing::warn!(%image, attempt, ?delay, error = %message, "image pull failed, retrying");
        let _ = progress.send(ImageProgress::RetryScheduled {
            image: image.clone(),
            attempt,
            delay,
            error: message,
        });
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// One pull; the error is the engine's message.
async fn pull_once(
    docker: &Docker,
    request: &ImageRequest,
    credentials: Option<DockerCredentials>,
    progress: &mpsc::UnboundedSender<ImageProgress>,
) -> Result<(), String> {
    let options = CreateImageOptions {
        from_image: Some(pull_reference(&request.image)),
        platform: request.platform.clone().unwrap_or_default(),
        ..Default::default()
    };
    let mut stream = docker.create_image(Some(options), None, credentials);
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError { message, .. } => message,
            other => other.to_string(),
        })?;
        if let Some(status) = info.status {
            let status = match info.id {
                Some(id) => format!("{id}: {status}"),
                None => status,
            };
            let detail = info.progress_detail.unwrap_or_default();
            let _ = progress.send(ImageProgress::Status {
                image: request.image.clone(),
                status,
                current: detail.current,
                total: detail.total,
            });
        }
    }
    Ok(())
}

/// A reference with an explicit tag: without one the engine would pull every tag of the repo.
fn pull_reference(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// `base × 2^(attempt-1)`, capped, then a random point in its upper half (jitter spreads the
/// retries of many executors pulling from one registry).
fn retry_delay(base: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    let full = base.saturating_mul(factor).min(MAX_RETRY_DELAY);
    let nanos = u64::try_from(full.as_nanos()).unwrap_or(u64::MAX);
    if nanos < 2 {
        return full;
    }
    Duration::from_nanos(rand::rng().random_range(nanos / 2..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_reference_gets_a_tag() {
        assert_eq!(pull_reference("busybox"), "busybox:latest");
        assert_eq!(pull_reference("busybox:1"), "busybox:1");
        assert_eq!(pull_reference("reg:5000/a/b"), "reg:5000/a/b:latest");
        assert_eq!(pull_reference("reg:5000/a/b:2"), "reg:5000/a/b:2");
        assert_eq!(pull_reference("a@sha256:00"), "a@sha256:00");
    }

    #[test]
    fn retry_delay_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 1..=4 {
            let full = base * 2u32.pow(attempt - 1);
            let delay = retry_delay(base, attempt);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
        assert!(retry_delay(Duration::from_secs(10), 30) <= MAX_RETRY_DELAY);
    }

    #[test]
    fn requests_are_deduplicated_with_the_strictest_policy() {
        let mut project = Project::default();
        for (name, image, policy) in [
            ("a", "x:1", Some(PullPolicy::Never)),
            ("b", "y:1", None),
            ("c", "x:1", Some(PullPolicy::Always)),
        ] {
            project.services.insert(
                name.to_string(),
                compose::Service {
                    image: image.to_string(),
                    pull_policy: policy,
                    ..Default::default()
                },
            );
        }
        let requests = image_requests(&project);
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].image, "x:1");
        assert_eq!(requests[0].service, "a");
        assert_eq!(requests[0].policy, PullPolicy::Always);
        assert_eq!(requests[1].policy, PullPolicy::Missing);
    }
}
