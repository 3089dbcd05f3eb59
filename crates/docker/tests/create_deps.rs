//! `depends_on` order and conditions, and that a failed, cancelled or abandoned launch leaves
//! nothing behind.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use docker::events::time::parse_rfc3339_nanos;
use docker::{create_pod, CreateOptions, DockerError};
use support::harness::Harness;
use support::with_sleeper;
use tokio_util::sync::CancellationToken;

async fn started_at(h: &Harness, id: &str) -> i64 {
    let state = h.inspect(id).await.state.unwrap();
    parse_rfc3339_nanos(state.started_at.as_deref().unwrap()).unwrap()
}

fn ids(created: &docker::CreatedPod) -> HashMap<String, String> {
    created
        .pod
        .containers
        .iter()
        .map(|c| (c.service.clone(), c.id.clone()))
        .collect()
}

async fn assert_nothing_left(h: &Harness) {
    // Rollback after a drop runs in a spawned task: give it a bounded time to finish.
    for _ in 0..100 {
        if h.leftovers().await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("left behind: {:?}", h.leftovers().await);
}

#[tokio::test]
async fn services_start_after_their_dependencies_and_independent_ones_do_not_wait() {
    let h = Harness::new().await;
    let plan = h.plan(
        with_sleeper!(
            r#"
services:
  web:
    <<: *sleeper
    depends_on: [api]
  api:
    <<: *sleeper
    depends_on:
      db:
        condition: service_healthy
  db:
    image: dce-test-busybox:latest
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 600"]
    init: true
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 100
  free:
    <<: *sleeper
"#
        ),
        Vec::new(),
    );
    let created = h.up(&plan).await.unwrap();
    let ids = ids(&created);
    let order: Vec<_> = created.pod.containers[1..]
        .iter()
        .map(|c| c.service.as_str())
        .collect();
    let position = |s: &str| order.iter().position(|o| *o == s).unwrap();
    assert!(
        position("db") < position("api") && position("api") < position("web"),
        "{order:?}"
    );
    // `free` depends on nothing, so it does not wait for db's health.
    assert!(position("free") < position("api"), "{order:?}");

    let db = h.inspect(&ids["db"]).await;
    let health = db.state.unwrap().health.unwrap();
    let first_healthy = health
        .log
        .unwrap_or_default()
        .into_iter()
        .find(|entry| entry.exit_code == Some(0))
        .and_then(|entry| entry.end)
        .and_then(|end| parse_rfc3339_nanos(&end))
        .expect("db had a successful probe");
    assert!(first_healthy <= started_at(&h, &ids["api"]).await);
    assert!(started_at(&h, &ids["api"]).await <= started_at(&h, &ids["web"]).await);
    let web = created
        .pod
        .containers
        .iter()
        .find(|c| c.service == "web")
        .unwrap();
    assert_eq!(web.depends_on, ["api"]);
    assert!(created
        .timings
        .services
        .iter()
        .any(|t| t.service == "api" && t.waited > Duration::ZERO));
}

#[tokio::test]
async fn completed_successfully_waits_for_exit_zero() {
    let h = Harness::new().await;
    let plan = h.plan(
        with_sleeper!(
            r#"
services:
  migrate:
    image: dce-test-busybox:latest
    command: ["sh", "-c", "sleep 1; exit 0"]
  app:
    <<: *sleeper
    depends_on:
      migrate:
        condition: service_completed_successfully
"#
        ),
        Vec::new(),
    );
    let created = h.up(&plan).await.unwrap();
    let ids = ids(&created);
    let migrate = h.inspect(&ids["migrate"]).await.state.unwrap();
    assert_eq!(migrate.exit_code, Some(0));
    let finished = parse_rfc3339_nanos(migrate.finished_at.as_deref().unwrap()).unwrap();
    assert!(finished <= started_at(&h, &ids["app"]).await);
}

#[tokio::test]
async fn failed_conditions_name_the_services_and_leave_nothing() {
    let cases = [
        (
            r#"
services:
  migrate:
    image: dce-test-busybox:latest
    command: ["sh", "-c", "exit 3"]
  app:
    image: dce-test-busybox:latest
    command: ["sleep", "600"]
    depends_on:
      migrate:
        condition: service_completed_successfully
volumes:
  data: {}
"#,
            "service app: dependency migrate exited with code 3 (service_completed_successfully required)",
        ),
        (
            with_sleeper!(r#"
services:
  db:
    <<: *sleeper
    healthcheck:
      test: ["CMD", "false"]
      interval: 100ms
      retries: 2
  app:
    image: dce-test-busybox:latest
    command: ["sleep", "600"]
    depends_on:
      db:
        condition: service_healthy
"#),
            "service app: dependency db is unhealthy",
        ),
        (
            with_sleeper!(r#"
services:
  db:
    <<: *sleeper
  app:
    image: dce-test-busybox:latest
    command: ["sleep", "600"]
    depends_on:
      db:
        condition: service_healthy
"#),
            "service app: dependency db has no healthcheck",
        ),
        (
            r#"
services:
  db:
    image: dce-test-busybox:latest
    command: ["sh", "-c", "exit 5"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 10s
  app:
    image: dce-test-busybox:latest
    command: ["sleep", "600"]
    depends_on:
      db:
        condition: service_healthy
"#,
            "service app: dependency db exited with code 5 (service_healthy required)",
        ),
    ];
    for (yaml, want) in cases {
        let h = Harness::new().await;
        let plan = h.plan(yaml, Vec::new());
        let error = h.up(&plan).await.unwrap_err();
        assert_eq!(error.to_string(), want);
        assert_nothing_left(&h).await;
    }
}

#[tokio::test]
async fn engine_failures_name_the_service_and_leave_nothing() {
    let cases = [
        ("image: dce-test-absent-image:v1", "No such image"),
        (
            "image: dce-test-busybox:latest\n    devices: [\"/dev/dce-test-nonexistent:/dev/x\"]",
            "/dev/dce-test-nonexistent",
        ),
    ];
    for (broken, engine_says) in cases {
        let h = Harness::new().await;
        let plan = h.plan(
            &format!(
                with_sleeper!(
                    r#"
services:
  good:
    <<: *sleeper
    volumes: ["data:/data", "/anon"]
  bad:
    {broken}
    command: ["sleep", "600"]
    depends_on: [good]
volumes:
  data: {{}}
"#
                ),
                broken = broken
            ),
            Vec::new(),
        );
        let error = h.up(&plan).await.unwrap_err();
        let DockerError::Engine {
            ref object,
            ref message,
            ..
        } = error
        else {
            panic!("unexpected error {error:?}");
        };
        assert_eq!(object, "service bad");
        assert!(message.contains(engine_says), "{message}");
        assert_nothing_left(&h).await;
    }
}

const SLOW_POD: &str = with_sleeper!(
    r#"
services:
  db:
    <<: *sleeper
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 1000
  app:
    image: dce-test-busybox:latest
    command: ["sleep", "600"]
    depends_on:
      db:
        condition: service_healthy
volumes:
  data: {}
"#
);

#[tokio::test]
async fn cancelling_a_launch_removes_what_it_created() {
    let h = Harness::new().await;
    let plan = h.plan(SLOW_POD, Vec::new());
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        trigger.cancel();
    });
    let error = create_pod(&h.docker, &plan, &CreateOptions::default(), &cancel)
        .await
        .unwrap_err();
    assert!(matches!(error, DockerError::Cancelled), "{error:?}");
    assert_nothing_left(&h).await;
}

#[tokio::test]
async fn dropping_a_launch_removes_what_it_created() {
    let h = Harness::new().await;
    let plan = h.plan(SLOW_POD, Vec::new());
    let cancel = CancellationToken::new();
    let options = CreateOptions::default();
    let launch = create_pod(&h.docker, &plan, &options, &cancel);
    tokio::select! {
        _ = launch => panic!("the launch cannot finish: db never becomes healthy"),
        _ = tokio::time::sleep(Duration::from_millis(1500)) => {}
    }
    assert_nothing_left(&h).await;
}

#[tokio::test]
async fn services_referred_to_are_started_first_without_depends_on() {
    let h = Harness::new().await;
    let plan = h.plan(
        with_sleeper!(
            r#"
services:
  consumer:
    <<: *sleeper
    volumes_from: [producer]
    pid: "service:producer"
    ipc: "service:holder"
  producer:
    <<: *sleeper
    volumes: ["/shared"]
  holder:
    <<: *sleeper
    ipc: shareable
"#
        ),
        Vec::new(),
    );
    let created = h.up(&plan).await.unwrap();
    let order: Vec<_> = created.pod.containers[1..]
        .iter()
        .map(|c| c.service.as_str())
        .collect();
    assert_eq!(order.last(), Some(&"consumer"), "{order:?}");
    let consumer = created
        .pod
        .containers
        .iter()
        .find(|c| c.service == "consumer")
        .unwrap();
    assert_eq!(consumer.depends_on, ["producer", "holder"]);
}
