//! Every way loading can fail gives an error naming what and where — and never panics.

mod common;

use std::fs;
use std::path::Path;

use common::{files, load_in, test_env};
use compose::{ComposeError, ComposeSource, InterpolationEnv, ProjectLoader, YamlLimits};

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Loads `text` as `compose.yml` in a fresh sandbox and returns the error message.
fn error_of(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "compose.yml", text);
    match load_in(dir.path(), &["compose.yml"]) {
        Ok(p) => panic!("expected an error, loaded {p:?}"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "missing {part:?} in: {text}");
    }
}

#[test]
fn invalid_yaml_names_file_and_line() {
    let err = error_of("services:\n  web:\n    image: busybox\n   bad indent: [\n");
    assert_contains(&err, &["compose.yml: invalid YAML at line 4"]);
    let err = error_of("services:\n  web:\n    image: a\n    image: b\n");
    assert_contains(&err, &["compose.yml", "line 4", "duplicate key \"image\""]);
}

#[test]
fn unknown_keys_name_file_service_key_and_suggest() {
    let err = error_of("services:\n  web:\n    imagee: busybox\n");
    assert_eq!(
        err,
        "compose.yml:3: service \"web\": key \"imagee\": unknown key (did you mean \"image\"?)"
    );
    let err =
        error_of("services:\n  web:\n    image: busybox\n    healthcheck:\n      intervall: 5s\n");
    assert_contains(
        &err,
        &[
            "compose.yml:5: service \"web\"",
            "key \"healthcheck.intervall\"",
            "did you mean \"interval\"",
        ],
    );
    let err = error_of("servicess:\n  web:\n    image: busybox\n");
    assert_contains(
        &err,
        &[
            "compose.yml",
            "key \"servicess\"",
            "did you mean \"services\"",
        ],
    );
    let err = error_of("services:\n  web:\n    image: busybox\n    frobnicate: 1\n");
    assert_eq!(
        err,
        "compose.yml:4: service \"web\": key \"frobnicate\": unknown key"
    );
}

#[test]
fn unsupported_keys_are_errors_not_ignored() {
    let err = error_of("services:\n  web:\n    image: busybox\n    secrets: [db_password]\n");
    assert_contains(
        &err,
        &["compose.yml:4: service \"web\": key \"secrets\": not supported by dce"],
    );
    let err = error_of("services:\n  web:\n    image: busybox\n    gpus: all\n");
    assert_contains(&err, &["key \"gpus\"", "not supported"]);
    let err = error_of("services:\n  web:\n    image: busybox\nconfigs:\n  c:\n    file: ./c\n");
    assert_contains(&err, &["key \"configs\"", "not supported"]);
    let err = error_of("services:\n  web:\n    image: busybox\n    scale: 2\n");
    assert_contains(&err, &["key \"scale\"", "exactly one container"]);
    let err = error_of("services:\n  web:\n    image: busybox\n    deploy:\n      replicas: 3\n");
    assert_contains(&err, &["key \"deploy.replicas\"", "exactly one container"]);
    let err = error_of(
        "services:\n  web:\n    image: busybox\n    healthcheck:\n      start_interval: 1s\n",
    );
    assert_contains(&err, &["healthcheck.start_interval", "API 1.44"]);
    let err = error_of("services:\n  web:\n    image: busybox\n    volumes:\n      - type: npipe\n        source: x\n        target: /x\n");
    assert_contains(
        &err,
        &["volumes[0].type", "\"npipe\" mounts are not supported"],
    );
}

