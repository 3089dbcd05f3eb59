//! Building the TaskInfos a scheduler would send, for tests and `dce up`.

use std::time::Duration;

use mesos::{DurationInfo, KillPolicy, Label, Labels, Resource, TaskId, TaskInfo};

/// Builds a [`TaskInfo`]; the agent fills in `agent_id` and `executor` on launch like the master.
#[derive(Debug, Clone)]
pub struct TaskBuilder {
    info: TaskInfo,
}

impl TaskBuilder {
    /// A task named after its id, without resources.
    pub fn new(task_id: impl Into<String>) -> TaskBuilder {
        let id: String = task_id.into();
        TaskBuilder {
            info: TaskInfo::new(id.clone(), TaskId::new(id)),
        }
    }

    /// Sets the task's name.
    pub fn name(mut self, name: impl Into<String>) -> TaskBuilder {
        self.info.name = name.into();
        self
    }

    /// Adds a `cpus` scalar resource.
    pub fn cpus(mut self, cpus: f64) -> TaskBuilder {
        self.info.resources.push(Resource::scalar("cpus", cpus));
        self
    }

    /// Adds a `mem` scalar resource (MiB).
    pub fn mem(mut self, mib: f64) -> TaskBuilder {
        self.info.resources.push(Resource::scalar("mem", mib));
        self
    }

    /// Adds a `ports` RANGES resource; ends are inclusive.
    pub fn ports(mut self, ranges: &[(u64, u64)]) -> TaskBuilder {
        self.info
            .resources
            .push(Resource::ranges("ports", ranges.iter().copied()));
        self
    }

    /// Adds a label (`value: None` gives a label without value, which Mesos allows).
    pub fn label(mut self, key: impl Into<String>, value: Option<&str>) -> TaskBuilder {
        self.info
            .labels
            .get_or_insert_with(Labels::default)
            .labels
            .push(Label {
                key: key.into(),
                value: value.map(str::to_string),
            });
        self
    }

    /// Sets `kill_policy.grace_period`.
    pub fn kill_grace(mut self, grace: Duration) -> TaskBuilder {
        self.info.kill_policy = Some(KillPolicy::with_grace(grace));
        self
    }

    /// Sets `max_completion_time`.
    pub fn max_completion_time(mut self, limit: Duration) -> TaskBuilder {
        self.info.max_completion_time = Some(DurationInfo::from_duration(limit));
        self
    }

    /// Sets `data` (e.g. a compose document).
    pub fn data(mut self, data: impl Into<Vec<u8>>) -> TaskBuilder {
        self.info.data = Some(data.into());
        self
    }

    /// The TaskInfo.
    pub fn build(self) -> TaskInfo {
        self.info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_ports_labels_and_kill_policy_in_mesos_json() {
        let task = TaskBuilder::new("web.1")
            .ports(&[(31000, 31001), (31500, 31500)])
            .label("fileName", Some("a.yml,b.yml"))
            .label("flag", None)
            .kill_grace(Duration::from_secs(3))
            .data("services: {}")
            .build();
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(json["task_id"]["value"], "web.1");
        assert_eq!(json["resources"][0]["type"], "RANGES");
        assert_eq!(json["resources"][0]["ranges"]["range"][1]["begin"], 31500);
        assert_eq!(json["labels"]["labels"][1]["key"], "flag");
        assert_eq!(
            json["kill_policy"]["grace_period"]["nanoseconds"],
            3_000_000_000_i64
        );
        assert_eq!(json["data"], "c2VydmljZXM6IHt9");
        assert_eq!(task.ports().count(), 3);
    }
}
