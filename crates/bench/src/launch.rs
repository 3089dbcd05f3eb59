//! Pod launch and teardown, one method at a time: dce under the agent stand-in, compose v1 and
//! v2 `up -d`/`down`, and the direct-API floor, all running the same pod.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::query_parameters::ListContainersOptions;
use bollard::Docker;
use mesos::TaskState;

use crate::cleanup;
use crate::compose_cli::ComposeTool;
use crate::dce_task::DceTask;
use crate::error::BenchError;
use crate::floor::{floor_down, floor_up};
use crate::pod_spec::{compose_yaml, floor_spec, InfraContainer};

/// The stop grace of every method (compose's and dce's default).
pub const GRACE: Duration = Duration::from_secs(10);

/// A way to bring a pod up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// LAUNCH → TASK_RUNNING and KILL → TASK_KILLED through the real executor.
    Dce,
    /// Debian's docker-compose 1.29 `up -d` / `down`.
    ComposeV1,
    /// Compose v2 `up -d` / `down`.
    ComposeV2,
    /// Direct Engine API calls, maximal parallelism.
    Floor,
}

impl Method {
    /// Every method, in table order.
    pub const ALL: [Method; 4] = [
        Method::Dce,
        Method::ComposeV1,
        Method::ComposeV2,
        Method::Floor,
    ];

    /// Column header.
    pub fn label(self) -> &'static str {
        match self {
            Method::Dce => "dce",
            Method::ComposeV1 => "compose v1",
            Method::ComposeV2 => "compose v2",
            Method::Floor => "floor",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Method::Dce => "dce",
            Method::ComposeV1 => "v1",
            Method::ComposeV2 => "v2",
            Method::Floor => "api",
        }
    }
}

/// One up/down measurement.
#[derive(Debug, Clone)]
pub struct UpDown {
    /// Launch: until every container runs (dce: TASK_RUNNING received).
    pub up: Duration,
    /// Teardown: until everything is removed (dce: TASK_KILLED received).
    pub down: Duration,
    /// dce only: the executor's launch step timings (`*_ms` fields of its log).
    pub steps: Vec<(String, u64)>,
}

/// What the launch measurements need.
pub struct LaunchBench {
    /// The engine.
    pub docker: Docker,
    /// The run id (in every project name).
    pub run_id: String,
    /// The release `dce` binary.
    pub dce: PathBuf,
    /// Compose v1, if it runs here.
    pub v1: Option<ComposeTool>,
    /// Compose v2, if it could be fetched.
    pub v2: Option<ComposeTool>,
    /// dce's infra container, for the floor (known after a first dce launch).
    pub infra: Option<InfraContainer>,
    /// Directory of the compose files of the other methods.
    pub files: tempfile::TempDir,
}

impl LaunchBench {
    /// Whether `method` can run here.
    pub fn available(&self, method: Method) -> bool {
        match method {
            Method::Dce => true,
            Method::ComposeV1 => self.v1.is_some(),
            Method::ComposeV2 => self.v2.is_some(),
            Method::Floor => self.infra.is_some(),
        }
    }

    /// The project (= dce task id) of one measurement.
    pub fn project(&self, label: &str, method: Method) -> String {
        format!(
            "{}{}-{label}-{}",
            crate::pod_spec::PROJECT_PREFIX,
            self.run_id,
            method.tag()
        )
    }

    /// Brings an `n`-service pod up and down with `method`; `label` makes the project unique.
    pub async fn measure(
        &self,
        method: Method,
        n: usize,
        label: &str,
    ) -> Result<UpDown, BenchError> {
        let project = self.project(label, method);
        let yaml = compose_yaml(n, &self.run_id);
        let measured = match method {
            Method::Dce => self.dce_round(&project, &yaml, n).await?,
            Method::ComposeV1 | Method::ComposeV2 => {
                let tool = if method == Method::ComposeV1 {
                    &self.v1
                } else {
                    &self.v2
                };
                let tool = tool.as_ref().ok_or_else(|| unavailable(method))?;
                self.compose_round(tool, &project, &yaml, n).await?
            }
            Method::Floor => self.floor_round(&project, n).await?,
        };
        let left = cleanup::find(&self.docker, &project).await?;
        if !left.is_empty() {
            let left: Vec<String> = left.iter().map(ToString::to_string).collect();
            return Err(BenchError::Check(format!(
                "{project}: left behind: {}",
                left.join(", ")
            )));
        }
        Ok(measured)
    }

