//! The label keys dce puts on every container, network and volume it creates (SPEC §3.3).
//!
//! The keys are defined once, in `pod::labels` (the rewrite writes them); they are re-exported
//! here so that creation, the event filters, removal and the reaper can never disagree.

pub use pod::labels::{
    AGENT_ID, COMPOSE_CONTAINER_NUMBER, COMPOSE_NETWORK, COMPOSE_ONEOFF, COMPOSE_PROJECT,
    COMPOSE_SERVICE, COMPOSE_VOLUME, CONTAINER_ID, EXECUTOR_ID, EXECUTOR_PID, EXECUTOR_START,
    FRAMEWORK_ID, LEGACY_EXECUTOR_ID, LEGACY_TASK_ID, TASK_ID,
};

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
