//! Compose sources → [`Project`]: reading (confined to the sandbox, size-limited), YAML
//! parsing (alias-limited), merge keys, interpolation, per-file typing, `extends`, the
//! multi-file merge and the project-wide checks.

mod env;
mod extends;
mod interpolate;
mod key_lines;
mod merge_keys;
mod project_checks;
mod sandbox;
mod yaml;

use std::io::Read;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use yaml_serde::Value;

pub(crate) use env::parse_env_file;
pub use env::{InterpolationEnv, SECRET_VARIABLES};
pub use interpolate::interpolate_str;
pub use sandbox::{normalize, Sandbox, DEFAULT_COMPOSE_FILES};
pub use yaml::YamlLimits;

use crate::merge::{merge_network, merge_partial, merge_volume};
use crate::parse::{self, Ctx, PartialService};
use crate::{ComposeError, Network, Project, Volume};

/// Where one compose document comes from, in merge order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeSource {
    /// A file, relative to the sandbox (or absolute inside it).
    File(PathBuf),
    /// A document given inline (Mesos `TaskInfo.data`); `name` labels it in errors.
    Inline {
        /// Label used in error messages, e.g. `<TaskInfo.data>`.
        name: String,
        /// The YAML text.
        content: String,
    },
}

/// Loads compose sources into a [`Project`]. Configure once, call [`ProjectLoader::load`].
#[derive(Debug, Clone)]
pub struct ProjectLoader {
    sandbox_root: PathBuf,
    env: InterpolationEnv,
    limits: YamlLimits,
    profiles: Option<Vec<String>>,
}

/// The top-level keys of a compose file dce understands.
const TOP_LEVEL_KEYS: &[&str] = &["version", "name", "services", "networks", "volumes"];

const TOP_LEVEL_UNSUPPORTED: &[(&str, &str)] = &[
    (
        "configs",
        "compose configs are not implemented by dce; mount the file with `volumes`",
    ),
    (
        "secrets",
        "compose secrets are not implemented by dce; mount the file with `volumes`",
    ),
    (
        "include",
        "list every file in the task's `fileName` label instead",
    ),
    ("models", "not implemented by dce"),
];

impl ProjectLoader {
    /// A loader for the sandbox at `sandbox_root`, interpolating with `env` (normally
    /// [`InterpolationEnv::from_process`]); the `.env` file next to the first compose file
    /// fills variables `env` lacks.
    pub fn new(sandbox_root: impl Into<PathBuf>, env: InterpolationEnv) -> Self {
        ProjectLoader {
            sandbox_root: sandbox_root.into(),
            env,
            limits: YamlLimits::default(),
            profiles: None,
        }
    }