    async fn dce_round(&self, project: &str, yaml: &str, n: usize) -> Result<UpDown, BenchError> {
        let task = DceTask::start(&self.dce, project, yaml, None).await?;
        let sent = task.launch();
        let running = task.wait_state(TaskState::Running).await?;
        let up = running.received_at.duration_since(sent);
        let dce_project = format!("dce-{project}");
        self.expect_running(&dce_project, n + 1).await?;
        let sent = task.kill();
        let killed = task.wait_state(TaskState::Killed).await?;
        let down = killed.received_at.duration_since(sent);
        let steps = task.launch_steps();
        task.finish().await?;
        Ok(UpDown { up, down, steps })
    }

    async fn compose_round(
        &self,
        tool: &ComposeTool,
        project: &str,
        yaml: &str,
        n: usize,
    ) -> Result<UpDown, BenchError> {
        let file = self.files.path().join(format!("{project}.yml"));
        std::fs::write(&file, yaml)
            .map_err(|e| BenchError::io(format!("writing {}", file.display()), e))?;
        let up = tool.up(project, &file).await?;
        self.expect_running(project, n).await?;
        let down = tool.down(project, &file).await?;
        Ok(UpDown {
            up,
            down,
            steps: Vec::new(),
        })
    }

    async fn floor_round(&self, project: &str, n: usize) -> Result<UpDown, BenchError> {
        let infra = self
            .infra
            .as_ref()
            .ok_or_else(|| unavailable(Method::Floor))?;
        let spec = floor_spec(n, project, &self.run_id, infra);
        let started = std::time::Instant::now();
        let pod = floor_up(&self.docker, &spec).await?;
        let up = started.elapsed();
        self.expect_running(project, n + 1).await?;
        let started = std::time::Instant::now();
        floor_down(&self.docker, &pod, GRACE).await?;
        Ok(UpDown {
            up,
            down: started.elapsed(),
            steps: Vec::new(),
        })
    }

    /// Checks that `expected` containers of `project` run.
    async fn expect_running(&self, project: &str, expected: usize) -> Result<(), BenchError> {
        let options = ListContainersOptions {
            filters: Some(HashMap::from([
                (
                    "label".to_string(),
                    vec![format!("com.docker.compose.project={project}")],
                ),
                ("status".to_string(), vec!["running".to_string()]),
            ])),
            ..Default::default()
        };
        let count = self.docker.list_containers(Some(options)).await?.len();
        if count != expected {
            return Err(BenchError::Check(format!(
                "{project}: {count} containers running after launch, expected {expected}"
            )));
        }
        Ok(())
    }

    /// Launches a dce pod once (untimed) and copies its infra container's image and command for
    /// the floor. This also builds dce's infra image if it is missing.
    pub async fn learn_infra(&mut self) -> Result<(), BenchError> {
        let project = self.project("warmup", Method::Dce);
        let task =
            DceTask::start(&self.dce, &project, &compose_yaml(1, &self.run_id), None).await?;
        task.launch();
        task.wait_state(TaskState::Running).await?;
        let infra = self
            .docker
            .inspect_container(&format!("dce-{project}-infra"), None)
            .await;
        task.kill();
        task.wait_state(TaskState::Killed).await?;
        task.finish().await?;
        let infra = infra?;
        let init = infra.host_config.and_then(|h| h.init).unwrap_or_default();
        let config = infra.config.unwrap_or_default();
        let image = config
            .image
            .ok_or_else(|| BenchError::Check("dce's infra container has no image".into()))?;
        self.infra = Some(InfraContainer {
            image,
            cmd: config.cmd,
            init,
        });
        Ok(())
    }
}

fn unavailable(method: Method) -> BenchError {
    BenchError::Check(format!("{} is not available", method.label()))
}
