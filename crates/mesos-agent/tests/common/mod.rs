//! Helpers shared by the conformance tests: start an agent, launch the test executor, wait on
//! the journal, talk raw HTTP.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use mesos_agent::{
    Agent, AgentConfig, Disposition, ExecutorExit, ExecutorLaunch, ExecutorProcess, TaskBuilder,
    UpdateOrigin, UpdateRecord,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Hang guard for every wait: generous, never an assertion about speed.
pub const HANG: Duration = Duration::from_secs(60);

/// Starts an agent with `config`.
pub async fn agent(config: AgentConfig) -> Agent {
    Agent::start(config).await.expect("agent starts")
}

/// The test executor binary, logging at debug level.
pub fn test_executor() -> ExecutorLaunch {
    ExecutorLaunch::new(env!("CARGO_BIN_EXE_mesos-test-executor")).env("RUST_LOG", "debug")
}

/// Launches `launch` under `agent`.
pub async fn launch(agent: &Agent, launch: ExecutorLaunch) -> ExecutorProcess {
    agent
        .launch_executor(launch)
        .await
        .expect("executor starts")
}

/// A plain task.
pub fn task(id: &str) -> mesos::TaskInfo {
    TaskBuilder::new(id).cpus(0.1).mem(32.0).build()
}

/// Waits for an update of `task` in `state` sent by the executor; panics with the executor's
/// stderr on timeout.
pub async fn wait_state(
    agent: &Agent,
    process: &ExecutorProcess,
    task: &str,
    state: &str,
) -> UpdateRecord {
    match agent
        .wait_for_update(task, HANG, |r| r.state().as_str() == state)
        .await
    {
        Ok(record) => record,
        Err(e) => panic!(
            "{e}; journal: {:?}\nexecutor stderr:\n{}",
            states(agent, task),
            process.stderr()
        ),
    }
}

/// Waits for the executor to exit; panics with its stderr on timeout.
pub async fn wait_exit(process: &ExecutorProcess) -> ExecutorExit {
    match process.wait(HANG).await {
        Ok(exit) => exit,
        Err(e) => panic!("{e}\nexecutor stderr:\n{}", process.stderr()),
    }
}

/// The states the executor reported for `task` that the agent accepted, in order.
pub fn states(agent: &Agent, task: &str) -> Vec<String> {
    agent
        .updates(task)
        .into_iter()
        .filter(|r| r.origin != UpdateOrigin::Agent && r.disposition == Disposition::Accepted)
        .map(|r| r.state().as_str().to_string())
        .collect()
}

/// Starts `agent`'s executor with one RUNNING task `task`.
pub async fn running_task(agent: &Agent, launch_spec: ExecutorLaunch, id: &str) -> ExecutorProcess {
    agent.launch(task(id));
    let process = launch(agent, launch_spec).await;
    wait_state(agent, &process, id, "TASK_RUNNING").await;
    process
}

/// User + system CPU ticks consumed by `pid` so far.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// A raw HTTP/1.1 response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Sends one request with `Connection: close` and reads the whole response (not for streams).
pub async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(HANG, stream.read_to_end(&mut response))
        .await
        .expect("response in time")
        .expect("read");
    parse_response(&String::from_utf8_lossy(&response))
}

