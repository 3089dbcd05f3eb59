//! Fuzzing the compose loader and interpolation (proptest, bounded so it runs in CI; set
//! `DCE_FUZZ_CASES` to raise the case count for a long run).
//!
//! Properties: no panic and termination on arbitrary bytes, arbitrary YAML and compose-like
//! documents; what loads serializes to a file that loads again to the same project;
//! oversized input is refused before it is parsed.

use std::io::Write;

use compose::{ComposeError, ComposeSource, InterpolationEnv, ProjectLoader, YamlLimits};
use proptest::prelude::*;
use yaml_serde::{Mapping, Value};

/// Cases per property: `DCE_FUZZ_CASES` or `default`.
fn cases(default: u32) -> u32 {
    std::env::var("DCE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Small limits, so a generated document can hit them without costing memory.
const LIMITS: YamlLimits = YamlLimits {
    max_bytes: 64 * 1024,
    max_nodes: 20_000,
};

fn env() -> InterpolationEnv {
    InterpolationEnv::from_vars([("NAME", "demo"), ("EMPTY", ""), ("PORT", "8080")])
}

fn load_inline(sandbox: &std::path::Path, text: &str) -> Result<compose::Project, ComposeError> {
    ProjectLoader::new(sandbox, env())
        .with_limits(LIMITS)
        .load(&[ComposeSource::Inline {
            name: "<fuzz>".into(),
            content: text.to_string(),
        }])
}

/// A loaded project must serialize to YAML that loads again, to the same project — except for
/// what `to_yaml` leaves out on purpose for docker-compose v1 (`depends_on.*.restart`).
fn check_round_trip(sandbox: &std::path::Path, project: &compose::Project) {
    let mut project = project.clone();
    for service in project.services.values_mut() {
        for dependency in service.depends_on.values_mut() {
            dependency.restart = false;
        }
    }
    let project = &project;
    let yaml = project.to_yaml();
    let again = ProjectLoader::new(sandbox, InterpolationEnv::empty())
        .load(&[ComposeSource::Inline {
            name: "<round-trip>".into(),
            content: yaml.clone(),
        }])
        .unwrap_or_else(|e| panic!("the serialized project does not load: {e}\n{yaml}"));
    assert_eq!(
        &again.services, &project.services,
        "round trip changed the services\n{yaml}"
    );
}

// --- generators -----------------------------------------------------------------------------

/// Service keys dce does not implement (extensions, unsupported, misspelled), so the fuzzer takes
/// both paths; the known ones are `compose::SERVICE_KEYS`.
const OTHER_SERVICE_KEYS: &[&str] = &[
    "x-dce",
    "x-anything",
    "secrets",
    "configs",
    "scale",
    "bogus",
];

/// Every key the service generators pick from.
fn service_keys() -> Vec<&'static str> {
    compose::SERVICE_KEYS
        .iter()
        .chain(OTHER_SERVICE_KEYS)
        .copied()
        .collect()
}

const TOP_KEYS: &[&str] = &[
    "services", "volumes", "networks", "name", "version", "x-top", "configs", "include", "bogus",
];

/// Scalars that exercise the typed parsers: units, ports, paths, interpolation, YAML 1.1
/// booleans, huge numbers.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_map(|n| Value::Number(n.into())),
        prop_oneof![
            Just("80:8080"),
            Just("127.0.0.1:8000-8010:80-90/udp"),
            Just("65536:1"),
            Just("0-65535"),
            Just("./data:/data:ro"),
            Just("../../etc:/etc"),
            Just("/var/run/docker.sock:/var/run/docker.sock"),
            Just("named:/x:rw,z"),
            Just("1.5g"),
            Just("10s"),
            Just("1h2m3s4ms"),
            Just("-1"),
            Just("99999999999999999999999"),
            Just("${NAME}"),
            Just("${NAME:-x}"),
            Just("${UNSET:?need it}"),
            Just("${"),
            Just("$"),
            Just("$$"),
            Just("${NAME:-${PORT:-${EMPTY}}}"),
            Just("CMD-SHELL"),
            Just("service_healthy"),
            Just("on-failure:3"),
            Just("yes"),
            Just("host"),
            Just("container:web"),
            Just("service:db"),
            Just("SYS_ADMIN"),
            Just("seccomp:unconfined"),
            Just("web"),
            Just("db"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
        "[ -~]{0,24}".prop_map(Value::String),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

/// Any YAML value of bounded size, keys drawn from the compose vocabulary or random.
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Sequence),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| { Value::Mapping(entries.into_iter().collect::<Mapping>()) }),
        ]
    })
}

