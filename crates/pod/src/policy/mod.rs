//! The admission policy (SPEC §10): what a task's compose files may ask of the host.
//!
//! `baseline` follows the spirit of Kubernetes' Pod Security baseline: no privilege escalation
//! and no access to the host beyond the task's sandbox. Every violation is collected, so one
//! failed launch tells the user everything to fix.

use std::path::{Component, Path, PathBuf};

use compose::{MountKind, NetworkMode, Project, Service, VolumesFromSource};
use serde::Serialize;

use crate::config::{AdmissionConfig, AdmissionMode};
use crate::error::PodError;

/// Capabilities Docker grants by default (moby `oci/caps/defaults.go`); adding others is denied.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// Host paths of container-engine sockets; mounting them (or a directory above them) hands the
/// container the engine, i.e. root on the host.
pub const ENGINE_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
];

/// One denied setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyViolation {
    /// Service name, or `volumes.<name>` for a top-level volume.
    pub service: String,
    /// The compose key.
    pub key: String,
    /// The offending value.
    pub value: String,
    /// Why it is denied.
    pub reason: String,
}

impl std::fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service `{}` {}: {} ({})",
            self.service, self.key, self.value, self.reason
        )
    }
}

impl PolicyViolation {
    /// All violations in one line, `; `-separated.
    pub fn join(violations: &[PolicyViolation]) -> String {
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Checks `project` against the admission policy; `sandbox` is the task's sandbox directory.
pub fn admit(project: &Project, policy: &AdmissionConfig, sandbox: &Path) -> Result<(), PodError> {
    if policy.mode == AdmissionMode::Privileged {
        return Ok(());
    }
    let mut found = Vec::new();
    for (name, service) in &project.services {
        check_service(name, service, policy, sandbox, &mut found);
    }
    for (name, volume) in &project.volumes {
        check_volume_driver(name, volume, policy, sandbox, &mut found);
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(PodError::Denied {
            policy: policy.mode.name().to_string(),
            violations: found,
        })
    }
}

fn check_service(
    name: &str,
    service: &Service,
    policy: &AdmissionConfig,
    sandbox: &Path,
    found: &mut Vec<PolicyViolation>,
) {
    let mut deny = |key: &str, value: String, reason: &str| {
        found.push(PolicyViolation {
            service: name.to_string(),
            key: key.to_string(),
            value,
            reason: reason.to_string(),
        })
    };
    if service.privileged == Some(true) {
        deny(
            "privileged",
            "true".into(),
            "privileged containers are not allowed",
        );
    }
    for (key, value) in [("pid", &service.pid), ("ipc", &service.ipc)] {
        match value.as_deref() {
            Some("host") => deny(key, "host".into(), "the host's namespace is not allowed"),
            Some(v) if v.starts_with("container:") => deny(
                key,
                v.to_string(),
                "joining a container outside the pod is not allowed",
            ),
            _ => {}
        }
    }
    match &service.network_mode {
        Some(NetworkMode::Host) if !policy.allow_host_network => deny(
            "network_mode",
            "host".into(),
            "the host's network is not allowed (policy.allowhostnetwork)",
        ),
        Some(NetworkMode::Container(c)) => deny(
            "network_mode",
            format!("container:{c}"),
            "joining a container outside the pod is not allowed",
        ),
        _ => {}
    }
    for cap in &service.cap_add {
        let bare = cap.to_ascii_uppercase();
        let bare = bare.strip_prefix("CAP_").unwrap_or(&bare);
        if !DEFAULT_CAPABILITIES.contains(&bare) {
            deny(
                "cap_add",
                cap.clone(),
                "not in Docker's default capability set",
            );
        }
    }
    for device in &service.devices {
        deny(
            "devices",
            device.source.clone(),
            "host devices are not allowed",
        );
    }
    for option in &service.security_opt {
        let normalized = option.replace('=', ":").to_ascii_lowercase();
        if ["seccomp:unconfined", "apparmor:unconfined", "label:disable"]
            .contains(&normalized.as_str())
        {
            deny(
                "security_opt",
                option.clone(),
                "disabling a security profile is not allowed",
            );
        }
    }
    for from in &service.volumes_from {
        if let VolumesFromSource::Container(c) = &from.source {
            deny(
                "volumes_from",
                format!("container:{c}"),
                "volumes of a container outside the pod are not allowed",
            );
        }
    }
    for mount in service.volumes.iter().filter(|m| m.kind == MountKind::Bind) {
        let Some(source) = mount.source.as_deref() else {
            continue;
        };
        if let Some(reason) = bind_denial(Path::new(source), policy, sandbox) {
            deny("volumes", source.to_string(), reason);
        }
    }
}

/// `local` volumes with `o: bind` and a `device` are bind mounts in disguise.
fn check_volume_driver(
    name: &str,
    volume: &compose::Volume,
    policy: &AdmissionConfig,
    sandbox: &Path,
    found: &mut Vec<PolicyViolation>,
) {
    let is_bind = volume
        .driver_opts
        .get("o")
        .is_some_and(|o| o.split(',').any(|opt| opt.trim() == "bind"));
    let Some(device) = volume.driver_opts.get("device") else {
        return;
    };
    if !is_bind {
        return;
    }
    if let Some(reason) = bind_denial(Path::new(device), policy, sandbox) {
        found.push(PolicyViolation {
            service: format!("volumes.{name}"),
            key: "driver_opts.device".to_string(),
            value: device.clone(),
            reason: reason.to_string(),
        });
    }
}

fn bind_denial(source: &Path, policy: &AdmissionConfig, sandbox: &Path) -> Option<&'static str> {
    let source = resolve(source);
    if ENGINE_SOCKETS
        .iter()
        .any(|socket| Path::new(socket).starts_with(&source))
    {
        return Some("mounting the container engine's socket is not allowed");
    }
    let allowed = source.starts_with(resolve(sandbox))
        || policy
            .bind_mount_allow_list
            .iter()
            .any(|dir| source.starts_with(resolve(dir)));
    (!allowed).then_some(
        "bind mounts outside the sandbox are allowed only under policy.bindmountallowlist",
    )
}

/// Where `path` really points: `.`/`..` resolved, then symlinks in its longest existing prefix
/// (Docker follows them when it mounts), the missing rest appended as written.
fn resolve(path: &Path) -> PathBuf {
    let normalized = normalize(path);
    let mut existing = normalized.as_path();
    let mut missing = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return missing.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => return normalized,
        }
    }
}

/// Lexical normalization (`.` and `..` resolved, no file system access).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
