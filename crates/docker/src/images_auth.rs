//! Registry credentials from the executor user's Docker client configuration.
//!
//! Read from `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`, like the Docker CLI.
//! Only inline `auths.<registry>.auth` (base64 `user:password`) and `identitytoken` entries are
//! used; credential helpers (`credsStore`, `credHelpers`) would mean running external programs
//! and are reported as unsupported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use serde::Deserialize;

use crate::client::DockerError;

/// Docker Hub's registry as the CLI spells it in `config.json`.
const DOCKER_HUB: &str = "docker.io";

/// The parts of `config.json` dce reads.
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    identitytoken: Option<String>,
}

/// Credentials per registry host, loaded once per launch.
#[derive(Debug, Default, Clone)]
pub struct RegistryCredentials {
    by_registry: HashMap<String, DockerCredentials>,
    helpers: HashMap<String, String>,
    default_helper: Option<String>,
}

/// What is known about authenticating to one registry.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryAuth {
    /// Inline credentials from `auths`.
    Credentials(DockerCredentials),
    /// Only a credential helper is configured; dce pulls anonymously and says so on failure.
    UnsupportedHelper(String),
    /// Nothing configured: anonymous pull.
    Anonymous,
}

impl RegistryCredentials {
    /// The config file the Docker CLI would read for this process, if any.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir).join("config.json"));
        }
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
        Some(PathBuf::from(home).join(".docker").join("config.json"))
    }

    /// Loads `path`; a missing file means no credentials, a malformed one is an error.
    pub fn load(path: &Path) -> Result<Self, DockerError> {
        let error = |message: String| DockerError::Credentials {
            path: path.display().to_string(),
            message,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(error(e.to_string())),
        };
        let file: ConfigFile = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
        let mut by_registry = HashMap::new();
        for (key, entry) in file.auths {
            let registry = normalize_registry(&key);
            let mut credentials = DockerCredentials {
                serveraddress: Some(key.clone()),
                identitytoken: entry.identitytoken.filter(|t| !t.is_empty()),
                ..Default::default()
            };
            if let Some(auth) = entry.auth.filter(|a| !a.is_empty()) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|e| error(format!("auths.{key}.auth is not base64: {e}")))?;
                let decoded = String::from_utf8(decoded)
                    .map_err(|_| error(format!("auths.{key}.auth is not UTF-8")))?;
                let (user, password) = decoded
                    .split_once(':')
                    .ok_or_else(|| error(format!("auths.{key}.auth is not user:password")))?;
                credentials.username = Some(user.to_string());
                credentials.password = Some(password.to_string());
            }
            if credentials.username.is_some() || credentials.identitytoken.is_some() {
                by_registry.insert(registry, credentials);
            }
        }
        let helpers = file
            .cred_helpers
            .into_iter()
            .map(|(k, v)| (normalize_registry(&k), v))
            .collect();
        Ok(RegistryCredentials {
            by_registry,
            helpers,
            default_helper: file.creds_store.filter(|s| !s.is_empty()),
        })
    }

    /// How to authenticate when pulling `image`.
    pub fn for_image(&self, image: &str) -> RegistryAuth {
        let registry = registry_of(image);
        if let Some(credentials) = self.by_registry.get(&registry) {
            return RegistryAuth::Credentials(credentials.clone());
        }
        match self.helpers.get(&registry).or(self.default_helper.as_ref()) {
            Some(helper) => RegistryAuth::UnsupportedHelper(helper.clone()),
            None => RegistryAuth::Anonymous,
        }
    }
}

/// The registry host of an image reference (`docker.io` when the first component is not a host).
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            normalize_registry(first)
        }
        _ => DOCKER_HUB.to_string(),
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://reg:5000/` → `reg:5000`.
fn normalize_registry(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme.split('/').next().unwrap_or(without_scheme);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(json: &str) -> RegistryCredentials {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        RegistryCredentials::load(&path).unwrap()
    }

    #[test]
    fn registry_host_is_recognised() {
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("library/busybox:1"), "docker.io");
        assert_eq!(registry_of("reg.example.com/a/b:1"), "reg.example.com");
        assert_eq!(registry_of("localhost:5000/a"), "localhost:5000");
        assert_eq!(registry_of("localhost/a"), "localhost");
    }

    #[test]
    fn inline_auth_is_decoded_per_registry() {
        // "alice:s3cr:et" — the password may contain ':'.
        let creds = load(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YWxpY2U6czNjcjpldA=="},
                "reg.example.com":{"auth":"Ym9iOnB3"}}}"#,
        );
        let RegistryAuth::Credentials(hub) = creds.for_image("busybox:latest") else {
            panic!("no hub credentials")
        };
        assert_eq!(hub.username.as_deref(), Some("alice"));
        assert_eq!(hub.password.as_deref(), Some("s3cr:et"));
        let RegistryAuth::Credentials(own) = creds.for_image("reg.example.com/app:1") else {
            panic!("no registry credentials")
        };
        assert_eq!(own.username.as_deref(), Some("bob"));
        assert_eq!(
            creds.for_image("other.example.com/x"),
            RegistryAuth::Anonymous
        );
    }

    #[test]
    fn helpers_are_reported_unsupported() {
        let creds = load(r#"{"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"}}"#);
        assert_eq!(
            creds.for_image("gcr.io/p/i"),
            RegistryAuth::UnsupportedHelper("gcloud".to_string())
        );
        assert_eq!(
            creds.for_image("busybox"),
            RegistryAuth::UnsupportedHelper("desktop".to_string())
        );
    }

    #[test]
    fn missing_file_is_no_credentials_and_bad_file_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let creds = RegistryCredentials::load(&dir.path().join("none.json")).unwrap();
        assert_eq!(creds.for_image("busybox"), RegistryAuth::Anonymous);
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"auths":{"r.io":{"auth":"!!"}}}"#).unwrap();
        let error = RegistryCredentials::load(&bad).unwrap_err().to_string();
        assert!(error.contains("auths.r.io.auth is not base64"), "{error}");
    }
}
