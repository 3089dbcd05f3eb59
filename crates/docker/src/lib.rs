//! Runs a `pod::PodPlan` on the Docker Engine API: images, networks, volumes, containers, the
//! events stream, stop and removal, and reaping of pods whose executor is gone.

pub mod cgroup;
pub mod client;
pub mod create;
pub mod events;
pub mod images;
pub mod images_auth;
pub mod infra_image;
pub mod labels;
pub mod reap;
pub mod remove;
pub mod running;
pub mod stop;
pub mod watch;

pub use client::{connect, DockerError, EngineEndpoint};
pub use create::{create_pod, CreateOptions, CreateTimings, CreatedPod, ServiceTiming};
pub use events::{HealthStatus, PodEvent};
pub use reap::{reap, ReapOptions, ReapReport};
pub use remove::{remove_by_labels, remove_pod, PodSelector, RemovalReport, RemoveOptions};
pub use running::{ContainerRole, PodContainer, PodVolume, RunningPod};
pub use stop::{stop_pod, ContainerStop, StopOutcome};
pub use watch::PodWatcher;
