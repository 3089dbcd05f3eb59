//! The agent's checks of an executor API request, in the order and with the texts of
//! `Http::executor` and `validateExecutorCall` (ref §2, §4.3): headers, JSON parsing, the
//! JSON → protobuf conversion (required fields, kinds, enum names) and semantic validation.

use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;

use crate::schema;

/// An error response of the agent: status code, plain-text body and extra headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Rejection {
    pub(crate) fn new(status: StatusCode, body: impl Into<String>) -> Rejection {
        Rejection {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    fn bad_request(body: impl Into<String>) -> Rejection {
        Rejection::new(StatusCode::BAD_REQUEST, body)
    }
}

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";

/// `POST` only, as libprocess' `validateMethod`.
pub(crate) fn check_method(method: &Method) -> Result<(), Rejection> {
    if method == Method::POST {
        return Ok(());
    }
    let mut r = Rejection::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("405 Method Not Allowed. Expecting one of {{ 'POST' }}, but received '{method}'."),
    );
    r.headers.push(("allow", "POST".to_string()));
    Err(r)
}

/// `Content-Type` must be present and byte-for-byte one of the two media types (ref §0.8).
/// This stand-in speaks JSON only, so a protobuf request is refused with 415 and a note.
pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), Rejection> {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return Err(Rejection::bad_request(
            "Expecting 'Content-Type' to be present",
        ));
    };
    match value.as_bytes() {
        b"application/json" => Ok(()),
        b"application/x-protobuf" => Err(Rejection::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expecting 'Content-Type' of application/json (this agent stand-in does not speak \
             application/x-protobuf)",
        )),
        _ => Err(Rejection::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expecting 'Content-Type' of application/json or application/x-protobuf",
        )),
    }
}

/// Parses the body as JSON and checks it converts into a `Call` protobuf.
pub(crate) fn parse_call(body: &[u8]) -> Result<Value, Rejection> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Rejection::bad_request(format!("Failed to parse body into JSON: {e}")))?;
    schema::check_call(&value).map_err(|e| {
        Rejection::bad_request(format!("Failed to convert JSON into Call protobuf: {e}"))
    })?;
    Ok(value)
}

/// The call's type as the agent sees it: an unknown name in the optional enum is unset.
pub(crate) fn call_type(call: &Value) -> Option<&str> {
    call.get("type")
        .and_then(Value::as_str)
        .filter(|t| schema::CALL_TYPES.contains(t))
}

fn id_value<'a>(call: &'a Value, key: &str) -> &'a str {
    call.get(key)
        .and_then(|id| id.get("value"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `validateExecutorCall` (ref §4.3).
pub(crate) fn validate(call: &Value) -> Result<(), Rejection> {
    let fail = |msg: String| {
        Err(Rejection::bad_request(format!(
            "Failed to validate Executor::Call: {msg}"
        )))
    };
    let Some(kind) = call_type(call) else {
        return fail("Expecting 'type' to be present".into());
    };
    let present = |key: &str| call.get(key).is_some_and(|v| !v.is_null());
    let executor_id = id_value(call, "executor_id");
    let framework_id = id_value(call, "framework_id");
    match kind {
        "SUBSCRIBE" if !present("subscribe") => fail("Expecting 'subscribe' to be present".into()),
        "UPDATE" => {
            if !present("update") {
                return fail("Expecting 'update' to be present".into());
            }
            let status = &call["update"]["status"];
            let Some(uuid) = status.get("uuid").filter(|v| !v.is_null()) else {
                return fail("Expecting 'uuid' to be present".into());
            };
            let bytes = uuid
                .as_str()
                .and_then(|s| mesos::wire::decode_base64(s).ok())
                .unwrap_or_default();
            if !is_valid_uuid(&bytes) {
                return fail("Not a valid UUID".into());
            }
            let status_executor = status
                .get("executor_id")
                .and_then(|id| id.get("value"))
                .and_then(Value::as_str);
            if let Some(other) = status_executor.filter(|e| *e != executor_id) {
                return fail(format!(
                    "ExecutorID in Call: {executor_id} does not match ExecutorID in TaskStatus: {other}"
                ));
            }
            if status.get("source").and_then(Value::as_str) != Some("SOURCE_EXECUTOR") {
                return fail(format!(
                    "Received Call from executor {executor_id} of framework {framework_id} with \
                     invalid source, expecting 'SOURCE_EXECUTOR'"
                ));
            }
            if status.get("state").and_then(Value::as_str) == Some("TASK_STAGING") {
                return fail(format!(
                    "Received TASK_STAGING from executor {executor_id} of framework \
                     {framework_id} which is not allowed"
                ));
            }
            match check_status_error(status.get("check_status")) {
                Some(msg) => fail(msg),
                None => Ok(()),
            }
        }
        "MESSAGE" if !present("message") => fail("Expecting 'message' to be present".into()),
        _ => Ok(()),
    }
}

/// 16 raw bytes with an RFC-4122 version nibble of 1–5 (boost's `version()`; ref §0.1).
fn is_valid_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 16 && (1..=5).contains(&(bytes[6] >> 4))
}

fn check_status_error(check: Option<&Value>) -> Option<String> {
    let check = check.filter(|v| !v.is_null())?;
    let kind = check
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| ["UNKNOWN", "COMMAND", "HTTP", "TCP"].contains(t));
    let Some(kind) = kind else {
        return Some("CheckStatusInfo must specify 'type'".into());
    };
    let sub = match kind {
        "COMMAND" => "command",
        "HTTP" => "http",
        "TCP" => "tcp",
        _ => return Some("'UNKNOWN' is not a valid check's status type".into()),
    };
    if check.get(sub).is_none_or(Value::is_null) {
        return Some(format!(
            "Expecting '{sub}' to be set for {kind} check's status"
        ));
    }
    None
}

