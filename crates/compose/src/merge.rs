//! Compose's override rules for a service defined in several files (or extended): scalars
//! replace; `command`/`entrypoint`/`healthcheck.test` replace; maps (`environment`, `labels`,
//! `sysctls`, `ulimits`, `depends_on`, `networks`, `logging.options`, `x-*`) merge by key;
//! `volumes` and `devices` merge by container path; `ports` append unless an identical entry
//! exists; other lists (`expose`, `dns`, `cap_add`, …) append without duplicates.

use std::hash::Hash;

use indexmap::IndexMap;

use crate::parse::PartialService;
use crate::{Deploy, Healthcheck, Logging, Network, Service, Volume};

/// Applies `over` on top of `base` (later file, or the extending service over its base).
pub(crate) fn merge_partial(base: &mut PartialService, over: PartialService) {
    merge_service(&mut base.service, over.service);
    base.env_from_files.extend(over.env_from_files);
    base.optional_deps.extend(over.optional_deps);
    base.extends = over.extends.or(base.extends.take());
}

fn merge_service(b: &mut Service, o: Service) {
    if !o.image.is_empty() {
        b.image = o.image;
    }
    replace(&mut b.build, o.build);
    replace(&mut b.command, o.command);
    replace(&mut b.entrypoint, o.entrypoint);
    b.environment.extend(o.environment);
    append_unique(&mut b.ports, o.ports);
    append_unique(&mut b.expose, o.expose);
    merge_by(&mut b.volumes, o.volumes, |m| m.target.clone());
    append_unique(&mut b.volumes_from, o.volumes_from);
    b.labels.extend(o.labels);
    b.healthcheck = merge_healthcheck(b.healthcheck.take(), o.healthcheck);
    b.depends_on.extend(o.depends_on);
    append_unique(&mut b.links, o.links);
    replace(&mut b.restart, o.restart);
    replace(&mut b.user, o.user);
    replace(&mut b.working_dir, o.working_dir);
    replace(&mut b.hostname, o.hostname);
    replace(&mut b.domainname, o.domainname);
    merge_extra_hosts(&mut b.extra_hosts, o.extra_hosts);
    append_unique(&mut b.dns, o.dns);
    append_unique(&mut b.dns_search, o.dns_search);
    append_unique(&mut b.dns_opt, o.dns_opt);
    append_unique(&mut b.cap_add, o.cap_add);
    append_unique(&mut b.cap_drop, o.cap_drop);
    replace(&mut b.privileged, o.privileged);
    append_unique(&mut b.security_opt, o.security_opt);
    b.ulimits.extend(o.ulimits);
    b.sysctls.extend(o.sysctls);
    merge_by(&mut b.devices, o.devices, |d| d.target.clone());
    merge_by(&mut b.tmpfs, o.tmpfs, |t| t.target.clone());
    replace(&mut b.shm_size, o.shm_size);
    replace(&mut b.read_only, o.read_only);
    replace(&mut b.init, o.init);
    replace(&mut b.stop_signal, o.stop_signal);
    replace(&mut b.stop_grace_period, o.stop_grace_period);
    replace(&mut b.mem_limit, o.mem_limit);
    replace(&mut b.memswap_limit, o.memswap_limit);
    replace(&mut b.mem_reservation, o.mem_reservation);
    replace(&mut b.cpus, o.cpus);
    replace(&mut b.cpu_shares, o.cpu_shares);
    replace(&mut b.pids_limit, o.pids_limit);
    merge_deploy(&mut b.deploy, o.deploy);
    b.logging = merge_logging(b.logging.take(), o.logging);
    replace(&mut b.network_mode, o.network_mode);
    for (name, net) in o.networks {
        b.networks.insert(name, net);
    }
    replace(&mut b.pid, o.pid);
    replace(&mut b.ipc, o.ipc);
    replace(&mut b.tty, o.tty);
    replace(&mut b.stdin_open, o.stdin_open);
    replace(&mut b.pull_policy, o.pull_policy);
    replace(&mut b.container_name, o.container_name);
    replace(&mut b.cgroup_parent, o.cgroup_parent);
    replace(&mut b.platform, o.platform);
    append_unique(&mut b.profiles, o.profiles);
    b.extensions.extend(o.extensions);
}

/// A top-level network defined in several files: set fields replace, maps merge by key.
pub(crate) fn merge_network(b: &mut Network, o: Network) {
    replace(&mut b.name, o.name);
    replace(&mut b.driver, o.driver);
    b.driver_opts.extend(o.driver_opts);
    b.external |= o.external;
    replace(&mut b.internal, o.internal);
    replace(&mut b.attachable, o.attachable);
    replace(&mut b.enable_ipv6, o.enable_ipv6);
    replace(&mut b.ipam, o.ipam);
    b.labels.extend(o.labels);
}

/// A top-level volume defined in several files: set fields replace, maps merge by key.
pub(crate) fn merge_volume(b: &mut Volume, o: Volume) {
    replace(&mut b.name, o.name);
    replace(&mut b.driver, o.driver);
    b.driver_opts.extend(o.driver_opts);
    b.external |= o.external;
    b.labels.extend(o.labels);
}

