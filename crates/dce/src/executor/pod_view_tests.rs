use super::*;
use compose::{ComposeSource, InterpolationEnv, ProjectLoader};
use docker::{ContainerRole, PodContainer};
use pod::{Config, PluginChain, TaskContext};

fn view(compose: &str) -> PodView {
    let sandbox = tempfile::tempdir().unwrap();
    let project = ProjectLoader::new(sandbox.path(), InterpolationEnv::empty())
        .load(&[ComposeSource::Inline {
            name: "test".to_string(),
            content: compose.to_string(),
        }])
        .unwrap();
    let task = TaskContext::local(
        "t",
        sandbox.path().to_path_buf(),
        Vec::new(),
        Config::default(),
    );
    let chain = PluginChain::from_config(&task.config, Vec::new()).unwrap();
    let plan = pod::plan_pod(project, &task, &chain).unwrap();
    let mut containers = vec![container("dce-infra", "infra-id", ContainerRole::Infra)];
    for name in plan.project.services.keys() {
        containers.push(container(
            name,
            &format!("{name}-id"),
            ContainerRole::Service,
        ));
    }
    let pod = RunningPod {
        project: plan.project_name.clone(),
        containers,
        networks: Vec::new(),
        volumes: Vec::new(),
        cgroup_parent: None,
    };
    PodView::new(&plan, &pod)
}

fn container(service: &str, id: &str, role: ContainerRole) -> PodContainer {
    PodContainer {
        service: service.to_string(),
        id: id.to_string(),
        name: id.to_string(),
        role,
        depends_on: Vec::new(),
        stop_signal: None,
        stop_grace_period: None,
    }
}

fn started(service: &str) -> PodEvent {
    PodEvent::Started {
        service: service.to_string(),
        container_id: format!("{service}-id"),
    }
}

fn exited(service: &str, exit_code: i64, oom_killed: bool) -> PodEvent {
    PodEvent::Exited {
        service: service.to_string(),
        container_id: format!("{service}-id"),
        exit_code,
        oom_killed,
    }
}

fn health(service: &str, status: HealthStatus) -> PodEvent {
    PodEvent::Health {
        service: service.to_string(),
        container_id: format!("{service}-id"),
        status,
    }
}

const TWO: &str = "services:\n  a:\n    image: x\n  b:\n    image: x\n";

#[test]
fn ready_once_everything_runs() {
    let mut view = view(TWO);
    assert!(!view.is_ready());
    view.apply(&started("a"));
    assert!(!view.is_ready());
    view.apply(&started("b"));
    assert!(view.is_ready());
    assert_eq!(view.healthy(), None);
}

#[test]
fn non_zero_exit_without_restart_fails_naming_the_service() {
    let mut view = view(TWO);
    view.apply(&started("a"));
    let outcome = view.apply(&exited("a", 3, false));
    let Verdict::Fail { kind, message } = outcome.verdict else {
        panic!("{outcome:?}")
    };
    assert_eq!(kind, FailureKind::Exited);
    assert!(
        message.contains("`a`") && message.contains('3'),
        "{message}"
    );
}

#[test]
fn oom_is_its_own_failure() {
    let mut view = view(TWO);
    let outcome = view.apply(&exited("b", 137, true));
    assert!(matches!(
        outcome.verdict,
        Verdict::Fail {
            kind: FailureKind::OutOfMemory,
            ..
        }
    ));
}

#[test]
fn everything_exiting_zero_finishes() {
    let mut view = view(TWO);
    assert_eq!(view.apply(&exited("a", 0, false)).verdict, Verdict::Nothing);
    assert_eq!(view.apply(&exited("b", 0, false)).verdict, Verdict::Finish);
}

#[test]
fn on_failure_restarts_with_growing_backoff_until_exhausted() {
    let mut view = view("services:\n  a:\n    image: x\n    restart: on-failure:2\n");
    let mut delays = Vec::new();
    for _ in 0..2 {
        match view.apply(&exited("a", 1, false)).verdict {
            Verdict::Restart { delay, .. } => delays.push(delay),
            other => panic!("{other:?}"),
        }
        view.apply(&started("a"));
    }
    assert!(delays[0] < delays[1]);
    let outcome = view.apply(&exited("a", 1, false));
    assert!(
        matches!(outcome.verdict, Verdict::Fail { .. }),
        "{outcome:?}"
    );
    assert_eq!(view.services()["a"].restarts, 2);
}

#[test]
fn always_restarts_a_clean_exit_but_not_an_init_step() {
    let compose = "services:\n  init:\n    image: x\n    restart: always\n  app:\n    image: x\n    restart: always\n    depends_on:\n      init:\n        condition: service_completed_successfully\n";
    let mut view = view(compose);
    assert_eq!(
        view.apply(&exited("init", 0, false)).verdict,
        Verdict::Nothing
    );
    assert!(matches!(
        view.apply(&exited("app", 0, false)).verdict,
        Verdict::Restart { .. }
    ));
}

#[test]
fn health_changes_are_reported_and_unhealthy_fails_by_default() {
    let mut view =
        view("services:\n  a:\n    image: x\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n");
    view.apply(&started("a"));
    assert!(!view.is_ready());
    assert_eq!(view.healthy(), Some(false));
    let outcome = view.apply(&health("a", HealthStatus::Healthy));
    assert!(outcome.health_changed);
    assert!(view.is_ready());
    assert_eq!(view.healthy(), Some(true));
    assert!(
        !view
            .apply(&health("a", HealthStatus::Healthy))
            .health_changed
    );
    let outcome = view.apply(&health("a", HealthStatus::Unhealthy));
    assert!(outcome.health_changed);
    assert!(matches!(
        outcome.verdict,
        Verdict::Fail {
            kind: FailureKind::Unhealthy,
            ..
        }
    ));
}

#[test]
fn unhealthy_can_be_ignored_or_restart() {
    let mut view = view("services:\n  a:\n    image: x\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n    x-dce:\n      on-unhealthy: ignore\n  b:\n    image: x\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n    x-dce:\n      on-unhealthy: restart\n");
    assert_eq!(
        view.apply(&health("a", HealthStatus::Unhealthy)).verdict,
        Verdict::Nothing
    );
    assert!(matches!(
        view.apply(&health("b", HealthStatus::Unhealthy)).verdict,
        Verdict::RestartRunning { .. }
    ));
}

#[test]
fn infra_exit_and_lost_containers_fail_the_pod() {
    let mut view = view(TWO);
    let outcome = view.apply(&PodEvent::Exited {
        service: "dce-infra".to_string(),
        container_id: "infra-id".to_string(),
        exit_code: 0,
        oom_killed: false,
    });
    assert!(matches!(outcome.verdict, Verdict::Fail { .. }));
    view.apply(&PodEvent::DaemonDisconnected {
        reason: "gone".to_string(),
    });
    let outcome = view.apply(&PodEvent::ContainerLost {
        service: "a".to_string(),
        container_id: "a-id".to_string(),
    });
    let Verdict::Fail { message, .. } = outcome.verdict else {
        panic!()
    };
    assert!(message.contains("Docker daemon"), "{message}");
}
