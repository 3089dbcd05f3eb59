//! Removing the cgroup directories Docker leaves behind for a pod's cgroup parent.
//!
//! With the cgroupfs driver Docker (runc) creates `<mount>/<parent>` on every mounted hierarchy
//! (each v1 controller, `name=systemd`, and the v2/unified mount) and removes only the
//! containers' own leaf directories. dce removes the rest, deepest first, under four rules:
//! - a directory is removed only when empty (the kernel refuses `rmdir` of a cgroup that has
//!   processes or children, so another pod sharing the parent keeps it alive);
//! - climbing stops at the first directory that is the current process's own cgroup or one of its
//!   ancestors on that hierarchy: those exist because something else (the Mesos containerizer
//!   for the executor's `/mesos/<id>`, systemd, the operator) made them, not because of dce;
//! - the top-level directory of a multi-level parent (`/mesos` of `/mesos/<id>`) is shared by
//!   every executor on the host and may be the Mesos agent's own root cgroup, so it is never
//!   removed; only a single-level parent (`/dce-<pod>`) is removed at the top level;
//! - systemd-driver parents (`*.slice`) are left to systemd.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tracing::{debug, info};

/// Which cgroup layout the host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CgroupVersion {
    /// Only v1 controller hierarchies.
    V1,
    /// Only the unified v2 hierarchy.
    V2,
    /// v1 controllers plus a v2 mount (systemd's "hybrid" layout, e.g. `/sys/fs/cgroup/unified`).
    Hybrid,
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mount_point: PathBuf,
    /// v1 controllers (and `name=` options) of the mount; empty for v2.
    pub controllers: Vec<String>,
}

impl Hierarchy {
    fn is_v2(&self) -> bool {
        self.controllers.is_empty()
    }
}

/// The cgroup hierarchies mounted on this host, from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hierarchies {
    pub hierarchies: Vec<Hierarchy>,
}

/// Mount options of a v1 cgroup mount that are not controllers.
const NOT_CONTROLLERS: [&str; 9] = [
    "rw",
    "ro",
    "relatime",
    "noexec",
    "nosuid",
    "nodev",
    "clone_children",
    "noprefix",
    "xattr",
];

impl Hierarchies {
    /// Reads `/proc/self/mountinfo`.
    pub fn detect() -> io::Result<Self> {
        Ok(Self::from_mountinfo(&std::fs::read_to_string(
            "/proc/self/mountinfo",
        )?))
    }

    /// Parses mountinfo text (`… <mount point> … - <fstype> <source> <super options>`).
    pub fn from_mountinfo(text: &str) -> Self {
        let hierarchies = text
            .lines()
            .filter_map(|line| {
                let (mount, fs) = line.split_once(" - ")?;
                let mount_point = mount.split_whitespace().nth(4)?;
                let mut fs_fields = fs.split_whitespace();
                let fs_type = fs_fields.next()?;
                let options = fs_fields.nth(1).unwrap_or("");
                let controllers = match fs_type {
                    "cgroup2" => Vec::new(),
                    "cgroup" => options
                        .split(',')
                        .filter(|o| {
                            !NOT_CONTROLLERS.contains(o) && !o.starts_with("release_agent=")
                        })
                        .map(str::to_string)
                        .collect(),
                    _ => return None,
                };
                Some(Hierarchy {
                    mount_point: PathBuf::from(unescape_mount_path(mount_point)),
                    controllers,
                })
            })
            .collect();
        Self { hierarchies }
    }

