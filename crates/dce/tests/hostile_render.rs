//! Hostile compose files through `dce render` (the executor's own validation, policy and
//! planning path, without Docker): each is refused under the default `baseline` policy with a
//! message naming the violation, and plans under `policy.mode: privileged`. Path escapes
//! (symlinks out of the sandbox) are refused in every mode. Executor secrets never interpolate.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

const TOKEN: &str = "s3cr3t-executor-token";

fn render(dir: &Path, file: &str, config: Option<&str>) -> Output {
    let mut command = Command::cargo_bin("dce").unwrap();
    command
        .current_dir(dir)
        .env_remove("MESOS_SANDBOX")
        .env("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", TOKEN)
        .args([
            "render",
            "--ports",
            "31000-31009",
            "--task-id",
            "hostile",
            "-f",
            file,
        ]);
    if let Some(config) = config {
        let path = dir.join("operator-config.yaml");
        std::fs::write(&path, config).unwrap();
        command.arg("--config").arg(path);
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const PRIVILEGED: &str = "policy:\n  mode: privileged\n";

/// Service snippets (indented under a service) and what the refusal must name.
const DENIED: &[(&str, &str, &[&str])] = &[
    ("privileged", "    privileged: true\n", &["privileged"]),
    ("pid host", "    pid: host\n", &["pid", "host"]),
    ("ipc host", "    ipc: host\n", &["ipc", "host"]),
    ("pid of a foreign container", "    pid: container:other\n", &["pid", "container:other"]),
    ("host network", "    network_mode: host\n", &["network_mode", "host"]),
    ("foreign network namespace", "    network_mode: container:other\n", &["network_mode"]),
    (
        "docker socket",
        "    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]\n",
        &["/var/run/docker.sock"],
    ),
    (
        "directory holding the docker socket",
        "    volumes: [\"/var/run:/host-run\"]\n",
        &["/var/run"],
    ),
    (
        "containerd socket, long syntax",
        "    volumes:\n      - type: bind\n        source: /run/containerd/containerd.sock\n        target: /c.sock\n",
        &["containerd.sock"],
    ),
    ("host root", "    volumes: [\"/:/host\"]\n", &["volumes", "/"]),
    ("host /etc read-only", "    volumes: [\"/etc:/etc-host:ro\"]\n", &["/etc"]),
    ("escape with ..", "    volumes: [\"../../../../etc:/x\"]\n", &["/etc"]),
    ("device", "    devices: [\"/dev/sda:/dev/sda\"]\n", &["devices", "/dev/sda"]),
    ("SYS_ADMIN", "    cap_add: [SYS_ADMIN]\n", &["SYS_ADMIN"]),
    ("NET_ADMIN", "    cap_add: [NET_ADMIN]\n", &["NET_ADMIN"]),
    ("CAP_SYS_PTRACE", "    cap_add: [CAP_SYS_PTRACE]\n", &["SYS_PTRACE"]),
    ("ALL capabilities", "    cap_add: [ALL]\n", &["ALL"]),
    ("SYS_MODULE", "    cap_add: [\"sys_module\"]\n", &["sys_module"]),
    ("seccomp unconfined", "    security_opt: [\"seccomp:unconfined\"]\n", &["seccomp"]),
    ("seccomp=unconfined", "    security_opt: [\"seccomp=unconfined\"]\n", &["seccomp"]),
    ("apparmor unconfined", "    security_opt: [\"apparmor:unconfined\"]\n", &["apparmor"]),
    ("SELinux labels off", "    security_opt: [\"label:disable\"]\n", &["label"]),
    ("volumes of a foreign container", "    volumes_from: [\"container:other\"]\n", &["volumes_from"]),
];

fn compose_with(snippet: &str) -> String {
    format!("services:\n  web:\n    image: busybox\n{snippet}")
}

#[test]
fn each_hostile_key_is_refused_under_baseline_and_plans_under_privileged() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, snippet, names) in DENIED {
        std::fs::write(dir.path().join("c.yml"), compose_with(snippet)).unwrap();
        let refused = render(dir.path(), "c.yml", None);
        let message = text(&refused);
        if refused.status.success() {
            failures.push(format!("{name}: accepted under baseline"));
            continue;
        }
        if !message.contains("denied by the admission policy `baseline`") {
            failures.push(format!("{name}: not a policy refusal: {message}"));
        }
        for word in *names {
            if !message.contains(word) {
                failures.push(format!("{name}: message does not name `{word}`: {message}"));
            }
        }
        if !message.contains("service `web`") {
            failures.push(format!(
                "{name}: message does not name the service: {message}"
            ));
        }
        let allowed = render(dir.path(), "c.yml", Some(PRIVILEGED));
        if !allowed.status.success() {
            failures.push(format!(
                "{name}: refused under privileged: {}",
                text(&allowed)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_violation_of_one_pod_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let compose = "services:\n  web:\n    image: busybox\n    privileged: true\n    cap_add: [NET_ADMIN]\n  db:\n    image: busybox\n    pid: host\n    volumes: [\"/var/run/docker.sock:/s\"]\n";
    std::fs::write(dir.path().join("c.yml"), compose).unwrap();
    let output = render(dir.path(), "c.yml", None);
    assert!(!output.status.success());
    let message = text(&output);
    for word in [
        "privileged",
        "NET_ADMIN",
        "pid",
        "docker.sock",
        "`web`",
        "`db`",
    ] {
        assert!(message.contains(word), "`{word}` missing: {message}");
    }
}

#[test]
fn a_bind_volume_in_disguise_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let compose = "services:\n  web:\n    image: busybox\n    volumes: [\"etc:/x\"]\nvolumes:\n  etc:\n    driver: local\n    driver_opts: {type: none, o: bind, device: /etc}\n";
    std::fs::write(dir.path().join("c.yml"), compose).unwrap();
    let output = render(dir.path(), "c.yml", None);
    assert!(!output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("/etc"), "{}", text(&output));
    assert!(render(dir.path(), "c.yml", Some(PRIVILEGED))
        .status
        .success());
}

#[test]
fn a_symlink_out_of_the_sandbox_is_judged_where_it_points() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/", dir.path().join("hostroot")).unwrap();
    std::os::unix::fs::symlink("/var/run", dir.path().join("run")).unwrap();
    for (volume, names) in [
        ("./hostroot/etc:/x", "/etc"),
        ("./run/docker.sock:/s", "docker.sock"),
    ] {
        let compose = compose_with(&format!("    volumes: [\"{volume}\"]\n"));
        std::fs::write(dir.path().join("c.yml"), compose).unwrap();
        let output = render(dir.path(), "c.yml", None);
        assert!(!output.status.success(), "{volume}: {}", text(&output));
        assert!(text(&output).contains(names), "{volume}: {}", text(&output));
    }
}

#[test]
fn files_reached_through_symlinks_out_of_the_sandbox_are_refused_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("evil.yml"),
        "services:\n  web:\n    image: busybox\n",
    )
    .unwrap();
    std::fs::write(outside.path().join("evil.env"), "A=1\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("evil.yml"), dir.path().join("link.yml"))
        .unwrap();
    std::os::unix::fs::symlink(outside.path().join("evil.env"), dir.path().join("link.env"))
        .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linkdir")).unwrap();
    let cases = [
        ("link.yml", None),
        ("linkdir/evil.yml", None),
        (
            "envfile.yml",
            Some("services:\n  web:\n    image: busybox\n    env_file: [link.env]\n"),
        ),
        (
            "extends.yml",
            Some("services:\n  web:\n    extends:\n      file: linkdir/evil.yml\n      service: web\n"),
        ),
        ("/etc/hostname", None),
        ("../../../../etc/hostname", None),
    ];
    for (file, content) in cases {
        if let Some(content) = content {
            std::fs::write(dir.path().join(file), content).unwrap();
        }
        for config in [None, Some(PRIVILEGED)] {
            let output = render(dir.path(), file, config);
            let message = text(&output);
            assert!(
                !output.status.success(),
                "{file} ({config:?}) accepted: {message}"
            );
            assert!(message.contains("outside the sandbox"), "{file}: {message}");
        }
    }
}

#[test]
fn the_executor_token_never_interpolates() {
    let dir = tempfile::tempdir().unwrap();
    let compose = "services:\n  web:\n    image: busybox\n    environment:\n      PLAIN: \"${MESOS_EXECUTOR_AUTHENTICATION_TOKEN}\"\n      BARE: \"x$MESOS_EXECUTOR_AUTHENTICATION_TOKEN\"\n      DEFAULTED: \"${MESOS_EXECUTOR_AUTHENTICATION_TOKEN:-unset}\"\n      ALT: \"${MESOS_EXECUTOR_AUTHENTICATION_TOKEN:+set}\"\n    labels:\n      leak: \"${MESOS_EXECUTOR_AUTHENTICATION_TOKEN-none}\"\n";
    std::fs::write(dir.path().join("c.yml"), compose).unwrap();
    let output = render(dir.path(), "c.yml", None);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(!out.contains(TOKEN), "the token leaked: {out}");
    for line in [
        "PLAIN: \"\"",
        "BARE: x",
        "DEFAULTED: unset",
        "ALT: \"\"",
        "leak: none",
    ] {
        assert!(out.contains(line), "`{line}` missing: {out}");
    }
    // Required-variable syntax treats it as unset too.
    let required = "services:\n  web:\n    image: busybox\n    environment: [\"T=${MESOS_EXECUTOR_AUTHENTICATION_TOKEN:?no token for you}\"]\n";
    std::fs::write(dir.path().join("r.yml"), required).unwrap();
    let output = render(dir.path(), "r.yml", None);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("no token for you"),
        "{}",
        text(&output)
    );
    assert!(!text(&output).contains(TOKEN));
}
