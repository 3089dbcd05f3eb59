//! Conformance check 1 (ref §9): the executor reads the agent's environment and refuses to
//! start without a required variable.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{agent, launch, test_executor, wait_exit};
use mesos::ExecutorEnv;
use mesos_agent::{AgentConfig, ExecutorExit};

fn with(vars: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    let mut vars: Vec<_> = vars.iter().filter(|(k, _)| k != key).cloned().collect();
    vars.push((key.to_string(), value.to_string()));
    vars
}

fn without(vars: &[(String, String)], key: &str) -> Vec<(String, String)> {
    vars.iter().filter(|(k, _)| k != key).cloned().collect()
}

#[tokio::test]
async fn check_01_reads_environment_and_refuses_missing_variables() {
    let config = AgentConfig {
        shutdown_grace_period: Duration::from_millis(1500),
        ..AgentConfig::default()
    };
    let agent = agent(config.clone()).await;
    let vars = agent.executor_env(Path::new("/tmp/sandbox"));

    let env = ExecutorEnv::from_vars(vars.clone()).expect("the agent's environment parses");
    assert_eq!(env.framework_id, config.framework_id);
    assert_eq!(env.executor_id, config.executor_id);
    assert_eq!(env.agent_endpoint, Some(agent.endpoint().to_string()));
    assert!(env.checkpoint);
    assert_eq!(env.shutdown_grace_period, Duration::from_millis(1500));
    assert_eq!(env.recovery_timeout, Some(Duration::from_secs(15 * 60)));
    assert_eq!(env.subscription_backoff_max, Some(Duration::from_secs(2)));

    for (text, checkpoint) in [("1", true), ("0", false), ("true", true), ("false", false)] {
        let mut v = with(&vars, "MESOS_CHECKPOINT", text);
        if !checkpoint {
            v = without(
                &without(&v, "MESOS_RECOVERY_TIMEOUT"),
                "MESOS_SUBSCRIPTION_BACKOFF_MAX",
            );
        }
        let env = ExecutorEnv::from_vars(v).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(env.checkpoint, checkpoint, "MESOS_CHECKPOINT={text}");
    }

    let durations = [
        ("10ns", Duration::from_nanos(10)),
        ("10us", Duration::from_micros(10)),
        ("10ms", Duration::from_millis(10)),
        ("1.5secs", Duration::from_millis(1500)),
        ("2mins", Duration::from_secs(120)),
        ("0.5hrs", Duration::from_secs(1800)),
        ("1days", Duration::from_secs(86_400)),
        ("1weeks", Duration::from_secs(604_800)),
    ];
    for (text, expected) in durations {
        let env = ExecutorEnv::from_vars(with(&vars, "MESOS_RECOVERY_TIMEOUT", text))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(env.recovery_timeout, Some(expected), "{text}");
    }

    let required = [
        "MESOS_FRAMEWORK_ID",
        "MESOS_EXECUTOR_ID",
        "MESOS_CHECKPOINT",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
        "MESOS_RECOVERY_TIMEOUT",
        "MESOS_SUBSCRIPTION_BACKOFF_MAX",
    ];
    for var in required {
        let err =
            ExecutorEnv::from_vars(without(&vars, var)).expect_err(&format!("{var} is required"));
        assert!(err.to_string().contains(var), "{var}: {err}");
    }
    let no_agent = without(&without(&vars, "MESOS_AGENT_ENDPOINT"), "MESOS_SLAVE_PID");
    assert!(ExecutorEnv::from_vars(no_agent).is_err());
    assert!(ExecutorEnv::from_vars(with(&vars, "MESOS_RECOVERY_TIMEOUT", "5 parsecs")).is_err());

    // The binary refuses to start with a clear message.
    let mut spec = test_executor();
    spec.env_remove.push("MESOS_EXECUTOR_ID".into());
    let executor = launch(&agent, spec).await;
    assert_eq!(wait_exit(&executor).await, ExecutorExit::Code(1));
    assert!(
        executor.stderr().contains("MESOS_EXECUTOR_ID"),
        "{}",
        executor.stderr()
    );
    assert!(
        agent.requests().is_empty(),
        "nothing sent without a complete environment"
    );
}
