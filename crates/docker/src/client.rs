//! Connecting to the Docker engine, and the crate's error type.
//!
//! The engine on agents may be as old as API 1.41 while bollard speaks a newer version; the
//! version is therefore always negotiated, so requests never use a path the engine rejects.

use std::time::Duration;

use bollard::Docker;

/// Where dce finds the engine when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Per-request timeout (time to response headers). Long enough for a `stop` whose grace period
/// is several minutes; streams (events, pulls) are not bounded by it once headers arrived.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(900);

/// How to reach the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineEndpoint {
    /// `unix:///path`, `tcp://host:port` or `http://host:port`.
    pub host: String,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

impl EngineEndpoint {
    /// `DOCKER_HOST` when set (and non-empty), else the local socket; default timeout.
    pub fn from_env() -> Self {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        EngineEndpoint {
            host,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Connects to the engine and negotiates the API version (required against API 1.41 engines once
/// bollard sends versioned paths).
pub async fn connect(endpoint: &EngineEndpoint) -> Result<Docker, DockerError> {
    let connect_error = |source: bollard::errors::Error| DockerError::Connect {
        host: endpoint.host.clone(),
        message: source.to_string(),
    };
    let docker = Docker::connect_with_host(&endpoint.host)
        .map_err(connect_error)?
        .with_timeout(endpoint.request_timeout);
    docker.negotiate_version().await.map_err(connect_error)
}

/// Every way running a pod on the engine can fail. Each variant names the service or object it
/// concerns and carries the engine's own message, so the executor can report it verbatim.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DockerError {
    /// The engine could not be reached or the version negotiation failed.
    #[error("cannot reach the Docker engine at {host}: {message}")]
    Connect {
        /// The endpoint tried.
        host: String,
        /// Why.
        message: String,
    },
    /// An Engine API call failed.
    #[error("{action} {object}: {message}")]
    Engine {
        /// What dce was doing (`create container`, `create network`, …).
        action: &'static str,
        /// What it was done to (`service web`, `network dce-t1`, `image busybox`).
        object: String,
        /// HTTP status of the engine's answer, when there was one.
        status: Option<u16>,
        /// The engine's message.
        message: String,
    },
    /// The image is not on the host and may not be pulled (`pull_policy: never`, or
    /// `launchtask.skippull`).
    #[error("service {service}: image {image} is not present and {reason}")]
    ImageAbsent {
        /// The service that needs the image.
        service: String,
        /// The image reference.
        image: String,
        /// Why it was not pulled.
        reason: &'static str,
    },
    /// Every pull attempt failed.
    #[error(
        "service {service}: pulling image {image} failed after {attempts} attempts: {message}"
    )]
    PullFailed {
        /// The first service that needs the image.
        service: String,
        /// The image reference.
        image: String,
        /// Attempts made.
        attempts: u32,
        /// The engine's message from the last attempt.
        message: String,
    },
    /// The Docker client configuration with registry credentials could not be used.
    #[error("registry credentials in {path}: {message}")]
    Credentials {
        /// The config file.
        path: String,
        /// Why it could not be used.
        message: String,
    },
    /// The binary the infra image is built from could not be read.
    #[error("infra image: cannot read {path}: {message}")]
    InfraBinary {
        /// The binary's path.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// A `service_completed_successfully` dependency exited non-zero (or a `service_healthy` or
    /// `service_started` one exited before its condition held).
    #[error("service {service}: dependency {dependency} exited with code {exit_code} ({condition} required)")]
    DependencyExited {
        /// The waiting service.
        service: String,
        /// The dependency.
        dependency: String,
        /// Its exit code.
        exit_code: i64,
        /// The condition that was required.
        condition: &'static str,
    },
    /// A `service_healthy` dependency became unhealthy (or has no healthcheck).
    #[error("service {service}: dependency {dependency} {reason}")]
    DependencyUnhealthy {
        /// The waiting service.
        service: String,
        /// The dependency.
        dependency: String,
        /// `is unhealthy` or `has no healthcheck`.
        reason: &'static str,
    },
    /// The plan refers to something that does not exist or cannot be expressed on the engine.
    #[error("service {service}: {message}")]
    InvalidPlan {
        /// The service concerned (`<pod>` when not service-specific).
        service: String,
        /// What is wrong.
        message: String,
    },
    /// The launch was cancelled; everything created so far has been removed.
    #[error("pod launch cancelled")]
    Cancelled,
}

impl DockerError {
    /// An [`DockerError::Engine`] from a bollard error, keeping the engine's message and status.
    pub fn engine(
        action: &'static str,
        object: impl Into<String>,
        source: bollard::errors::Error,
    ) -> Self {
        let (status, message) = match source {
            bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            } => (Some(status_code), message),
            other => (None, other.to_string()),
        };
        DockerError::Engine {
            action,
            object: object.into(),
            status,
            message,
        }
    }

    /// The engine answered 404 (no such container, image, network or volume).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            DockerError::Engine {
                status: Some(404),
                ..
            }
        )
    }
}

/// True for the engine's 404 answer (no such container, image, network or volume): the object
/// is already gone, which removal and stop treat as success.
pub fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_error_keeps_status_and_message() {
        let source = bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "No such image: nope:latest".to_string(),
        };
        let error = DockerError::engine("inspect image", "image nope:latest", source);
        assert!(error.is_not_found());
        assert_eq!(
            error.to_string(),
            "inspect image image nope:latest: No such image: nope:latest"
        );
    }
}
