//! The typed, normalized compose project that the rest of dce works on.
//!
//! Every syntax variant compose allows (list or map environment, short or long ports and
//! volumes, string or list `dns`, …) is reduced to one canonical form here, so consumers
//! (`pod`, `docker`) never look at raw YAML. Only service-level and top-level `x-*`
//! extensions stay raw, because their meaning belongs to whoever reads them.

mod command;
mod deps;
mod health;
mod mounts;
mod network;
mod ports;
mod resources;
mod service;
mod top_level;

pub use command::Command;
pub use deps::{DependencyCondition, DependsOn, PullPolicy, RestartPolicy};
pub use health::{HealthTest, Healthcheck};
pub use mounts::{
    BindOptions, DeviceMapping, MountKind, Propagation, SelinuxRelabel, TmpfsMount, TmpfsOptions,
    VolumeMount, VolumeOptions, VolumesFrom, VolumesFromSource,
};
pub use network::{ExtraHost, NetworkMode, ServiceNetwork};
pub use ports::{ExposedPort, PortRange, PortSpec, Protocol};
pub use resources::{Deploy, Logging, ResourceLimits, ResourceReservations, Resources, Ulimit};
pub use service::Service;
pub use top_level::{Ipam, IpamPool, Network, Project, Volume};
