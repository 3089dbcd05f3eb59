//! Fuzzing what the agent sends (proptest, bounded so it runs in CI; set `DCE_FUZZ_CASES` to
//! raise the case count): RecordIO byte streams in arbitrary chunkings, and the JSON event
//! decoder on arbitrary JSON and on mutated real events.
//!
//! Properties: no panic; a decoder error ends the stream for good; memory stays proportional
//! to the bytes received, whatever length a record announces.

use bytes::BytesMut;
use mesos::recordio::{encode, RecordIoDecoder, DEFAULT_MAX_RECORD};
use mesos::Event;
use proptest::prelude::*;
use serde_json::{json, Value};
use tokio_util::codec::Decoder;

fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("DCE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const FW: &str = "6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000";

/// Events as a real agent sends them (ref §4.4), the seeds of the mutations.
fn real_events() -> Vec<Value> {
    let executor = json!({
        "type": "CUSTOM", "executor_id": {"value": "pod-1"}, "framework_id": {"value": FW},
        "command": {"shell": false, "value": "./dce", "arguments": ["dce", "executor"]},
        "shutdown_grace_period": {"nanoseconds": 30_000_000_000u64}
    });
    let task = json!({
        "name": "web", "task_id": {"value": "web.1"}, "agent_id": {"value": "S3"},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
            {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 31001}]}}
        ],
        "executor": executor,
        "kill_policy": {"grace_period": {"nanoseconds": 20_000_000_000u64}},
        "max_completion_time": {"nanoseconds": 9_007_199_254_740_993u64},
        "data": "c2VydmljZXM6CiAgd2ViOgogICAgaW1hZ2U6IG5naW54Cg==",
        "labels": {"labels": [{"key": "fileName", "value": "a.yml,b.yml"}, {"key": "bare"}]}
    });
    vec![
        json!({"type": "SUBSCRIBED", "subscribed": {
            "executor_info": executor,
            "framework_info": {"user": "root", "name": "f", "id": {"value": FW}, "checkpoint": true,
                "capabilities": [{"type": "TASK_KILLING_STATE"}, {"type": "PARTITION_AWARE"}]},
            "agent_info": {"hostname": "a", "port": 5051, "id": {"value": "S3"}},
            "container_id": {"value": "c-1", "parent": {"value": "c-0"}}}}),
        json!({"type": "LAUNCH", "launch": {"task": task}}),
        json!({"type": "LAUNCH_GROUP", "launch_group": {"task_group": {"tasks": [task, task]}}}),
        json!({"type": "KILL", "kill": {"task_id": {"value": "web.1"},
            "kill_policy": {"grace_period": {"nanoseconds": 5_000_000_000u64}}}}),
        json!({"type": "ACKNOWLEDGED", "acknowledged": {"task_id": {"value": "web.1"},
            "uuid": "PyuMnk0aTm+aeyxdjh8KOw=="}}),
        json!({"type": "MESSAGE", "message": {"data": "cG9uZw=="}}),
        json!({"type": "ERROR", "error": {"message": "Unrecoverable error"}}),
        json!({"type": "SHUTDOWN"}),
        json!({"type": "HEARTBEAT"}),
    ]
}

/// Decodes like the session does, then uses every helper the executor calls on a LAUNCH.
fn decode(bytes: &[u8]) {
    let Ok(event) = serde_json::from_slice::<Event>(bytes) else {
        return;
    };
    let _ = event.type_name();
    let _ = serde_json::to_vec(&event);
    let tasks = match &event {
        Event::Launch(task) => vec![(**task).clone()],
        Event::LaunchGroup(tasks) => tasks.clone(),
        _ => Vec::new(),
    };
    for task in tasks {
        let _ = task.label("fileName");
        let _ = task.port_ranges();
        let _ = task.ports().take(100_000).count();
        let _ = task.cpus();
        let _ = task.mem_mib();
        let _ = task.kill_grace();
        let _ = task.data_bytes();
        let _ = serde_json::to_vec(&task);
    }
}

/// Any JSON value of bounded size, with keys the decoder looks for.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        prop::sample::select(
            &[
                "SUBSCRIBED",
                "LAUNCH",
                "LAUNCH_GROUP",
                "KILL",
                "ACKNOWLEDGED",
                "MESSAGE",
                "ERROR",
                "SHUTDOWN",
                "HEARTBEAT",
                "UNKNOWN",
                "RANGES",
                "SCALAR",
                "ports",
                "cG9uZw==",
                "===",
                "-1",
                "18446744073709551616",
                "1e400",
                "",
                "\u{0}",
            ][..]
        )
        .prop_map(|s| json!(s)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..5)
                .prop_map(|e| Value::Object(e.into_iter().collect())),
        ]
    })
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&[
            "type", "subscribed", "launch", "launch_group", "task_group", "tasks", "task", "kill",
            "acknowledged", "message", "error", "data", "task_id", "value", "uuid", "kill_policy",
            "grace_period", "nanoseconds", "resources", "name", "ranges", "range", "begin", "end",
            "scalar", "labels", "key", "executor_info", "framework_info", "agent_info",
            "capabilities", "container_id", "parent", "executor", "executor_id", "framework_id",
            "max_completion_time", "checkpoint", "port",
        ][..]).prop_map(str::to_string),
        1 => "[a-z_]{1,8}",
    ]
}

