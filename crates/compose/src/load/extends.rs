//! `extends:` within a file and across files, with cycle detection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::{parse_document, read_limited, InterpolationEnv, ParsedDocument, Sandbox, YamlLimits};
use crate::error::Location;
use crate::merge::merge_partial;
use crate::parse::PartialService;
use crate::ComposeError;

/// Every document seen while loading (main sources and `extends.file` targets), so a file
/// extended several times is parsed once.
pub(crate) struct FileSet<'a> {
    sandbox: &'a Sandbox,
    env: &'a InterpolationEnv,
    limits: &'a YamlLimits,
    docs: Vec<LoadedDoc>,
    by_path: HashMap<PathBuf, usize>,
}

struct LoadedDoc {
    label: String,
    /// Directory `extends.file` paths in this document are relative to.
    dir: PathBuf,
    services: IndexMap<String, PartialService>,
}

impl<'a> FileSet<'a> {
    pub fn new(sandbox: &'a Sandbox, env: &'a InterpolationEnv, limits: &'a YamlLimits) -> Self {
        FileSet {
            sandbox,
            env,
            limits,
            docs: Vec::new(),
            by_path: HashMap::new(),
        }
    }

    /// Parses a main source (paths relative to `project_dir`) and resolves the `extends` of
    /// its services. Returns the services and the rest of the document.
    pub fn load_main(
        &mut self,
        label: &str,
        text: &str,
        project_dir: &Path,
        canonical: Option<PathBuf>,
    ) -> Result<(IndexMap<String, PartialService>, ParsedDocument), ComposeError> {
        let mut doc = parse_document(
            label,
            text,
            project_dir,
            self.sandbox,
            self.env,
            self.limits,
        )?;
        let dir = canonical
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(project_dir)
            .to_path_buf();
        let id = self.docs.len();
        let names: Vec<String> = doc.services.keys().cloned().collect();
        self.docs.push(LoadedDoc {
            label: label.to_string(),
            dir,
            services: std::mem::take(&mut doc.services),
        });
        if let Some(path) = canonical {
            self.by_path.insert(path, id);
        }
        let mut resolved = IndexMap::new();
        for name in names {
            let service = self.resolve(id, &name, &mut Vec::new())?;
            resolved.insert(name, service);
        }
        Ok((resolved, doc))
    }

    fn resolve(
        &mut self,
        id: usize,
        name: &str,
        stack: &mut Vec<(usize, String)>,
    ) -> Result<PartialService, ComposeError> {
        let key = (id, name.to_string());
        if stack.contains(&key) {
            let chain: Vec<String> = stack
                .iter()
                .chain(std::iter::once(&key))
                .map(|(i, s)| format!("{}:{s}", self.docs[*i].label))
                .collect();
            return Err(ComposeError::ExtendsCycle {
                chain: chain.join(" -> "),
            });
        }
        let Some(mut partial) = self.docs[id].services.get(name).cloned() else {
            let (from_label, from_service) = match stack.last() {
                Some((i, s)) => (self.docs[*i].label.clone(), Some(s.clone())),
                None => (self.docs[id].label.clone(), None),
            };
            return Err(ComposeError::Invalid {
                at: Location::new(from_label, from_service.as_deref(), "extends"),
                message: format!(
                    "extends unknown service \"{name}\" of {}",
                    self.docs[id].label
                ),
            });
        };
        let Some(extends) = partial.extends.take() else {
            return Ok(partial);
        };
        let base_id = match &extends.file {
            None => id,
            Some(file) => self.load_extended_file(id, name, file)?,
        };
        stack.push(key);
        let mut base = self.resolve(base_id, &extends.service, stack)?;
        stack.pop();
        merge_partial(&mut base, partial);
        base.extends = None;
        Ok(base)
    }

    fn load_extended_file(
        &mut self,
        from: usize,
        service: &str,
        file: &str,
    ) -> Result<usize, ComposeError> {
        let from_doc = &self.docs[from];
        let path = self
            .sandbox
            .resolve_existing(&from_doc.dir, file)
            .map_err(|e| match e {
                ComposeError::Io { source, .. } => ComposeError::Io {
                    path: format!(
                        "{file} (extends.file of service \"{service}\" in {})",
                        from_doc.label
                    ),
                    source,
                },
                other => other,
            })?;
        if let Some(&id) = self.by_path.get(&path) {
            return Ok(id);
        }
        let label = path
            .strip_prefix(self.sandbox.root())
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = read_limited(&path, &label, self.limits.max_bytes)?;
        let dir = path.parent().unwrap_or(self.sandbox.root()).to_path_buf();
        let doc = parse_document(&label, &text, &dir, self.sandbox, self.env, self.limits)?;
        let id = self.docs.len();
        self.docs.push(LoadedDoc {
            label,
            dir,
            services: doc.services,
        });
        self.by_path.insert(path, id);
        Ok(id)
    }
}