fn parse_response(text: &str) -> RawResponse {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    RawResponse {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// A JSON POST to `/api/v1/executor`.
pub async fn post_json(addr: SocketAddr, body: &serde_json::Value) -> RawResponse {
    raw_request(
        addr,
        "POST",
        "/api/v1/executor",
        &[("Content-Type", "application/json")],
        &body.to_string(),
    )
    .await
}

/// A SUBSCRIBE made by hand, reading the chunked RecordIO stream: an "executor" that does
/// exactly what a test says and nothing else.
pub struct RawSubscription {
    stream: tokio::net::TcpStream,
    /// Bytes read but not yet decoded from the HTTP chunked framing.
    wire: Vec<u8>,
    /// De-chunked body bytes not yet decoded as RecordIO.
    body: Vec<u8>,
    /// Whether the terminal chunk arrived.
    pub ended: bool,
}

impl RawSubscription {
    /// Sends SUBSCRIBE (with `subscribe`) and reads the response head; panics unless 200.
    pub async fn open(agent: &Agent, subscribe: serde_json::Value) -> RawSubscription {
        let config = agent.config();
        let body = serde_json::json!({
            "type": "SUBSCRIBE",
            "executor_id": {"value": config.executor_id.as_str()},
            "framework_id": {"value": config.framework_id.as_str()},
            "subscribe": subscribe,
        })
        .to_string();
        let mut stream = tokio::net::TcpStream::connect(agent.endpoint())
            .await
            .unwrap();
        let request = format!(
            "POST /api/v1/executor HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut sub = RawSubscription {
            stream,
            wire: Vec::new(),
            body: Vec::new(),
            ended: false,
        };
        let head_end = loop {
            if let Some(i) = find(&sub.wire, b"\r\n\r\n") {
                break i;
            }
            assert!(
                sub.fill().await,
                "connection closed before the response head"
            );
        };
        let head = String::from_utf8_lossy(&sub.wire[..head_end]).to_string();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{head}"
        );
        assert!(head.contains("content-type: application/json"), "{head}");
        sub.wire.drain(..head_end + 4);
        sub
    }

    async fn fill(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(HANG, self.stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.wire.extend_from_slice(&buf[..n]);
                true
            }
            Err(_) => panic!("no data from the agent within {HANG:?}"),
        }
    }

    /// Moves complete HTTP chunks from `wire` to `body`.
    fn dechunk(&mut self) {
        while let Some(line_end) = find(&self.wire, b"\r\n") {
            let size_text = String::from_utf8_lossy(&self.wire[..line_end]).to_string();
            let size = usize::from_str_radix(size_text.trim(), 16).expect("chunk size");
            if size == 0 {
                self.ended = true;
                self.wire.clear();
                return;
            }
            let total = line_end + 2 + size + 2;
            if self.wire.len() < total {
                return;
            }
            self.body
                .extend_from_slice(&self.wire[line_end + 2..line_end + 2 + size]);
            self.wire.drain(..total);
        }
    }

    fn decode_record(&mut self) -> Option<serde_json::Value> {
        let line_end = self.body.iter().position(|b| *b == b'\n')?;
        let len: usize = std::str::from_utf8(&self.body[..line_end])
            .unwrap()
            .parse()
            .expect("record length");
        if self.body.len() < line_end + 1 + len {
            return None;
        }
        let record: Vec<u8> = self
            .body
            .drain(..line_end + 1 + len)
            .skip(line_end + 1)
            .collect();
        Some(serde_json::from_slice(&record).expect("JSON event"))
    }

    /// The next event, or `None` when the stream ended.
    pub async fn next_event(&mut self) -> Option<serde_json::Value> {
        loop {
            self.dechunk();
            if let Some(event) = self.decode_record() {
                return Some(event);
            }
            if self.ended || !self.fill().await {
                return None;
            }
        }
    }

    /// The next event of type `kind`, skipping others.
    pub async fn next_event_of(&mut self, kind: &str) -> serde_json::Value {
        loop {
            let event = self.next_event().await.expect("stream open");
            if event["type"] == kind {
                return event;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An UPDATE call body for `task` in `state` from the executor of `agent`'s config.
pub fn update_call(agent: &Agent, task: &str, state: &str, uuid: uuid::Uuid) -> serde_json::Value {
    let config = agent.config();
    serde_json::json!({
        "type": "UPDATE",
        "executor_id": {"value": config.executor_id.as_str()},
        "framework_id": {"value": config.framework_id.as_str()},
        "update": {"status": {
            "task_id": {"value": task},
            "state": state,
            "source": "SOURCE_EXECUTOR",
            "uuid": mesos::wire::encode_base64(uuid.as_bytes()),
        }}
    })
}

/// Polls `check` every 20 ms until it returns `Some` (for conditions outside the agent, such as
/// files and processes); panics after [`HANG`].
pub async fn poll<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
