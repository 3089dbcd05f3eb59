//! The `x-dce` extension: top-level `network`, per-service `on-unhealthy`.

use indexmap::IndexMap;
use yaml_serde::Value;

use crate::config::PodNetworking;
use crate::error::PodError;
use crate::plan::OnUnhealthy;

/// Name of the extension key, top-level and per service.
pub const X_DCE: &str = "x-dce";

/// Reads top-level `x-dce`; `None` networking when it does not say.
pub fn project_networking(
    extensions: &IndexMap<String, Value>,
) -> Result<Option<PodNetworking>, PodError> {
    let error = |key: &str, message: String| PodError::InvalidProject {
        key: format!("{X_DCE}.{key}"),
        message,
    };
    let Some(map) = mapping(extensions, |message| PodError::InvalidProject {
        key: X_DCE.to_string(),
        message,
    })?
    else {
        return Ok(None);
    };
    let mut networking = None;
    for (key, value) in map {
        match key.as_str() {
            Some("network") => {
                let text = value
                    .as_str()
                    .ok_or_else(|| error("network", "must be `shared` or `compose`".into()))?;
                networking = Some(PodNetworking::parse(text).map_err(|m| error("network", m))?);
            }
            other => {
                let name = other
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{key:?}"));
                return Err(error(&name, "unknown key (known: network)".into()));
            }
        }
    }
    Ok(networking)
}

/// Reads a service's `x-dce`; `fail` when it does not say.
pub fn service_on_unhealthy(
    service: &str,
    extensions: &IndexMap<String, Value>,
) -> Result<OnUnhealthy, PodError> {
    let error = |key: String, message: String| PodError::InvalidService {
        service: service.to_string(),
        key,
        message,
    };
    let Some(map) = mapping(extensions, |m| error(X_DCE.to_string(), m))? else {
        return Ok(OnUnhealthy::default());
    };
    let mut on_unhealthy = OnUnhealthy::default();
    for (key, value) in map {
        match key.as_str() {
            Some("on-unhealthy") => {
                on_unhealthy = value.as_str().and_then(OnUnhealthy::parse).ok_or_else(|| {
                    error(
                        format!("{X_DCE}.on-unhealthy"),
                        "must be `fail`, `restart` or `ignore`".into(),
                    )
                })?;
            }
            other => {
                let name = other
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{key:?}"));
                return Err(error(
                    format!("{X_DCE}.{name}"),
                    "unknown key (known: on-unhealthy)".into(),
                ));
            }
        }
    }
    Ok(on_unhealthy)
}

fn mapping(
    extensions: &IndexMap<String, Value>,
    error: impl Fn(String) -> PodError,
) -> Result<Option<&yaml_serde::Mapping>, PodError> {
    match extensions.get(X_DCE) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Mapping(map)) => Ok(Some(map)),
        Some(_) => Err(error("must be a mapping".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(yaml: &str) -> IndexMap<String, Value> {
        let mut map = IndexMap::new();
        map.insert(X_DCE.to_string(), yaml_serde::from_str(yaml).unwrap());
        map
    }

    #[test]
    fn network_opt_in() {
        assert_eq!(project_networking(&IndexMap::new()).unwrap(), None);
        assert_eq!(
            project_networking(&ext("network: compose")).unwrap(),
            Some(PodNetworking::Compose)
        );
        let err = project_networking(&ext("network: bridge")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`x-dce.network`: `bridge` is not a pod networking mode (shared or compose)"
        );
        let err = project_networking(&ext("netwrok: compose")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`x-dce.netwrok`: unknown key (known: network)"
        );
    }

    #[test]
    fn on_unhealthy() {
        assert_eq!(
            service_on_unhealthy("web", &IndexMap::new()).unwrap(),
            OnUnhealthy::Fail
        );
        assert_eq!(
            service_on_unhealthy("web", &ext("on-unhealthy: ignore")).unwrap(),
            OnUnhealthy::Ignore
        );
        let err = service_on_unhealthy("web", &ext("on-unhealthy: panic")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "service `web`: `x-dce.on-unhealthy`: must be `fail`, `restart` or `ignore`"
        );
    }
}
