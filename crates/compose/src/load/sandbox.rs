//! Confinement of every file dce reads to the task's sandbox.

use std::path::{Component, Path, PathBuf};

use crate::ComposeError;

/// File names tried, in order, when a task names no compose file (compose v2's order).
pub const DEFAULT_COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The sandbox directory, canonicalized once; every path check is made against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    /// Opens the sandbox at `root` (which must exist).
    pub fn new(root: &Path) -> Result<Sandbox, ComposeError> {
        let root = root.canonicalize().map_err(|source| ComposeError::Io {
            path: root.display().to_string(),
            source,
        })?;
        Ok(Sandbox { root })
    }

    /// The canonical sandbox root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `path` (relative to `base_dir`, or absolute) to an existing file inside the
    /// sandbox. Fails on `..` escapes, absolute paths elsewhere, symlinks pointing out, and
    /// missing files.
    pub fn resolve_existing(&self, base_dir: &Path, path: &str) -> Result<PathBuf, ComposeError> {
        let joined = normalize(&base_dir.join(path));
        if !joined.starts_with(&self.root) {
            return Err(self.outside(path, joined));
        }
        let canonical = joined.canonicalize().map_err(|source| ComposeError::Io {
            path: path.to_string(),
            source,
        })?;
        if !canonical.starts_with(&self.root) {
            return Err(self.outside(path, canonical));
        }
        Ok(canonical)
    }

    /// Whether `path` (absolute, possibly not existing yet) lies inside the sandbox once `..`
    /// and symlinks in its existing part are resolved. For the admission policy's check of
    /// bind-mount sources.
    pub fn contains(&self, path: &Path) -> bool {
        let normalized = normalize(path);
        let mut existing = normalized.as_path();
        let mut missing = Vec::new();
        loop {
            if let Ok(canonical) = existing.canonicalize() {
                let full = missing.iter().rev().fold(canonical, |p, c| p.join(c));
                return normalize(&full).starts_with(&self.root);
            }
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    missing.push(name.to_os_string());
                    existing = parent;
                }
                _ => return false,
            }
        }
    }

    /// The first of [`DEFAULT_COMPOSE_FILES`] present in the sandbox root, as a relative path.
    pub fn find_default_compose_file(&self) -> Option<PathBuf> {
        DEFAULT_COMPOSE_FILES
            .iter()
            .map(PathBuf::from)
            .find(|name| self.root.join(name).is_file())
    }

    fn outside(&self, path: &str, resolved: PathBuf) -> ComposeError {
        ComposeError::OutsideSandbox {
            path: path.to_string(),
            resolved,
            sandbox: self.root.clone(),
        }
    }
}

/// Removes `.` and resolves `..` lexically (no file system access).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, Sandbox) {
        let sandbox_dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::create_dir(sandbox_dir.path().join("sub")).unwrap();
        fs::write(sandbox_dir.path().join("sub/a.yml"), "x").unwrap();
        fs::write(outside.path().join("secret.yml"), "x").unwrap();
        let sandbox = Sandbox::new(sandbox_dir.path()).unwrap();
        (sandbox_dir, outside, sandbox)
    }

    #[test]
    fn resolves_inside() {
        let (_d, _o, sandbox) = setup();
        let root = sandbox.root().to_path_buf();
        assert_eq!(
            sandbox.resolve_existing(&root, "sub/../sub/a.yml").unwrap(),
            root.join("sub/a.yml")
        );
        let abs = root.join("sub/a.yml");
        assert!(sandbox
            .resolve_existing(&root, abs.to_str().unwrap())
            .is_ok());
    }

    #[test]
    fn rejects_escapes() {
        let (_d, outside, sandbox) = setup();
        let root = sandbox.root().to_path_buf();
        let err = sandbox.resolve_existing(&root, "../x.yml").unwrap_err();
        assert!(matches!(err, ComposeError::OutsideSandbox { .. }), "{err}");
        let abs = outside.path().join("secret.yml");
        let err = sandbox
            .resolve_existing(&root, abs.to_str().unwrap())
            .unwrap_err();
        assert!(matches!(err, ComposeError::OutsideSandbox { .. }), "{err}");
        std::os::unix::fs::symlink(&abs, root.join("link.yml")).unwrap();
        let err = sandbox.resolve_existing(&root, "link.yml").unwrap_err();
        assert!(matches!(err, ComposeError::OutsideSandbox { .. }), "{err}");
        assert!(err.to_string().contains("outside the sandbox"));
    }

    #[test]
    fn contains_handles_missing_and_symlinked_paths() {
        let (_d, outside, sandbox) = setup();
        let root = sandbox.root().to_path_buf();
        assert!(sandbox.contains(&root.join("data/not/yet")));
        assert!(!sandbox.contains(&root.join("../elsewhere")));
        assert!(!sandbox.contains(Path::new("/var/run/docker.sock")));
        std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
        assert!(!sandbox.contains(&root.join("out/new")));
    }

    #[test]
    fn finds_default_file() {
        let (d, _o, sandbox) = setup();
        assert_eq!(sandbox.find_default_compose_file(), None);
        fs::write(d.path().join("docker-compose.yml"), "x").unwrap();
        assert_eq!(
            sandbox.find_default_compose_file(),
            Some(PathBuf::from("docker-compose.yml"))
        );
    }
}
