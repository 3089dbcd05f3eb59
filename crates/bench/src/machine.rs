//! A description of the machine the numbers were taken on.

use bollard::Docker;

use crate::compose_cli::ComposeTool;

/// Cores, memory, kernel, Docker and compose versions, load.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Lines of `key: value`.
    pub lines: Vec<(String, String)>,
}

impl Machine {
    /// Reads `/proc` and asks the engine.
    pub async fn describe(
        docker: &Docker,
        v1: Option<&ComposeTool>,
        v2: Option<&ComposeTool>,
    ) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let os = std::fs::read_to_string("/etc/os-release")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default();
        let engine = match (docker.version().await, docker.info().await) {
            (Ok(version), Ok(info)) => format!(
                "{} (API {}), storage {}, cgroup {} v{}",
                version.version.unwrap_or_default(),
                version.api_version.unwrap_or_default(),
                info.driver.unwrap_or_default(),
                info.cgroup_driver
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                info.cgroup_version
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            ),
            _ => "unknown".into(),
        };
        let tool = |t: Option<&ComposeTool>, unavailable: &str| {
            t.map(|t| format!("{} ({})", t.version, t.program.display()))
                .unwrap_or_else(|| unavailable.to_string())
        };
        let lines = vec![
            ("cpu".into(), format!("{cores} × {model}")),
            ("memory".into(), memory),
            ("os / kernel".into(), format!("{os} / {}", kernel.trim())),
            ("docker engine".into(), engine),
            ("compose v1".into(), tool(v1, "v1 unavailable")),
            ("compose v2".into(), tool(v2, "v2 unavailable")),
        ];
        Machine { lines }
    }
}

/// The 1, 5 and 15 minute load averages from `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