#[test]
fn invalid_values_say_what_is_wrong() {
    let cases: &[(&str, &[&str])] = &[
        (
            "ports: [\"abc\"]",
            &["key \"ports[0]\"", "invalid port \"abc\""],
        ),
        ("ports: [\"8000-8001:80-82\"]", &["ranges differ in size"]),
        (
            "restart: sometimes",
            &["key \"restart\"", "invalid restart policy \"sometimes\""],
        ),
        ("network_mode: mynet", &["invalid network_mode \"mynet\""]),
        (
            "stop_grace_period: 10x",
            &["key \"stop_grace_period\"", "unknown unit \"x\""],
        ),
        (
            "mem_limit: lots",
            &["key \"mem_limit\"", "invalid byte size"],
        ),
        (
            "command: \"echo 'unclosed\"",
            &["key \"command\"", "unterminated ' quote"],
        ),
        (
            "depends_on:\n      db:\n        condition: service_ready",
            &[
                "depends_on.db.condition",
                "invalid condition \"service_ready\"",
            ],
        ),
        (
            "volumes: [\"data:relative\"]",
            &["must be an absolute path"],
        ),
        (
            "privileged: maybe",
            &["key \"privileged\"", "expected a boolean"],
        ),
        ("healthcheck:\n      test: [\"CMD\"]", &["healthcheck.test"]),
        (
            "environment: 3",
            &["key \"environment\"", "expected a list or a mapping"],
        ),
        ("pull_policy: sometimes", &["invalid pull_policy"]),
    ];
    let err = error_of("services:\n  web:\n    image: busybox\n    ports:\n      - \"80\"\n      - target: 81\n        published: x\n");
    assert_contains(
        &err,
        &["compose.yml:7: service \"web\": key \"ports[1].published\""],
    );
    for (yaml, parts) in cases {
        let err = error_of(&format!(
            "services:\n  web:\n    image: busybox\n    {yaml}\n"
        ));
        assert_contains(&err, parts);
        assert_contains(&err, &["compose.yml:", ": service \"web\""]);
    }
}

#[test]
fn project_level_references_are_checked() {
    let err = error_of("services:\n  web:\n    image: busybox\n    depends_on: [db]\n");
    assert_contains(
        &err,
        &["service \"web\"", "depends on undefined service \"db\""],
    );
    let err = error_of("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n");
    assert_contains(&err, &["dependency cycle: a -> b -> a"]);
    let err = error_of("services:\n  web:\n    build: .\n");
    assert_contains(
        &err,
        &["service \"web\"", "no image given", "`build` needs `image`"],
    );
    let err = error_of("services:\n  web:\n    image: x\n    volumes: [\"data:/data\"]\n");
    assert_contains(&err, &["named volume \"data\" is not declared"]);
    let err = error_of("services:\n  web:\n    image: x\n    networks: [front]\n");
    assert_contains(&err, &["network \"front\" is not declared"]);
    let err = error_of("services:\n  web:\n    image: x\n    network_mode: service:nope\n");
    assert_contains(&err, &["network_mode refers to invalid service \"nope\""]);
    let err = error_of("services:\n  web:\n    image: x\n    depends_on: [web]\n");
    assert_contains(&err, &["depends on itself"]);
    let err = error_of("services:\n  web:\n    image: x\n    profiles: [debug]\n");
    assert_contains(&err, &["no (active) services"]);
    let err = error_of("version: '3'\n");
    assert_contains(&err, &["no (active) services"]);
    let err = error_of("");
    assert_contains(&err, &["compose.yml", "empty"]);
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_in(dir.path(), &["nope.yml"]).unwrap_err();
    assert!(matches!(err, ComposeError::Io { .. }));
    assert_contains(&err.to_string(), &["nope.yml", "No such file"]);
    write(
        dir.path(),
        "compose.yml",
        "services:\n  web:\n    image: x\n    env_file: missing.env\n",
    );
    let err = load_in(dir.path(), &["compose.yml"])
        .unwrap_err()
        .to_string();
    assert_contains(
        &err,
        &["missing.env", "env_file of service \"web\" in compose.yml"],
    );
    write(
        dir.path(),
        "ext.yml",
        "services:\n  web:\n    extends:\n      file: gone.yml\n      service: base\n",
    );
    let err = load_in(dir.path(), &["ext.yml"]).unwrap_err().to_string();
    assert_contains(&err, &["gone.yml", "extends.file of service \"web\""]);
}

#[test]
fn default_file_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let loader = ProjectLoader::new(dir.path(), test_env());
    let err = loader.load(&[]).unwrap_err().to_string();
    assert_contains(
        &err,
        &[
            "no compose file found",
            "compose.yaml",
            "docker-compose.yml",
        ],
    );
    write(
        dir.path(),
        "docker-compose.yml",
        "services:\n  web:\n    image: x\n",
    );
    assert!(loader.load(&[]).unwrap().services.contains_key("web"));
}

