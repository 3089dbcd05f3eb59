//! Compose files → typed, normalized [`Project`], and back to YAML.
//!
//! This crate knows nothing of Mesos or Docker: it reads the files it is given (compose files,
//! `.env`, `env_file`s, all confined to the sandbox), interpolates variables, merges files with
//! compose's override rules, resolves `extends`, validates every key (unknown or unsupported keys
//! are errors naming file, service and key) and produces a [`Project`].
//!
//! Entry points: [`ProjectLoader`] (load), [`Project::to_yaml`] (serialize), [`Sandbox`]
//! (path confinement, also for the admission policy).

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