    /// The layout, `None` when no cgroup filesystem is mounted.
    pub fn version(&self) -> Option<CgroupVersion> {
        let v2 = self.hierarchies.iter().any(Hierarchy::is_v2);
        let v1 = self.hierarchies.iter().any(|h| !h.is_v2());
        match (v1, v2) {
            (true, true) => Some(CgroupVersion::Hybrid),
            (true, false) => Some(CgroupVersion::V1),
            (false, true) => Some(CgroupVersion::V2),
            (false, false) => None,
        }
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape_mount_path(path: &str) -> String {
    path.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Cgroup directories that must never be removed: a process's own cgroups and their ancestors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedCgroups {
    dirs: HashSet<PathBuf>,
}

impl ProtectedCgroups {
    /// The current process's cgroups (`/proc/self/cgroup`) on `hierarchies`.
    pub fn of_current_process(hierarchies: &Hierarchies) -> io::Result<Self> {
        Ok(Self::from_proc_cgroup(
            hierarchies,
            &std::fs::read_to_string("/proc/self/cgroup")?,
        ))
    }

    /// Parses `/proc/<pid>/cgroup` lines (`<id>:<controllers>:<path>`; v2 is `0::<path>`).
    pub fn from_proc_cgroup(hierarchies: &Hierarchies, text: &str) -> Self {
        let mut dirs = HashSet::new();
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(_), Some(controllers), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let wanted: Vec<&str> = controllers.split(',').filter(|c| !c.is_empty()).collect();
            let hierarchy = hierarchies.hierarchies.iter().find(|h| {
                if wanted.is_empty() {
                    h.is_v2()
                } else {
                    wanted
                        .iter()
                        .all(|c| h.controllers.iter().any(|hc| hc == c))
                }
            });
            let Some(hierarchy) = hierarchy else { continue };
            let mut dir = hierarchy.mount_point.clone();
            dirs.insert(dir.clone());
            for component in path.split('/').filter(|c| !c.is_empty()) {
                dir.push(component);
                dirs.insert(dir.clone());
            }
        }
        Self { dirs }
    }

    fn contains(&self, dir: &Path) -> bool {
        self.dirs.contains(dir)
    }
}

/// What the cleanup of a cgroup parent did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CgroupRemoval {
    /// Directories removed, deepest first per hierarchy.
    pub removed: Vec<PathBuf>,
    /// Directories kept because they still hold processes or children.
    pub in_use: Vec<PathBuf>,
    /// Directories kept because they are (ancestors of) the current process's cgroup.
    pub protected: Vec<PathBuf>,
    /// Failures other than "in use", as text.
    pub errors: Vec<String>,
}

/// Removes the directories of `parent` (a Docker `CgroupParent` such as `/mesos/<id>`) on every
/// hierarchy, deepest first, under the rules of this module. Idempotent: missing directories
/// are skipped.
pub fn remove_parent_dirs(
    hierarchies: &Hierarchies,
    parent: &str,
    protected: &ProtectedCgroups,
) -> CgroupRemoval {
    let mut removal = CgroupRemoval::default();
    let Some(components) = parent_components(parent) else {
        debug!(parent, "cgroup parent is not a cgroupfs path dce cleans up");
        return removal;
    };
    for hierarchy in &hierarchies.hierarchies {
        remove_on_hierarchy(&hierarchy.mount_point, &components, protected, &mut removal);
    }
    if !removal.removed.is_empty() {
        info!(
            parent,
            removed = removal.removed.len(),
            "removed cgroup directories"
        );
    }
    removal
}

/// The path components of a cgroupfs parent; `None` for systemd slices, empty or unsafe paths.
fn parent_components(parent: &str) -> Option<Vec<&str>> {
    if parent.ends_with(".slice") {
        return None;
    }
    let components: Vec<&str> = parent.split('/').filter(|c| !c.is_empty()).collect();
    if components.is_empty() || components.iter().any(|c| *c == "." || *c == "..") {
        return None;
    }
    Some(components)
}

fn remove_on_hierarchy(
    mount_point: &Path,
    components: &[&str],
    protected: &ProtectedCgroups,
    removal: &mut CgroupRemoval,
) {
    let shallowest = if components.len() == 1 { 1 } else { 2 };
    for depth in (shallowest..=components.len()).rev() {
        let dir = components[..depth]
            .iter()
            .fold(mount_point.to_path_buf(), |dir, c| dir.join(c));
        if protected.contains(&dir) {
            removal.protected.push(dir);
            return;
        }
        match std::fs::remove_dir(&dir) {
            Ok(()) => removal.removed.push(dir),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) if is_in_use(&error) => {
                removal.in_use.push(dir);
                return;
            }
            Err(error) => {
                removal
                    .errors
                    .push(format!("rmdir {}: {error}", dir.display()));
                return;
            }
        }
    }
}

