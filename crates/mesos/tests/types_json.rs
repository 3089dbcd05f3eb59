//! Serde tests for the v1 executor API JSON, using the examples of `ref/mesos-executor-api.md`.

use mesos::types::wire::encode_base64;
use mesos::*;
use serde_json::json;

const FW: &str = "6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000";
const AGENT: &str = "d1f0c7a2-55b3-4c1e-8f4a-7e2b9c6d3a10-S3";

fn event(text: &str) -> Event {
    serde_json::from_str(text).unwrap()
}

const SUBSCRIBED: &str = r#"{
  "type": "SUBSCRIBED",
  "subscribed": {
    "executor_info": {
      "type": "CUSTOM",
      "executor_id": {"value": "pod-web-7f3c"},
      "framework_id": {"value": "6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000"},
      "command": {
        "uris": [{"value": "http://artifacts.example.net/pod-executor-0.3.1", "executable": true, "extract": true, "output_file": "pod-executor"}],
        "shell": false,
        "value": "./pod-executor",
        "arguments": ["pod-executor", "--log-level=info"]
      },
      "resources": [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}, "allocation_info": {"role": "pods"}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 64.0}, "allocation_info": {"role": "pods"}}
      ],
      "name": "pod executor for web",
      "shutdown_grace_period": {"nanoseconds": 30000000000},
      "labels": {"labels": [{"key": "executor.version", "value": "0.3.1"}]}
    },
    "framework_info": {
      "user": "root",
      "name": "pod-scheduler",
      "id": {"value": "6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000"},
      "failover_timeout": 604800.0,
      "checkpoint": true,
      "roles": ["pods"],
      "hostname": "sched-1.example.net",
      "principal": "pod-scheduler",
      "capabilities": [{"type": "MULTI_ROLE"}, {"type": "TASK_KILLING_STATE"}, {"type": "PARTITION_AWARE"}]
    },
    "agent_info": {
      "hostname": "agent-3.example.net",
      "port": 5051,
      "resources": [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 8.0}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 31890.0}},
        {"name": "disk", "type": "SCALAR", "scalar": {"value": 200000.0}},
        {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 32000}]}}
      ],
      "attributes": [{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}],
      "id": {"value": "d1f0c7a2-55b3-4c1e-8f4a-7e2b9c6d3a10-S3"}
    },
    "container_id": {"value": "8e4b1c2a-9d3f-4a6b-b5c7-1e2f3a4b5c6d"}
  }
}"#;

const LAUNCH: &str = r#"{
  "type": "LAUNCH",
  "launch": {
    "task": {
      "name": "web",
      "task_id": {"value": "web.pod-7f3c"},
      "agent_id": {"value": "d1f0c7a2-55b3-4c1e-8f4a-7e2b9c6d3a10-S3"},
      "resources": [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}, "allocation_info": {"role": "pods"}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 512.0}, "allocation_info": {"role": "pods"}},
        {"name": "ports", "type": "RANGES",
         "ranges": {"range": [{"begin": 31000, "end": 31001}, {"begin": 31500, "end": 31500}]},
         "allocation_info": {"role": "pods"}}
      ],
      "executor": {
        "type": "CUSTOM",
        "executor_id": {"value": "pod-web-7f3c"},
        "framework_id": {"value": "6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000"},
        "command": {
          "uris": [{"value": "http://artifacts.example.net/pod-executor-0.3.1", "executable": true, "extract": true, "output_file": "pod-executor"}],
          "shell": false,
          "value": "./pod-executor",
          "arguments": ["pod-executor", "--log-level=info"]
        },
        "resources": [
          {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}, "allocation_info": {"role": "pods"}},
          {"name": "mem", "type": "SCALAR", "scalar": {"value": 64.0}, "allocation_info": {"role": "pods"}}
        ],
        "name": "pod executor for web",
        "shutdown_grace_period": {"nanoseconds": 30000000000}
      },
      "kill_policy": {"grace_period": {"nanoseconds": 20000000000}},
      "data": "c2VydmljZXM6CiAgd2ViOgogICAgaW1hZ2U6IG5naW54OjEuMjUKICAgIHBvcnRzOgogICAgICAtICIzMTAwMDo4MCIK",
      "labels": {"labels": [
        {"key": "compose.project", "value": "web"},
        {"key": "owner", "value": "team-a"},
        {"key": "no-value-label"}
      ]},
      "discovery": {
        "visibility": "FRAMEWORK",
        "name": "web",
        "ports": {"ports": [{"number": 31000, "name": "http", "protocol": "tcp"}]}
      }
    }
  }
}"#;

