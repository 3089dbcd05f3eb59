//! The environment the agent gives a custom executor (`executorEnvironment()`, ref §1).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::config::AgentConfig;

/// The default `PATH` the agent fills in.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Every variable a real agent sets for an executor whose sandbox is `sandbox`.
pub(crate) fn executor_environment(
    config: &AgentConfig,
    endpoint: SocketAddr,
    unix_socket: Option<&Path>,
    sandbox: &Path,
) -> Vec<(String, String)> {
    let sandbox = sandbox.display().to_string();
    let mut env = vec![
        ("MESOS_FRAMEWORK_ID", config.framework_id.to_string()),
        ("MESOS_EXECUTOR_ID", config.executor_id.to_string()),
        ("MESOS_AGENT_ENDPOINT", endpoint.to_string()),
        ("MESOS_SLAVE_PID", format!("{}@{endpoint}", config.pid_id)),
        ("MESOS_SLAVE_ID", config.agent_id.to_string()),
        ("MESOS_DIRECTORY", sandbox.clone()),
        ("MESOS_SANDBOX", sandbox),
        (
            "MESOS_CHECKPOINT",
            if config.checkpoint { "1" } else { "0" }.to_string(),
        ),
        (
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
            stout_duration(config.shutdown_grace_period),
        ),
        ("MESOS_HTTP_COMMAND_EXECUTOR", "0".to_string()),
        ("LIBPROCESS_PORT", "0".to_string()),
        ("PATH", DEFAULT_PATH.to_string()),
    ];
    if config.checkpoint {
        env.push((
            "MESOS_RECOVERY_TIMEOUT",
            stout_duration(config.recovery_timeout),
        ));
        env.push((
            "MESOS_SUBSCRIPTION_BACKOFF_MAX",
            stout_duration(config.reregistration_timeout),
        ));
    }
    if let Some(token) = &config.auth_token {
        env.push(("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", token.clone()));
    }
    if let Some(path) = unix_socket {
        env.push(("MESOS_DOMAIN_SOCKET", path.display().to_string()));
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Formats a duration as stout does (`5secs`, `15mins`, `1.5secs`, `250ms`): the largest unit
/// in which the value is at least 1.
pub fn stout_duration(d: Duration) -> String {
    const UNITS: [(&str, u128); 8] = [
        ("weeks", 7 * 24 * 3600 * 1_000_000_000),
        ("days", 24 * 3600 * 1_000_000_000),
        ("hrs", 3600 * 1_000_000_000),
        ("mins", 60 * 1_000_000_000),
        ("secs", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    let nanos = d.as_nanos();
    for (unit, size) in UNITS {
        if nanos >= size {
            let whole = nanos / size;
            let rest = nanos % size;
            return if rest == 0 {
                format!("{whole}{unit}")
            } else {
                format!("{}{unit}", nanos as f64 / size as f64)
            };
        }
    }
    "0ns".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_stout_units() {
        assert_eq!(stout_duration(Duration::from_secs(5)), "5secs");
        assert_eq!(stout_duration(Duration::from_secs(900)), "15mins");
        assert_eq!(stout_duration(Duration::from_millis(1500)), "1.5secs");
        assert_eq!(stout_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(
            stout_duration(Duration::from_secs(14 * 24 * 3600)),
            "2weeks"
        );
        assert_eq!(stout_duration(Duration::ZERO), "0ns");
    }

    #[test]
    fn checkpoint_only_variables_depend_on_checkpointing() {
        let mut config = AgentConfig {
            checkpoint: false,
            ..AgentConfig::default()
        };
        let addr: SocketAddr = "127.0.0.1:5051".parse().unwrap();
        let env = executor_environment(&config, addr, None, Path::new("/sb"));
        let has = |env: &[(String, String)], k: &str| env.iter().any(|(key, _)| key == k);
        assert!(!has(&env, "MESOS_RECOVERY_TIMEOUT"));
        assert!(env.contains(&("MESOS_CHECKPOINT".into(), "0".into())));
        assert!(env.contains(&("MESOS_SLAVE_PID".into(), "slave(1)@127.0.0.1:5051".into())));
        config.checkpoint = true;
        let env = executor_environment(&config, addr, None, Path::new("/sb"));
        assert!(env.contains(&("MESOS_SUBSCRIPTION_BACKOFF_MAX".into(), "2secs".into())));
        assert!(env.contains(&("MESOS_RECOVERY_TIMEOUT".into(), "15mins".into())));
    }
}