    /// Replaces the YAML size/alias limits.
    pub fn with_limits(mut self, limits: YamlLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Activates these profiles (default: `COMPOSE_PROFILES` from the environment, comma
    /// separated; `*` activates all). Services with profiles, none active, are left out.
    pub fn with_profiles(mut self, profiles: Vec<String>) -> Self {
        self.profiles = Some(profiles);
        self
    }

    /// Loads and merges `sources` in order. With no sources, the default compose file of the
    /// sandbox is used ([`DEFAULT_COMPOSE_FILES`]).
    pub fn load(&self, sources: &[ComposeSource]) -> Result<Project, ComposeError> {
        let sandbox = Sandbox::new(&self.sandbox_root)?;
        let defaulted;
        let sources = if sources.is_empty() {
            let file =
                sandbox
                    .find_default_compose_file()
                    .ok_or_else(|| ComposeError::NoComposeFile {
                        sandbox: sandbox.root().to_path_buf(),
                        looked_for: DEFAULT_COMPOSE_FILES.join(", "),
                    })?;
            defaulted = [ComposeSource::File(file)];
            &defaulted[..]
        } else {
            sources
        };
        let mut texts = Vec::with_capacity(sources.len());
        for source in sources {
            texts.push(self.read_source(&sandbox, source)?);
        }
        let project_dir = texts[0].dir.clone();
        let env = self
            .env
            .layered_over(&self.read_dotenv(&sandbox, &project_dir)?);
        let mut files = extends::FileSet::new(&sandbox, &env, &self.limits);
        let mut project = Project::default();
        let mut origin: IndexMap<String, String> = IndexMap::new();
        let mut partials: IndexMap<String, PartialService> = IndexMap::new();
        for text in texts {
            let (resolved, doc) =
                files.load_main(&text.label, &text.text, &project_dir, text.canonical)?;
            if doc.name.is_some() {
                project.name = doc.name;
            }
            merge_definitions(&mut project.networks, doc.networks, merge_network);
            merge_definitions(&mut project.volumes, doc.volumes, merge_volume);
            project.extensions.extend(doc.extensions);
            for (name, partial) in resolved {
                origin
                    .entry(name.clone())
                    .or_insert_with(|| text.label.clone());
                match partials.get_mut(&name) {
                    Some(base) => merge_partial(base, partial),
                    None => {
                        partials.insert(name, partial);
                    }
                }
            }
        }
        let profiles = self.active_profiles(&env);
        project_checks::finish(project, partials, &origin, &profiles)
    }

    fn active_profiles(&self, env: &InterpolationEnv) -> Vec<String> {
        match &self.profiles {
            Some(p) => p.clone(),
            None => env
                .get("COMPOSE_PROFILES")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    fn read_source(
        &self,
        sandbox: &Sandbox,
        source: &ComposeSource,
    ) -> Result<SourceText, ComposeError> {
        match source {
            ComposeSource::File(path) => {
                let label = path.display().to_string();
                let resolved = sandbox.resolve_existing(sandbox.root(), &label)?;
                let text = read_limited(&resolved, &label, self.limits.max_bytes)?;
                let dir = resolved.parent().unwrap_or(sandbox.root()).to_path_buf();
                Ok(SourceText {
                    label,
                    text,
                    dir,
                    canonical: Some(resolved),
                })
            }
            ComposeSource::Inline { name, content } => {
                if content.len() as u64 > self.limits.max_bytes {
                    return Err(ComposeError::FileTooLarge {
                        file: name.clone(),
                        size: content.len() as u64,
                        limit: self.limits.max_bytes,
                    });
                }
                Ok(SourceText {
                    label: name.clone(),
                    text: content.clone(),
                    dir: sandbox.root().to_path_buf(),
                    canonical: None,
                })
            }
        }
    }

    fn read_dotenv(
        &self,
        sandbox: &Sandbox,
        dir: &Path,
    ) -> Result<IndexMap<String, Option<String>>, ComposeError> {
        if !dir.join(".env").exists() {
            return Ok(IndexMap::new());
        }
        let path = sandbox.resolve_existing(dir, ".env")?;
        let label = path.display().to_string();
        let text = read_limited(&path, &label, self.limits.max_bytes)?;
        parse_env_file(&text, &self.env).map_err(|message| ComposeError::Invalid {
            at: crate::error::Location::new(label, None, ""),
            message,
        })
    }
}

/// A compose source read into memory.
struct SourceText {
    label: String,
    text: String,
    dir: PathBuf,
    canonical: Option<PathBuf>,
}

fn merge_definitions<T>(
    base: &mut IndexMap<String, T>,
    over: IndexMap<String, T>,
    merge: fn(&mut T, T),
) {
    for (name, def) in over {
        match base.get_mut(&name) {
            Some(existing) => merge(existing, def),
            None => {
                base.insert(name, def);
            }
        }
    }
}

/// Reads a file of at most `max_bytes`, checking the size before reading anything.
pub(crate) fn read_limited(
    path: &Path,
    label: &str,
    max_bytes: u64,
) -> Result<String, ComposeError> {
    let io = |source| ComposeError::Io {
        path: label.to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let too_large = |size| ComposeError::FileTooLarge {
        file: label.to_string(),
        size,
        limit: max_bytes,
    };
    if size > max_bytes {
        return Err(too_large(size));
    }
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| ComposeError::Yaml {
        file: label.to_string(),
        line: None,
        column: None,
        message: "the file is not valid UTF-8".to_string(),
    })
}

/// One parsed compose document: typed services (before `extends`) and top-level definitions.
pub(crate) struct ParsedDocument {
    pub name: Option<String>,
    pub services: IndexMap<String, PartialService>,
    pub networks: IndexMap<String, Network>,
    pub volumes: IndexMap<String, Volume>,
    pub extensions: IndexMap<String, Value>,
}

/// Parses, merge-key-resolves, interpolates and types one document. Relative paths in it
/// resolve against `base_dir`.
pub(crate) fn parse_document(
    label: &str,
    text: &str,
    base_dir: &Path,
    sandbox: &Sandbox,
    env: &InterpolationEnv,
    limits: &YamlLimits,
) -> Result<ParsedDocument, ComposeError> {
    let ctx = Ctx {
        file: label,
        service: None,
        base_dir,
        sandbox,
        env,
        limits,
    };
    parse_document_unlined(ctx, text).map_err(|e| key_lines::with_line(e, label, text))
}

/// [`parse_document`] without line numbers in errors.
fn parse_document_unlined(ctx: Ctx<'_>, text: &str) -> Result<ParsedDocument, ComposeError> {
    let (label, env) = (ctx.file, ctx.env);
    let mut root = yaml::parse_document(text, label, ctx.limits)?;
    merge_keys::resolve_merge_keys(&mut root).map_err(|message| ComposeError::Yaml {
        file: label.to_string(),
        line: None,
        column: None,
        message,
    })?;
    let lookup = |name: &str| env.get(name).map(str::to_string);
    interpolate::interpolate_value(&mut root, label, &mut Vec::new(), &lookup)?;
    let m = match &root {
        Value::Mapping(m) => m,
        Value::Null => return Err(ctx.invalid("", "the compose file is empty")),
        other => {
            return Err(ctx.invalid(
                "",
                format!("a compose file must be a mapping, found {other:?}"),
            ))
        }
    };
    let ext_known: Vec<&str> = m
        .keys()
        .filter_map(Value::as_str)
        .filter(|k| k.starts_with("x-"))
        .chain(TOP_LEVEL_KEYS.iter().copied())
        .collect();
    parse::check_unknown(&ctx, "", m, &ext_known, TOP_LEVEL_UNSUPPORTED)?;
    let mut doc = ParsedDocument {
        name: None,
        services: IndexMap::new(),
        networks: IndexMap::new(),
        volumes: IndexMap::new(),
        extensions: IndexMap::new(),
    };
    for (key, value) in parse::entries(&ctx, "", m)? {
        match key.as_str() {
            "version" => {}
            "name" => doc.name = ctx.opt_string("name", value)?,
            "networks" => doc.networks = parse::parse_networks(&ctx, value)?,
            "volumes" => doc.volumes = parse::parse_volumes(&ctx, value)?,
            "services" => {
                if value.is_null() {
                    continue;
                }
                for (name, body) in
                    parse::entries(&ctx, "services", ctx.mapping("services", value)?)?
                {
                    check_service_name(&ctx, &name)?;
                    let service_ctx = Ctx {
                        service: Some(&name),
                        ..ctx
                    };
                    let partial = parse::parse_service(&service_ctx, body)?;
                    doc.services.insert(name, partial);
                }
            }
            ext => {
                doc.extensions.insert(ext.to_string(), value.clone());
            }
        }
    }
    Ok(doc)
}

fn check_service_name(ctx: &Ctx<'_>, name: &str) -> Result<(), ComposeError> {
    if parse::is_object_name(name) {
        Ok(())
    } else {
        Err(ctx.invalid(
            &format!("services.{name}"),
            format!("invalid service name \"{name}\" (letters, digits, '.', '_', '-'; starting with a letter or digit)"),
        ))
    }
}
