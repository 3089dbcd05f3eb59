//! Each container's output, copied to `<logs dir>/<service>.log` in the sandbox so that it is
//! visible next to the executor's own `stdout`/`stderr` in the Mesos UI.
//!
//! Size cap: when a file reaches [`MAX_LOG_BYTES`] it is rotated to `<service>.log.1` (replacing
//! an older one) and a new file is started, so a service uses at most twice the cap.

use std::path::{Path, PathBuf};

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;

/// Size at which a log file is rotated.
pub const MAX_LOG_BYTES: u64 = 10 << 20;

/// Follows one container's output into its log file until the container stops. Dropping the
/// handle stops following.
pub struct LogFollower {
    task: Option<JoinHandle<()>>,
}

impl Drop for LogFollower {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl LogFollower {
    /// Starts following `container_id` of `service`; `since` (Unix seconds) skips output
    /// already copied before a restart.
    pub fn start(
        docker: Docker,
        dir: &Path,
        service: &str,
        container_id: &str,
        since: Option<i64>,
    ) -> LogFollower {
        let path = dir.join(format!("{service}.log"));
        let dir = dir.to_path_buf();
        let container_id = container_id.to_string();
        let service = service.to_string();
        let task = tokio::spawn(async move {
            if let Err(error) = follow(docker, &dir, &path, &container_id, since).await {
                tracing::warn!(%service, %error, "copying the container's output to the sandbox failed");
            }
        });
        LogFollower { task: Some(task) }
    }

    /// Lets the follower copy what is left (its stream ends with the container), at most
    /// `timeout`, then stops it.
    pub async fn finish(mut self, timeout: std::time::Duration) {
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(timeout, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

async fn follow(
    docker: Docker,
    dir: &Path,
    path: &Path,
    container_id: &str,
    since: Option<i64>,
) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let mut file = RotatingFile::open(path.to_path_buf()).await?;
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        since: since
            .and_then(|s| i32::try_from(s).ok())
            .unwrap_or_default(),
        tail: "all".to_string(),
        ..LogsOptions::default()
    };
    let mut stream = docker.logs(container_id, Some(options));
    while let Some(item) = stream.next().await {
        match item {
            Ok(
                LogOutput::StdOut { message }
                | LogOutput::StdErr { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message },
            ) => file.write(&message).await?,
            Err(error) => return Err(std::io::Error::other(error.to_string())),
        }
    }
    file.flush().await
}

/// An append-only file that rotates itself at [`MAX_LOG_BYTES`].
struct RotatingFile {
    path: PathBuf,
    file: tokio::fs::File,
    size: u64,
}

impl RotatingFile {
    async fn open(path: PathBuf) -> std::io::Result<Self> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        let size = file.metadata().await?.len();
        Ok(RotatingFile { path, file, size })
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.size + bytes.len() as u64 > MAX_LOG_BYTES && self.size > 0 {
            self.file.flush().await?;
            let mut rotated = self.path.clone().into_os_string();
            rotated.push(".1");
            tokio::fs::rename(&self.path, &rotated).await?;
            *self = RotatingFile::open(self.path.clone()).await?;
        }
        self.file.write_all(bytes).await?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rotates_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.log");
        let mut file = RotatingFile::open(path.clone()).await.unwrap();
        let chunk = vec![b'x'; (MAX_LOG_BYTES / 2) as usize];
        file.write(&chunk).await.unwrap();
        file.write(&chunk).await.unwrap();
        file.write(b"next").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"next");
        let old = std::fs::metadata(dir.path().join("web.log.1")).unwrap();
        assert_eq!(old.len(), MAX_LOG_BYTES);
    }
}
