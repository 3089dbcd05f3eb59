//! What a launch has created so far, and the guarantee that it is removed when the launch fails,
//! is cancelled, or its future is dropped.
//!
//! Every creating engine call runs in its own spawned task that records the new object before it
//! reports back; a dropped launch therefore cannot lose track of an object whose creation was in
//! flight. The rollback first waits for those tasks, then removes everything recorded.

use std::future::Future;
use std::sync::{Arc, Mutex};

use bollard::Docker;
use tokio::task::JoinHandle;

use crate::client::DockerError;
use crate::remove::{remove_pod, RemoveOptions};
use crate::running::RunningPod;

#[derive(Debug, Default)]
struct Record {
    pod: Option<RunningPod>,
    in_flight: Vec<JoinHandle<()>>,
}

/// The objects of one launch; removes them on drop unless [`Tracker::finish`] was called.
#[derive(Debug)]
pub struct Tracker {
    docker: Docker,
    record: Arc<Mutex<Record>>,
    armed: bool,
}

impl Tracker {
    /// An empty record for pod `project` with the cgroup parent its containers get.
    pub fn new(docker: Docker, project: &str, cgroup_parent: Option<String>) -> Self {
        let pod = RunningPod {
            project: project.to_string(),
            containers: Vec::new(),
            networks: Vec::new(),
            volumes: Vec::new(),
            cgroup_parent,
        };
        Tracker {
            docker,
            record: Arc::new(Mutex::new(Record {
                pod: Some(pod),
                in_flight: Vec::new(),
            })),
            armed: true,
        }
    }

    /// Runs `create` in a task of its own; `register` records its result in the pod before the
    /// caller hears of it, so that the object is removed even if the caller is gone.
    pub async fn create<T, F>(
        &self,
        create: F,
        register: impl FnOnce(&mut RunningPod, &T) + Send + 'static,
    ) -> Result<T, DockerError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, DockerError>> + Send + 'static,
    {
        let record = Arc::clone(&self.record);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let result = create.await;
            if let Ok(value) = &result {
                if let Some(pod) = lock(&record).pod.as_mut() {
                    register(pod, value);
                }
            }
            let _ = sender.send(result);
        });
        {
            let mut record = lock(&self.record);
            record.in_flight.retain(|t| !t.is_finished());
            record.in_flight.push(task);
        }
        receiver.await.map_err(|_| DockerError::Cancelled)?
    }

    /// The launch succeeded: keep everything and hand the pod over.
    pub fn finish(mut self) -> RunningPod {
        self.armed = false;
        take_pod(&self.record)
    }

    /// The launch failed: remove everything it created.
    pub async fn rollback(mut self) {
        self.armed = false;
        rollback(self.docker.clone(), Arc::clone(&self.record)).await;
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        tracing::warn!("pod launch abandoned; removing what it created");
        let cleanup = rollback(self.docker.clone(), Arc::clone(&self.record));
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(cleanup);
            }
            Err(_) => {
                std::thread::spawn(move || {
                    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        runtime.block_on(cleanup);
                    }
                });
            }
        }
    }
}

fn lock(record: &Mutex<Record>) -> std::sync::MutexGuard<'_, Record> {
    match record.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn take_pod(record: &Mutex<Record>) -> RunningPod {
    lock(record).pod.take().unwrap_or_else(|| RunningPod {
        project: String::new(),
        containers: Vec::new(),
        networks: Vec::new(),
        volumes: Vec::new(),
        cgroup_parent: None,
    })
}

/// Waits for creations in flight (their objects are then recorded), then removes the pod.
/// Named volumes go too: this launch created them.
async fn rollback(docker: Docker, record: Arc<Mutex<Record>>) {
    loop {
        let in_flight = std::mem::take(&mut lock(&record).in_flight);
        if in_flight.is_empty() {
            break;
        }
        for task in in_flight {
            let _ = task.await;
        }
    }
    let pod = take_pod(&record);
    let options = RemoveOptions {
        named_volumes: true,
        stop_grace: None,
    };
    let report = remove_pod(&docker, &pod, &options).await;
    if !report.is_clean() {
        tracing::warn!(project = %pod.project, errors = ?report.errors, "rollback left objects behind");
    }
}
