//! Image policies against the real engine (no registry is reachable, so pulls only fail).

use std::time::Duration;

use compose::PullPolicy;
use docker::images::{ensure_images, ImageProgress, ImageRequest, PullSettings};
use docker::DockerError;
use testkit::BUSYBOX_IMAGE;

fn request(image: &str, policy: PullPolicy) -> ImageRequest {
    ImageRequest {
        image: image.to_string(),
        policy,
        service: "web".to_string(),
        platform: None,
    }
}

#[tokio::test]
async fn missing_policy_with_present_image_does_not_pull() {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let mut events = Vec::new();
    let requests = [
        request(BUSYBOX_IMAGE, PullPolicy::Missing),
        request(BUSYBOX_IMAGE, PullPolicy::Build),
        request(BUSYBOX_IMAGE, PullPolicy::Never),
    ];
    ensure_images(&docker, &requests, &PullSettings::default(), |p| {
        events.push(p)
    })
    .await
    .unwrap();
    assert_eq!(events.len(), 3);
    assert!(events
        .iter()
        .all(|e| matches!(e, ImageProgress::Present { image } if image == BUSYBOX_IMAGE)));
}

#[tokio::test]
async fn never_policy_with_absent_image_is_a_clear_error() {
    let docker = testkit::docker().await.unwrap();
    let requests = [request("dce-test-absent-image:v1", PullPolicy::Never)];
    let error = ensure_images(&docker, &requests, &PullSettings::default(), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(error, DockerError::ImageAbsent { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "service web: image dce-test-absent-image:v1 is not present and pull_policy is never"
    );
}

#[tokio::test]
async fn build_policy_with_absent_image_is_a_clear_error() {
    let docker = testkit::docker().await.unwrap();
    let requests = [request("dce-test-absent-image:v1", PullPolicy::Build)];
    let error = ensure_images(&docker, &requests, &PullSettings::default(), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("pull_policy is build"), "{error}");
}

#[tokio::test]
async fn skip_pull_with_absent_image_is_a_clear_error() {
    let docker = testkit::docker().await.unwrap();
    let settings = PullSettings {
        skip_pull: true,
        ..Default::default()
    };
    let requests = [request("dce-test-absent-image:v1", PullPolicy::Always)];
    let error = ensure_images(&docker, &requests, &settings, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("launchtask.skippull"), "{error}");
}

#[tokio::test]
async fn failing_pull_is_retried_then_reported() {
    let docker = testkit::docker().await.unwrap();
    // Nothing listens on port 9 of localhost: every attempt fails at once.
    let image = "127.0.0.1:9/dce-test-absent:v1";
    let settings = PullSettings {
        retries: 2,
        retry_base: Duration::from_millis(5),
        ..Default::default()
    };
    let mut events = Vec::new();
    let error = ensure_images(
        &docker,
        &[request(image, PullPolicy::Missing)],
        &settings,
        |p| events.push(p),
    )
    .await
    .unwrap_err();
    let DockerError::PullFailed {
        ref service,
        attempts,
        ref message,
        ..
    } = error
    else {
        panic!("unexpected error {error:?}")
    };
    assert_eq!(service, "web");
    assert_eq!(attempts, 3);
    assert!(!message.is_empty());
    let text = error.to_string();
    assert!(
        text.contains(image) && text.contains("after 3 attempts"),
        "{text}"
    );
    let pulls = events
        .iter()
        .filter(|e| matches!(e, ImageProgress::Pulling { .. }))
        .count();
    let retries = events
        .iter()
        .filter(|e| matches!(e, ImageProgress::RetryScheduled { .. }))
        .count();
    assert_eq!((pulls, retries), (3, 2), "{events:?}");
}

#[tokio::test]
async fn plan_requests_cover_services_and_a_configured_infra_image() {
    let sandbox = tempfile::tempdir().unwrap();
    std::fs::write(
        sandbox.path().join("docker-compose.yml"),
        "services:\n  a:\n    image: dce-test-busybox:latest\n    pull_policy: never\n  b:\n    image: other:1\n",
    )
    .unwrap();
    let project = compose::ProjectLoader::new(sandbox.path(), compose::InterpolationEnv::empty())
        .load(&[])
        .unwrap();
    let config = pod::Config {
        infra_image: Some("registry.example/pause:3".to_string()),
        ..Default::default()
    };
    let task = pod::TaskContext::local(
        "t1",
        sandbox.path().to_path_buf(),
        Vec::new(),
        config.clone(),
    );
    let chain = pod::PluginChain::from_config(&config, Vec::new()).unwrap();
    let plan = pod::plan_pod(project, &task, &chain).unwrap();
    let requests = docker::images::plan_image_requests(&plan);
    let summary: Vec<_> = requests
        .iter()
        .map(|r| (r.image.as_str(), r.policy, r.service.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("dce-test-busybox:latest", PullPolicy::Never, "a"),
            ("other:1", PullPolicy::Missing, "b"),
            (
                "registry.example/pause:3",
                PullPolicy::Missing,
                pod::plan::INFRA_SERVICE
            ),
        ]
    );
}
