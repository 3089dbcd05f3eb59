//! The subscription task: SUBSCRIBE on a dedicated connection, read the event stream, and decide
//! what a disconnection means (ref §6): without checkpointing the session is lost at once; with
//! it, resubscribe with random back-off in `[0, MESOS_SUBSCRIPTION_BACKOFF_MAX]` until
//! `MESOS_RECOVERY_TIMEOUT` has passed since the first disconnection of the outage.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use http::header::CONTENT_TYPE;
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tokio_util::io::StreamReader;
use uuid::Uuid;

use super::transport::{body_text, is_retryable, Connection, Endpoint, JSON};
use super::{Link, SessionEvent, Shared};
use crate::recordio::RecordIoDecoder;
use crate::types::{Call, Event};

/// Longest wait for the agent to answer a SUBSCRIBE (connect + response head).
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Default `MESOS_RECOVERY_TIMEOUT` (the agent's `--recovery_timeout`), for environments built
/// without one.
const DEFAULT_RECOVERY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Shortest pause between SUBSCRIBE attempts, so a zero back-off cannot spin.
const MIN_RETRY_PAUSE: Duration = Duration::from_millis(1);

enum Attempt {
    Subscribed {
        connection: Connection,
        response: Response<Incoming>,
        carried: Vec<Uuid>,
    },
    Retry(String),
    Fatal(String),
    Cancelled,
}

enum StreamEnd {
    Cancelled,
    Broken(String),
}

/// Runs until the session is closed or lost.
pub(super) async fn run(shared: Arc<Shared>, endpoint: Endpoint) {
    let mut generation = 0u64;
    // Start of the current outage (first disconnection not followed by a SUBSCRIBED).
    let mut outage_since: Option<Instant> = None;
    let mut resubscribe = shared.resubscribe.subscribe();
    let recovery_timeout = shared
        .env
        .recovery_timeout
        .unwrap_or(DEFAULT_RECOVERY_TIMEOUT);
    loop {
        let remaining = outage_since.map(|since| recovery_timeout.saturating_sub(since.elapsed()));
        if remaining == Some(Duration::ZERO) {
            return lose(
                &shared,
                format!("could not resubscribe to the agent within MESOS_RECOVERY_TIMEOUT ({recovery_timeout:?})"),
            );
        }
        let timeout = remaining.map_or(SUBSCRIBE_TIMEOUT, |r| r.min(SUBSCRIBE_TIMEOUT));
        match attempt(&shared, &endpoint, timeout).await {
            Attempt::Cancelled => return,
            Attempt::Fatal(reason) => return lose(&shared, reason),
            Attempt::Retry(reason) => {
                tracing::info!(%reason, agent = %endpoint.describe(), "SUBSCRIBE failed; retrying");
            }
            Attempt::Subscribed {
                connection,
                response,
                carried,
            } => {
                generation += 1;
                shared.state().ledger.mark_delivered(&carried);
                shared.link.send_replace(Link::Up(generation));
                tracing::info!(agent = %endpoint.describe(), resent_updates = carried.len(), "subscribed to the agent");
                let (end, saw_subscribed) =
                    read_stream(&shared, connection, response, generation, &mut resubscribe).await;
                let StreamEnd::Broken(reason) = end else {
                    return;
                };
                if shared.cancel.is_cancelled() {
                    return;
                }
                shared.link.send_replace(Link::Down);
                tracing::warn!(%reason, "subscription to the agent lost");
                if !shared.env.checkpoint {
                    return lose(
                        &shared,
                        format!("disconnected from the agent ({reason}) and the framework does not checkpoint"),
                    );
                }
                if saw_subscribed || outage_since.is_none() {
                    outage_since = Some(Instant::now());
                }
                shared.emit(SessionEvent::Disconnected);
            }
        }
        let mut pause = jitter(shared.backoff_max());
        if let Some(since) = outage_since {
            pause = pause.min(recovery_timeout.saturating_sub(since.elapsed()));
        }
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

fn lose(shared: &Shared, reason: String) {
    if shared.cancel.is_cancelled() {
        return;
    }
    tracing::error!(%reason, "executor session lost");
    shared.emit(SessionEvent::Lost { reason });
    shared.stop();
}

/// A uniformly random pause in `[0, max]` (the official library's back-off), at least
/// [`MIN_RETRY_PAUSE`].
fn jitter(max: Duration) -> Duration {
    let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    let pause = Duration::from_nanos(rand::rng().random_range(0..=max_nanos));
    pause.max(MIN_RETRY_PAUSE)
}

async fn attempt(shared: &Shared, endpoint: &Endpoint, timeout: Duration) -> Attempt {
    let (payload, carried) = shared.state().ledger.subscribe_payload();
    let env = &shared.env;
    let call = Call::subscribe(env.executor_id.clone(), env.framework_id.clone(), payload);
    let request = match serde_json::to_vec(&call)
        .map_err(|e| e.to_string())
        .and_then(|body| endpoint.request(body).map_err(|e| e.to_string()))
    {
        Ok(request) => request,
        Err(error) => return Attempt::Fatal(format!("cannot build SUBSCRIBE: {error}")),
    };
    let exchange = async {
        let mut connection = endpoint.connect().await?;
        let response = connection.send(request, timeout).await?;
        Ok::<_, super::transport::TransportError>((connection, response))
    };
    let result = tokio::select! {
        _ = shared.cancel.cancelled() => return Attempt::Cancelled,
        result = tokio::time::timeout(timeout, exchange) => result,
    };
    let (connection, response) = match result {
        Err(_) => return Attempt::Retry(format!("no answer within {timeout:?}")),
        Ok(Err(error)) => return Attempt::Retry(error.to_string()),
        Ok(Ok(exchanged)) => exchanged,
    };
    let status = response.status();
    if status == StatusCode::OK {
        let content_type = response.headers().get(CONTENT_TYPE);
        if content_type.is_some_and(|v| v != JSON) {
            tracing::warn!(?content_type, "unexpected content type of the event stream");
        }
        return Attempt::Subscribed {
            connection,
            response,
            carried,
        };
    }
    let text = body_text(response, timeout).await;
    let reason = format!("SUBSCRIBE answered {status}: {text}");
    if is_retryable(status) {
        Attempt::Retry(reason)
    } else {
        Attempt::Fatal(reason)
    }
}

/// Reads events until the stream breaks or the session ends; also says whether SUBSCRIBED came.
async fn read_stream(
    shared: &Shared,
    connection: Connection,
    response: Response<Incoming>,
    generation: u64,
    resubscribe: &mut watch::Receiver<u64>,
) -> (StreamEnd, bool) {
    // Keeps the socket open while the body is read.
    let _connection = connection;
    let body = response
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let mut records = FramedRead::new(StreamReader::new(body), RecordIoDecoder::default());
    let mut saw_subscribed = false;
    loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => return (StreamEnd::Cancelled, saw_subscribed),
            Ok(()) = resubscribe.changed() => {
                if *resubscribe.borrow_and_update() == generation {
                    let reason = "the agent answered a call with 403 (executor not subscribed)";
                    return (StreamEnd::Broken(reason.into()), saw_subscribed);
                }
            }
            record = records.next() => match record {
                None => return (StreamEnd::Broken("the agent ended the event stream".into()), saw_subscribed),
                Some(Err(error)) => return (StreamEnd::Broken(error.to_string()), saw_subscribed),
                Some(Ok(record)) => saw_subscribed |= handle_record(shared, &record),
            },
        }
    }
}

/// Decodes and dispatches one event; true if it was SUBSCRIBED.
fn handle_record(shared: &Shared, record: &[u8]) -> bool {
    let event = match serde_json::from_slice::<Event>(record) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "ignoring an event that does not decode");
            return false;
        }
    };
    tracing::debug!(event = event.type_name(), "event from the agent");
    match event {
        Event::Subscribed(subscribed) => {
            let subscribed = *subscribed;
            shared.state().agent_id = subscribed.agent_info.id.clone();
            shared.emit(SessionEvent::Subscribed {
                executor_info: subscribed.executor_info,
                framework_info: subscribed.framework_info,
                agent_info: subscribed.agent_info,
                container_id: subscribed.container_id,
            });
            return true;
        }
        Event::Launch(task) => {
            shared.state().ledger.record_task(&task);
            shared.emit(SessionEvent::Launch(*task));
        }
        Event::LaunchGroup(tasks) => {
            {
                let mut state = shared.state();
                for task in &tasks {
                    state.ledger.record_task(task);
                }
            }
            shared.emit(SessionEvent::LaunchGroup(tasks));
        }
        Event::Kill(kill) => shared.emit(SessionEvent::Kill {
            task_id: kill.task_id,
            kill_policy: kill.kill_policy,
        }),
        Event::Acknowledged(ack) => {
            let matched = Uuid::from_slice(&ack.uuid)
                .ok()
                .filter(|uuid| shared.state().ledger.acknowledge(&ack.task_id, *uuid));
            match matched {
                Some(uuid) => {
                    shared.acked.notify_waiters();
                    shared.emit(SessionEvent::Acknowledged {
                        task_id: ack.task_id,
                        uuid,
                    });
                }
                None => {
                    tracing::debug!(task_id = %ack.task_id, "ignoring an unknown or duplicate acknowledgement")
                }
            }
        }
        Event::Message(data) => shared.emit(SessionEvent::Message(data)),
        Event::Error(message) => {
            tracing::warn!(%message, "ERROR event from the agent");
            shared.emit(SessionEvent::Error(message));
        }
        Event::Shutdown => shared.emit(SessionEvent::Shutdown),
        Event::Heartbeat => {}
        Event::Unknown { type_name } => {
            tracing::info!(?type_name, "ignoring an event of unknown type");
        }
    }
    false
}
