//! Service `volumes:`, `tmpfs:` and `volumes_from:` → `HostConfig.Binds`/`Mounts`/`Tmpfs`/
//! `VolumesFrom`. Pure. Tmpfs mounts of either syntax become `HostConfig.Tmpfs` entries.
//!
//! Binds whose host path may be created (compose's default, and the short syntax always) go
//! through `Binds`, which creates a missing host directory as the compose tools do; API 1.41's
//! `Mounts` cannot (`CreateMountpoint` came later) and is used for the rest.

use std::collections::HashMap;

use bollard::models::{
    Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountType, MountVolumeOptions,
};
use compose::{MountKind, Propagation, SelinuxRelabel, Service, VolumeMount, VolumesFromSource};

use super::names::PodNames;
use crate::client::DockerError;

/// The mount-related parts of a container's host config.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ServiceMounts {
    /// `HostConfig.Binds` (`src:dst[:opts]`).
    pub binds: Vec<String>,
    /// `HostConfig.Mounts`.
    pub mounts: Vec<Mount>,
    /// `HostConfig.Tmpfs` (path → options).
    pub tmpfs: HashMap<String, String>,
    /// `HostConfig.VolumesFrom` (`container[:ro]`).
    pub volumes_from: Vec<String>,
}

/// Maps every mount of `service`.
pub fn service_mounts(
    service_name: &str,
    service: &Service,
    names: &PodNames,
) -> Result<ServiceMounts, DockerError> {
    let mut out = ServiceMounts::default();
    for volume in &service.volumes {
        match volume.kind {
            MountKind::Bind if volume.bind.create_host_path || volume.bind.selinux.is_some() => {
                out.binds.push(bind_string(service_name, volume)?);
            }
            MountKind::Bind => out.mounts.push(bind_mount(service_name, volume)?),
            MountKind::Volume => out.mounts.push(volume_mount(service_name, volume, names)?),
            // As `HostConfig.Tmpfs`, not a tmpfs `Mount`: engine 20.10 refuses `volumes_from` of
            // a container with a tmpfs `Mount` ("get: no such volume").
            MountKind::Tmpfs => {
                out.tmpfs
                    .insert(volume.target.clone(), tmpfs_options(volume));
            }
        }
    }
    for tmpfs in &service.tmpfs {
        out.tmpfs.insert(
            tmpfs.target.clone(),
            tmpfs.options.clone().unwrap_or_default(),
        );
    }
    for from in &service.volumes_from {
        let container = match &from.source {
            VolumesFromSource::Service(other) => names.container(service_name, other)?,
            VolumesFromSource::Container(container) => container.clone(),
        };
        out.volumes_from.push(if from.read_only {
            format!("{container}:ro")
        } else {
            container
        });
    }
    Ok(out)
}

fn bind_source<'a>(service_name: &str, volume: &'a VolumeMount) -> Result<&'a str, DockerError> {
    volume
        .source
        .as_deref()
        .ok_or_else(|| DockerError::InvalidPlan {
            service: service_name.to_string(),
            message: format!("bind mount at {} has no source", volume.target),
        })
}

/// `src:dst[:ro][,z|Z][,propagation]`.
fn bind_string(service_name: &str, volume: &VolumeMount) -> Result<String, DockerError> {
    let source = bind_source(service_name, volume)?;
    let mut options = Vec::new();
    if volume.read_only {
        options.push("ro");
    }
    match volume.bind.selinux {
        Some(SelinuxRelabel::Shared) => options.push("z"),
        Some(SelinuxRelabel::Private) => options.push("Z"),
        None => {}
    }
    if let Some(propagation) = volume.bind.propagation {
        options.push(propagation.as_str());
    }
    let mut text = format!("{source}:{}", volume.target);
    if !options.is_empty() {
        text.push(':');
        text.push_str(&options.join(","));
    }
    Ok(text)
}

fn bind_mount(service_name: &str, volume: &VolumeMount) -> Result<Mount, DockerError> {
    Ok(Mount {
        typ: Some(MountType::BIND),
        source: Some(bind_source(service_name, volume)?.to_string()),
        target: Some(volume.target.clone()),
        read_only: volume.read_only.then_some(true),
        bind_options: volume.bind.propagation.map(|p| MountBindOptions {
            propagation: Some(propagation(p)),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn propagation(p: Propagation) -> MountBindOptionsPropagationEnum {
    match p {
        Propagation::Private => MountBindOptionsPropagationEnum::PRIVATE,
        Propagation::Rprivate => MountBindOptionsPropagationEnum::RPRIVATE,
        Propagation::Shared => MountBindOptionsPropagationEnum::SHARED,
        Propagation::Rshared => MountBindOptionsPropagationEnum::RSHARED,
        Propagation::Slave => MountBindOptionsPropagationEnum::SLAVE,
        Propagation::Rslave => MountBindOptionsPropagationEnum::RSLAVE,
    }
}

/// A named volume (by its engine name) or, without a source, an anonymous one.
fn volume_mount(
    service_name: &str,
    volume: &VolumeMount,
    names: &PodNames,
) -> Result<Mount, DockerError> {
    let source = match &volume.source {
        Some(key) => Some(names.volume(service_name, key)?),
        None => None,
    };
    Ok(Mount {
        typ: Some(MountType::VOLUME),
        source,
        target: Some(volume.target.clone()),
        read_only: volume.read_only.then_some(true),
        volume_options: volume.volume.nocopy.then(|| MountVolumeOptions {
            no_copy: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// `size=<bytes>,mode=<octal>[,ro]`, the option string of a tmpfs mount.
fn tmpfs_options(volume: &VolumeMount) -> String {
    let mut options = Vec::new();
    if let Some(size) = volume.tmpfs.size {
        options.push(format!("size={size}"));
    }
    if let Some(mode) = volume.tmpfs.mode {
        options.push(format!("mode={mode:o}"));
    }
    if volume.read_only {
        options.push("ro".to_string());
    }
    options.join(",")
}
