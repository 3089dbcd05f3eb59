//! Where events and inspections come from: the engine, or in tests a wrapper around it that
//! breaks the stream on demand (the seam for the reconnect path; dockerd is shared and is never
//! restarted by tests).

use std::collections::HashMap;
use std::future::Future;

use bollard::errors::Error as EngineError;
use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptions;
use bollard::Docker;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use super::engine::ContainerSnapshot;
use super::time::since_param;
use crate::client::is_not_found;
use crate::labels;

/// A stream of raw engine events.
pub type EventStream = BoxStream<'static, Result<EventMessage, EngineError>>;

/// The container actions a pod watcher subscribes to. `health_status` matches
/// `health_status: <status>` (the engine fuzzy-matches it, moby#25798); exec events from
/// healthchecks are filtered out by the engine.
pub const WATCHED_ACTIONS: [&str; 5] = ["start", "die", "oom", "health_status", "destroy"];

/// The engine-side filter of a pod's subscription: container events of this compose project
/// (and task, when known) with only the watched actions.
pub fn pod_filters(project: &str, task_id: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut label_filters = vec![labels::filter(labels::COMPOSE_PROJECT, project)];
    if let Some(task_id) = task_id {
        label_filters.push(labels::filter(labels::TASK_ID, task_id));
    }
    HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("label".to_string(), label_filters),
        (
            "event".to_string(),
            WATCHED_ACTIONS.iter().map(|a| a.to_string()).collect(),
        ),
    ])
}

/// The two engine capabilities the watcher needs. Implemented by [`Docker`]; tests wrap it to
/// inject stream failures.
pub trait EventSource: Send + Sync + 'static {
    /// Opens an events subscription with `filters`, replaying buffered events from
    /// `since_nanos` on. The stream ends or yields an error when the connection breaks.
    fn subscribe(
        &self,
        filters: HashMap<String, Vec<String>>,
        since_nanos: Option<i64>,
    ) -> EventStream;

    /// Inspects a container; `Ok(None)` when it does not exist.
    fn snapshot(
        &self,
        container_id: &str,
    ) -> impl Future<Output = Result<Option<ContainerSnapshot>, EngineError>> + Send;

    /// The labels of a container, `Ok(None)` when it does not exist.
    fn container_labels(
        &self,
        container_id: &str,
    ) -> impl Future<Output = Result<Option<HashMap<String, String>>, EngineError>> + Send;
}

impl EventSource for Docker {
    fn subscribe(
        &self,
        filters: HashMap<String, Vec<String>>,
        since_nanos: Option<i64>,
    ) -> EventStream {
        let options = EventsOptions {
            since: since_nanos.map(since_param),
            until: None,
            filters: Some(filters),
        };
        self.events(Some(options)).boxed()
    }

    async fn snapshot(&self, container_id: &str) -> Result<Option<ContainerSnapshot>, EngineError> {
        match self.inspect_container(container_id, None).await {
            Ok(inspect) => Ok(Some(ContainerSnapshot::from_inspect(&inspect))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn container_labels(
        &self,
        container_id: &str,
    ) -> Result<Option<HashMap<String, String>>, EngineError> {
        match self.inspect_container(container_id, None).await {
            Ok(inspect) => Ok(Some(
                inspect.config.and_then(|c| c.labels).unwrap_or_default(),
            )),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }
}
