//! How compose types appear in the plan's JSON: as compose documents and spellings, so that
//! `plan.json` and exec hooks speak compose rather than Rust type names.

/// `compose::Protocol` as `tcp`/`udp`/`sctp`.
pub mod protocol {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(protocol: &compose::Protocol, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(protocol.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<compose::Protocol, D::Error> {
        let text = String::deserialize(d)?;
        compose::Protocol::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a protocol")))
    }
}

/// `compose::Project` as the compose document `to_yaml` writes (a mapping), read back through
/// the compose loader so that a hook's changes are validated like a user's file.
pub mod project_document {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Paths in a plan's project are absolute already; the loader only needs some root.
    const ROOT: &str = "/";

    pub fn serialize<S: Serializer>(project: &compose::Project, s: S) -> Result<S::Ok, S::Error> {
        project.to_value().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<compose::Project, D::Error> {
        let document = serde_json::Value::deserialize(d)?;
        let content = yaml_serde::to_string(&document).map_err(serde::de::Error::custom)?;
        let source = compose::ComposeSource::Inline {
            name: "<plan.project>".to_string(),
            content,
        };
        compose::ProjectLoader::new(ROOT, compose::InterpolationEnv::empty())
            .load(&[source])
            .map_err(serde::de::Error::custom)
    }
}
