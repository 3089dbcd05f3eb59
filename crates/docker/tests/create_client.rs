//! Connecting negotiates the engine's API version.

use docker::client::{connect, EngineEndpoint};

#[tokio::test]
async fn connect_negotiates_version() {
    let docker = connect(&EngineEndpoint::from_env()).await.unwrap();
    let version = docker.version().await.unwrap();
    // The client speaks at most what the engine supports.
    let engine = version.api_version.unwrap();
    let client = docker.client_version().to_string();
    let parse = |v: &str| -> (u32, u32) {
        let (a, b) = v.split_once('.').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    };
    assert!(parse(&client) <= parse(&engine), "{client} > {engine}");
}

#[tokio::test]
async fn unreachable_engine_is_a_clear_error() {
    let endpoint = EngineEndpoint {
        host: "unix:///nonexistent/docker.sock".to_string(),
        request_timeout: std::time::Duration::from_secs(5),
    };
    let error = connect(&endpoint).await.unwrap_err().to_string();
    assert!(error.contains("/nonexistent/docker.sock"), "{error}");
}
