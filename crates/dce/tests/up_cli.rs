//! `dce up` as a user runs it: the real binary, its embedded agent, the real executor path and
//! the real engine. The pod reaches TASK_RUNNING (with its port mapping shown, a relative bind
//! mount served from the project directory), Ctrl-C kills it, the exit code says how it ended,
//! and Docker holds nothing of the pod afterwards.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use bollard::Docker;
use testkit::TestRun;

/// Hang guard for one expected line (the machine is shared and slow; the first run builds the
/// infra image).
const WAIT: Duration = Duration::from_secs(240);

/// A `dce up` subprocess whose stdout is read line by line.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Up {
    fn start(dir: &Path, args: &[&str]) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dce"))
            .arg("up")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("dce up> {line}");
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Up {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle`; panics (with everything seen) if it never comes.
    fn expect_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; saw {:#?}", self.seen),
            }
        }
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
    }

    fn wait(mut self) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "dce up did not exit: {:#?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        self.seen.extend(self.lines.try_iter());
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The run directory `dce up` keeps under the temporary directory when a run did not succeed
/// (`dce-up-<task id>`), removed when the test ends.
struct RunDir(std::path::PathBuf);

impl RunDir {
    fn of(task_id: &str) -> RunDir {
        RunDir(std::env::temp_dir().join(format!("dce-up-{task_id}")))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything of the pod still on the engine: containers, networks, volumes.
async fn leftovers(docker: &Docker, task_id: &str) -> usize {
    let filter = || {
        Some(HashMap::from([(
            "label".to_string(),
            vec![format!("io.dce.task-id={task_id}")],
        )]))
    };
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: filter(),
            ..Default::default()
        }))
        .await
        .unwrap();
    let networks = docker
        .list_networks(Some(ListNetworksOptions { filters: filter() }))
        .await
        .unwrap();
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions { filters: filter() }))
        .await
        .unwrap()
        .volumes
        .unwrap_or_default();
    containers.len() + networks.len() + volumes.len()
}

/// A project directory: a compose file whose web service serves `./www` (relative bind mount)
/// and keeps its data in a named volume.
fn project_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("www")).unwrap();
    std::fs::write(
        dir.path().join("www/index.html"),
        "hello from the sandbox\n",
    )
    .unwrap();
    let compose = format!(
        r#"services:
  web:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
    ports: ["8080"]
    volumes:
      - ./www:/www:ro
      - data:/data
  worker:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]
volumes:
  data: {{}}
"#,
        image = testkit::BUSYBOX_IMAGE
    );
    std::fs::write(dir.path().join("pod.yml"), compose).unwrap();
    dir
}

/// A block of 10 free host ports, distinct from the other blocks of this test process and below
/// Linux's ephemeral range (32768+), so outgoing connections cannot take them.
fn port_block() -> (u32, u32) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    loop {
        let slot = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = 19000 + (std::process::id() % 10) * 100 + (slot % 10) * 10;
        let free = (base..base + 10).all(|port| {
            u16::try_from(port)
                .is_ok_and(|port| std::net::TcpListener::bind(("0.0.0.0", port)).is_ok())
        });
        if free {
            return (base, base + 9);
        }
    }
}

#[tokio::test]
async fn runs_the_pod_until_ctrl_c_then_nothing_is_left() {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let task_id = run.name("up");
    run.also_clean_label("io.dce.task-id", &task_id);
    let _run_dir_task_id = RunDir::of(&task_id);
    let dir = project_dir();
    let (first, last) = port_block();
    let ports = format!("{first}-{last}");

    let mut up = Up::start(
        dir.path(),
        &["-f", "pod.yml", "--ports", &ports, "--task-id", &task_id],
    );
    up.expect_line(&format!("pod dce-{task_id}"));
    up.expect_line("TASK_STARTING");
    let running = up.expect_line("TASK_RUNNING");
    let mapping = format!("web 8080/tcp→{first}");
    assert!(running.contains(&mapping), "{running}");

    // The relative bind mount is the project's own ./www, served on the offered host port.
    let page = Command::new("busybox")
        .args([
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://127.0.0.1:{first}/"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&page.stdout),
        "hello from the sandbox\n"
    );
    // The executor wrote the pod's files into the sandbox (the project directory).
    assert!(dir.path().join("pod/generated-compose.yml").is_file());

    up.signal(rustix::process::Signal::INT);
    let (status, lines) = up.wait();
    assert_eq!(status.code(), Some(0), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("TASK_KILLED")),
        "{lines:#?}"
    );
    // Nothing of the pod remains (the named volume is kept by default config; the pod's own
    // anonymous objects and containers are gone).
    let named_volume = format!("dce-{task_id}_data");
    let left = leftovers(&docker, &task_id).await;
    let kept_named = usize::from(docker.inspect_volume(&named_volume).await.is_ok());
    assert_eq!(left, kept_named, "only the named volume may remain");
    let _ = docker
        .remove_volume(
            &named_volume,
            None::<bollard::query_parameters::RemoveVolumeOptions>,
        )
        .await;
    assert_eq!(leftovers(&docker, &task_id).await, 0);
}

/// `examples/pod/` copied to a temporary project directory (so the run's `pod/` and `logs/` do
/// not land in the repository), with the example image replaced by the offline test image.
fn example_pod_dir() -> tempfile::TempDir {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/pod/docker-compose.yml");
    let compose = std::fs::read_to_string(example)
        .unwrap()
        .replace("dce-example-busybox:latest", testkit::BUSYBOX_IMAGE);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker-compose.yml"), compose).unwrap();
    dir
}

#[tokio::test]
async fn the_example_pod_runs_healthy_and_ctrl_c_leaves_nothing() {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let task_id = run.name("example");
    run.also_clean_label("io.dce.task-id", &task_id);
    let _run_dir_task_id = RunDir::of(&task_id);
    let dir = example_pod_dir();
    let (first, last) = port_block();
    let first = first + 5;
    let ports = format!("{first}-{last}");

    let mut up = Up::start(
        dir.path(),
        &[
            "--ports",
            &ports,
            "--task-id",
            &task_id,
            "--set",
            "cleanpod.removenamedvolumes=true",
        ],
    );
    let running = up.expect_line("TASK_RUNNING");
    assert!(running.contains("| healthy"), "{running}");
    assert!(
        running.contains(&format!("web 8080/tcp→{first}")),
        "{running}"
    );
    let page = Command::new("busybox")
        .args([
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://127.0.0.1:{first}/"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&page.stdout),
        "hello from a dce pod\n"
    );

    up.signal(rustix::process::Signal::INT);
    let (status, lines) = up.wait();
    assert_eq!(status.code(), Some(0), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("TASK_KILLED")),
        "{lines:#?}"
    );
    assert_eq!(leftovers(&docker, &task_id).await, 0, "{lines:#?}");
}

#[tokio::test]
async fn a_failing_pod_exits_1_and_a_timeout_exits_124() {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  job:\n    image: {}\n    command: [\"sh\", \"-c\", \"exit 3\"]\n",
            testkit::BUSYBOX_IMAGE
        ),
    )
    .unwrap();
    let failing = run.name("fail");
    run.also_clean_label("io.dce.task-id", &failing);
    let _run_dir_failing = RunDir::of(&failing);
    let (status, lines) = Up::start(dir.path(), &["--task-id", &failing]).wait();
    assert_eq!(status.code(), Some(1), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("TASK_FAILED")),
        "{lines:#?}"
    );
    assert_eq!(leftovers(&docker, &failing).await, 0);

    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  sleeper:\n    image: {}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done\"]\n",
            testkit::BUSYBOX_IMAGE
        ),
    )
    .unwrap();
    let timed = run.name("timeout");
    run.also_clean_label("io.dce.task-id", &timed);
    let _run_dir_timed = RunDir::of(&timed);
    let mut up = Up::start(dir.path(), &["--task-id", &timed, "--timeout", "3s"]);
    up.expect_line("--timeout reached");
    let (status, lines) = up.wait();
    assert_eq!(status.code(), Some(124), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("TASK_KILLED")),
        "{lines:#?}"
    );
    assert_eq!(leftovers(&docker, &timed).await, 0);
}

#[test]
fn bad_input_is_explained_before_anything_starts() {
    let missing = Command::new(env!("CARGO_BIN_EXE_dce"))
        .args(["up", "-f", "/nonexistent/pod.yml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let text = String::from_utf8_lossy(&missing.stderr);
    assert!(text.contains("compose file /nonexistent/pod.yml"), "{text}");

    let ports = Command::new(env!("CARGO_BIN_EXE_dce"))
        .args(["up", "--ports", "31010-31000"])
        .output()
        .unwrap();
    assert_eq!(ports.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&ports.stderr).is_empty());

    let help = Command::new(env!("CARGO_BIN_EXE_dce"))
        .args(["up", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Examples:") && text.contains("Exit status"),
        "{text}"
    );
}

#[tokio::test]
async fn a_sigkilled_dce_up_leaves_nothing_behind() {
    // Without checkpointing, the executor kills its pod as soon as its agent (inside `dce up`)
    // is gone.
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let task_id = run.name("sigkill");
    run.also_clean_label("io.dce.task-id", &task_id);
    let _run_dir_task_id = RunDir::of(&task_id);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  sleeper:\n    image: {}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done\"]\n",
            testkit::BUSYBOX_IMAGE
        ),
    )
    .unwrap();
    let mut up = Up::start(dir.path(), &["--task-id", &task_id]);
    up.expect_line("TASK_RUNNING");
    assert!(leftovers(&docker, &task_id).await > 0);
    up.signal(rustix::process::Signal::KILL);
    let (status, _) = up.wait();
    assert_eq!(status.code(), None, "killed by a signal");
    let deadline = Instant::now() + WAIT;
    while leftovers(&docker, &task_id).await > 0 {
        assert!(Instant::now() < deadline, "the pod outlived dce up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn config_file_and_overrides_reach_the_executor() {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  job:\n    image: {}\n    command: [\"true\"]\n",
            testkit::BUSYBOX_IMAGE
        ),
    )
    .unwrap();
    let config = dir.path().join("dce.yaml");
    std::fs::write(&config, "launchtask:\n  timeoutt: 5s\n").unwrap();

    // --config is the executor's config: a typo in it fails the task, naming the key.
    let typo = run.name("typo");
    run.also_clean_label("io.dce.task-id", &typo);
    let _run_dir_typo = RunDir::of(&typo);
    let config_arg = config.display().to_string();
    let (status, lines) =
        Up::start(dir.path(), &["--task-id", &typo, "--config", &config_arg]).wait();
    assert_eq!(status.code(), Some(1), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains(&config_arg)), "{lines:#?}");
    let failed = lines.iter().find(|l| l.contains("TASK_FAILED")).unwrap();
    assert!(failed.contains("launchtask.timeoutt"), "{failed}");
    assert!(failed.contains("REASON_TASK_INVALID"), "{failed}");

    // --set becomes a `config.*` task label; the executor refuses operator-only keys.
    let operator = run.name("operator");
    run.also_clean_label("io.dce.task-id", &operator);
    let _run_dir_operator = RunDir::of(&operator);
    let (status, lines) = Up::start(
        dir.path(),
        &["--task-id", &operator, "--set", "policy.mode=privileged"],
    )
    .wait();
    assert_eq!(status.code(), Some(1), "{lines:#?}");
    let failed = lines.iter().find(|l| l.contains("TASK_FAILED")).unwrap();
    assert!(failed.contains("policy.mode"), "{failed}");

    // A batch pod whose services exit 0 finishes: exit status 0.
    let batch = run.name("batch");
    run.also_clean_label("io.dce.task-id", &batch);
    let _run_dir_batch = RunDir::of(&batch);
    let (status, lines) = Up::start(dir.path(), &["--task-id", &batch]).wait();
    assert_eq!(status.code(), Some(0), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("TASK_FINISHED")),
        "{lines:#?}"
    );
    assert_eq!(leftovers(&docker, &batch).await, 0);
}

#[tokio::test]
async fn an_executor_killed_under_dce_up_is_reported_and_its_pod_removed() {
    let docker = testkit::docker().await.unwrap();
    testkit::ensure_busybox_image(&docker).await.unwrap();
    let run = TestRun::new();
    let task_id = run.name("exkill");
    run.also_clean_label("io.dce.task-id", &task_id);
    let _run_dir_task_id = RunDir::of(&task_id);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  sleeper:\n    image: {}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done\"]\n",
            testkit::BUSYBOX_IMAGE
        ),
    )
    .unwrap();
    let mut up = Up::start(dir.path(), &["--task-id", &task_id]);
    let header = up.expect_line("executor pid ");
    let pid: i32 = header
        .split("executor pid ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {header:?}"));
    up.expect_line("TASK_RUNNING");
    let executor = rustix::process::Pid::from_raw(pid).unwrap();
    rustix::process::kill_process(executor, rustix::process::Signal::KILL).unwrap();
    let (status, lines) = up.wait();
    assert_eq!(status.code(), Some(3), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("was killed by signal 9")),
        "{lines:#?}"
    );
    assert_eq!(leftovers(&docker, &task_id).await, 0, "{lines:#?}");
}
