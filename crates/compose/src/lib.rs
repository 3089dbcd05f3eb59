//! Compose files → typed, normalized [`Project`], and back to YAML.
//!
//! This crate knows nothing of Mesos or Docker: it reads the files it is given (compose files,
//! `.env`, `env_file`s, all confined to the sandbox), interpolates variables, merges files with
//! compose's override rules, resolves `extends`, validates every key (unknown or unsupported keys
//! are errors naming file, service and key) and produces a [`Project`].
//!
//! Entry points: [`ProjectLoader`] (load), [`Project::to_yaml`] (serialize), [`Sandbox`]
//! (path confinement, also for the admission policy).
//!
//! Choices where compose leaves room or dce differs:
//! - Interpolation: the given environment wins over the `.env` file next to the first compose
//!   file (compose's precedence); [`InterpolationEnv::from_process`] withholds executor secrets.
//! - Relative paths (bind sources, `env_file`) resolve against the first file's directory,
//!   except inside a file reached through `extends.file`, which uses its own directory.
//!   `extends` without `file` looks in the same file only.
//! - `env_file`s are read at load and folded into `environment` (explicit entries win).
//! - Keys of the compose spec dce does not implement are errors (see `UNSUPPORTED_SERVICE_KEYS`
//!   in the parser), as are unknown keys; `scale`/`deploy.replicas` are accepted only as 1.
//! - Port `mode`, `name` and `app_protocol` are validated but not kept (no effect on a single
//!   engine). `deploy.resources.limits.pids` is loaded into `pids_limit`.
//! - Services whose `profiles` are all inactive are left out; `depends_on` entries with
//!   `required: false` on absent services are dropped.
//! - [`Project::to_yaml`] writes what docker-compose v1 accepts: no top-level `name`, no
//!   `depends_on.*.restart`, short port syntax, tmpfs mounts with a `mode` as service-level
//!   `tmpfs` entries, and `missing` pull policy as `if_not_present`.

#![warn(missing_docs)]

pub mod error;
pub mod load;
mod merge;
pub mod model;
mod parse;
mod serialize;
pub mod shell_words;
pub mod units;

pub use error::{ComposeError, Location};
pub use load::{ComposeSource, InterpolationEnv, ProjectLoader, Sandbox, YamlLimits};
pub use model::*;
pub use parse::service::SERVICE_KEYS;
