//! The part of the `executor::Call` protobuf schema the agent's JSON → protobuf conversion
//! enforces (stout `protobuf::parse`, ref §4.1): required fields (reported as protobuf's
//! `InitializationErrorString`, e.g. `update.status.task_id`), the JSON kind of each field,
//! enum *names* (a number is an error; an unknown name is an error only in a required enum) and
//! base64 for `bytes`. Unknown keys are ignored, as in Mesos.

use serde_json::Value;

/// `executor::Call::Type` names; any other name leaves the optional `type` unset.
pub(crate) const CALL_TYPES: &[&str] = &["UNKNOWN", "SUBSCRIBE", "UPDATE", "MESSAGE", "HEARTBEAT"];

const TASK_STATES: &[&str] = &[
    "TASK_STAGING",
    "TASK_STARTING",
    "TASK_RUNNING",
    "TASK_KILLING",
    "TASK_FINISHED",
    "TASK_FAILED",
    "TASK_KILLED",
    "TASK_ERROR",
    "TASK_LOST",
    "TASK_DROPPED",
    "TASK_UNREACHABLE",
    "TASK_GONE",
    "TASK_GONE_BY_OPERATOR",
    "TASK_UNKNOWN",
];

const VALUE_TYPES: &[&str] = &["SCALAR", "RANGES", "SET", "TEXT"];

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bytes,
    Number,
    Bool,
    /// An enum; `Some(names)` for a required enum whose unknown names are errors.
    Enum(Option<&'static [&'static str]>),
    Message(&'static [Field]),
}

#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
    repeated: bool,
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
        repeated: false,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
        repeated: false,
    }
}

const fn rep(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
        repeated: true,
    }
}

const ID: &[Field] = &[req("value", Kind::Str)];
const LABEL: &[Field] = &[req("key", Kind::Str), opt("value", Kind::Str)];
const LABELS: &[Field] = &[rep("labels", Kind::Message(LABEL))];
const SCALAR: &[Field] = &[req("value", Kind::Number)];
const RANGE: &[Field] = &[req("begin", Kind::Number), req("end", Kind::Number)];
const RANGES: &[Field] = &[rep("range", Kind::Message(RANGE))];
const RESOURCE: &[Field] = &[
    req("name", Kind::Str),
    req("type", Kind::Enum(Some(VALUE_TYPES))),
    opt("scalar", Kind::Message(SCALAR)),
    opt("ranges", Kind::Message(RANGES)),
];
const DURATION: &[Field] = &[req("nanoseconds", Kind::Number)];
const KILL_POLICY: &[Field] = &[opt("grace_period", Kind::Message(DURATION))];
const TASK_INFO: &[Field] = &[
    req("name", Kind::Str),
    req("task_id", Kind::Message(ID)),
    req("agent_id", Kind::Message(ID)),
    rep("resources", Kind::Message(RESOURCE)),
    opt("data", Kind::Bytes),
    opt("labels", Kind::Message(LABELS)),
    opt("kill_policy", Kind::Message(KILL_POLICY)),
    opt("max_completion_time", Kind::Message(DURATION)),
];
const TASK_STATUS: &[Field] = &[
    req("task_id", Kind::Message(ID)),
    req("state", Kind::Enum(Some(TASK_STATES))),
    opt("message", Kind::Str),
    opt("source", Kind::Enum(None)),
    opt("reason", Kind::Enum(None)),
    opt("data", Kind::Bytes),
    opt("agent_id", Kind::Message(ID)),
    opt("executor_id", Kind::Message(ID)),
    opt("timestamp", Kind::Number),
    opt("uuid", Kind::Bytes),
    opt("healthy", Kind::Bool),
    opt("labels", Kind::Message(LABELS)),
];
const UPDATE: &[Field] = &[req("status", Kind::Message(TASK_STATUS))];
const SUBSCRIBE: &[Field] = &[
    rep("unacknowledged_tasks", Kind::Message(TASK_INFO)),
    rep("unacknowledged_updates", Kind::Message(UPDATE)),
];
const MESSAGE: &[Field] = &[req("data", Kind::Bytes)];
const CALL: &[Field] = &[
    req("executor_id", Kind::Message(ID)),
    req("framework_id", Kind::Message(ID)),
    opt("type", Kind::Enum(None)),
    opt("subscribe", Kind::Message(SUBSCRIBE)),
    opt("update", Kind::Message(UPDATE)),
    opt("message", Kind::Message(MESSAGE)),
];

