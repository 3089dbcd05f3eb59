//! Where `dce up` runs the pod: the sandbox the executor sees.
//!
//! The executor resolves compose files, `.env`, `env_file` and relative bind mounts inside its
//! sandbox and refuses anything outside it (SPEC §2, §10). On a Mesos agent the fetcher puts the
//! task's files at the sandbox root. Locally the files already live in a project directory, so
//! that directory *is* the sandbox: `./data:/data` then mounts the user's `./data`, exactly as
//! `docker compose up` would, and the generated files (`pod/`, `logs/`) appear next to the
//! compose files where a person looks for them. A copy in a temporary directory would break
//! relative bind mounts (they would mount the copy's empty directories).
//!
//! With several files in different directories the sandbox is their deepest common directory.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};

/// The sandbox of a local run and the compose files relative to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSandbox {
    /// Absolute, canonical directory given to the executor as `MESOS_SANDBOX`.
    pub dir: PathBuf,
    /// The `-f` files relative to `dir`, in order (the `fileName` label); empty when no `-f`
    /// was given (the executor then looks for `docker-compose.yml` / `compose.yaml`).
    pub files: Vec<String>,
}

impl LocalSandbox {
    /// The sandbox for `files` (as given on the command line); the current directory when none.
    pub fn choose(files: &[PathBuf]) -> anyhow::Result<LocalSandbox> {
        if files.is_empty() {
            let dir = std::env::current_dir()
                .and_then(|d| d.canonicalize())
                .context("cannot read the current directory")?;
            return Ok(LocalSandbox {
                dir,
                files: Vec::new(),
            });
        }
        let resolved = files
            .iter()
            .map(|path| {
                path.canonicalize()
                    .with_context(|| format!("compose file {}", path.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let Some(dir) = common_directory(&resolved) else {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            bail!(
                "the compose files {} share no directory other than `/`; put them in one \
                 project directory (it becomes the pod's sandbox)",
                names.join(", ")
            );
        };
        let files = resolved
            .iter()
            .map(|path| relative_name(path, &dir))
            .collect::<anyhow::Result<_>>()?;
        Ok(LocalSandbox { dir, files })
    }

    /// The value of the `fileName` task label, `None` when no `-f` was given.
    pub fn file_name_label(&self) -> Option<String> {
        (!self.files.is_empty()).then(|| self.files.join(","))
    }
}

/// The deepest directory containing every file; `None` when that is `/`.
fn common_directory(files: &[PathBuf]) -> Option<PathBuf> {
    let mut common: Option<PathBuf> = None;
    for file in files {
        let parent = file.parent()?;
        common = Some(match common {
            None => parent.to_path_buf(),
            Some(dir) => dir
                .components()
                .zip(parent.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    common.filter(|dir| dir.components().any(|c| matches!(c, Component::Normal(_))))
}

fn relative_name(path: &Path, dir: &Path) -> anyhow::Result<String> {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let Some(text) = relative.to_str() else {
        bail!(
            "compose file {}: the path is not valid UTF-8",
            path.display()
        );
    };
    if text.contains(',') {
        bail!(
            "compose file {}: the name contains a comma, which the `fileName` task label uses \
             to separate files; rename the file",
            path.display()
        );
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_its_directory_is_the_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pod.yml"), "services: {}").unwrap();
        let sandbox = LocalSandbox::choose(&[dir.path().join("pod.yml")]).unwrap();
        assert_eq!(sandbox.dir, dir.path().canonicalize().unwrap());
        assert_eq!(sandbox.file_name_label().as_deref(), Some("pod.yml"));
    }

    #[test]
    fn files_in_several_directories_share_their_deepest_common_one() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["base", "env/prod"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("base/a.yml"), "").unwrap();
        std::fs::write(dir.path().join("env/prod/b.yml"), "").unwrap();
        let sandbox = LocalSandbox::choose(&[
            dir.path().join("base/a.yml"),
            dir.path().join("env/prod/../prod/b.yml"),
        ])
        .unwrap();
        assert_eq!(sandbox.dir, dir.path().canonicalize().unwrap());
        assert_eq!(
            sandbox.file_name_label().as_deref(),
            Some("base/a.yml,env/prod/b.yml")
        );
    }

    #[test]
    fn unusable_inputs_are_explained() {
        let missing = LocalSandbox::choose(&[PathBuf::from("/nonexistent/pod.yml")]).unwrap_err();
        assert_eq!(missing.to_string(), "compose file /nonexistent/pod.yml");
        assert!(format!("{missing:#}").contains("No such file"));
        assert!(common_directory(&[PathBuf::from("/a.yml")]).is_none());
        assert!(
            common_directory(&[PathBuf::from("/x/a.yml"), PathBuf::from("/y/b.yml")]).is_none()
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a,b.yml"), "").unwrap();
        let comma = LocalSandbox::choose(&[dir.path().join("a,b.yml")]).unwrap_err();
        assert!(comma.to_string().contains("contains a comma"), "{comma}");
    }

    #[test]
    fn without_files_the_current_directory_is_the_sandbox() {
        let sandbox = LocalSandbox::choose(&[]).unwrap();
        assert!(sandbox.file_name_label().is_none());
        assert!(sandbox.dir.is_absolute());
    }
}
