//! Compose files → typed, normalized [`Project`], and back to YAML.
//!
//! This crate knows nothing of Mesos or Docker: it reads the files it is given (compose files,
//! `.env`, `env_file`s, all confined to the sandbox), interpolates variables, merges files with
//! compose's override rules, resolves `extends`, validates every key (unknown or unsupported keys
//! are errors naming file, service and key) and produces a [`Project`].

pub mod model;
pub mod shell_words;

pub use model::*;
