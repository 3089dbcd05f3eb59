//! The containerizer side of the stand-in (ref §1, §6.2, §8.1): environment, sandbox, output
//! capture, process group destroy, registration timeout; and the live update feed.

mod common;

use std::time::Duration;

use common::{agent, launch, running_task, task, test_executor, wait_exit, wait_state, HANG};
use mesos::{Reason, TaskState};
use mesos_agent::{AgentConfig, ExecutorExit, ExecutorLaunch, UpdateOrigin};

fn shell(script: &str) -> ExecutorLaunch {
    let mut launch = ExecutorLaunch::new("/bin/sh");
    launch.args = vec!["-c".into(), script.into()];
    launch
}

#[tokio::test]
async fn executor_gets_the_mesos_environment_and_a_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let config = AgentConfig {
        unix_socket: Some(dir.path().join("agent.sock")),
        auth_token: Some("tok".into()),
        ..AgentConfig::default()
    };
    let agent = agent(config.clone()).await;
    let executor = launch(&agent, shell("env; echo oops >&2; exit 3")).await;
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Code(3));

    let sandbox = executor.sandbox().to_path_buf();
    assert!(sandbox.ends_with(format!(
        "slaves/{}/frameworks/{}/executors/{}/runs/{}",
        config.agent_id, config.framework_id, config.executor_id, config.container_id.value
    )));
    let env: Vec<String> = executor.stdout().lines().map(str::to_string).collect();
    let endpoint = agent.endpoint();
    for expected in [
        format!("MESOS_FRAMEWORK_ID={}", config.framework_id),
        format!("MESOS_EXECUTOR_ID={}", config.executor_id),
        format!("MESOS_AGENT_ENDPOINT={endpoint}"),
        format!("MESOS_SLAVE_PID=slave(1)@{endpoint}"),
        format!("MESOS_SLAVE_ID={}", config.agent_id),
        format!("MESOS_DIRECTORY={}", sandbox.display()),
        format!("MESOS_SANDBOX={}", sandbox.display()),
        "MESOS_CHECKPOINT=1".to_string(),
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=5secs".to_string(),
        "MESOS_RECOVERY_TIMEOUT=15mins".to_string(),
        "MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs".to_string(),
        "MESOS_EXECUTOR_AUTHENTICATION_TOKEN=tok".to_string(),
        format!(
            "MESOS_DOMAIN_SOCKET={}",
            dir.path().join("agent.sock").display()
        ),
        "MESOS_HTTP_COMMAND_EXECUTOR=0".to_string(),
        "LIBPROCESS_PORT=0".to_string(),
    ] {
        assert!(env.contains(&expected), "{expected} missing from {env:?}");
    }
    assert!(env.iter().any(|l| l.starts_with("PATH=")));
    assert!(
        !env.iter().any(|l| l.starts_with("CARGO")),
        "agent env leaked: {env:?}"
    );
    assert!(executor.stderr().contains("oops"));
    // The agent noticed the exit.
    agent
        .wait_for("the exit", HANG, |a| a.executor_exit())
        .await
        .unwrap();

    // An exact sandbox directory.
    let exact = tempfile::tempdir().unwrap();
    let agent = common::agent(AgentConfig::default()).await;
    let mut spec = shell("pwd");
    spec.sandbox_dir = Some(exact.path().to_path_buf());
    let executor = launch(&agent, spec).await;
    wait_exit(&executor).await;
    assert_eq!(executor.stdout().trim(), exact.path().display().to_string());
}

#[tokio::test]
async fn destroy_kills_the_whole_process_group() {
    let agent = agent(AgentConfig::default()).await;
    let executor = launch(&agent, shell("sleep 600 & echo $! > child.pid; wait")).await;
    let pid_file = executor.sandbox().join("child.pid");
    let child: i32 = common::poll("the child pid", || {
        std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok()
    })
    .await;
    agent.destroy_executor();
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Signal(9));
    common::poll("the child to die", || {
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        (stat.is_empty() || stat.contains(") Z ")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn registration_timeout_destroys_a_silent_executor() {
    let agent = agent(AgentConfig {
        registration_timeout: Duration::from_millis(500),
        ..AgentConfig::default()
    })
    .await;
    agent.launch(task("t1"));
    let executor = launch(&agent, shell("exec sleep 600")).await;
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Signal(9));
    let failed = agent
        .wait_for_update("t1", HANG, |r| r.origin == UpdateOrigin::Agent)
        .await
        .unwrap();
    assert_eq!(failed.state(), &TaskState::Failed);
    assert_eq!(
        failed.status.reason,
        Some(Reason::ExecutorRegistrationTimeout)
    );
    assert_eq!(
        failed.status.message.as_deref(),
        Some("Executor did not register within 500ms")
    );
    assert!(agent.destroyed_executor());
}

#[tokio::test]
async fn launch_group_is_answered_per_task_and_the_feed_sees_every_update() {
    let agent = agent(AgentConfig::default()).await;
    let mut feed = agent.update_feed();
    let executor = running_task(&agent, test_executor(), "single").await;
    agent.launch_group(vec![task("g1"), task("g2")]);
    wait_state(&agent, &executor, "g1", "TASK_FAILED").await;
    wait_state(&agent, &executor, "g2", "TASK_FAILED").await;
    agent.kill("single", None);
    wait_state(&agent, &executor, "single", "TASK_KILLED").await;
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Code(0));

    let mut fed = Vec::new();
    while let Ok(record) = feed.try_recv() {
        fed.push(record.seq);
    }
    let journal: Vec<u64> = agent.journal().iter().map(|r| r.seq).collect();
    assert_eq!(fed, journal);
    let group_events = agent
        .events()
        .iter()
        .filter(|e| e.kind == "LAUNCH_GROUP")
        .count();
    assert_eq!(group_events, 1);
}

#[tokio::test]
async fn signals_reach_the_executor_and_its_exit_is_observed() {
    let agent = agent(AgentConfig::default()).await;
    let executor = launch(
        &agent,
        shell("trap 'exit 7' TERM; touch ready; sleep 600 & wait"),
    )
    .await;
    let ready = executor.sandbox().join("ready");
    common::poll("the trap to be set", || ready.exists().then_some(())).await;
    executor.signal(rustix::process::Signal::TERM);
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Code(7));
    assert_eq!(
        agent
            .wait_for("the exit", HANG, |a| a.executor_exit())
            .await
            .unwrap(),
        ExecutorExit::Code(7)
    );
    assert!(!agent.destroyed_executor());
}
