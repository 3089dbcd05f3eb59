//! Creating and starting the services, as compose does: every container is created as soon as
//! the containers it refers to exist (in parallel with the infra container's start), and
//! started once the infra container runs and its dependencies meet their conditions. The first
//! failure stops the others.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::Docker;
use compose::Service;
use futures_util::future::{join_all, BoxFuture, Shared};
use futures_util::FutureExt;
use pod::PodPlan;
use tokio_util::sync::CancellationToken;

use super::container::{create_container, object, start_container};
use super::container_config::service_container;
use super::names::PodNames;
use super::order::{dependencies, references};
use super::tracker::Tracker;
use super::wait::{wait_for, Dependency};
use super::ServiceTiming;
use crate::client::DockerError;
use crate::running::{ContainerRole, PodContainer};

/// Resolves to a service's container id once it reached a phase (created, or started).
type Phase<'a> = Shared<BoxFuture<'a, Result<String, DockerError>>>;

/// Resolves once the infra container runs (at once without one), to its start duration.
pub type InfraStart<'a> = Shared<BoxFuture<'a, Result<Duration, DockerError>>>;

/// The shared state of one launch's services.
struct Launch<'a> {
    docker: &'a Docker,
    names: &'a PodNames,
    tracker: &'a Tracker,
    infra_start: InfraStart<'a>,
    abort: CancellationToken,
    first_error: Mutex<Option<DockerError>>,
    timings: Mutex<Vec<ServiceTiming>>,
}

/// Creates and starts every service of `plan` (`order` is a dependency order) and returns their
/// timings in start order, or the first error.
pub async fn start_services<'a>(
    docker: &'a Docker,
    plan: &'a PodPlan,
    order: &'a [String],
    names: &'a PodNames,
    tracker: &'a Tracker,
    infra_start: InfraStart<'a>,
) -> Result<Vec<ServiceTiming>, DockerError> {
    let launch = Launch {
        docker,
        names,
        tracker,
        infra_start,
        abort: CancellationToken::new(),
        first_error: Mutex::new(None),
        timings: Mutex::new(Vec::new()),
    };
    let launch = &launch;
    let mut created: HashMap<&str, Phase<'_>> = HashMap::new();
    let mut started: HashMap<&str, Phase<'_>> = HashMap::new();
    for name in order {
        let Some(service) = plan.project.services.get(name) else {
            continue;
        };
        let referred: Vec<Phase<'_>> = references(service)
            .iter()
            .filter_map(|r| created.get(r.as_str()).cloned())
            .collect();
        let create = launch.guard(launch.create(name, service, referred).boxed());
        let create = create.boxed().shared();
        let waits_for: Vec<_> = dependencies(service)
            .into_iter()
            .filter_map(|(dep, condition)| {
                started
                    .get(dep.as_str())
                    .map(|s| (dep, condition, s.clone()))
            })
            .collect();
        let start = launch.guard(launch.start(name, create.clone(), waits_for).boxed());
        created.insert(name.as_str(), create);
        started.insert(name.as_str(), start.boxed().shared());
    }
    join_all(started.into_values()).await;
    if let Some(error) = lock(&launch.first_error).take() {
        return Err(error);
    }
    let timings = std::mem::take(&mut *lock(&launch.timings));
    Ok(timings)
}

impl<'a> Launch<'a> {
    /// Stops at the launch's first failure; records this step's failure as that first failure.
    async fn guard<'s>(
        &'s self,
        step: BoxFuture<'s, Result<String, DockerError>>,
    ) -> Result<String, DockerError> {
        let result = tokio::select! {
            result = step => result,
            _ = self.abort.cancelled() => Err(DockerError::Cancelled),
        };
        if let Err(error) = &result {
            let mut first = lock(&self.first_error);
            if first.is_none() && !matches!(error, DockerError::Cancelled) {
                *first = Some(error.clone());
            }
            self.abort.cancel();
        }
        result
    }

    /// Creates the service's container once the containers it refers to exist.
    async fn create<'s>(
        &'s self,
        name: &'s String,
        service: &'s Service,
        referred: Vec<Phase<'s>>,
    ) -> Result<String, DockerError> {
        for other in referred {
            other.await?;
        }
        let spec = service_container(name, service, self.names)?;
        let meta = PodContainer {
            service: name.clone(),
            id: String::new(),
            name: spec.name.clone(),
            role: ContainerRole::Service,
            depends_on: dependencies(service).into_iter().map(|(d, _)| d).collect(),
            stop_signal: service.stop_signal.clone(),
            stop_grace_period: service.stop_grace_period,
        };
        let (id, took) = create_container(self.docker, self.tracker, spec, meta).await?;
        tracing::debug!(service = %name, ?took, "service created");
        Ok(id)
    }

    /// Starts the created container once the infra container runs and every dependency meets
    /// its condition.
    async fn start<'s>(
        &'s self,
        name: &'s String,
        created: Phase<'s>,
        waits_for: Vec<(String, compose::DependencyCondition, Phase<'s>)>,
    ) -> Result<String, DockerError> {
        let at = Instant::now();
        let id = created.await?;
        let create = at.elapsed();
        let at = Instant::now();
        self.infra_start.clone().await?;
        for (dependency, condition, dependency_started) in waits_for {
            let container_id = dependency_started.await?;
            let dependency = Dependency {
                service: name,
                name: &dependency,
                container_id: &container_id,
                condition,
            };
            wait_for(self.docker, dependency).await?;
        }
        let waited = at.elapsed();
        let object = object(&PodContainer {
            service: name.clone(),
            id: id.clone(),
            name: String::new(),
            role: ContainerRole::Service,
            depends_on: Vec::new(),
            stop_signal: None,
            stop_grace_period: None,
        });
        let start = start_container(self.docker, &id, object).await?;
        tracing::debug!(service = %name, ?waited, ?start, "service started");
        lock(&self.timings).push(ServiceTiming {
            service: name.clone(),
            waited,
            create,
            start,
        });
        Ok(id)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
