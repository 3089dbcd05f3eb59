use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::config::{ExecHookConfig, FailurePolicy};
use crate::context::test_context;

fn project() -> compose::Project {
    let mut project = compose::Project::default();
    let service = compose::Service {
        image: "busybox".into(),
        ..compose::Service::default()
    };
    project.services.insert("web".into(), service);
    project
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn config_with_hook(program: String, failure: FailurePolicy, timeout: Duration) -> Config {
    let mut config = Config {
        plugin_order: vec!["general".into(), "audit".into()],
        ..Config::default()
    };
    config.exec_hooks.insert(
        "audit".into(),
        ExecHookConfig {
            program,
            args: vec!["one".into()],
            timeout,
            failure,
            hooks: vec![HookPoint::PrePull, HookPoint::PostKill],
        },
    );
    config
}

#[test]
fn default_chain_is_general() {
    let chain = PluginChain::from_config(&Config::default(), Vec::new()).unwrap();
    assert_eq!(chain.names(), vec!["general"]);
}

#[test]
fn unknown_plugin_is_an_error() {
    let config = Config {
        plugin_order: vec!["general".into(), "example".into()],
        ..Config::default()
    };
    let err = PluginChain::from_config(&config, Vec::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown plugin `example` in plugins.pluginorder (known: general)"
    );
}

#[test]
fn general_is_required_and_hooks_must_be_listed() {
    let config = Config {
        plugin_order: vec![],
        ..Config::default()
    };
    let err = PluginChain::from_config(&config, Vec::new()).unwrap_err();
    assert!(err.to_string().contains("must include `general`"), "{err}");
    let mut config = config_with_hook(
        "/bin/true".into(),
        FailurePolicy::Fail,
        Duration::from_secs(5),
    );
    config.plugin_order = vec!["general".into()];
    let err = PluginChain::from_config(&config, Vec::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("exec hook `audit` is configured but not listed"),
        "{err}"
    );
}

/// Records the first service's container name as each hook sees it.
struct Recorder(&'static str, Arc<Mutex<Vec<String>>>);

impl Plugin for Recorder {
    fn name(&self) -> &str {
        self.0
    }

    fn pre_pull(&self, plan: &mut PodPlan, _task: &TaskContext) -> Result<(), PodError> {
        let name = plan.project.services["web"].container_name.clone();
        self.1.lock().unwrap().push(format!("{}:{name:?}", self.0));
        Ok(())
    }
}

#[test]
fn plugins_run_in_order_around_general() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = Config {
        plugin_order: vec!["before".into(), "general".into(), "after".into()],
        ..Config::default()
    };
    let chain = PluginChain::from_config(
        &config,
        vec![
            Box::new(Recorder("after", seen.clone())),
            Box::new(Recorder("before", seen.clone())),
        ],
    )
    .unwrap();
    assert_eq!(chain.names(), vec!["before", "general", "after"]);
    let task = test_context(config);
    crate::plan_pod(project(), &task, &chain).unwrap();
    let project_name = crate::naming::project_name("web.1");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            "before:None".to_string(),
            format!("after:Some(\"{project_name}-web-1\")")
        ]
    );
}

#[test]
fn exec_hook_gets_json_and_may_replace_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.json");
    let arg = dir.path().join("arg.txt");
    let replacement = dir.path().join("replacement.json");
    let program = script(
        dir.path(),
        "hook",
        &format!(
            "cat > {}; echo \"$1\" > {}; cat {}",
            input.display(),
            arg.display(),
            replacement.display()
        ),
    );
    let config = config_with_hook(program, FailurePolicy::Fail, Duration::from_secs(20));
    let task = test_context(config.clone());
    let chain = PluginChain::from_config(&config, Vec::new()).unwrap();
    let mut wanted = PodPlan::unrewritten(project(), &task);
    crate::general::rewrite(&mut wanted, &task).unwrap();
    wanted.labels.insert("added-by".into(), "hook".into());
    std::fs::write(&replacement, serde_json::to_vec(&wanted).unwrap()).unwrap();

    let plan = crate::plan_pod(project(), &task, &chain).unwrap();
    assert_eq!(plan, wanted);
    let request: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&input).unwrap()).unwrap();
    assert_eq!(request["hook"], "pre_pull");
    assert_eq!(request["task"]["task_id"], "web.1");
    assert_eq!(request["plan"]["project_name"], plan.project_name);
    assert_eq!(std::fs::read_to_string(&arg).unwrap(), "one\n");
}

#[test]
fn empty_output_keeps_the_plan_and_other_hooks_ignore_output() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(dir.path(), "hook", "cat > /dev/null");
    let config = config_with_hook(program, FailurePolicy::Fail, Duration::from_secs(20));
    let task = test_context(config.clone());
    let chain = PluginChain::from_config(&config, Vec::new()).unwrap();
    let plan = crate::plan_pod(project(), &task, &chain).unwrap();
    assert_eq!(plan.project_name, crate::naming::project_name("web.1"));
    let noisy = script(dir.path(), "noisy", "cat > /dev/null; echo not json");
    let hook = ExecHook::new(
        "audit",
        config_with_hook(noisy, FailurePolicy::Fail, Duration::from_secs(20)).exec_hooks["audit"]
            .clone(),
    );
    assert!(hook.post_kill(&plan, &task).is_ok());
}

#[test]
fn failing_hook_names_itself_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "hook",
        "cat > /dev/null; echo 'no way' >&2; exit 3",
    );
    let config = config_with_hook(
        program.clone(),
        FailurePolicy::Fail,
        Duration::from_secs(20),
    );
    let task = test_context(config.clone());
    let chain = PluginChain::from_config(&config, Vec::new()).unwrap();
    let err = crate::plan_pod(project(), &task, &chain).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("plugin `audit` hook pre_pull: `{program}` failed (exit status: 3): no way")
    );
    let config = config_with_hook(program, FailurePolicy::Ignore, Duration::from_secs(20));
    let chain = PluginChain::from_config(&config, Vec::new()).unwrap();
    crate::plan_pod(project(), &task, &chain).unwrap();
}

#[test]
fn garbage_output_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(dir.path(), "hook", "cat > /dev/null; echo '{\"nope\": 1}'");
    let config = config_with_hook(program, FailurePolicy::Fail, Duration::from_secs(20));
    let task = test_context(config.clone());
    let chain = PluginChain::from_config(&config, Vec::new()).unwrap();
    let err = crate::plan_pod(project(), &task, &chain).unwrap_err();
    assert!(
        err.to_string()
            .contains("printed something that is not a plan"),
        "{err}"
    );
}

#[test]
fn slow_hook_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(dir.path(), "hook", "sleep 60 & sleep 60");
    let config = config_with_hook(program, FailurePolicy::Fail, Duration::from_millis(300));
    let task = test_context(config.clone());
    let chain = PluginChain::from_config(&config, Vec::new()).unwrap();
    let err = crate::plan_pod(project(), &task, &chain).unwrap_err();
    assert!(
        err.to_string()
            .contains("did not finish within 300ms and was killed"),
        "{err}"
    );
}

#[test]
fn missing_program_is_a_failure() {
    let config = config_with_hook(
        "/nonexistent/hook".into(),
        FailurePolicy::Fail,
        Duration::from_secs(5),
    );
    let task = test_context(config.clone());
    let chain = PluginChain::from_config(&config, Vec::new()).unwrap();
    let err = crate::plan_pod(project(), &task, &chain).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("plugin `audit` hook pre_pull: cannot start `/nonexistent/hook`"),
        "{err}"
    );
}