/// One structural mutation at a random place of a JSON tree.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Remove,
    Insert(String, Value),
    WrapInArray,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => json_value().prop_map(Mutation::Replace),
        2 => Just(Mutation::Remove),
        2 => (json_key(), json_value()).prop_map(|(k, v)| Mutation::Insert(k, v)),
        1 => Just(Mutation::WrapInArray),
    ]
}

/// Applies `mutation` at the `index`-th node (pre-order) of `value`.
fn mutate(value: &mut Value, index: &mut usize, mutation: &Mutation) -> bool {
    if *index == 0 {
        match mutation {
            Mutation::Replace(new) => *value = new.clone(),
            Mutation::WrapInArray => *value = Value::Array(vec![value.take()]),
            Mutation::Insert(key, new) => {
                if let Value::Object(map) = value {
                    map.insert(key.clone(), new.clone());
                } else {
                    *value = new.clone();
                }
            }
            Mutation::Remove => *value = Value::Null,
        }
        return true;
    }
    *index -= 1;
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if *index == 0 && matches!(mutation, Mutation::Remove) {
                    map.remove(&key);
                    return true;
                }
                if let Some(child) = map.get_mut(&key) {
                    if mutate(child, index, mutation) {
                        return true;
                    }
                }
            }
            false
        }
        Value::Array(items) => items.iter_mut().any(|item| mutate(item, index, mutation)),
        _ => false,
    }
}

/// Feeds `chunks` to a RecordIO decoder as the session does and decodes every record as an
/// event. Once the decoder fails, it must yield nothing more.
fn feed_session(chunks: &[Vec<u8>], max_record: usize) -> usize {
    let mut decoder = RecordIoDecoder::new(max_record);
    let mut buf = BytesMut::new();
    let mut failed = false;
    let mut records = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(record)) => {
                    assert!(!failed, "a record after a framing error");
                    assert!(record.len() <= max_record);
                    records += 1;
                    decode(&record);
                }
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        // The buffer never holds more than what was received (no up-front reservation of an
        // announced length beyond a small read-ahead).
        let received: usize = chunks.iter().map(Vec::len).sum();
        assert!(
            buf.capacity() <= received + 64 * 1024,
            "buffer capacity {} after {received} bytes",
            buf.capacity()
        );
    }
    let _ = decoder.decode_eof(&mut buf);
    records
}

/// Splits `wire` at the given cut points.
fn chunk(wire: &[u8], cuts: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points {
        out.push(wire[start..p].to_vec());
        start = p;
    }
    out.push(wire[start..].to_vec());
    out
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_in_arbitrary_chunks(
        wire in prop::collection::vec(any::<u8>(), 0..1024),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
    ) {
        feed_session(&chunk(&wire, &cuts), DEFAULT_MAX_RECORD);
    }

    #[test]
    fn framed_garbage_in_arbitrary_chunks(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..8),
        noise in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
    ) {
        let mut wire: Vec<u8> = records.iter().flat_map(|r| encode(r).to_vec()).collect();
        for (at, byte) in noise {
            if !wire.is_empty() {
                let i = at.index(wire.len());
                wire[i] = byte;
            }
        }
        feed_session(&chunk(&wire, &cuts), 4096);
    }

    #[test]
    fn real_events_in_arbitrary_chunks_all_decode(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..10),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..32),
    ) {
        let events = real_events();
        let chosen: Vec<Vec<u8>> = picks
            .iter()
            .map(|i| serde_json::to_vec(&events[i.index(events.len())]).unwrap())
            .collect();
        let wire: Vec<u8> = chosen.iter().flat_map(|r| encode(r).to_vec()).collect();
        prop_assert_eq!(feed_session(&chunk(&wire, &cuts), DEFAULT_MAX_RECORD), chosen.len());
        for record in &chosen {
            prop_assert!(serde_json::from_slice::<Event>(record).is_ok());
        }
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        decode(&serde_json::to_vec(&value).unwrap());
        let mut typed = value;
        if let Value::Object(map) = &mut typed {
            map.insert("type".into(), json!("LAUNCH"));
        }
        decode(&serde_json::to_vec(&typed).unwrap());
    }

    #[test]
    fn mutated_real_events_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), mutation()), 1..4),
    ) {
        let events = real_events();
        let mut event = events[which.index(events.len())].clone();
        for (at, mutation) in edits {
            let mut index = at.index(64);
            mutate(&mut event, &mut index, &mutation);
        }
        decode(&serde_json::to_vec(&event).unwrap());
    }

    #[test]
    fn byte_mutated_real_events_never_panic(
        which in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let events = real_events();
        let mut bytes = serde_json::to_vec(&events[which.index(events.len())]).unwrap();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        decode(&bytes);
        decode(&bytes[..cut.index(bytes.len() + 1)]);
    }
}

/// Regression: a 10-byte length line announcing a 64 MiB record made the decoder reserve the
/// whole record before a byte of it arrived (64 MiB per connection for free).
#[test]
fn an_announced_length_does_not_allocate_up_front() {
    let mut decoder = RecordIoDecoder::new(DEFAULT_MAX_RECORD);
    let mut buf = BytesMut::from(format!("{}\n", DEFAULT_MAX_RECORD).as_bytes());
    assert!(decoder.decode(&mut buf).unwrap().is_none());
    assert!(
        buf.capacity() <= 64 * 1024,
        "reserved {} bytes for an announced record",
        buf.capacity()
    );
}

/// Every real event decodes to its own type (the seeds are valid).
#[test]
fn the_seed_events_decode() {
    for event in real_events() {
        let decoded: Event = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(
            decoded.type_name(),
            event["type"].as_str().unwrap(),
            "{event}"
        );
    }
}
