//! Test support shared by the docker crate's integration tests. Each test file compiles its own
//! copy (`mod support;`) and uses part of it.
//!
//! - [`harness`]: compose text → `PodPlan` → `create_pod`, the path the executor takes.
//! - [`handmade`]: pods built with plain bollard calls, for the watch/stop/reap tests that must
//!   not depend on `create`.

#![allow(dead_code)]

pub mod handmade;
pub mod harness;

/// `$yaml`, a compose file literal, preceded by the extension `x-sleeper`: the busybox service
/// most tests need (it sleeps, with an init process so that it stops at once), which a service
/// takes with `<<: *sleeper`. Expands to a literal, so it serves in a `const` and as a
/// `format!` string.
#[allow(unused_macros)]
macro_rules! with_sleeper {
    ($yaml:literal) => {
        concat!(
            "x-sleeper: &sleeper\n",
            "  image: dce-test-busybox:latest\n",
            "  command: [\"sleep\", \"600\"]\n",
            "  init: true\n",
            $yaml
        )
    };
}
#[allow(unused_imports)]
pub(crate) use with_sleeper;