/// Media type negotiation for SUBSCRIBE (libprocess `acceptsMediaType`): absent ⇒ JSON; JSON is
/// preferred; `q=0` excludes. A client accepting only protobuf is refused (JSON-only stand-in).
pub(crate) fn negotiate_accept(headers: &HeaderMap) -> Result<(), Rejection> {
    let values: Vec<&str> = headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() || accepts(&values, JSON) {
        return Ok(());
    }
    let body = if accepts(&values, PROTOBUF) {
        "Expecting 'Accept' to allow 'application/json' (this agent stand-in does not stream \
         application/x-protobuf)"
    } else {
        "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
    };
    Err(Rejection::new(StatusCode::NOT_ACCEPTABLE, body))
}

/// Whether the Accept header values give `media` a non-zero quality; the most specific
/// matching range decides.
fn accepts(values: &[&str], media: &str) -> bool {
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    let mut best: Option<(u8, f32)> = None;
    for range in values.iter().flat_map(|v| v.split(',')) {
        let mut parts = range.split(';').map(str::trim);
        let pattern = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let specificity = if pattern == media {
            3
        } else if pattern == format!("{kind}/*") {
            2
        } else if pattern == "*/*" {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.is_some_and(|(_, q)| q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::ACCEPT, v.parse().unwrap());
        h
    }

    #[test]
    fn accept_negotiation_follows_specificity_and_q() {
        assert!(negotiate_accept(&HeaderMap::new()).is_ok());
        assert!(negotiate_accept(&accept("application/json")).is_ok());
        assert!(negotiate_accept(&accept("*/*")).is_ok());
        assert!(negotiate_accept(&accept("application/*;q=0.5")).is_ok());
        assert!(negotiate_accept(&accept("text/html")).is_err());
        assert!(negotiate_accept(&accept("*/*, application/json;q=0")).is_err());
        assert_eq!(
            negotiate_accept(&accept("application/recordio"))
                .unwrap_err()
                .status,
            StatusCode::NOT_ACCEPTABLE
        );
    }

    #[test]
    fn uuid_must_be_16_bytes_with_version_1_to_5() {
        assert!(is_valid_uuid(uuid::Uuid::new_v4().as_bytes()));
        let mut v7 = *uuid::Uuid::new_v4().as_bytes();
        v7[6] = 0x70 | (v7[6] & 0x0f);
        assert!(!is_valid_uuid(&v7));
        assert!(!is_valid_uuid(&[0u8; 16]));
        assert!(!is_valid_uuid(b"d40f3f3e-0000"));
    }

    #[test]
    fn validation_messages_match_the_agent() {
        let base = json!({"executor_id": {"value": "e"}, "framework_id": {"value": "f"}});
        let with = |extra: Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            validate(&v).unwrap_err().body
        };
        assert_eq!(
            with(json!({"type": "FOO"})),
            "Failed to validate Executor::Call: Expecting 'type' to be present"
        );
        assert_eq!(
            with(json!({"type": "SUBSCRIBE"})),
            "Failed to validate Executor::Call: Expecting 'subscribe' to be present"
        );
        let status = |s: Value| json!({"type": "UPDATE", "update": {"status": s}});
        assert!(with(status(
            json!({"task_id": {"value": "t"}, "state": "TASK_RUNNING"})
        ))
        .ends_with("Expecting 'uuid' to be present"));
        let uuid = mesos::wire::encode_base64(uuid::Uuid::new_v4().as_bytes());
        assert!(with(status(
            json!({"task_id": {"value": "t"}, "state": "TASK_RUNNING", "uuid": uuid})
        ))
        .ends_with("with invalid source, expecting 'SOURCE_EXECUTOR'"));
        assert!(with(status(
            json!({"task_id": {"value": "t"}, "state": "TASK_STAGING",
            "uuid": uuid, "source": "SOURCE_EXECUTOR"})
        ))
        .ends_with("which is not allowed"));
        assert!(with(status(
            json!({"task_id": {"value": "t"}, "state": "TASK_RUNNING",
            "uuid": uuid, "source": "SOURCE_EXECUTOR", "executor_id": {"value": "x"}})
        ))
        .ends_with("ExecutorID in Call: e does not match ExecutorID in TaskStatus: x"));
        assert!(with(status(
            json!({"task_id": {"value": "t"}, "state": "TASK_RUNNING",
            "uuid": uuid, "source": "SOURCE_EXECUTOR", "check_status": {"type": "HTTP"}})
        ))
        .ends_with("Expecting 'http' to be set for HTTP check's status"));
    }
}