#[test]
fn subscribed_example_decodes() {
    let Event::Subscribed(sub) = event(SUBSCRIBED) else {
        panic!("not SUBSCRIBED")
    };
    assert_eq!(
        sub.executor_info.executor_id,
        ExecutorId::new("pod-web-7f3c")
    );
    assert_eq!(sub.executor_info.kind, Some(ExecutorType::Custom));
    assert_eq!(
        sub.executor_info
            .shutdown_grace_period
            .unwrap()
            .to_duration(),
        std::time::Duration::from_secs(30)
    );
    assert_eq!(
        sub.executor_info.command.as_ref().unwrap().shell,
        Some(false)
    );
    assert!(sub
        .framework_info
        .has_capability(&CapabilityType::TaskKillingState));
    assert!(!sub
        .framework_info
        .has_capability(&CapabilityType::GpuResources));
    assert_eq!(sub.framework_info.checkpoint, Some(true));
    assert_eq!(sub.agent_info.port, Some(5051));
    assert_eq!(sub.agent_info.id, Some(AgentId::new(AGENT)));
    assert_eq!(
        sub.container_id,
        Some(ContainerId::new("8e4b1c2a-9d3f-4a6b-b5c7-1e2f3a4b5c6d"))
    );
}

#[test]
fn launch_example_decodes_with_helpers() {
    let Event::Launch(task) = event(LAUNCH) else {
        panic!("not LAUNCH")
    };
    assert_eq!(task.task_id, TaskId::new("web.pod-7f3c"));
    assert_eq!(task.label("owner"), Some("team-a"));
    assert_eq!(task.label("no-value-label"), Some(""));
    assert_eq!(task.label("missing"), None);
    let ranges: Vec<(u64, u64)> = task
        .port_ranges()
        .iter()
        .map(|r| (r.begin, r.end))
        .collect();
    assert_eq!(ranges, vec![(31000, 31001), (31500, 31500)]);
    assert_eq!(task.ports().collect::<Vec<_>>(), vec![31000, 31001, 31500]);
    assert_eq!(task.cpus(), Some(0.5));
    assert_eq!(task.mem_mib(), Some(512.0));
    assert_eq!(task.kill_grace(), Some(std::time::Duration::from_secs(20)));
    let compose = String::from_utf8(task.data_bytes().unwrap().to_vec()).unwrap();
    assert!(compose.starts_with("services:\n  web:\n"), "{compose}");
    assert_eq!(compose.lines().count(), 5);
    assert!(task.discovery.is_some());
}

