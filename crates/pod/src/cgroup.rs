//! Where the executor lives in the cgroup tree and whether pod containers can be put under it
//! (SPEC §3.6).
//!
//! Mesos puts a custom executor in `/mesos/<container-id>` (cgroup v1, every controller it
//! isolates plus `freezer`) or `/mesos/<container-id>/leaf` (cgroup v2, processes live in the
//! `leaf` child). Giving Docker that path as `--cgroup-parent` makes the task's CPU and memory
//! limits bind the whole pod.

use serde::{Deserialize, Serialize};

use crate::config::CgroupParentPolicy;
use crate::error::PodError;

/// Which cgroup hierarchy `/proc/self/cgroup` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupVersion {
    /// Per-controller hierarchies (possibly with a unified `0::` line as well: hybrid).
    V1,
    /// The unified hierarchy only.
    V2,
}

/// The executor's cgroup as read from `/proc/self/cgroup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorCgroup {
    /// Hierarchy layout of the host.
    pub version: CgroupVersion,
    /// Path of the executor's cgroup relative to the hierarchy root, e.g. `/mesos/<cid>`
    /// (the v2 `leaf` child already stripped: containers go next to it, not inside it).
    pub path: String,
}

/// The cgroup driver of the Docker engine (`docker info` → `CgroupDriver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupDriver {
    /// Paths such as `/mesos/<cid>` are accepted as cgroup parents.
    Cgroupfs,
    /// Only systemd slice names are accepted as cgroup parents.
    Systemd,
}

impl CgroupDriver {
    /// Parses Docker's driver name (`cgroupfs`, `systemd`).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "cgroupfs" => Some(CgroupDriver::Cgroupfs),
            "systemd" => Some(CgroupDriver::Systemd),
            _ => None,
        }
    }
}

/// The outcome of the cgroup-parent decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupParentDecision {
    /// Give every container this cgroup parent.
    Use(String),
    /// No cgroup parent; the reason is logged and shown by `dce render`.
    NotUsed(String),
}

/// Parses the text of `/proc/<pid>/cgroup` (v1, v2 or hybrid).
///
/// v1: the `freezer` line wins (the Mesos Linux launcher always uses it), then `memory`, then
/// `cpu`, then any other controller line; a hybrid host's `0::` line is used only when no
/// controller line exists. Returns `None` when the text has no usable line.
pub fn parse_proc_cgroup(text: &str) -> Option<ExecutorCgroup> {
    let mut unified = None;
    let mut controllers: Vec<(Vec<&str>, &str)> = Vec::new();
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_id), Some(names), Some(path)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if names.is_empty() {
            unified = Some(path);
        } else {
            let names: Vec<&str> = names
                .split(',')
                .filter(|n| !n.starts_with("name="))
                .collect();
            if !names.is_empty() {
                controllers.push((names, path));
            }
        }
    }
    let preferred = ["freezer", "memory", "cpu"];
    let v1 = preferred
        .iter()
        .find_map(|want| {
            controllers
                .iter()
                .find(|(names, _)| names.contains(want))
                .map(|(_, path)| *path)
        })
        .or_else(|| controllers.first().map(|(_, path)| *path));
    match (v1, unified) {
        (Some(path), _) => Some(ExecutorCgroup {
            version: CgroupVersion::V1,
            path: path.to_string(),
        }),
        (None, Some(path)) => Some(ExecutorCgroup {
            version: CgroupVersion::V2,
            path: path.strip_suffix("/leaf").unwrap_or(path).to_string(),
        }),
        (None, None) => None,
    }
}

/// Decides the cgroup parent of the pod's containers.
///
/// The executor's cgroup is usable when Docker uses the cgroupfs driver and the cgroup is
/// dedicated to this executor: its last path element is the Mesos ContainerID.
pub fn decide_cgroup_parent(
    policy: CgroupParentPolicy,
    cgroup: Option<&ExecutorCgroup>,
    driver: Option<CgroupDriver>,
    container_id: &str,
) -> Result<CgroupParentDecision, PodError> {
    let unusable = match (policy, usable_parent(cgroup, driver, container_id)) {
        (CgroupParentPolicy::Off, _) => {
            return Ok(CgroupParentDecision::NotUsed(
                "cgroup.parent is `off` in the config".to_string(),
            ))
        }
        (_, Ok(path)) => return Ok(CgroupParentDecision::Use(path)),
        (policy, Err(reason)) => (policy, reason),
    };
    match unusable {
        (CgroupParentPolicy::Required, reason) => Err(PodError::CgroupParentUnavailable { reason }),
        (_, reason) => {
            tracing::info!(%reason, "containers are not put under the executor's cgroup");
            Ok(CgroupParentDecision::NotUsed(reason))
        }
    }
}

