//! The label keys dce puts on every container, network and volume it creates (SPEC §3.3).
//!
//! One place for the names so that creation, the event filters, removal and the reaper can never
//! disagree about a key.

/// Task id under the key dce-go used, kept so existing tooling keeps working.
pub const LEGACY_TASK_ID: &str = "taskId";
/// Executor id under the key dce-go used.
pub const LEGACY_EXECUTOR_ID: &str = "executorId";
/// Mesos task id.
pub const TASK_ID: &str = "io.dce.task-id";
/// Mesos executor id.
pub const EXECUTOR_ID: &str = "io.dce.executor-id";
/// Mesos framework id.
pub const FRAMEWORK_ID: &str = "io.dce.framework-id";
/// Mesos agent id.
pub const AGENT_ID: &str = "io.dce.agent-id";
/// Mesos ContainerID of the executor.
pub const CONTAINER_ID: &str = "io.dce.container-id";
/// Pid of the executor process that owns the object (orphan detection).
pub const EXECUTOR_PID: &str = "io.dce.executor-pid";
/// Start time of that process: field 22 (`starttime`) of `/proc/<pid>/stat`, clock ticks since
/// boot, as a decimal string. Together with the pid it identifies the process despite pid reuse.
pub const EXECUTOR_START: &str = "io.dce.executor-start";
/// Compose project, so that `docker compose -p <project> ps|logs` works for operators.
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
/// Compose service name.
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
/// Compose container number (always `1` for dce).
pub const COMPOSE_CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
/// Compose one-off marker (always `False` for dce).
pub const COMPOSE_ONEOFF: &str = "com.docker.compose.oneoff";

/// An engine `label=` filter value matching `key` with exactly `value`.
pub fn filter(key: &str, value: &str) -> String {
    format!("{key}={value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_joins_key_and_value() {
        assert_eq!(filter(TASK_ID, "t1"), "io.dce.task-id=t1");
    }
}