fn key() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(service_keys()).prop_map(|k| Value::String(k.to_string())),
        1 => "[a-z_.-]{1,10}".prop_map(Value::String),
        1 => scalar(),
    ]
}

fn service() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(service_keys()), value()), 0..8).prop_map(
        |entries| {
            let mut map = Mapping::new();
            map.insert(
                Value::String("image".into()),
                Value::String("busybox".into()),
            );
            for (k, v) in entries {
                map.insert(Value::String(k.to_string()), v);
            }
            Value::Mapping(map)
        },
    )
}

/// A compose-like document: `services` with a few services of random keys, plus random
/// top-level entries.
fn compose_document() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(
            (
                prop::sample::select(&["web", "db", "cache", "x"][..]),
                service(),
            ),
            1..4,
        ),
        prop::collection::vec((prop::sample::select(TOP_KEYS), value()), 0..3),
    )
        .prop_map(|(services, top)| {
            let mut root = Mapping::new();
            for (k, v) in top {
                root.insert(Value::String(k.to_string()), v);
            }
            let services: Mapping = services
                .into_iter()
                .map(|(name, s)| (Value::String(name.to_string()), s))
                .collect();
            root.insert(Value::String("services".into()), Value::Mapping(services));
            Value::Mapping(root)
        })
}

/// Text that is YAML-ish: fragments of YAML syntax glued together (anchors, aliases, merge
/// keys, tags, flow collections, block scalars, documents).
fn yaml_ish_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("services:\n"),
        Just("  web:\n"),
        Just("    image: busybox\n"),
        Just("    ports: [\"80:80\", 81]\n"),
        Just("x-a: &a {image: busybox, command: [sh]}\n"),
        Just("    <<: *a\n"),
        Just("    <<: [*a, *a]\n"),
        Just("*a"),
        Just("&b [*b]\n"),
        Just("!!binary aGVsbG8=\n"),
        Just("!custom {}\n"),
        Just("---\n"),
        Just("...\n"),
        Just("    environment:\n      - A=${NAME}\n"),
        Just("    command: |\n      echo $$HOME\n"),
        Just("  ? [complex, key]\n  : value\n"),
        Just("\t"),
        Just("{"),
        Just("]"),
        Just("'unterminated"),
        Just("\"\\u00\""),
        Just("%YAML 1.2\n"),
        Just("%TAG ! tag:x,2000:\n"),
        Just("\u{feff}"),
        Just("\0"),
    ];
    prop::collection::vec(
        prop_oneof![3 => fragment.prop_map(str::to_string), 1 => "\\PC{0,8}"],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

/// Plausible syntax for the keys dce implements, in their short and long forms and with
/// edge values, so that documents get past the first validation error and through typing,
/// merging and serialization.
fn typed_entry() -> impl Strategy<Value = (&'static str, Value)> {
    fn y(text: &str) -> Value {
        yaml_serde::from_str(text).unwrap()
    }
    fn pick(
        key: &'static str,
        options: &'static [&'static str],
    ) -> BoxedStrategy<(&'static str, Value)> {
        prop::sample::select(options)
            .prop_map(move |t| (key, y(t)))
            .boxed()
    }
    prop_oneof![
        pick("ports", &["[\"80\"]", "[\"8080:80/udp\"]", "[\"127.0.0.1::80\"]", "[\"[::1]:8000-8001:80-81\"]",
            "[{target: 80, published: \"8080\", protocol: tcp, mode: host}]", "[\"0\"]", "[\"65535:65535/sctp\"]", "[80, 443]"]),
        pick("expose", &["[\"80\"]", "[\"8000-8002/udp\"]", "[9000]"]),
        pick("volumes", &["[\"./data:/data:ro\"]", "[\"named:/n\"]", "[\"/anon\"]",
            "[{type: tmpfs, target: /t, tmpfs: {size: 1m, mode: 0o1777}}]",
            "[{type: volume, source: named, target: /v, volume: {nocopy: true}}]",
            "[{type: bind, source: ., target: /b, bind: {create_host_path: true}}]", "[\"./x:/x:rw,z\"]"]),
        pick("environment", &["{A: 1, B: true, C: null, D: \"${NAME}\"}", "[\"A=1\", \"B\", \"C=\"]", "{\"A B\": x}", "[\"=x\"]"]),
        pick("command", &["echo hi", "[\"sh\", \"-c\", \"echo $$HOME\"]", "\"'unterminated\"", "[]", "\"\""]),
        pick("entrypoint", &["/bin/sh -c", "[\"/bin/sh\"]", "\"\""]),
        pick("healthcheck", &["{test: [\"CMD\", \"true\"], interval: 1s, timeout: 1m30s, retries: 3, start_period: 0s}",
            "{test: \"true\"}", "{test: [\"NONE\"]}", "{disable: true}", "{test: [\"CMD-SHELL\", \"exit 0\"], start_interval: 5s}"]),
        pick("depends_on", &["[db]", "{db: {condition: service_healthy}}", "{db: {condition: service_completed_successfully, required: false}}", "{db: {condition: service_started, restart: true}}"]),
        pick("restart", &["no", "\"no\"", "always", "on-failure", "on-failure:3", "unless-stopped"]),
        pick("stop_grace_period", &["10s", "1m30s", "1h", "500ms", "0s", "1.5s"]),
        pick("mem_limit", &["512m", "1g", "1024", "1.5g", "0"]),
        pick("cpus", &["0.5", "\"1.25\"", "2"]),
        pick("ulimits", &["{nofile: 1024}", "{nofile: {soft: 1, hard: 2}}"]),
        pick("sysctls", &["{net.core.somaxconn: 1024}", "[\"net.ipv4.ip_forward=1\"]"]),
        pick("labels", &["{a: b, c: 1}", "[\"a=b\", \"c\"]"]),
        pick("extra_hosts", &["[\"a:1.2.3.4\"]", "{b: \"::1\"}", "[\"c=host-gateway\"]"]),
        pick("logging", &["{driver: json-file, options: {max-size: 1m}}"]),
        pick("deploy", &["{resources: {limits: {cpus: \"0.5\", memory: 50M, pids: 10}, reservations: {memory: 10M}}}"]),
        pick("tmpfs", &["/run", "[\"/run:size=1m\", \"/tmp\"]"]),
        pick("shm_size", &["64m", "1024"]),
        pick("user", &["\"1000:1000\"", "root"]),
        pick("stop_signal", &["SIGUSR1", "TERM"]),
        pick("init", &["true"]),
        pick("read_only", &["true"]),
        pick("x-dce", &["{on-unhealthy: ignore}", "{on-unhealthy: restart}"]),
        pick("container_name", &["custom", "\"web.1\""]),
        pick("pull_policy", &["missing", "never", "always", "if_not_present"]),
        pick("networks", &["[default]", "{default: {aliases: [x]}}"]),
    ]
}