#[test]
fn paths_may_not_escape_the_sandbox() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "evil.yml",
        "services:\n  web:\n    image: x\n",
    );
    write(outside.path(), "evil.env", "A=1\n");
    let parent = tempfile::tempdir().unwrap();
    let sandbox = parent.path().join("sandbox");
    fs::create_dir(&sandbox).unwrap();
    write(
        parent.path(),
        "sibling.yml",
        "services:\n  web:\n    image: x\n",
    );

    let err = load_in(&sandbox, &["../sibling.yml"]).unwrap_err();
    assert!(matches!(err, ComposeError::OutsideSandbox { .. }), "{err}");
    assert_contains(&err.to_string(), &["../sibling.yml", "outside the sandbox"]);

    let absolute = outside.path().join("evil.yml");
    let err = load_in(&sandbox, &[absolute.to_str().unwrap()]).unwrap_err();
    assert!(matches!(err, ComposeError::OutsideSandbox { .. }), "{err}");

    std::os::unix::fs::symlink(&absolute, sandbox.join("link.yml")).unwrap();
    let err = load_in(&sandbox, &["link.yml"]).unwrap_err();
    assert!(matches!(err, ComposeError::OutsideSandbox { .. }), "{err}");
    assert_contains(&err.to_string(), &["link.yml", "outside the sandbox"]);

    std::os::unix::fs::symlink(outside.path().join("evil.env"), sandbox.join("link.env")).unwrap();
    write(
        &sandbox,
        "env.yml",
        "services:\n  web:\n    image: x\n    env_file: link.env\n",
    );
    let err = load_in(&sandbox, &["env.yml"]).unwrap_err().to_string();
    assert_contains(
        &err,
        &["service \"web\"", "env_file", "outside the sandbox"],
    );

    write(
        &sandbox,
        "env2.yml",
        "services:\n  web:\n    image: x\n    env_file: ../../etc/passwd\n",
    );
    let err = load_in(&sandbox, &["env2.yml"]).unwrap_err().to_string();
    assert_contains(&err, &["outside the sandbox"]);

    write(
        &sandbox,
        "ext.yml",
        "services:\n  web:\n    extends:\n      file: ../sibling.yml\n      service: web\n",
    );
    let err = load_in(&sandbox, &["ext.yml"]).unwrap_err().to_string();
    assert_contains(&err, &["../sibling.yml", "outside the sandbox"]);

    fs::remove_file(sandbox.join("link.yml")).unwrap();
    std::os::unix::fs::symlink(outside.path(), sandbox.join("linkdir")).unwrap();
    let err = load_in(&sandbox, &["linkdir/evil.yml"]).unwrap_err();
    assert!(matches!(err, ComposeError::OutsideSandbox { .. }), "{err}");
}

#[test]
fn required_variable_error() {
    let err = error_of(
        "services:\n  web:\n    image: \"app:${TAG_MISSING:?set TAG_MISSING to the release}\"\n",
    );
    assert_eq!(
        err,
        "compose.yml:3: service \"web\": key \"image\": interpolation failed: required variable TAG_MISSING is unset or empty: set TAG_MISSING to the release"
    );
    let err = error_of("services:\n  web:\n    image: x\n    environment:\n      A: \"${B?}\"\n");
    assert_contains(
        &err,
        &["key \"environment.A\"", "required variable B is unset"],
    );
    let err = error_of("services:\n  web:\n    image: \"cost $ 5\"\n");
    assert_contains(&err, &["key \"image\"", "lone \"$\""]);
}