#[test]
fn task_info_round_trips_raw_json_including_unmodelled_fields() {
    let Event::Launch(task) = event(LAUNCH) else {
        panic!("not LAUNCH")
    };
    let original: serde_json::Value = serde_json::from_str(LAUNCH).unwrap();
    let resent = serde_json::to_value(&*task).unwrap();
    assert_eq!(resent, original["launch"]["task"]);
    // Fields we do not model survive too.
    let odd = json!({"name":"x","task_id":{"value":"t"},"future_field":{"a":[1,2]},
                     "resources":[{"name":"gpus","type":"SCALAR","scalar":{"value":1},"provider_id":{"value":"p"}}]});
    let task: TaskInfo = serde_json::from_value(odd.clone()).unwrap();
    assert_eq!(serde_json::to_value(&task).unwrap(), odd);
    // A Subscribe carrying it resends the raw form.
    let sub = Subscribe {
        unacknowledged_tasks: vec![task.clone()],
        unacknowledged_updates: vec![],
    };
    assert_eq!(
        serde_json::to_value(&sub).unwrap()["unacknowledged_tasks"][0],
        odd
    );
    let mut typed = task;
    typed.forget_raw();
    assert!(serde_json::to_value(&typed)
        .unwrap()
        .get("future_field")
        .is_none());
}

