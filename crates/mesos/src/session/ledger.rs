//! Acknowledgement bookkeeping (ref §5.5): every update until its ACKNOWLEDGED, every TaskInfo
//! until any of its updates is acknowledged — exactly what a resubscribe must carry.

use uuid::Uuid;

use crate::types::{Subscribe, TaskId, TaskInfo, TaskStatus, Update};

#[derive(Debug)]
struct PendingUpdate {
    uuid: Uuid,
    status: TaskStatus,
    /// Still has to be delivered by an UPDATE call (false once the agent answered 202 or a
    /// successful SUBSCRIBE carried it).
    needs_send: bool,
}

/// Unacknowledged updates (in creation order) and tasks without an acknowledged update.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    updates: Vec<PendingUpdate>,
    tasks: Vec<TaskInfo>,
}

impl Ledger {
    /// Remembers a launched task (first LAUNCH of a task id wins).
    pub(crate) fn record_task(&mut self, task: &TaskInfo) {
        if !self.tasks.iter().any(|t| t.task_id == task.task_id) {
            self.tasks.push(task.clone());
        }
    }

    /// Adds a new update that must be sent and kept until acknowledged.
    pub(crate) fn add_update(&mut self, uuid: Uuid, status: TaskStatus) {
        self.updates.push(PendingUpdate {
            uuid,
            status,
            needs_send: true,
        });
    }

    /// Applies an ACKNOWLEDGED; false when it matches no pending update (unknown or duplicate).
    pub(crate) fn acknowledge(&mut self, task_id: &TaskId, uuid: Uuid) -> bool {
        let Some(index) = self
            .updates
            .iter()
            .position(|u| u.uuid == uuid && u.status.task_id == *task_id)
        else {
            return false;
        };
        self.updates.remove(index);
        self.tasks.retain(|t| t.task_id != *task_id);
        true
    }

    /// Whether this update is still unacknowledged.
    pub(crate) fn is_pending(&self, uuid: Uuid) -> bool {
        self.updates.iter().any(|u| u.uuid == uuid)
    }

    /// Number of unacknowledged updates.
    pub(crate) fn pending(&self) -> usize {
        self.updates.len()
    }

    /// Uuids of all unacknowledged updates.
    pub(crate) fn pending_uuids(&self) -> Vec<Uuid> {
        self.updates.iter().map(|u| u.uuid).collect()
    }

    /// The update to send by an UPDATE call, if it still needs sending.
    pub(crate) fn to_send(&self, uuid: Uuid) -> Option<&TaskStatus> {
        self.updates
            .iter()
            .find(|u| u.uuid == uuid && u.needs_send)
            .map(|u| &u.status)
    }

    /// The agent has this update (202, or carried by a successful SUBSCRIBE).
    pub(crate) fn mark_delivered(&mut self, uuids: &[Uuid]) {
        for update in self.updates.iter_mut().filter(|u| uuids.contains(&u.uuid)) {
            update.needs_send = false;
        }
    }

    /// The SUBSCRIBE payload: all unacknowledged updates in order, the raw TaskInfos of tasks
    /// without an acknowledged update; plus the uuids it carries.
    pub(crate) fn subscribe_payload(&self) -> (Subscribe, Vec<Uuid>) {
        let payload = Subscribe {
            unacknowledged_tasks: self.tasks.clone(),
            unacknowledged_updates: self
                .updates
                .iter()
                .map(|u| Update {
                    status: u.status.clone(),
                })
                .collect(),
        };
        (payload, self.pending_uuids())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TaskState;

    fn status(task: &str, state: TaskState) -> TaskStatus {
        TaskStatus::new(TaskId::new(task), state)
    }

    #[test]
    fn acks_match_task_and_uuid_and_release_the_task() {
        let mut ledger = Ledger::default();
        ledger.record_task(&TaskInfo::new("a", TaskId::new("a")));
        ledger.record_task(&TaskInfo::new("a-again", TaskId::new("a")));
        ledger.record_task(&TaskInfo::new("b", TaskId::new("b")));
        let (u1, u2) = (Uuid::new_v4(), Uuid::new_v4());
        ledger.add_update(u1, status("a", TaskState::Starting));
        ledger.add_update(u2, status("a", TaskState::Running));

        let (sub, uuids) = ledger.subscribe_payload();
        assert_eq!(uuids, vec![u1, u2]);
        assert_eq!(sub.unacknowledged_tasks.len(), 2);
        assert_eq!(sub.unacknowledged_tasks[0].name, "a");

        assert!(!ledger.acknowledge(&TaskId::new("b"), u1), "wrong task");
        assert!(
            !ledger.acknowledge(&TaskId::new("a"), Uuid::new_v4()),
            "unknown uuid"
        );
        assert!(ledger.acknowledge(&TaskId::new("a"), u1));
        assert!(!ledger.acknowledge(&TaskId::new("a"), u1), "duplicate");
        let (sub, uuids) = ledger.subscribe_payload();
        assert_eq!(uuids, vec![u2]);
        assert_eq!(sub.unacknowledged_tasks.len(), 1);
        assert_eq!(sub.unacknowledged_tasks[0].task_id, TaskId::new("b"));
        assert_eq!(ledger.pending(), 1);
    }

    #[test]
    fn delivered_updates_are_not_sent_again() {
        let mut ledger = Ledger::default();
        let u = Uuid::new_v4();
        ledger.add_update(u, status("a", TaskState::Running));
        assert!(ledger.to_send(u).is_some());
        ledger.mark_delivered(&[u]);
        assert!(ledger.to_send(u).is_none());
        assert!(ledger.is_pending(u));
    }
}
