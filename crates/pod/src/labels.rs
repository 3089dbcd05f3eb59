//! The labels dce puts on every container, network and volume it creates (SPEC §3.3).
//!
//! `taskId`/`executorId` are dce-go's keys (existing tooling keeps working), `io.dce.*` identify
//! the owner for `dce reap`, and `com.docker.compose.*` let `docker compose -p <project>` see the
//! pod.

use indexmap::IndexMap;

use crate::context::TaskContext;

/// Task id under dce-go's key.
pub const LEGACY_TASK_ID: &str = "taskId";
/// Executor id under dce-go's key.
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
/// Pid of the executor process that owns the object.
pub const EXECUTOR_PID: &str = "io.dce.executor-pid";
/// Start time of that process: field 22 of `/proc/<pid>/stat`, clock ticks since boot, decimal.
pub const EXECUTOR_START: &str = "io.dce.executor-start";
/// Compose project.
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
/// Compose service.
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
/// Compose container number (always `1`).
pub const COMPOSE_CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
/// Compose one-off marker (always `False`).
pub const COMPOSE_ONEOFF: &str = "com.docker.compose.oneoff";
/// Compose network key, on networks.
pub const COMPOSE_NETWORK: &str = "com.docker.compose.network";
/// Compose volume key, on volumes.
pub const COMPOSE_VOLUME: &str = "com.docker.compose.volume";

/// An ordered label set (insertion order is kept so generated files are stable).
pub type LabelSet = IndexMap<String, String>;

/// The labels every object of the pod carries: owner identity plus the compose project.
pub fn common_labels(task: &TaskContext, project: &str) -> LabelSet {
    [
        (LEGACY_TASK_ID, task.task_id.clone()),
        (LEGACY_EXECUTOR_ID, task.executor_id.clone()),
        (TASK_ID, task.task_id.clone()),
        (EXECUTOR_ID, task.executor_id.clone()),
        (FRAMEWORK_ID, task.framework_id.clone()),
        (AGENT_ID, task.agent_id.clone()),
        (CONTAINER_ID, task.container_id.clone()),
        (EXECUTOR_PID, task.executor_pid.to_string()),
        (EXECUTOR_START, task.executor_start.to_string()),
        (COMPOSE_PROJECT, project.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Labels of one container: the common ones plus its compose service.
pub fn container_labels(common: &LabelSet, service: &str) -> LabelSet {
    let mut labels = common.clone();
    labels.insert(COMPOSE_SERVICE.to_string(), service.to_string());
    labels.insert(COMPOSE_CONTAINER_NUMBER.to_string(), "1".to_string());
    labels.insert(COMPOSE_ONEOFF.to_string(), "False".to_string());
    labels
}

/// Whether a label key is one dce sets itself (a user value under it is replaced).
pub fn is_reserved(key: &str) -> bool {
    key == LEGACY_TASK_ID
        || key == LEGACY_EXECUTOR_ID
        || key.starts_with("io.dce.")
        || key.starts_with("com.docker.compose.")
}
