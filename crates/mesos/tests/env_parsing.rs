//! `ExecutorEnv` parsing against the variables of ref §1.

use std::time::Duration;

use mesos::env::{EnvError, ExecutorEnv};

fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        ("MESOS_FRAMEWORK_ID", "6a9b4d2e-0000"),
        ("MESOS_EXECUTOR_ID", "pod-web-7f3c"),
        ("MESOS_AGENT_ENDPOINT", "10.0.0.12:5051"),
        ("MESOS_SLAVE_PID", "slave(1)@10.0.0.12:5051"),
        ("MESOS_SLAVE_ID", "agent-S3"),
        (
            "MESOS_DIRECTORY",
            "/var/lib/mesos/slaves/a/frameworks/f/executors/e/runs/cid-1",
        ),
        ("MESOS_SANDBOX", "/mnt/mesos/sandbox"),
        ("MESOS_CHECKPOINT", "1"),
        ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs"),
        ("MESOS_RECOVERY_TIMEOUT", "15mins"),
        ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs"),
        ("MESOS_HTTP_COMMAND_EXECUTOR", "0"),
        ("LIBPROCESS_PORT", "0"),
    ]
}

fn parse(vars: &[(&str, &str)]) -> Result<ExecutorEnv, EnvError> {
    ExecutorEnv::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn with(var: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut vars: Vec<_> = base().into_iter().filter(|(k, _)| *k != var).collect();
    vars.push((var, value));
    vars
}

fn without(var: &str) -> Vec<(&'static str, &'static str)> {
    base().into_iter().filter(|(k, _)| *k != var).collect()
}

#[test]
fn full_environment() {
    let env = parse(&base()).unwrap();
    assert_eq!(env.framework_id.as_str(), "6a9b4d2e-0000");
    assert_eq!(env.executor_id.as_str(), "pod-web-7f3c");
    assert_eq!(env.agent_endpoint.as_deref(), Some("10.0.0.12:5051"));
    assert_eq!(env.agent_pid_id, "slave(1)");
    assert_eq!(env.agent_id.as_ref().unwrap().as_str(), "agent-S3");
    assert!(env.checkpoint);
    assert_eq!(env.recovery_timeout, Some(Duration::from_secs(900)));
    assert_eq!(env.subscription_backoff_max, Some(Duration::from_secs(2)));
    assert_eq!(env.shutdown_grace_period, Duration::from_secs(5));
    assert_eq!(env.http_command_executor, Some(false));
    assert_eq!(env.container_id_hint().as_deref(), Some("cid-1"));
    assert_eq!(
        env.sandbox_dir().unwrap().to_str(),
        Some("/mnt/mesos/sandbox")
    );
    assert_eq!(env.api_path(), "/api/v1/executor");
    assert!(env.auth_token.is_none());
    assert!(env.domain_socket.is_none());
}

#[test]
fn checkpoint_forms() {
    for (value, want) in [("1", true), ("0", false), ("true", true), ("false", false)] {
        assert_eq!(
            parse(&with("MESOS_CHECKPOINT", value)).unwrap().checkpoint,
            want,
            "{value}"
        );
    }
    let err = parse(&with("MESOS_CHECKPOINT", "yes")).unwrap_err();
    assert!(
        matches!(
            err,
            EnvError::Invalid {
                var: "MESOS_CHECKPOINT",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn without_checkpointing_recovery_variables_are_optional() {
    let mut vars = with("MESOS_CHECKPOINT", "0");
    vars.retain(|(k, _)| *k != "MESOS_RECOVERY_TIMEOUT" && *k != "MESOS_SUBSCRIPTION_BACKOFF_MAX");
    let env = parse(&vars).unwrap();
    assert!(!env.checkpoint);
    assert_eq!(env.recovery_timeout, None);
}

#[test]
fn missing_variables_are_named() {
    for var in [
        "MESOS_FRAMEWORK_ID",
        "MESOS_EXECUTOR_ID",
        "MESOS_CHECKPOINT",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
        "MESOS_RECOVERY_TIMEOUT",
        "MESOS_SUBSCRIPTION_BACKOFF_MAX",
    ] {
        let err = parse(&without(var)).unwrap_err();
        assert!(
            matches!(err, EnvError::Missing { var: v, .. } if v == var),
            "{var}: {err}"
        );
        assert!(err.to_string().contains(var), "{err}");
    }
    let mut vars = without("MESOS_AGENT_ENDPOINT");
    vars.retain(|(k, _)| *k != "MESOS_SLAVE_PID");
    let err = parse(&vars).unwrap_err();
    assert!(err.to_string().contains("MESOS_AGENT_ENDPOINT"), "{err}");
    // An empty value counts as missing.
    let err = parse(&with("MESOS_EXECUTOR_ID", "")).unwrap_err();
    assert!(matches!(
        err,
        EnvError::Missing {
            var: "MESOS_EXECUTOR_ID",
            ..
        }
    ));
}

#[test]
fn endpoint_falls_back_to_the_agent_pid() {
    let env = parse(&with("MESOS_SLAVE_PID", "slave(2)@10.0.0.13:5052")).unwrap();
    assert_eq!(env.agent_endpoint.as_deref(), Some("10.0.0.12:5051"));
    assert_eq!(env.agent_pid_id, "slave(2)");
    let mut vars = without("MESOS_AGENT_ENDPOINT");
    vars.retain(|(k, _)| *k != "MESOS_SLAVE_PID");
    vars.push(("MESOS_SLAVE_PID", "slave(1)@10.0.0.14:5051"));
    assert_eq!(
        parse(&vars).unwrap().agent_endpoint.as_deref(),
        Some("10.0.0.14:5051")
    );
    assert!(parse(&with("MESOS_SLAVE_PID", "garbage")).is_err());
}

#[test]
fn domain_socket_uses_the_prefixed_path() {
    let env = parse(&with("MESOS_DOMAIN_SOCKET", "/var/run/mesos/agent.sock")).unwrap();
    assert_eq!(env.api_path(), "/slave(1)/api/v1/executor");
    let mut vars = without("MESOS_AGENT_ENDPOINT");
    vars.retain(|(k, _)| *k != "MESOS_SLAVE_PID");
    vars.push(("MESOS_DOMAIN_SOCKET", "/tmp/a.sock"));
    assert!(parse(&vars).unwrap().agent_endpoint.is_none());
}

#[test]
fn durations_in_every_unit_and_fraction() {
    let cases = [
        ("250ns", Duration::from_nanos(250)),
        ("250us", Duration::from_micros(250)),
        ("250ms", Duration::from_millis(250)),
        ("1.5secs", Duration::from_millis(1500)),
        ("2mins", Duration::from_secs(120)),
        ("1hrs", Duration::from_secs(3600)),
        ("1days", Duration::from_secs(86_400)),
        ("2weeks", Duration::from_secs(2 * 604_800)),
        ("0.5hrs", Duration::from_secs(1800)),
    ];
    for (text, want) in cases {
        let env = parse(&with("MESOS_RECOVERY_TIMEOUT", text)).unwrap();
        assert_eq!(env.recovery_timeout, Some(want), "{text}");
    }
    let err = parse(&with("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5 seconds")).unwrap_err();
    assert!(
        matches!(
            err,
            EnvError::Invalid {
                var: "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("5 seconds"));
}

#[test]
fn token_is_never_printed() {
    let env = parse(&with("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "s3cr3t-jwt")).unwrap();
    let token = env.auth_token.as_ref().unwrap();
    assert_eq!(token.expose(), "s3cr3t-jwt");
    assert!(!format!("{env:?}").contains("s3cr3t"));
    assert!(!format!("{token}").contains("s3cr3t"));
    assert!(!format!("{token:?}").contains("s3cr3t"));
}
