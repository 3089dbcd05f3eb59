//! `POST /api/v1/executor`: the checks of `Http::executor` in the agent's order (ref §2, §8.2),
//! then SUBSCRIBE (a RecordIO event stream), UPDATE, MESSAGE, HEARTBEAT.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::Value;

use crate::journal::{RequestRecord, UpdateOrigin};
use crate::request::{self, Rejection};
use crate::server::{ConnCtx, Transport};
use crate::shared::Shared;
use crate::state::{ExecutorPhase, RecoveryPhase};
use crate::stream::EventStream;

/// The body type of every response.
pub(crate) type ResponseBody = BoxBody<Bytes, Infallible>;

/// Handles one request and journals it with the status code it got.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
    ctx: ConnCtx,
) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let received_at = Instant::now();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            tracing::debug!(error = %e, "request body read failed");
            Bytes::new()
        }
    };
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let mut record = RequestRecord {
        seq: 0,
        connection: ctx.id,
        transport: ctx.transport,
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into(),
                )
            })
            .collect(),
        call_type: parsed
            .as_ref()
            .and_then(|v| v.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string),
        body: parsed,
        status: 0,
        received_at,
    };
    let response = match route(&shared, &parts, &body, ctx) {
        Ok(response) => response,
        Err(rejection) => rejection_response(rejection),
    };
    record.status = response.status().as_u16();
    tracing::debug!(
        conn = ctx.id,
        call = record.call_type.as_deref().unwrap_or("-"),
        status = record.status,
        "executor API request"
    );
    shared.with(|st| {
        record.seq = st.requests.len() as u64 + 1;
        st.requests.push(record);
    });
    response
}

fn route(
    shared: &Shared,
    parts: &http::request::Parts,
    body: &[u8],
    ctx: ConnCtx,
) -> Result<Response<ResponseBody>, Rejection> {
    let (pid_id, token) =
        shared.read(|st| (st.config.pid_id.clone(), st.config.auth_token.clone()));
    check_path(parts.uri.path(), &pid_id, ctx.transport)?;
    if let Some(token) = token {
        check_auth(&parts.headers, &token)?;
    }
    if shared.read(|st| st.recovery) == RecoveryPhase::ContainerizerRecovering {
        return Err(not_recovered());
    }
    request::check_method(&parts.method)?;
    request::check_content_type(&parts.headers)?;
    let value = request::parse_call(body)?;
    let call: mesos::Call = serde_json::from_value(value.clone()).map_err(|e| {
        Rejection::new(
            StatusCode::BAD_REQUEST,
            format!("Failed to convert JSON into Call protobuf: {e}"),
        )
    })?;
    request::validate(&value)?;
    let kind = request::call_type(&value).unwrap_or("UNKNOWN");
    match kind {
        "SUBSCRIBE" => request::negotiate_accept(&parts.headers)?,
        "HEARTBEAT" => return Ok(empty(StatusCode::ACCEPTED)),
        _ if shared.read(|st| st.recovery) == RecoveryPhase::Reregistering => {
            return Err(not_recovered())
        }
        _ => {}
    }
    shared.read(|st| {
        if !st.framework_known || call.framework_id != st.config.framework_id {
            return Err(Rejection::new(
                StatusCode::BAD_REQUEST,
                "Framework cannot be found",
            ));
        }
        if call.executor_id != st.config.executor_id {
            return Err(Rejection::new(
                StatusCode::BAD_REQUEST,
                "Executor cannot be found",
            ));
        }
        if st.executor == ExecutorPhase::Registering && kind != "SUBSCRIBE" {
            return Err(Rejection::new(
                StatusCode::FORBIDDEN,
                "Executor is not subscribed",
            ));
        }
        Ok(())
    })?;
    match (kind, call) {
        (
            "SUBSCRIBE",
            mesos::Call {
                subscribe: Some(subscribe),
                ..
            },
        ) => {
            let (stream, body) = EventStream::new(ctx.id);
            shared.with(|st| st.subscribe(subscribe, ctx.id, stream));
            Ok(Response::builder()
                .status(StatusCode::OK)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.boxed())
                .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR)))
        }
        (
            "UPDATE",
            mesos::Call {
                update: Some(update),
                ..
            },
        ) => {
            shared.with(|st| st.status_update(update.status, UpdateOrigin::Call));
            Ok(empty(StatusCode::ACCEPTED))
        }
        (
            "MESSAGE",
            mesos::Call {
                message: Some(message),
                ..
            },
        ) => {
            shared.with(|st| st.messages.push(message.data));
            Ok(empty(StatusCode::ACCEPTED))
        }
        _ => Ok(empty(StatusCode::NOT_IMPLEMENTED)),
    }
}

/// TCP serves both paths; the Unix socket only the prefixed one (ref §2).
fn check_path(path: &str, pid_id: &str, transport: Transport) -> Result<(), Rejection> {
    let prefixed = path == format!("/{pid_id}/api/v1/executor");
    match transport {
        Transport::Tcp if prefixed || path == "/api/v1/executor" => Ok(()),
        Transport::Unix if prefixed => Ok(()),
        Transport::Unix => Err(Rejection::new(StatusCode::FORBIDDEN, "")),
        Transport::Tcp => Err(Rejection::new(StatusCode::NOT_FOUND, "")),
    }
}

fn check_auth(headers: &HeaderMap, token: &str) -> Result<(), Rejection> {
    let presented = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented == Some(token) {
        return Ok(());
    }
    let mut r = Rejection::new(StatusCode::UNAUTHORIZED, "");
    r.headers.push((
        "www-authenticate",
        "Bearer realm=\"mesos-agent-executor\"".to_string(),
    ));
    Err(r)
}

fn not_recovered() -> Rejection {
    Rejection::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Agent has not finished recovery",
    )
}

fn empty(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::new()).boxed());
    *response.status_mut() = status;
    response
}

fn rejection_response(rejection: Rejection) -> Response<ResponseBody> {
    let mut builder = Response::builder().status(rejection.status);
    if !rejection.body.is_empty() {
        builder = builder.header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8");
    }
    for (name, value) in rejection.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(rejection.body)).boxed())
        .unwrap_or_else(|_| empty(StatusCode::INTERNAL_SERVER_ERROR))
}