fn is_in_use(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(code) if code == rustix::io::Errno::BUSY.raw_os_error()
            || code == rustix::io::Errno::NOTEMPTY.raw_os_error()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd,release_agent=/x
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_v1_controllers_and_the_v2_mount() {
        let h = Hierarchies::from_mountinfo(HYBRID);
        assert_eq!(h.hierarchies.len(), 4);
        assert_eq!(h.hierarchies[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(h.hierarchies[2].controllers, vec!["name=systemd"]);
        assert!(h.hierarchies[3].is_v2());
        assert_eq!(h.version(), Some(CgroupVersion::Hybrid));
        let v2 = Hierarchies::from_mountinfo("1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw");
        assert_eq!(v2.version(), Some(CgroupVersion::V2));
        assert_eq!(Hierarchies::from_mountinfo("").version(), None);
    }

    #[test]
    fn own_cgroup_and_ancestors_are_protected() {
        let h = Hierarchies::from_mountinfo(HYBRID);
        let protected = ProtectedCgroups::from_proc_cgroup(
            &h,
            "4:memory:/mesos/abc\n2:cpu,cpuacct:/\n9:name=systemd:/\n0::/\n",
        );
        assert!(protected.contains(Path::new("/sys/fs/cgroup/memory/mesos/abc")));
        assert!(protected.contains(Path::new("/sys/fs/cgroup/memory/mesos")));
        assert!(protected.contains(Path::new("/sys/fs/cgroup/memory")));
        assert!(!protected.contains(Path::new("/sys/fs/cgroup/cpu,cpuacct/mesos")));
        assert!(protected.contains(Path::new("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn slices_and_unsafe_parents_are_not_cleaned() {
        assert_eq!(parent_components("/mesos/abc"), Some(vec!["mesos", "abc"]));
        assert_eq!(parent_components("machine.slice"), None);
        assert_eq!(parent_components("/a/../b"), None);
        assert_eq!(parent_components("/"), None);
    }

    #[test]
    fn removes_empty_dirs_deepest_first_and_stops_at_protected_or_busy() {
        let root = tempfile::tempdir().unwrap();
        let mount = root.path().join("memory");
        std::fs::create_dir_all(mount.join("mesos/abc/pod")).unwrap();
        let h = Hierarchies {
            hierarchies: vec![Hierarchy {
                mount_point: mount.clone(),
                controllers: vec!["memory".into()],
            }],
        };
        let protected = ProtectedCgroups::from_proc_cgroup(
            &Hierarchies {
                hierarchies: h.hierarchies.clone(),
            },
            "4:memory:/mesos/abc\n",
        );
        let removal = remove_parent_dirs(&h, "/mesos/abc/pod", &protected);
        assert_eq!(removal.removed, vec![mount.join("mesos/abc/pod")]);
        assert_eq!(removal.protected, vec![mount.join("mesos/abc")]);
        assert!(mount.join("mesos/abc").exists());

        // A non-empty directory (plain fs: ENOTEMPTY, cgroupfs: EBUSY) is in use and stops the climb.
        std::fs::create_dir_all(mount.join("other/busy/child")).unwrap();
        let removal = remove_parent_dirs(&h, "/other/busy", &ProtectedCgroups::default());
        assert_eq!(removal.in_use, vec![mount.join("other/busy")]);
        assert!(removal.removed.is_empty());

        // The shared top level of a multi-level parent stays.
        std::fs::create_dir_all(mount.join("shared/pod")).unwrap();
        let removal = remove_parent_dirs(&h, "/shared/pod", &ProtectedCgroups::default());
        assert_eq!(removal.removed, vec![mount.join("shared/pod")]);
        assert!(mount.join("shared").exists());
        std::fs::create_dir_all(mount.join("single")).unwrap();
        let removal = remove_parent_dirs(&h, "/single", &ProtectedCgroups::default());
        assert_eq!(removal.removed, vec![mount.join("single")]);

        // Missing directories are fine (idempotent).
        let removal = remove_parent_dirs(&h, "/mesos/abc/pod", &protected);
        assert!(removal.removed.is_empty() && removal.errors.is_empty());
    }
}
