//! The outbox task: sends UPDATE and MESSAGE calls on the non-subscription connection, one at a
//! time and only while subscribed, so the updates of a task reach the agent in order (ref §5.5).
//! 503 → retry the same call (same uuid); 403 → have the subscription resubscribe (queued updates
//! then travel in `unacknowledged_updates`); connection errors → reconnect and retry.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use super::transport::{body_text, is_retryable, Connection, Endpoint, TransportError};
use super::{Link, Outgoing, SessionEvent, Shared};
use crate::types::Call;

/// Longest wait for the agent to answer one call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// First and longest pause before retrying a call that got 503 or no answer.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(1);

/// Runs until the session is closed or lost.
pub(super) async fn run(shared: Arc<Shared>, endpoint: Endpoint) {
    let mut connection: Option<Connection> = None;
    let mut link = shared.link.subscribe();
    let mut retry_pause = RETRY_FIRST;
    loop {
        let item = loop {
            if let Some(item) = shared.state().outbox.front().cloned() {
                break item;
            }
            tokio::select! {
                _ = shared.cancel.cancelled() => return,
                _ = shared.outbox_ready.notified() => {}
            }
        };
        let generation = tokio::select! {
            _ = shared.cancel.cancelled() => return,
            up = link.wait_for(|l| matches!(l, Link::Up(_) | Link::Stopped)) => match up.map(|l| *l) {
                Ok(Link::Up(generation)) => generation,
                _ => return,
            },
        };
        let Some((call, what)) = build_call(&shared, &item) else {
            // Already delivered by a resubscription, or acknowledged.
            shared.state().outbox.pop_front();
            continue;
        };
        let body = match serde_json::to_vec(&call) {
            Ok(body) => body,
            Err(error) => {
                give_up(&shared, format!("cannot encode {what}: {error}"));
                continue;
            }
        };
        let outcome = tokio::select! {
            _ = shared.cancel.cancelled() => return,
            outcome = send(&endpoint, &mut connection, body) => outcome,
        };
        match outcome {
            Ok((status, _)) if status.is_success() => {
                let mut state = shared.state();
                if let Outgoing::Update(uuid) = item {
                    state.ledger.mark_delivered(&[uuid]);
                }
                state.outbox.pop_front();
                retry_pause = RETRY_FIRST;
            }
            Ok((StatusCode::FORBIDDEN, text)) => {
                tracing::warn!(%text, "agent says the executor is not subscribed; resubscribing");
                shared.resubscribe.send_replace(generation);
                tokio::select! {
                    _ = shared.cancel.cancelled() => return,
                    _ = link.wait_for(|l| *l != Link::Up(generation)) => {}
                }
            }
            Ok((status, text)) if is_retryable(status) => {
                tracing::info!(%status, %text, "{what} not accepted yet; retrying");
                retry_pause = pause(&shared, retry_pause).await;
            }
            Ok((status, text)) => {
                give_up(
                    &shared,
                    format!("the agent rejected {what}: {status} {text}"),
                );
            }
            Err(error) => {
                tracing::info!(%error, "{what} not delivered; retrying");
                connection = None;
                retry_pause = pause(&shared, retry_pause).await;
            }
        }
    }
}

/// The call for an outbox item, or None when it no longer needs sending.
fn build_call(shared: &Shared, item: &Outgoing) -> Option<(Call, &'static str)> {
    let env = &shared.env;
    let (executor_id, framework_id) = (env.executor_id.clone(), env.framework_id.clone());
    match item {
        Outgoing::Update(uuid) => {
            let status = shared.state().ledger.to_send(*uuid)?.clone();
            Some((Call::update(executor_id, framework_id, status), "UPDATE"))
        }
        Outgoing::Message(data) => Some((
            Call::message(executor_id, framework_id, data.clone()),
            "MESSAGE",
        )),
    }
}

/// Drops the front call for good: the agent considers it malformed (an executor bug).
fn give_up(shared: &Shared, reason: String) {
    tracing::error!(%reason, "dropping a call");
    shared.state().outbox.pop_front();
    shared.emit(SessionEvent::Error(reason));
}

/// Sleeps `current` (unless the session ends) and returns the next, doubled pause.
async fn pause(shared: &Shared, current: Duration) -> Duration {
    tokio::select! {
        _ = shared.cancel.cancelled() => {}
        _ = tokio::time::sleep(current) => {}
    }
    (current * 2).min(RETRY_MAX)
}

/// Sends one call, reusing the keep-alive connection; a reused connection that turns out dead is
/// replaced once at once (a resent UPDATE keeps its uuid, so the agent dedupes it).
async fn send(
    endpoint: &Endpoint,
    slot: &mut Option<Connection>,
    body: Vec<u8>,
) -> Result<(StatusCode, String), TransportError> {
    let reused = slot.as_ref().is_some_and(|c| !c.is_closed());
    match exchange(endpoint, slot, reused, body.clone()).await {
        Err(TransportError::Timeout(timeout)) => Err(TransportError::Timeout(timeout)),
        Err(_) if reused => exchange(endpoint, slot, false, body).await,
        other => other,
    }
}

async fn exchange(
    endpoint: &Endpoint,
    slot: &mut Option<Connection>,
    reuse: bool,
    body: Vec<u8>,
) -> Result<(StatusCode, String), TransportError> {
    let request = endpoint.request(body)?;
    let mut connection = match slot.take() {
        Some(connection) if reuse => connection,
        _ => tokio::time::timeout(CALL_TIMEOUT, endpoint.connect())
            .await
            .map_err(|_| TransportError::Timeout(CALL_TIMEOUT))??,
    };
    let response = connection.send(request, CALL_TIMEOUT).await?;
    let status = response.status();
    let text = body_text(response, CALL_TIMEOUT).await;
    *slot = Some(connection);
    Ok((status, text))
}