#[test]
fn launch_group_kill_ack_message_error_shutdown_heartbeat() {
    let group = event(
        r#"{"type":"LAUNCH_GROUP","launch_group":{"task_group":{"tasks":[
  {"name":"web","task_id":{"value":"web.pod-7f3c"},"agent_id":{"value":"d1f0c7a2-55b3-4c1e-8f4a-7e2b9c6d3a10-S3"},
   "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5},"allocation_info":{"role":"pods"}}],
   "executor":{"type":"CUSTOM","executor_id":{"value":"pod-web-7f3c"},"framework_id":{"value":"6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000"},"command":{"shell":false,"value":"./pod-executor","arguments":["pod-executor"]}},
   "kill_policy":{"grace_period":{"nanoseconds":10000000000}}},
  {"name":"redis","task_id":{"value":"redis.pod-7f3c"},"agent_id":{"value":"d1f0c7a2-55b3-4c1e-8f4a-7e2b9c6d3a10-S3"},
   "resources":[{"name":"mem","type":"SCALAR","scalar":{"value":256.0},"allocation_info":{"role":"pods"}}],
   "executor":{"type":"CUSTOM","executor_id":{"value":"pod-web-7f3c"},"framework_id":{"value":"6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000"},"command":{"shell":false,"value":"./pod-executor","arguments":["pod-executor"]}}}
]}}}"#,
    );
    let Event::LaunchGroup(tasks) = group else {
        panic!("not LAUNCH_GROUP")
    };
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[1].task_id, TaskId::new("redis.pod-7f3c"));
    assert!(tasks[1].raw().is_some());

    assert_eq!(
        event(
            r#"{"type":"KILL","kill":{"task_id":{"value":"web.pod-7f3c"},"kill_policy":{"grace_period":{"nanoseconds":5000000000}}}}"#
        ),
        Event::Kill(Kill {
            task_id: TaskId::new("web.pod-7f3c"),
            kill_policy: Some(KillPolicy::with_grace(std::time::Duration::from_secs(5))),
        })
    );
    let Event::Acknowledged(ack) = event(
        r#"{"type":"ACKNOWLEDGED","acknowledged":{"task_id":{"value":"web.pod-7f3c"},"uuid":"PyuMnk0aTm+aeyxdjh8KOw=="}}"#,
    ) else {
        panic!("not ACKNOWLEDGED")
    };
    assert_eq!(ack.uuid.len(), 16);
    assert_eq!(
        event(r#"{"type":"MESSAGE","message":{"data":"cG9uZw=="}}"#),
        Event::Message(b"pong".to_vec())
    );
    assert_eq!(
        event(r#"{"type":"MESSAGE","message":{"data":"cG9uZw"}}"#),
        Event::Message(b"pong".to_vec())
    );
    assert_eq!(event(r#"{"type":"SHUTDOWN"}"#), Event::Shutdown);
    assert_eq!(
        event(r#"{"type":"ERROR","error":{"message":"Unrecoverable error"}}"#),
        Event::Error("Unrecoverable error".into())
    );
    assert_eq!(event(r#"{"type":"HEARTBEAT"}"#), Event::Heartbeat);
}

#[test]
fn unknown_event_types_and_fields_are_tolerated() {
    assert_eq!(
        event(r#"{"type":"FOO","foo":{"x":1}}"#),
        Event::Unknown {
            type_name: Some("FOO".into())
        }
    );
    assert_eq!(event(r#"{}"#), Event::Unknown { type_name: None });
    assert_eq!(
        event(r#"{"type":"UNKNOWN"}"#),
        Event::Unknown {
            type_name: Some("UNKNOWN".into())
        }
    );
    assert_eq!(
        event(r#"{"type":"SHUTDOWN","extra":[1,2,3],"launch":"not even an object"}"#),
        Event::Shutdown
    );
    assert!(serde_json::from_str::<Event>(r#"{"type":7}"#).is_err());
    assert!(serde_json::from_str::<Event>(r#"{"type":"LAUNCH"}"#).is_err());
    assert!(serde_json::from_str::<Event>(r#"[1]"#).is_err());
}

#[test]
fn int64_beyond_2_pow_53_as_number_and_string() {
    let kill = event(
        r#"{"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":9007199254740993}}}}"#,
    );
    let Event::Kill(k) = kill else { panic!() };
    assert_eq!(
        k.kill_policy.unwrap().grace_period.unwrap().nanoseconds,
        9_007_199_254_740_993
    );
    let kill = event(
        r#"{"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":"9007199254740993"}}}}"#,
    );
    let Event::Kill(k) = kill else { panic!() };
    assert_eq!(
        k.kill_policy.unwrap().grace_period.unwrap().nanoseconds,
        9_007_199_254_740_993
    );
    // Ranges as numeric strings, ports near u64::MAX.
    let t: TaskInfo = serde_json::from_value(json!({"name":"n","task_id":{"value":"t"},
        "resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":"18446744073709551614","end":18446744073709551615u64}]}}]}))
    .unwrap();
    assert_eq!(t.port_ranges()[0].end, u64::MAX);
}

#[test]
fn defaults_and_unknown_enum_names_do_not_break_decoding() {
    let status: TaskStatus = serde_json::from_value(json!({
        "task_id": {"value": "t"}, "state": "TASK_RUNNING",
        "source": "SOURCE_SLAVE", "reason": "REASON_FROM_THE_FUTURE",
        "healthy": "true", "timestamp": "1732170601.25",
        "container_status": {"network_infos": [{"ip_addresses": [{"protocol": "IPv4", "ip_address": "10.0.0.1"}]}]},
        "brand_new_field": 1
    }))
    .unwrap();
    assert_eq!(
        status.source,
        Some(Source::Unrecognized("SOURCE_SLAVE".into()))
    );
    assert_eq!(
        status.reason,
        Some(Reason::Unrecognized("REASON_FROM_THE_FUTURE".into()))
    );
    assert_eq!(status.healthy, Some(true));
    assert_eq!(status.timestamp, Some(1732170601.25));
    let fw: FrameworkInfo = serde_json::from_value(json!({
        "user":"u","name":"n","failover_timeout":0.0,"checkpoint":false,
        "capabilities":[{"type":"SOMETHING_NEW"},{"type":"TASK_KILLING_STATE"}]
    }))
    .unwrap();
    assert!(fw.has_capability(&CapabilityType::TaskKillingState));
    let cmd: CommandInfo =
        serde_json::from_value(json!({"shell":true,"value":"x","uris":null})).unwrap();
    assert_eq!(cmd.shell, Some(true));
}

#[test]
fn subscribe_call_encodes_like_the_ref() {
    let call = Call::subscribe(
        ExecutorId::new("pod-web-7f3c"),
        FrameworkId::new(FW),
        Subscribe::default(),
    );
    assert_eq!(
        serde_json::to_string(&call).unwrap(),
        r#"{"type":"SUBSCRIBE","executor_id":{"value":"pod-web-7f3c"},"framework_id":{"value":"6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000"},"subscribe":{}}"#
    );
}

fn example_status() -> TaskStatus {
    let mut status = TaskStatus::new(TaskId::new("web.pod-7f3c"), TaskState::Running);
    status.source = Some(Source::Executor);
    status.executor_id = Some(ExecutorId::new("pod-web-7f3c"));
    status.timestamp = Some(1732170601.25);
    status.uuid = Some(mesos::types::wire::decode_base64("PyuMnk0aTm+aeyxdjh8KOw==").unwrap());
    status
}

#[test]
fn update_call_encodes_byte_exact() {
    let mut status = example_status();
    status.message = Some("2/2 compose services running".into());
    status.data = Some(br#"{"services":["web","redis"]}"#.to_vec());
    status.healthy = Some(true);
    status.labels = Some(Labels::from_pairs([("pod.ip", "172.18.0.4")]));
    status.container_status = Some(ContainerStatus {
        network_infos: vec![NetworkInfo {
            ip_addresses: vec![IpAddress {
                protocol: Some(Protocol::Ipv4),
                ip_address: Some("172.18.0.4".into()),
            }],
            name: Some("compose_default".into()),
            ..NetworkInfo::default()
        }],
        ..ContainerStatus::default()
    });
    let call = Call::update(
        ExecutorId::new("pod-web-7f3c"),
        FrameworkId::new(FW),
        status,
    );
    let expected = r#"{"type":"UPDATE","executor_id":{"value":"pod-web-7f3c"},"framework_id":{"value":"6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000"},"update":{"status":{"task_id":{"value":"web.pod-7f3c"},"state":"TASK_RUNNING","message":"2/2 compose services running","source":"SOURCE_EXECUTOR","data":"eyJzZXJ2aWNlcyI6WyJ3ZWIiLCJyZWRpcyJdfQ==","executor_id":{"value":"pod-web-7f3c"},"timestamp":1732170601.25,"uuid":"PyuMnk0aTm+aeyxdjh8KOw==","healthy":true,"labels":{"labels":[{"key":"pod.ip","value":"172.18.0.4"}]},"container_status":{"network_infos":[{"ip_addresses":[{"protocol":"IPv4","ip_address":"172.18.0.4"}],"name":"compose_default"}]}}}}"#;
    assert_eq!(serde_json::to_string(&call).unwrap(), expected);
    // And the agent side reads it back.
    let back: Call = serde_json::from_str(expected).unwrap();
    assert_eq!(back, call);
}

#[test]
fn resubscribe_call_matches_the_ref_example() {
    let task: TaskInfo = serde_json::from_value(json!({
        "name": "web",
        "task_id": {"value": "web.pod-7f3c"},
        "agent_id": {"value": AGENT},
        "resources": [
          {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}, "allocation_info": {"role": "pods"}}
        ],
        "data": "c2VydmljZXM6CiAgd2ViOgogICAgaW1hZ2U6IG5naW54OjEuMjUKICAgIHBvcnRzOgogICAgICAtICIzMTAwMDo4MCIK"
    }))
    .unwrap();
    let call = Call::subscribe(
        ExecutorId::new("pod-web-7f3c"),
        FrameworkId::new(FW),
        Subscribe {
            unacknowledged_tasks: vec![task],
            unacknowledged_updates: vec![Update {
                status: example_status(),
            }],
        },
    );
    let expected = json!({
      "type": "SUBSCRIBE",
      "executor_id": {"value": "pod-web-7f3c"},
      "framework_id": {"value": FW},
      "subscribe": {
        "unacknowledged_tasks": [{
            "name": "web",
            "task_id": {"value": "web.pod-7f3c"},
            "agent_id": {"value": AGENT},
            "resources": [
              {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}, "allocation_info": {"role": "pods"}}
            ],
            "data": "c2VydmljZXM6CiAgd2ViOgogICAgaW1hZ2U6IG5naW54OjEuMjUKICAgIHBvcnRzOgogICAgICAtICIzMTAwMDo4MCIK"
        }],
        "unacknowledged_updates": [{
            "status": {
              "task_id": {"value": "web.pod-7f3c"},
              "state": "TASK_RUNNING",
              "source": "SOURCE_EXECUTOR",
              "executor_id": {"value": "pod-web-7f3c"},
              "timestamp": 1732170601.25,
              "uuid": "PyuMnk0aTm+aeyxdjh8KOw=="
            }
        }]
      }
    });
    assert_eq!(serde_json::to_value(&call).unwrap(), expected);
    // The doc example's extra `framework_id` in an update is ignored when parsing.
    let mut with_extra = expected.clone();
    with_extra["subscribe"]["unacknowledged_updates"][0]["framework_id"] = json!({"value": FW});
    let parsed: Call = serde_json::from_value(with_extra).unwrap();
    assert_eq!(parsed.subscribe.unwrap().unacknowledged_updates.len(), 1);
}

#[test]
fn message_and_heartbeat_calls_encode_byte_exact() {
    let call = Call::message(
        ExecutorId::new("pod-web-7f3c"),
        FrameworkId::new(FW),
        b"ping".to_vec(),
    );
    assert_eq!(
        serde_json::to_string(&call).unwrap(),
        r#"{"type":"MESSAGE","executor_id":{"value":"pod-web-7f3c"},"framework_id":{"value":"6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000"},"message":{"data":"cGluZw=="}}"#
    );
    let call = Call::heartbeat(ExecutorId::new("pod-web-7f3c"), FrameworkId::new(FW));
    assert_eq!(
        serde_json::to_string(&call).unwrap(),
        r#"{"type":"HEARTBEAT","executor_id":{"value":"pod-web-7f3c"},"framework_id":{"value":"6a9b4d2e-1c3f-4e8a-9b7d-2f5e8c1a3b4d-0000"}}"#
    );
}

#[test]
fn calls_missing_required_ids_do_not_parse_and_unknown_type_is_kept() {
    assert!(serde_json::from_str::<Call>(r#"{"type":"SUBSCRIBE","subscribe":{}}"#).is_err());
    let call: Call = serde_json::from_str(
        r#"{"type":"FOO","executor_id":{"value":"e"},"framework_id":{"value":"f"}}"#,
    )
    .unwrap();
    assert_eq!(call.kind, Some(CallType::Unrecognized("FOO".into())));
}

#[test]
fn events_encode_for_the_agent_side_and_decode_back() {
    let ack = Event::Acknowledged(Acknowledged {
        task_id: TaskId::new("web.pod-7f3c"),
        uuid: mesos::types::wire::decode_base64("PyuMnk0aTm+aeyxdjh8KOw==").unwrap(),
    });
    let text = serde_json::to_string(&ack).unwrap();
    assert_eq!(
        text,
        r#"{"type":"ACKNOWLEDGED","acknowledged":{"task_id":{"value":"web.pod-7f3c"},"uuid":"PyuMnk0aTm+aeyxdjh8KOw=="}}"#
    );
    assert_eq!(text.len(), 109);
    assert_eq!(
        serde_json::to_string(&Event::Heartbeat).unwrap(),
        r#"{"type":"HEARTBEAT"}"#
    );
    for e in [
        event(SUBSCRIBED),
        event(LAUNCH),
        Event::Message(b"pong".to_vec()),
        Event::Error("boom".into()),
        Event::Shutdown,
        Event::Unknown {
            type_name: Some("FOO".into()),
        },
        Event::LaunchGroup(vec![TaskInfo::new("a", TaskId::new("a"))]),
        Event::Kill(Kill {
            task_id: TaskId::new("t"),
            kill_policy: None,
        }),
        ack,
    ] {
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(event(&text), e, "{text}");
    }
    assert_eq!(encode_base64(&[0xff]), "/w==");
}