fn replace<T>(base: &mut Option<T>, over: Option<T>) {
    if over.is_some() {
        *base = over;
    }
}

fn append_unique<T: PartialEq>(base: &mut Vec<T>, over: Vec<T>) {
    for item in over {
        if !base.contains(&item) {
            base.push(item);
        }
    }
}

/// Entries with the same key are replaced in place; new keys are appended.
fn merge_by<T, K: Eq + Hash>(base: &mut Vec<T>, over: Vec<T>, key: impl Fn(&T) -> K) {
    let mut index: IndexMap<K, usize> = base.iter().enumerate().map(|(i, t)| (key(t), i)).collect();
    for item in over {
        match index.get(&key(&item)) {
            Some(&i) => base[i] = item,
            None => {
                index.insert(key(&item), base.len());
                base.push(item);
            }
        }
    }
}

/// A host name set in the override replaces every address the base gave it.
fn merge_extra_hosts(base: &mut Vec<crate::ExtraHost>, over: Vec<crate::ExtraHost>) {
    base.retain(|h| !over.iter().any(|o| o.hostname == h.hostname));
    base.extend(over);
}

fn merge_healthcheck(base: Option<Healthcheck>, over: Option<Healthcheck>) -> Option<Healthcheck> {
    match (base, over) {
        (Some(mut b), Some(o)) => {
            replace(&mut b.test, o.test);
            replace(&mut b.interval, o.interval);
            replace(&mut b.timeout, o.timeout);
            replace(&mut b.start_period, o.start_period);
            replace(&mut b.retries, o.retries);
            Some(b)
        }
        (b, o) => o.or(b),
    }
}

fn merge_logging(base: Option<Logging>, over: Option<Logging>) -> Option<Logging> {
    match (base, over) {
        (Some(mut b), Some(o)) => {
            // Options of a different driver mean nothing to the new one.
            if o.driver.is_some() && o.driver != b.driver {
                b.options.clear();
            }
            replace(&mut b.driver, o.driver);
            b.options.extend(o.options);
            Some(b)
        }
        (b, o) => o.or(b),
    }
}

fn merge_deploy(base: &mut Deploy, over: Deploy) {
    let (bl, ol) = (&mut base.resources.limits, over.resources.limits);
    replace(&mut bl.cpus, ol.cpus);
    replace(&mut bl.memory, ol.memory);
    let (br, or) = (
        &mut base.resources.reservations,
        over.resources.reservations,
    );
    replace(&mut br.cpus, or.cpus);
    replace(&mut br.memory, or.memory);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Command, ExtraHost, HealthTest};

    fn partial(service: Service) -> PartialService {
        PartialService {
            service,
            ..Default::default()
        }
    }

    #[test]
    fn scalars_replace_and_maps_merge() {
        let mut base = partial(Service {
            image: "a".into(),
            user: Some("root".into()),
            command: Some(Command::Exec(vec!["x".into(), "y".into()])),
            environment: [
                ("A".to_string(), Some("1".to_string())),
                ("B".to_string(), Some("1".to_string())),
            ]
            .into_iter()
            .collect(),
            dns: vec!["1.1.1.1".into()],
            extra_hosts: vec![ExtraHost {
                hostname: "h".into(),
                ip: "1.1.1.1".into(),
            }],
            healthcheck: Some(Healthcheck {
                test: Some(HealthTest::Shell("a".into())),
                retries: Some(3),
                ..Default::default()
            }),
            ..Default::default()
        });
        let over = partial(Service {
            user: Some("app".into()),
            command: Some(Command::Shell("z".into())),
            environment: [("B".to_string(), Some("2".to_string()))]
                .into_iter()
                .collect(),
            dns: vec!["8.8.8.8".into(), "1.1.1.1".into()],
            extra_hosts: vec![ExtraHost {
                hostname: "h".into(),
                ip: "2.2.2.2".into(),
            }],
            healthcheck: Some(Healthcheck {
                test: Some(HealthTest::Cmd(vec!["b".into()])),
                ..Default::default()
            }),
            ..Default::default()
        });
        merge_partial(&mut base, over);
        let s = base.service;
        assert_eq!(s.image, "a");
        assert_eq!(s.user.as_deref(), Some("app"));
        assert_eq!(s.command, Some(Command::Shell("z".into())));
        assert_eq!(s.environment.get("A"), Some(&Some("1".to_string())));
        assert_eq!(s.environment.get("B"), Some(&Some("2".to_string())));
        assert_eq!(s.dns, ["1.1.1.1", "8.8.8.8"]);
        assert_eq!(
            s.extra_hosts,
            [ExtraHost {
                hostname: "h".into(),
                ip: "2.2.2.2".into()
            }]
        );
        let hc = s.healthcheck.unwrap();
        assert_eq!(
            (hc.test, hc.retries),
            (Some(HealthTest::Cmd(vec!["b".into()])), Some(3))
        );
    }
}