/// A document of two services built from [`typed_entry`]s (`db` exists for `depends_on`).
fn typed_document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(typed_entry(), 0..8),
        prop::collection::vec(typed_entry(), 0..4),
    )
        .prop_map(|(web, db)| {
            let service = |entries: Vec<(&str, Value)>| {
                let mut map = Mapping::new();
                map.insert(
                    Value::String("image".into()),
                    Value::String("busybox".into()),
                );
                for (k, v) in entries {
                    map.insert(Value::String(k.to_string()), v);
                }
                Value::Mapping(map)
            };
            let mut services = Mapping::new();
            services.insert(Value::String("web".into()), service(web));
            services.insert(Value::String("db".into()), service(db));
            let mut root = Mapping::new();
            root.insert(Value::String("services".into()), Value::Mapping(services));
            root.insert(
                Value::String("volumes".into()),
                yaml_serde::from_str("{named: {}}").unwrap(),
            );
            yaml_serde::to_string(&Value::Mapping(root)).unwrap()
        })
}

// --- properties -----------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.yml"), &bytes).unwrap();
        let _ = ProjectLoader::new(dir.path(), env())
            .with_limits(LIMITS)
            .load(&[ComposeSource::File("c.yml".into())]);
    }

    #[test]
    fn yaml_ish_text_never_panics(text in yaml_ish_text()) {
        let dir = tempfile::tempdir().unwrap();
        if let Ok(project) = load_inline(dir.path(), &text) {
            check_round_trip(dir.path(), &project);
        }
    }

    #[test]
    fn compose_like_documents_never_panic(doc in compose_document()) {
        let dir = tempfile::tempdir().unwrap();
        let text = yaml_serde::to_string(&doc).unwrap();
        if let Ok(project) = load_inline(dir.path(), &text) {
            check_round_trip(dir.path(), &project);
        }
    }

    #[test]
    fn typed_documents_load_and_round_trip(text in typed_document()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        if let Ok(project) = load_inline(dir.path(), &text) {
            check_round_trip(dir.path(), &project);
        }
    }

    #[test]
    fn interpolation_never_panics(
        input in "([-a-zA-Z0-9_{}:?+$ ]|\\$\\{|\\$\\$|:-|:\\?|\\}){0,40}",
    ) {
        let lookup = |name: &str| match name {
            "SET" | "A" => Some("value".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let _ = compose::load::interpolate_str(&input, &lookup);
    }

    #[test]
    fn interpolation_of_text_without_dollar_is_identity(input in "[^$]{0,64}") {
        let lookup = |_: &str| None;
        prop_assert_eq!(compose::load::interpolate_str(&input, &lookup), Ok(input));
    }
}

// --- limits and regressions -----------------------------------------------------------------

/// A file one byte over the limit is refused by its size: its content (broken YAML here) is
/// never parsed.
#[test]
fn oversized_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let limits = YamlLimits {
        max_bytes: 1024,
        max_nodes: 1000,
    };
    let text = format!("services: {{{}", "x".repeat(1024));
    std::fs::write(dir.path().join("big.yml"), &text).unwrap();
    let error = ProjectLoader::new(dir.path(), env())
        .with_limits(limits)
        .load(&[ComposeSource::File("big.yml".into())])
        .unwrap_err();
    assert!(
        matches!(
            error,
            ComposeError::FileTooLarge {
                size: 1035,
                limit: 1024,
                ..
            }
        ),
        "{error:?}"
    );
    let error = ProjectLoader::new(dir.path(), env())
        .with_limits(limits)
        .load(&[ComposeSource::Inline {
            name: "<data>".into(),
            content: text,
        }])
        .unwrap_err();
    assert!(
        matches!(error, ComposeError::FileTooLarge { .. }),
        "{error:?}"
    );
}