fn usable_parent(
    cgroup: Option<&ExecutorCgroup>,
    driver: Option<CgroupDriver>,
    container_id: &str,
) -> Result<String, String> {
    let cgroup = cgroup.ok_or("the executor's cgroup could not be read from /proc/self/cgroup")?;
    let last = cgroup.path.rsplit('/').next().unwrap_or_default();
    if container_id.is_empty() || last != container_id {
        return Err(format!(
            "the executor's cgroup `{}` is not dedicated to its Mesos container `{container_id}`",
            cgroup.path
        ));
    }
    match driver {
        Some(CgroupDriver::Cgroupfs) => {}
        Some(CgroupDriver::Systemd) => {
            return Err("Docker uses the systemd cgroup driver, which accepts only slice names, not the executor's cgroup path".to_string())
        }
        None => return Err("the Docker cgroup driver is unknown".to_string()),
    }
    Ok(cgroup.path.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: &str = "9dfb4f24-cdd9-42c1-8324-c0bb3fc470d6";

    #[test]
    fn v1_under_mesos_prefers_freezer() {
        let text = format!(
            "12:memory:/mesos/{CID}\n11:freezer:/mesos/{CID}\n3:cpu,cpuacct:/\n1:name=systemd:/mesos_executors.slice\n0::/\n"
        );
        let cgroup = parse_proc_cgroup(&text).unwrap();
        assert_eq!(cgroup.version, CgroupVersion::V1);
        assert_eq!(cgroup.path, format!("/mesos/{CID}"));
    }

    #[test]
    fn v1_without_freezer_uses_memory_then_cpu() {
        let text = "4:cpu,cpuacct:/a\n5:memory:/b\n";
        assert_eq!(parse_proc_cgroup(text).unwrap().path, "/b");
        assert_eq!(parse_proc_cgroup("4:cpu,cpuacct:/a\n").unwrap().path, "/a");
    }

    #[test]
    fn v2_strips_the_leaf() {
        let cgroup = parse_proc_cgroup(&format!("0::/mesos/{CID}/leaf\n")).unwrap();
        assert_eq!(cgroup.version, CgroupVersion::V2);
        assert_eq!(cgroup.path, format!("/mesos/{CID}"));
        assert_eq!(
            parse_proc_cgroup("0::/user.slice\n").unwrap().path,
            "/user.slice"
        );
    }

    #[test]
    fn garbage_gives_none() {
        assert_eq!(parse_proc_cgroup(""), None);
        assert_eq!(parse_proc_cgroup("nonsense\n"), None);
    }

    fn mesos(version: CgroupVersion) -> ExecutorCgroup {
        ExecutorCgroup {
            version,
            path: format!("/mesos/{CID}"),
        }
    }

    #[test]
    fn used_under_mesos_with_cgroupfs() {
        for version in [CgroupVersion::V1, CgroupVersion::V2] {
            let decision = decide_cgroup_parent(
                CgroupParentPolicy::Auto,
                Some(&mesos(version)),
                Some(CgroupDriver::Cgroupfs),
                CID,
            );
            assert_eq!(
                decision.unwrap(),
                CgroupParentDecision::Use(format!("/mesos/{CID}"))
            );
        }
    }

    #[test]
    fn not_used_with_systemd_driver_or_shared_cgroup() {
        let decision = decide_cgroup_parent(
            CgroupParentPolicy::Auto,
            Some(&mesos(CgroupVersion::V1)),
            Some(CgroupDriver::Systemd),
            CID,
        )
        .unwrap();
        let CgroupParentDecision::NotUsed(reason) = decision else {
            panic!("used")
        };
        assert!(reason.contains("systemd cgroup driver"));
        let docker = ExecutorCgroup {
            version: CgroupVersion::V1,
            path: "/docker/abc".into(),
        };
        let decision = decide_cgroup_parent(
            CgroupParentPolicy::Auto,
            Some(&docker),
            Some(CgroupDriver::Cgroupfs),
            CID,
        )
        .unwrap();
        assert!(
            matches!(decision, CgroupParentDecision::NotUsed(r) if r.contains("not dedicated"))
        );
    }

    #[test]
    fn off_and_required() {
        let decision = decide_cgroup_parent(
            CgroupParentPolicy::Off,
            Some(&mesos(CgroupVersion::V1)),
            Some(CgroupDriver::Cgroupfs),
            CID,
        )
        .unwrap();
        assert!(matches!(decision, CgroupParentDecision::NotUsed(_)));
        let err = decide_cgroup_parent(
            CgroupParentPolicy::Required,
            None,
            Some(CgroupDriver::Cgroupfs),
            CID,
        )
        .unwrap_err();
        assert!(err.to_string().contains("could not be read"), "{err}");
    }
}
