//! What the executor writes to the sandbox about a pod before creating anything (SPEC §3, §8):
//! the pod's identity (so that `dce reap` and a person can tell what belongs to whom), the plan
//! and the generated compose file. Also where the pod's container logs go.

use std::io;
use std::path::{Path, PathBuf};

use pod::{PodPlan, TaskContext};
use serde::Serialize;

/// Where one task's files live in the sandbox.
///
/// The executor's first task uses `pod/` and `logs/` (SPEC layout); further tasks of the same
/// executor use `pod/<project>/` and `logs/<project>/` so that pods never overwrite each
/// other's files.
#[derive(Debug, Clone)]
pub struct TaskFiles {
    /// `identity.json`, `plan.json`, `generated-compose.yml`.
    pub pod_dir: PathBuf,
    /// `<service>.log` per container.
    pub logs_dir: PathBuf,
}

impl TaskFiles {
    /// The directories of a task; `first` for the executor's first task.
    pub fn new(sandbox: &Path, project: &str, first: bool) -> Self {
        if first {
            TaskFiles {
                pod_dir: sandbox.join("pod"),
                logs_dir: sandbox.join("logs"),
            }
        } else {
            TaskFiles {
                pod_dir: sandbox.join("pod").join(project),
                logs_dir: sandbox.join("logs").join(project),
            }
        }
    }

    /// Writes `identity.json`.
    pub fn write_identity(&self, task: &TaskContext, project: &str) -> io::Result<()> {
        let identity = PodIdentity {
            project,
            task_id: &task.task_id,
            executor_id: &task.executor_id,
            framework_id: &task.framework_id,
            agent_id: &task.agent_id,
            container_id: &task.container_id,
            executor_pid: task.executor_pid,
            executor_start: task.executor_start,
            sandbox: &task.sandbox,
        };
        self.write("identity.json", &to_json(&identity)?)
    }

    /// Writes `plan.json` and `generated-compose.yml`.
    pub fn write_plan(&self, plan: &PodPlan) -> io::Result<()> {
        self.write("plan.json", &to_json(plan)?)?;
        self.write("generated-compose.yml", &plan.generated_compose())
    }

    /// Writes `name` atomically; errors name the path (a bare "File exists" about a sandbox
    /// whose `pod` is a file tells nobody anything).
    fn write(&self, name: &str, text: &str) -> io::Result<()> {
        std::fs::create_dir_all(&self.pod_dir).map_err(|e| at(&self.pod_dir, e))?;
        let path = self.pod_dir.join(name);
        let temporary = self.pod_dir.join(format!(".{name}.tmp"));
        std::fs::write(&temporary, text).map_err(|e| at(&temporary, e))?;
        std::fs::rename(&temporary, &path).map_err(|e| at(&path, e))
    }
}

fn at(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// The identity of a pod: the labels dce puts on its objects, readable without Docker.
#[derive(Serialize)]
struct PodIdentity<'a> {
    project: &'a str,
    task_id: &'a str,
    executor_id: &'a str,
    framework_id: &'a str,
    agent_id: &'a str,
    container_id: &'a str,
    executor_pid: u32,
    executor_start: u64,
    sandbox: &'a Path,
}

fn to_json<T: Serialize>(value: &T) -> io::Result<String> {
    serde_json::to_string_pretty(value).map_err(io::Error::other)
}
