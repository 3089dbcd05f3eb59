//! Test support shared by the crates that talk to a real Docker engine.
//!
//! No registry is reachable in tests, so images are built locally ([`ensure_busybox_image`]); every
//! object a test creates carries a unique run-id label ([`TestRun`]) and is removed when the
//! `TestRun` is dropped, even when the test panics.

mod busybox;
mod run;

pub use busybox::{ensure_busybox_image, BUSYBOX_IMAGE, PAUSE_IMAGE};
pub use run::{TestRun, RUN_LABEL};

use bollard::Docker;

/// Errors of the test helpers (the engine refused, or the host lacks busybox).
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// The Docker engine returned an error.
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    /// The host's static busybox could not be read or listed.
    #[error("busybox on the host: {0}")]
    Busybox(#[from] std::io::Error),
}

/// Connects to the local engine (`DOCKER_HOST` honoured) and negotiates the API version, as the
/// engine here is API 1.41 and newer clients otherwise send paths it rejects.
pub async fn docker() -> Result<Docker, TestkitError> {
    Ok(Docker::connect_with_defaults()?.negotiate_version().await?)
}
