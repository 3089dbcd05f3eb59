use super::*;

fn key_error(err: PodError) -> (String, String) {
    match err {
        PodError::ConfigKey { key, message, .. } => (key, message),
        other => panic!("expected a key error, got {other}"),
    }
}

#[test]
fn nested_and_dotted_keys_are_the_same_key() {
    let nested = Config::from_yaml("launchtask:\n  timeout: 60s\n", "t").unwrap();
    let dotted = Config::from_yaml("launchtask.timeout: 60s\n", "t").unwrap();
    assert_eq!(nested.launch_timeout, Duration::from_secs(60));
    assert_eq!(nested, dotted);
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(Config::from_yaml("", "t").unwrap(), Config::default());
    assert_eq!(Config::default().launch_timeout, Duration::from_secs(500));
    assert_eq!(Config::default().kill_grace, Duration::from_secs(10));
    assert_eq!(Config::default().network_mode, PodNetworking::Shared);
}

#[test]
fn dce_go_keys_are_read() {
    let text = "\
launchtask:
  timeout: 5m
  pullretry: 5
  skippull: true
cleanpod:
  timeout: 25s
  cleanvolumeandcontaineronmesoskill: false
infracontainer:
  image: registry/pause:1
  networks:
    pre_existing: true
    name: net
plugins:
  pluginorder: general,audit
  exec:
    audit:
      program: /usr/local/bin/audit
      args: [--strict, -v]
      timeout: 3s
      failure: ignore
      hooks: [pre_pull, post_kill]
";
    let config = Config::from_yaml(text, "t").unwrap();
    assert_eq!(config.launch_timeout, Duration::from_secs(300));
    assert_eq!(config.pull_retry, 5);
    assert!(config.skip_pull);
    assert_eq!(config.kill_grace, Duration::from_secs(25));
    assert!(!config.remove_containers_and_volumes);
    assert_eq!(config.infra_image.as_deref(), Some("registry/pause:1"));
    assert!(config.infra_network.pre_existing);
    assert_eq!(config.infra_network.name.as_deref(), Some("net"));
    assert_eq!(config.plugin_order, vec!["general", "audit"]);
    let hook = &config.exec_hooks["audit"];
    assert_eq!(hook.program, "/usr/local/bin/audit");
    assert_eq!(hook.args, vec!["--strict", "-v"]);
    assert_eq!(hook.timeout, Duration::from_secs(3));
    assert_eq!(hook.failure, FailurePolicy::Ignore);
    assert_eq!(hook.hooks, vec![HookPoint::PrePull, HookPoint::PostKill]);
}

#[test]
fn unknown_key_is_an_error_naming_the_key() {
    let err =
        Config::from_yaml("launchtask:\n  timeuot: 5s\n", "/etc/dce/config.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "config /etc/dce/config.yaml: key `launchtask.timeuot`: unknown key"
    );
}

#[test]
fn bad_value_names_key_and_value() {
    let err = Config::from_yaml("cleanpod.timeout: 25\n", "c.yaml").unwrap_err();
    let (key, message) = key_error(err);
    assert_eq!(key, "cleanpod.timeout");
    assert!(message.contains("`25` is not a duration"), "{message}");
    let err = Config::from_yaml("policy: {mode: open}\n", "c.yaml").unwrap_err();
    assert!(err
        .to_string()
        .contains("`open` is not an admission policy"));
}

#[test]
fn pre_existing_network_needs_a_name() {
    let err = Config::from_yaml("infracontainer.networks.pre_existing: true\n", "c").unwrap_err();
    assert_eq!(key_error(err).0, "infracontainer.networks.name");
}

#[test]
fn exec_hook_needs_an_absolute_program() {
    let err = Config::from_yaml("plugins.exec.audit.timeout: 1s\n", "c").unwrap_err();
    assert_eq!(key_error(err).0, "plugins.exec.audit.program");
}

#[test]
fn task_labels_override_known_keys() {
    let mut config = Config::default();
    config
        .apply_task_labels([
            ("config.launchtask.timeout", "60s"),
            ("org.apache.aurora.metadata.config.cleanpod.timeout", "3s"),
            ("config1.launchtask.timeout", "2s"),
            ("fileName", "a.yml"),
        ])
        .unwrap();
    assert_eq!(config.launch_timeout, Duration::from_secs(60));
    assert_eq!(config.kill_grace, Duration::from_secs(3));
}

#[test]
fn task_label_with_unknown_key_is_an_error() {
    let err = Config::default()
        .apply_task_labels([("config.test1", "x")])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "config task label `config.test1`: key `test1`: unknown key"
    );
}

#[test]
fn task_labels_cannot_loosen_the_admission_policy() {
    let err = Config::default()
        .apply_task_labels([("config.policy.mode", "privileged")])
        .unwrap_err();
    assert!(
        err.to_string().contains("a task label cannot override it"),
        "{err}"
    );
}

#[test]
fn lookup_order() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("system.yaml");
    let sandbox = dir.path().join("sandbox");
    std::fs::create_dir(&sandbox).unwrap();
    let explicit = dir.path().join("explicit.yaml");
    assert_eq!(locate_config_file(None, Some(&sandbox), &system), None);
    std::fs::write(&system, "").unwrap();
    assert_eq!(
        locate_config_file(None, Some(&sandbox), &system),
        Some(system.clone())
    );
    std::fs::write(sandbox.join("config.yaml"), "").unwrap();
    assert_eq!(
        locate_config_file(None, Some(&sandbox), &system),
        Some(sandbox.join("config.yaml"))
    );
    assert_eq!(
        locate_config_file(Some(&explicit), Some(&sandbox), &system),
        Some(explicit.clone())
    );
    let err = Config::load(Some(&explicit), None).unwrap_err();
    assert!(err.to_string().starts_with("config file "), "{err}");
}

#[test]
fn key_table_has_unique_documented_keys() {
    let mut names: Vec<_> = config_keys().iter().map(|k| k.name).collect();
    assert!(config_keys().iter().all(|k| !k.meaning.is_empty()));
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len());
}

#[test]
fn reference_lists_every_key() {
    let text = reference_markdown();
    for key in config_keys() {
        assert!(
            text.contains(&format!("| `{}` |", key.name)),
            "{}",
            key.name
        );
    }
    assert!(
        text.contains("| `launchtask.timeout` | `500s` | yes |"),
        "{text}"
    );
}
