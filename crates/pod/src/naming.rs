//! Names of the pod's project, containers, networks and volumes.
//!
//! The project name comes from the Mesos task id so that two pods on one host never collide,
//! even for the same compose files.

use sha2::{Digest, Sha256};

/// Prefix of every project dce creates (`dce reap` and operators recognise pods by it).
pub const PROJECT_PREFIX: &str = "dce-";

/// Longest project name: one DNS label.
pub const MAX_PROJECT_NAME: usize = 63;

/// Hex digits of the task-id hash appended to names that had to be changed.
const HASH_LEN: usize = 8;

/// `dce-<task id>` when the task id is already a valid name part (`[a-z0-9-]`, short enough);
/// otherwise `dce-<sanitized, truncated>_<hash>`.
///
/// The result always matches compose's `^[a-z0-9][a-z0-9_-]*$`. It is injective in practice:
/// unchanged ids never contain `_`, changed ones always end in `_` plus a hash of the whole id.
pub fn project_name(task_id: &str) -> String {
    let plain = !task_id.is_empty()
        && task_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && PROJECT_PREFIX.len() + task_id.len() <= MAX_PROJECT_NAME;
    if plain {
        return format!("{PROJECT_PREFIX}{task_id}");
    }
    let sanitized: String = task_id
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let room = MAX_PROJECT_NAME - PROJECT_PREFIX.len() - 1 - HASH_LEN;
    let stem: String = sanitized.chars().take(room).collect();
    let digest = Sha256::digest(task_id.as_bytes());
    let hash: String = digest
        .iter()
        .take(HASH_LEN / 2)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{PROJECT_PREFIX}{stem}_{hash}")
}

/// Container name of a service: `<project>-<container_name>` when the file names it, else
/// `<project>-<service>-1`.
pub fn container_name(project: &str, service: &str, container_name: Option<&str>) -> String {
    match container_name {
        Some(name) => format!("{project}-{name}"),
        None => format!("{project}-{service}-1"),
    }
}

/// Name of the infra container: `<project>-infra`.
pub fn infra_container_name(project: &str) -> String {
    format!("{project}-infra")
}

/// Engine name of a network or volume the pod creates: `<project>_<key>`, compose's scheme.
pub fn resource_name(project: &str, key: &str) -> String {
    format!("{project}_{key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn valid(name: &str) -> bool {
        let bytes = name.as_bytes();
        !bytes.is_empty()
            && name.len() <= MAX_PROJECT_NAME
            && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
    }

    #[test]
    fn plain_ids_are_kept() {
        assert_eq!(project_name("web-1"), "dce-web-1");
    }

    #[test]
    fn marathon_ids_are_sanitized_with_a_hash() {
        let name = project_name("docker-compose-demo.fa8db2e8-4639-11e7-b4d3-866758312cc8");
        assert!(
            name.starts_with("dce-docker-compose-demo-fa8db2e8-4639-11e7-b4d3-86"),
            "{name}"
        );
        assert!(valid(&name), "{name}");
        assert_ne!(project_name("A"), project_name("a"));
        assert_ne!(project_name("a.b"), project_name("a-b"));
    }

    #[test]
    fn container_names() {
        assert_eq!(container_name("dce-t", "web", None), "dce-t-web-1");
        assert_eq!(container_name("dce-t", "web", Some("front")), "dce-t-front");
        assert_eq!(infra_container_name("dce-t"), "dce-t-infra");
    }

    proptest! {
        #[test]
        fn project_names_are_always_valid(id in ".{0,120}") {
            prop_assert!(valid(&project_name(&id)));
        }

        #[test]
        fn project_names_are_deterministic(id in ".{0,80}") {
            prop_assert_eq!(project_name(&id), project_name(&id));
        }

        #[test]
        fn distinct_ids_give_distinct_names(a in "[a-zA-Z0-9._-]{0,90}", b in "[a-zA-Z0-9._-]{0,90}") {
            prop_assume!(a != b);
            prop_assert_ne!(project_name(&a), project_name(&b));
        }
    }
}
