use serde::Serialize;

/// One `volumes:` entry of a service, from short (`src:dst:ro,z`) or long syntax.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeMount {
    /// Bind, named/anonymous volume, or tmpfs.
    pub kind: MountKind,
    /// Bind: absolute host path (relative sources are resolved against the first compose
    /// file's directory at load). Volume: the key in [`crate::Project::volumes`]; `None` for an
    /// anonymous volume. Tmpfs: always `None`.
    pub source: Option<String>,
    /// Absolute path inside the container; the merge key across files.
    pub target: String,
    /// Mounted read-only (`ro` / `read_only: true`).
    pub read_only: bool,
    /// macOS-only consistency hint (`cached`, `delegated`, `consistent`); no effect on Linux.
    pub consistency: Option<String>,
    /// Options of a bind mount (default for other kinds).
    pub bind: BindOptions,
    /// Options of a volume mount (default for other kinds).
    pub volume: VolumeOptions,
    /// Options of a tmpfs mount (default for other kinds).
    pub tmpfs: TmpfsOptions,
}

/// The kind of a [`VolumeMount`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A named or anonymous Docker volume.
    Volume,
    /// A memory-backed filesystem.
    Tmpfs,
}

/// `bind:` options of a mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindOptions {
    /// Mount propagation (`rprivate` is Docker's default).
    pub propagation: Option<Propagation>,
    /// Create the host path when missing (compose default `true`; short syntax always creates).
    pub create_host_path: bool,
    /// SELinux relabelling (`z` shared, `Z` private).
    pub selinux: Option<SelinuxRelabel>,
}

impl Default for BindOptions {
    fn default() -> Self {
        BindOptions {
            propagation: None,
            create_host_path: true,
            selinux: None,
        }
    }
}

/// Bind mount propagation modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Propagation {
    /// `private`.
    Private,
    /// `rprivate`.
    Rprivate,
    /// `shared`.
    Shared,
    /// `rshared`.
    Rshared,
    /// `slave`.
    Slave,
    /// `rslave`.
    Rslave,
}

impl Propagation {
    /// The compose/Docker spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Private => "private",
            Propagation::Rprivate => "rprivate",
            Propagation::Shared => "shared",
            Propagation::Rshared => "rshared",
            Propagation::Slave => "slave",
            Propagation::Rslave => "rslave",
        }
    }

    /// Parses the compose/Docker spelling.
    pub fn parse(s: &str) -> Option<Propagation> {
        Some(match s {
            "private" => Propagation::Private,
            "rprivate" => Propagation::Rprivate,
            "shared" => Propagation::Shared,
            "rshared" => Propagation::Rshared,
            "slave" => Propagation::Slave,
            "rslave" => Propagation::Rslave,
            _ => return None,
        })
    }
}

/// SELinux relabelling of a bind mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SelinuxRelabel {
    /// `z`: content shared among containers.
    Shared,
    /// `Z`: content private to this container.
    Private,
}

/// `volume:` options of a mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VolumeOptions {
    /// Do not copy the image's data into a new volume (`nocopy`).
    pub nocopy: bool,
}

/// `tmpfs:` options of a mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TmpfsOptions {
    /// Size limit in bytes.
    pub size: Option<u64>,
    /// File mode of the mount point (octal in compose files).
    pub mode: Option<u32>,
}

/// One service-level `tmpfs:` entry (`/run` or `/run:size=64m,mode=1777`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TmpfsMount {
    /// Path inside the container.
    pub target: String,
    /// Mount options as Docker takes them (`HostConfig.Tmpfs` value), if any.
    pub options: Option<String>,
}

/// One `volumes_from:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumesFrom {
    /// Where the volumes come from.
    pub source: VolumesFromSource,
    /// `:ro` suffix.
    pub read_only: bool,
}

/// The source of a [`VolumesFrom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum VolumesFromSource {
    /// Another service of the project (`name`).
    Service(String),
    /// A container outside the project (`container:name`).
    Container(String),
}

/// One `devices:` entry (`/dev/a[:/dev/b[:rwm]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceMapping {
    /// Device path on the host.
    pub source: String,
    /// Device path in the container (same as `source` when not given); the merge key.
    pub target: String,
    /// cgroup permissions (`rwm` when not given).
    pub permissions: Option<String>,
}
