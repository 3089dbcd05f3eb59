//! [`Project`] → a compose file that both docker-compose v1 (1.29) and compose v2 accept.
//!
//! What v1 rejects is avoided: no top-level `name:`, ports in short form, no
//! `depends_on.<svc>.required`/`.restart`. The output loads back into an equal `Project`
//! except for those fields (see [`Project::to_yaml`]).

mod emit;
mod service;

use indexmap::IndexMap;
use yaml_serde::{Mapping, Value};

use crate::{Ipam, Network, Project, Volume};

impl Project {
    /// Serializes the project as compose YAML (services in order, keys in a fixed order).
    ///
    /// Not written, because docker-compose v1 rejects them: the top-level `name` and
    /// `depends_on.<svc>.restart`. Everything else round-trips: loading the output gives an
    /// equal `Project` (`env_file`s and `extends` are already folded in).
    /// Strings are quoted so that YAML 1.1 readers (docker-compose v1's PyYAML) do not take
    /// `yes` for a boolean or `22:22` for a number.
    pub fn to_yaml(&self) -> String {
        emit::to_yaml_string(&self.to_value())
    }

    /// The project as a YAML value, in the form [`Project::to_yaml`] writes. Every `$` in a
    /// string is written as `$$`: values are already interpolated and must stay literal.
    pub fn to_value(&self) -> Value {
        let mut value = self.unescaped_value();
        escape_dollars(&mut value);
        value
    }

    fn unescaped_value(&self) -> Value {
        let mut root = Mapping::new();
        let services: Mapping = self
            .services
            .iter()
            .map(|(name, s)| (Value::from(name.as_str()), service::service_value(s)))
            .collect();
        root.insert("services".into(), Value::Mapping(services));
        if !self.networks.is_empty() {
            let nets = self
                .networks
                .iter()
                .map(|(k, n)| (k.as_str().into(), network_value(n)))
                .collect();
            root.insert("networks".into(), Value::Mapping(nets));
        }
        if !self.volumes.is_empty() {
            let vols = self
                .volumes
                .iter()
                .map(|(k, v)| (k.as_str().into(), volume_value(v)))
                .collect();
            root.insert("volumes".into(), Value::Mapping(vols));
        }
        for (k, v) in &self.extensions {
            root.insert(k.as_str().into(), v.clone());
        }
        Value::Mapping(root)
    }
}

fn escape_dollars(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Sequence(items) => items.iter_mut().for_each(escape_dollars),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| escape_dollars(v)),
        _ => {}
    }
}

/// A small builder for mappings that skips unset values.
pub(crate) struct Map(pub Mapping);

impl Map {
    pub fn new() -> Self {
        Map(Mapping::new())
    }

    pub fn put(&mut self, key: &str, value: impl Into<Value>) {
        self.0.insert(key.into(), value.into());
    }

    pub fn opt<T: Into<Value>>(&mut self, key: &str, value: Option<T>) {
        if let Some(v) = value {
            self.put(key, v);
        }
    }

    pub fn opt_str(&mut self, key: &str, value: &Option<String>) {
        self.opt(key, value.as_deref());
    }

    pub fn list(&mut self, key: &str, items: &[String]) {
        if !items.is_empty() {
            self.put(key, strings(items));
        }
    }

    pub fn map(&mut self, key: &str, items: &IndexMap<String, String>) {
        if !items.is_empty() {
            self.put(key, string_map(items));
        }
    }

    pub fn done(self) -> Value {
        Value::Mapping(self.0)
    }
}

pub(crate) fn strings(items: &[String]) -> Value {
    Value::Sequence(items.iter().map(|s| Value::from(s.as_str())).collect())
}

pub(crate) fn string_map(items: &IndexMap<String, String>) -> Value {
    Value::Mapping(
        items
            .iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .collect(),
    )
}

fn network_value(n: &Network) -> Value {
    let mut m = Map::new();
    m.opt_str("name", &n.name);
    m.opt_str("driver", &n.driver);
    m.map("driver_opts", &n.driver_opts);
    if n.external {
        m.put("external", true);
    }
    m.opt("internal", n.internal);
    m.opt("attachable", n.attachable);
    m.opt("enable_ipv6", n.enable_ipv6);
    if let Some(ipam) = &n.ipam {
        m.put("ipam", ipam_value(ipam));
    }
    m.map("labels", &n.labels);
    m.done()
}

fn ipam_value(ipam: &Ipam) -> Value {
    let mut m = Map::new();
    m.opt_str("driver", &ipam.driver);
    if !ipam.config.is_empty() {
        let pools = ipam
            .config
            .iter()
            .map(|p| {
                let mut pm = Map::new();
                pm.opt_str("subnet", &p.subnet);
                pm.opt_str("ip_range", &p.ip_range);
                pm.opt_str("gateway", &p.gateway);
                pm.map("aux_addresses", &p.aux_addresses);
                pm.done()
            })
            .collect();
        m.put("config", Value::Sequence(pools));
    }
    m.map("options", &ipam.options);
    m.done()
}

fn volume_value(v: &Volume) -> Value {
    let mut m = Map::new();
    m.opt_str("name", &v.name);
    m.opt_str("driver", &v.driver);
    m.map("driver_opts", &v.driver_opts);
    if v.external {
        m.put("external", true);
    }
    m.map("labels", &v.labels);
    m.done()
}
