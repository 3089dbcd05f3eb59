//! Per-container cgroups as the Mesos cgroups isolator (cgroup v1) creates them.
//!
//! Mesos' Linux launcher puts an executor in `<hierarchy>/<controller>/<root>/<container-id>` for
//! `freezer` and for every controller of an enabled `cgroups/*` isolator (ref §1.1). dce discovers
//! its cgroup from `/proc/self/cgroup` and parents its pod there, so the stand-in must reproduce
//! that placement for the executor tests to mean anything.

use std::fs::File;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::AgentError;

/// Where and for which controllers the executor's cgroups are created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPlacement {
    /// Mount point of the cgroup v1 hierarchies (Mesos `--cgroups_hierarchy`).
    pub hierarchy: PathBuf,
    /// Path below each controller (Mesos `--cgroups_root`).
    pub root: String,
    /// Controllers to create the container's cgroup in; missing mounts are skipped.
    pub controllers: Vec<String>,
}

impl Default for CgroupPlacement {
    /// Mesos' defaults with the Linux launcher (`freezer`) plus `cgroups/cpu` and `cgroups/mem`.
    fn default() -> Self {
        CgroupPlacement {
            hierarchy: PathBuf::from("/sys/fs/cgroup"),
            root: "mesos".to_string(),
            controllers: ["freezer", "cpu", "cpuacct", "memory"]
                .iter()
                .map(|c| c.to_string())
                .collect(),
        }
    }
}

/// The cgroups of one container: created before the executor starts, removed when it is gone.
#[derive(Debug)]
pub(crate) struct ContainerCgroup {
    dirs: Vec<PathBuf>,
    placement: CgroupPlacement,
}

impl ContainerCgroup {
    /// Creates `<hierarchy>/<controller>/<root>/<container_id>` for every mounted controller.
    pub(crate) fn create(
        placement: &CgroupPlacement,
        container_id: &str,
    ) -> Result<ContainerCgroup, AgentError> {
        let mut cgroup = ContainerCgroup {
            dirs: Vec::new(),
            placement: placement.clone(),
        };
        for controller in &placement.controllers {
            let mount = placement.hierarchy.join(controller);
            if !mount.join("cgroup.procs").exists() {
                tracing::debug!(controller = %controller, "cgroup controller not mounted, skipped");
                continue;
            }
            let dir = mount.join(&placement.root).join(container_id);
            create_dir_retrying(&dir).map_err(|source| AgentError::Cgroup {
                path: dir.clone(),
                source,
            })?;
            cgroup.dirs.push(dir);
        }
        Ok(cgroup)
    }

    /// The cgroup directories, one per controller.
    pub(crate) fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Opens every `cgroup.procs` for writing; the files are written from the child before exec.
    pub(crate) fn open_procs_files(&self) -> Result<Vec<File>, AgentError> {
        self.dirs
            .iter()
            .map(|dir| {
                let path = dir.join("cgroup.procs");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|source| AgentError::Cgroup { path, source })
            })
            .collect()
    }

    /// SIGKILLs every process still in the container (like Mesos' freezer-based destroy) and
    /// removes the directories, waiting a bounded time for the kernel to empty them.
    pub(crate) fn destroy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        for dir in std::mem::take(&mut self.dirs) {
            loop {
                kill_members(&dir);
                match std::fs::remove_dir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if Instant::now() >= deadline => {
                        tracing::warn!(path = %dir.display(), error = %e, "cannot remove cgroup");
                        break;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        self.remove_empty_roots();
    }

    /// Removes `<root>` from every hierarchy where it is empty (removal fails harmlessly while
    /// other containers live there). Every hierarchy, not only ours: Docker mirrors a cgroup
    /// parent such as `/mesos/<id>` onto all of them, and the root may have been created by
    /// another stand-in, so no empty root of the stand-in's name is left behind.
    fn remove_empty_roots(&self) {
        let Ok(hierarchies) = std::fs::read_dir(&self.placement.hierarchy) else {
            return;
        };
        for hierarchy in hierarchies.flatten() {
            let _ = std::fs::remove_dir(hierarchy.path().join(&self.placement.root));
        }
    }
}

impl Drop for ContainerCgroup {
    fn drop(&mut self) {
        self.destroy();
    }
}

/// Writes `0` (= the calling process) to an opened `cgroup.procs`. Runs in the forked child
/// before exec, so it must only make async-signal-safe calls: no allocation, just write(2).
pub(crate) fn join_from_child(procs_file: BorrowedFd<'_>) -> std::io::Result<()> {
    rustix::io::write(procs_file, b"0").map_err(std::io::Error::from)?;
    Ok(())
}

fn kill_members(dir: &Path) {
    let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) else {
        return;
    };
    for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

/// `create_dir_all` that survives a concurrent removal of the (shared) root by another agent.
fn create_dir_retrying(dir: &Path) -> std::io::Result<()> {
    let mut attempts = 0;
    loop {
        match std::fs::create_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 5 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}