/// Checks that `value` converts into an `executor::Call`; the error is the text after
/// `Failed to convert JSON into Call protobuf: `.
pub(crate) fn check_call(value: &Value) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err("Expecting a JSON object".to_string());
    };
    let mut missing = Vec::new();
    check_message(object, CALL, "", &mut missing)?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("Missing required fields: {}", missing.join(", ")))
    }
}

fn check_message(
    object: &serde_json::Map<String, Value>,
    fields: &[Field],
    prefix: &str,
    missing: &mut Vec<String>,
) -> Result<(), String> {
    for field in fields {
        let path = format!("{prefix}{}", field.name);
        match object.get(field.name) {
            None | Some(Value::Null) => {
                if field.required {
                    missing.push(path);
                }
            }
            Some(Value::Array(items)) if field.repeated => {
                for (i, item) in items.iter().enumerate() {
                    check_value(item, field, &format!("{path}[{i}]"), missing)?;
                }
            }
            Some(value) if field.repeated => {
                return Err(format!(
                    "Not expecting a JSON {} for field '{}'",
                    kind_name(value),
                    field.name
                ))
            }
            Some(value) => check_value(value, field, &path, missing)?,
        }
    }
    Ok(())
}

fn check_value(
    value: &Value,
    field: &Field,
    path: &str,
    missing: &mut Vec<String>,
) -> Result<(), String> {
    let wrong = || {
        Err(format!(
            "Not expecting a JSON {} for field '{}'",
            kind_name(value),
            field.name
        ))
    };
    match (field.kind, value) {
        (Kind::Message(fields), Value::Object(o)) => {
            check_message(o, fields, &format!("{path}."), missing)
        }
        (Kind::Str, Value::String(_)) | (Kind::Bool, Value::Bool(_)) => Ok(()),
        (Kind::Bool, Value::String(s)) if s == "true" || s == "false" => Ok(()),
        (Kind::Number, Value::Number(_)) => Ok(()),
        (Kind::Number, Value::String(s)) if is_numeric(s) => Ok(()),
        (Kind::Bytes, Value::String(s)) => mesos::wire::decode_base64(s)
            .map(|_| ())
            .map_err(|_| format!("Failed to base64 decode field '{}'", field.name)),
        (Kind::Enum(known), Value::String(name)) => match known {
            Some(names) if !names.contains(&name.as_str()) => {
                Err(format!("Failed to find enum for '{name}'"))
            }
            _ => Ok(()),
        },
        _ => wrong(),
    }
}

fn is_numeric(s: &str) -> bool {
    let s = s.trim();
    s == "Infinity" || s == "-Infinity" || s.parse::<f64>().is_ok()
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_required_fields_are_listed_with_their_paths() {
        assert_eq!(
            check_call(&json!({"type": "SUBSCRIBE"})).unwrap_err(),
            "Missing required fields: executor_id, framework_id"
        );
        assert_eq!(
            check_call(&json!({"executor_id": {}, "framework_id": {"value": "f"},
                "update": {"status": {"state": "TASK_RUNNING"}}}))
            .unwrap_err(),
            "Missing required fields: executor_id.value, update.status.task_id"
        );
    }

    #[test]
    fn enum_numbers_and_unknown_required_enum_names_are_errors() {
        let ids = |extra: Value| {
            let mut v = json!({"executor_id": {"value": "e"}, "framework_id": {"value": "f"}});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            check_call(&v)
        };
        assert_eq!(
            ids(json!({"type": 1})).unwrap_err(),
            "Not expecting a JSON number for field 'type'"
        );
        assert!(ids(json!({"type": "NO_SUCH_TYPE"})).is_ok());
        assert_eq!(
            ids(json!({"update": {"status": {"task_id": {"value": "t"}, "state": "RUNNING"}}}))
                .unwrap_err(),
            "Failed to find enum for 'RUNNING'"
        );
        assert!(ids(json!({"message": {"data": "cGluZw"}})).is_ok());
        assert!(ids(json!({"message": {"data": "-_-_"}})).is_err());
        assert!(ids(json!({"unknownKey": 1})).is_ok());
    }
}