/// A sparse 8 GiB file under the default limits: refused from its size alone, without reading
/// it into memory.
#[test]
fn huge_sparse_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(dir.path().join("huge.yml")).unwrap();
    file.set_len(8 << 30).unwrap();
    let error = ProjectLoader::new(dir.path(), env())
        .load(&[ComposeSource::File("huge.yml".into())])
        .unwrap_err();
    assert!(
        matches!(error, ComposeError::FileTooLarge { .. }),
        "{error:?}"
    );
}

/// Billion laughs: nine levels of ten aliases each would be 10^9 nodes.
#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("x-0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let prev = level - 1;
        let refs = vec![format!("*l{prev}"); 10].join(", ");
        text.push_str(&format!("x-{level}: &l{level} [{refs}]\n"));
    }
    text.push_str("services:\n  web:\n    image: busybox\n");
    let dir = tempfile::tempdir().unwrap();
    let mut file = std::fs::File::create(dir.path().join("bomb.yml")).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let error = ProjectLoader::new(dir.path(), env())
        .load(&[ComposeSource::File("bomb.yml".into())])
        .unwrap_err();
    assert!(error.to_string().contains("bomb.yml"), "{error}");
}

/// Deep nesting (a stack-overflow attempt) is an error, not a crash.
#[test]
fn deeply_nested_document_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 100_000;
    let text = format!("services: {}{}", "[".repeat(depth), "]".repeat(depth));
    let _ = load_inline(dir.path(), &text).unwrap_err();
    let text = format!(
        "services:\n  web:\n    labels: {}{}",
        "{a: ".repeat(depth),
        "}".repeat(depth)
    );
    let _ = load_inline(dir.path(), &text).unwrap_err();
}

/// Regression (found by `compose_like_documents_never_panic`): an extra host named `a:` was
/// accepted and written back as `a::1.2.3.4`, which reads as host `a`, IP `:1.2.3.4`; an IP
/// that is not one was accepted too (the engine refuses it only at create time).
#[test]
fn extra_hosts_are_checked_so_they_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "extra_hosts: {\"a:\": 1.2.3.4}",
        "extra_hosts: {\"a\": \"='R&\"}",
        "extra_hosts: [\"a=b:1.2.3.4\"]",
        "extra_hosts: [\"a:not-an-ip\"]",
        "extra_hosts: [\"a b:1.2.3.4\"]",
    ] {
        let text = format!("services:\n  web:\n    image: busybox\n    {bad}\n");
        let error = load_inline(dir.path(), &text).unwrap_err();
        assert!(error.to_string().contains("extra_hosts"), "{bad}: {error}");
    }
    for good in [
        "extra_hosts: [\"a:1.2.3.4\", \"b=::1\", \"c:[fe80::1]\", \"d:host-gateway\"]",
        "extra_hosts: {a: 1.2.3.4, b: \"::1\"}",
    ] {
        let text = format!("services:\n  web:\n    image: busybox\n    {good}\n");
        let project = load_inline(dir.path(), &text).unwrap_or_else(|e| panic!("{good}: {e}"));
        check_round_trip(dir.path(), &project);
    }
}
