//! The infra image built from dce's own binary runs `dce pause`, which stops promptly and
//! cleanly on SIGTERM.

use std::path::Path;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, StopContainerOptions};
use docker::infra_image::{ensure_infra_image, INFRA_IMAGE_REPO};
use testkit::TestRun;

#[tokio::test]
async fn infra_image_from_own_binary_stops_on_sigterm_with_exit_0() {
    let docker = testkit::docker().await.unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_dce"));
    let image = ensure_infra_image(&docker, binary).await.unwrap();
    assert!(
        image.starts_with(&format!("{INFRA_IMAGE_REPO}:")),
        "{image}"
    );
    // Reused, not rebuilt, the second time.
    let id = docker.inspect_image(&image).await.unwrap().id;
    assert_eq!(ensure_infra_image(&docker, binary).await.unwrap(), image);
    let inspect = docker.inspect_image(&image).await.unwrap();
    assert_eq!(inspect.id, id);
    let config = inspect.config.unwrap();
    assert_eq!(
        config.entrypoint,
        Some(vec!["/dce".to_string(), "pause".to_string()])
    );

    let run = TestRun::new();
    let options = CreateContainerOptions {
        name: Some(run.name("infra")),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(image),
        labels: Some(run.labels()),
        ..Default::default()
    };
    let created = docker.create_container(Some(options), body).await.unwrap();
    docker.start_container(&created.id, None).await.unwrap();
    let state = docker
        .inspect_container(&created.id, None)
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(state.running, Some(true));
    // The kernel drops SIGTERM sent to a PID 1 that has not yet blocked it, so wait until
    // `dce pause` sits in `sigwait` before stopping it.
    let pid = state.pid.expect("a running container has a pid");
    wait_until_in_sigwait(pid).await;

    // A generous grace: if SIGTERM were ignored the engine would SIGKILL (exit 137) at the end.
    let stop = StopContainerOptions {
        t: Some(60),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    docker
        .stop_container(&created.id, Some(stop))
        .await
        .unwrap();
    let state = docker
        .inspect_container(&created.id, None)
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(state.exit_code, Some(0), "state: {state:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "stop waited for the SIGKILL deadline"
    );
}

/// Polls `/proc/<pid>/syscall` until the process is blocked in `rt_sigtimedwait` (x86_64
/// syscall 128), i.e. `dce pause` has blocked its signals and waits for them.
async fn wait_until_in_sigwait(pid: i64) {
    let path = format!("/proc/{pid}/syscall");
    for _ in 0..600 {
        let syscall = std::fs::read_to_string(&path).unwrap_or_default();
        if syscall.split_whitespace().next() == Some("128") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("dce pause (pid {pid}) never reached sigwait");
}

/// Orphans re-parented to `dce pause` (PID 1) are reaped: a background process of an exec'd
/// shell outlives the shell, exits, and must not stay a zombie.
#[tokio::test]
async fn pause_reaps_orphaned_children() {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let binary = std::fs::canonicalize(env!("CARGO_BIN_EXE_dce")).unwrap();
    let options = CreateContainerOptions {
        name: Some(run.name("reaper")),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(testkit::BUSYBOX_IMAGE.to_string()),
        entrypoint: Some(vec!["/dce".into(), "pause".into()]),
        cmd: Some(vec![]),
        labels: Some(run.labels()),
        host_config: Some(bollard::models::HostConfig {
            binds: Some(vec![format!("{}:/dce:ro", binary.display())]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker.create_container(Some(options), body).await.unwrap();
    docker.start_container(&created.id, None).await.unwrap();

    // The shell exits at once; its `sleep` children become orphans of PID 1.
    exec(&docker, &created.id, "sleep 0.2 & sleep 0.3 & exit 0").await;
    let mut zombies = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        zombies = exec(&docker, &created.id, "ps -o stat,comm | grep '^Z' || true").await;
        if zombies.trim().is_empty() {
            break;
        }
    }
    assert!(zombies.trim().is_empty(), "zombies left: {zombies}");
    let ps = exec(&docker, &created.id, "ps -o pid,comm").await;
    assert!(ps.contains("dce"), "PID 1 is dce pause: {ps}");
}

/// Runs `sh -c script` in the container and returns its output.
async fn exec(docker: &bollard::Docker, container: &str, script: &str) -> String {
    use futures_util::StreamExt;
    let exec = docker
        .create_exec(
            container,
            bollard::models::ExecConfig {
                cmd: Some(vec!["sh".into(), "-c".into(), script.into()]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut text = String::new();
    if let bollard::exec::StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec.id, None).await.unwrap()
    {
        while let Some(Ok(chunk)) = output.next().await {
            text.push_str(&chunk.to_string());
        }
    }
    text
}

/// Two executors building the image of a new binary at once agree on one image.
#[tokio::test]
async fn concurrent_builds_agree_on_one_image() {
    let docker = testkit::docker().await.unwrap();
    let run = TestRun::new();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("dce");
    // Trailing bytes change the hash (a "new binary") without changing what runs.
    let mut content = std::fs::read(env!("CARGO_BIN_EXE_dce")).unwrap();
    content.extend_from_slice(run.id().as_bytes());
    std::fs::write(&copy, content).unwrap();

    let (a, b) = tokio::join!(
        ensure_infra_image(&docker, &copy),
        ensure_infra_image(&docker, &copy)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    let id = docker.inspect_image(&a).await.unwrap().id.unwrap();

    // Drop the test image with all its tags (it may also carry the version alias).
    let force = bollard::query_parameters::RemoveImageOptions {
        force: true,
        ..Default::default()
    };
    docker.remove_image(&id, Some(force), None).await.unwrap();
}
