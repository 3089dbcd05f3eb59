//! Starting the services: each as soon as its dependencies meet their conditions, so that
//! independent services are created in parallel. The first failure stops the others.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use bollard::Docker;
use futures_util::future::{join_all, BoxFuture, Shared};
use futures_util::FutureExt;
use pod::PodPlan;
use tokio_util::sync::CancellationToken;

use super::container_config::service_container;
use super::names::PodNames;
use super::order::dependencies;
use super::tracker::Tracker;
use super::wait::{wait_for, Dependency};
use super::{create_and_start, ServiceTiming};
use crate::client::DockerError;
use crate::running::{ContainerRole, PodContainer};

/// Resolves to the service's container id once it has been started.
type Started<'a> = Shared<BoxFuture<'a, Result<String, DockerError>>>;

/// Starts every service of `plan` (in `order`, a dependency order) and returns their timings in
/// start order, or the first error.
pub async fn start_services(
    docker: &Docker,
    plan: &PodPlan,
    order: &[String],
    names: &PodNames,
    tracker: &Tracker,
) -> Result<Vec<ServiceTiming>, DockerError> {
    let abort = CancellationToken::new();
    let first_error: Mutex<Option<DockerError>> = Mutex::new(None);
    let timings: Mutex<Vec<ServiceTiming>> = Mutex::new(Vec::new());
    let mut started: HashMap<&str, Started<'_>> = HashMap::new();
    for name in order {
        let Some(service) = plan.project.services.get(name) else {
            continue;
        };
        let waits_for: Vec<_> = dependencies(service)
            .into_iter()
            .filter_map(|(dep, condition)| {
                started
                    .get(dep.as_str())
                    .map(|s| (dep, condition, s.clone()))
            })
            .collect();
        let (abort, first_error, timings) = (&abort, &first_error, &timings);
        let start = async move {
            let at = Instant::now();
            for (dependency, condition, dependency_started) in waits_for {
                let container_id = dependency_started.await?;
                let dependency = Dependency {
                    service: name,
                    name: &dependency,
                    container_id: &container_id,
                    condition,
                };
                wait_for(docker, dependency).await?;
            }
            let waited = at.elapsed();
            let spec = service_container(name, service, names)?;
            let meta = PodContainer {
                service: name.clone(),
                id: String::new(),
                name: spec.name.clone(),
                role: ContainerRole::Service,
                depends_on: dependencies(service).into_iter().map(|(d, _)| d).collect(),
                stop_signal: service.stop_signal.clone(),
                stop_grace_period: service.stop_grace_period,
            };
            let (id, create, start) = create_and_start(docker, tracker, spec, meta).await?;
            tracing::debug!(service = %name, ?waited, ?create, ?start, "service started");
            lock(timings).push(ServiceTiming {
                service: name.clone(),
                waited,
                create,
                start,
            });
            Ok(id)
        };
        let guarded = async move {
            let result = tokio::select! {
                result = start => result,
                _ = abort.cancelled() => Err(DockerError::Cancelled),
            };
            if let Err(error) = &result {
                let mut first = lock(first_error);
                if first.is_none() && !matches!(error, DockerError::Cancelled) {
                    *first = Some(error.clone());
                }
                abort.cancel();
            }
            result
        };
        started.insert(name.as_str(), guarded.boxed().shared());
    }
    join_all(started.into_values()).await;
    if let Some(error) = lock(&first_error).take() {
        return Err(error);
    }
    let timings = std::mem::take(&mut *lock(&timings));
    Ok(timings)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