#[test]
fn executor_secrets_are_not_interpolated() {
    std::env::set_var("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "s3cr3t-token");
    std::env::set_var("DCE_TEST_VISIBLE", "visible");
    let env = InterpolationEnv::from_process();
    assert_eq!(env.get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN"), None);
    assert_eq!(env.get("DCE_TEST_VISIBLE"), Some("visible"));
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "compose.yml",
        "services:\n  web:\n    image: x\n    environment:\n      T: ${MESOS_EXECUTOR_AUTHENTICATION_TOKEN}\n      V: ${DCE_TEST_VISIBLE}\n      R: ${MESOS_EXECUTOR_AUTHENTICATION_TOKEN:-unset}\n      MESOS_EXECUTOR_AUTHENTICATION_TOKEN:\n",
    );
    let project = ProjectLoader::new(dir.path(), env)
        .load(&files(&["compose.yml"]))
        .unwrap();
    let web = &project.services["web"];
    assert_eq!(web.environment["T"].as_deref(), Some(""));
    assert_eq!(web.environment["V"].as_deref(), Some("visible"));
    assert_eq!(web.environment["R"].as_deref(), Some("unset"));
    assert_eq!(web.environment["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"], None);
    let yaml = project.to_yaml();
    assert!(!yaml.contains("s3cr3t"), "{yaml}");
}

#[test]
fn alias_bomb_fails_fast() {
    let mut doc = String::from("x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        doc.push_str(&format!("x-a{i}: &a{i} [{refs}]\n"));
    }
    doc.push_str("services:\n  web:\n    image: x\n");
    let err = error_of(&doc);
    assert_contains(&err, &["compose.yml: invalid YAML"]);
    assert!(
        err.contains("alias expansion limit") || err.contains("repetition limit"),
        "{err}"
    );
}

#[test]
fn oversized_file_fails_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yml");
    let line = format!("# {}\n", "x".repeat(1021));
    let mut text = String::with_capacity(50 << 20);
    while text.len() < 50 << 20 {
        text.push_str(&line);
    }
    fs::write(&path, &text).unwrap();
    let err = load_in(dir.path(), &["huge.yml"]).unwrap_err();
    match &err {
        ComposeError::FileTooLarge { size, limit, .. } => {
            assert!(*size >= 50 << 20);
            assert_eq!(*limit, YamlLimits::default().max_bytes);
        }
        other => panic!("expected FileTooLarge, got {other}"),
    }
    assert_contains(
        &err.to_string(),
        &["huge.yml", "exceeds the compose file size limit"],
    );
    let inline = ComposeSource::Inline {
        name: "<TaskInfo.data>".into(),
        content: text,
    };
    let err = ProjectLoader::new(dir.path(), test_env())
        .load(&[inline])
        .unwrap_err();
    assert_contains(&err.to_string(), &["<TaskInfo.data>", "exceeds"]);
}

#[test]
fn extends_cycles_are_detected() {
    let err = error_of("services:\n  a:\n    extends: b\n  b:\n    extends: a\n");
    assert_contains(
        &err,
        &["extends cycle: compose.yml:a -> compose.yml:b -> compose.yml:a"],
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "one.yml",
        "services:\n  a:\n    extends:\n      file: two.yml\n      service: b\n",
    );
    write(
        dir.path(),
        "two.yml",
        "services:\n  b:\n    extends:\n      file: one.yml\n      service: a\n",
    );
    let err = load_in(dir.path(), &["one.yml"]).unwrap_err().to_string();
    assert_contains(&err, &["extends cycle", "one.yml:a", "two.yml:b"]);
    let err = error_of("services:\n  a:\n    extends: nope\n");
    assert_contains(&err, &["service \"a\"", "extends unknown service \"nope\""]);
}

#[test]
fn inline_documents_are_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let inline = ComposeSource::Inline {
        name: "<TaskInfo.data>".into(),
        content: "services:\n  web:\n    image: x\n    portz: []\n".into(),
    };
    let err = ProjectLoader::new(dir.path(), test_env())
        .load(&[inline])
        .unwrap_err();
    assert_contains(
        &err.to_string(),
        &[
            "<TaskInfo.data>:4: service \"web\": key \"portz\"",
            "did you mean \"ports\"",
        ],
    );
}

#[test]
fn errors_in_override_files_name_that_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base.yml", "services:\n  web:\n    image: x\n");
    write(
        dir.path(),
        "override.yml",
        "services:\n  web:\n    mem_limit: huge\n",
    );
    let err = load_in(dir.path(), &["base.yml", "override.yml"])
        .unwrap_err()
        .to_string();
    assert_contains(
        &err,
        &["override.yml:3: service \"web\": key \"mem_limit\""],
    );
}
