//! `dce up`: run a pod on the local Docker engine exactly as on a Mesos agent (SPEC §1).
//!
//! Nothing is re-implemented: an embedded agent stand-in ([`mesos_agent::Agent`]) launches this
//! very binary as `dce executor` with the Mesos environment, sends it a LAUNCH carrying what a
//! scheduler would (the `fileName` label, `ports` resources, `config.*` labels), prints every
//! status update, and turns Ctrl-C into a KILL. The sandbox choice is explained in
//! [`sandbox`]; the exit codes in [`display::exit_code`].

mod display;
mod sandbox;
mod session;
mod stop;
mod task;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

/// Examples and exit codes shown at the end of `dce up --help`.
const EXAMPLES: &str = "\
Examples:
  dce up                                   # the compose file of the current directory
  dce up -f pod.yml -f pod.prod.yml        # several files, merged in order like docker compose
  dce up -f pod.yml --ports 31000-31010    # host ports offered as Mesos would
  dce up -f pod.yml --timeout 10m          # kill the pod after 10 minutes
  dce up -f pod.yml --set launchtask.timeout=60s --set cleanpod.timeout=5s

The directory holding the compose files is the pod's sandbox, as on a Mesos agent: relative
paths (bind mounts, env_file, .env) resolve there, a config.yaml there is read as dce's config
(unless --config is given), and the executor writes pod/ (generated-compose.yml, plan.json,
identity.json) and logs/ (one file per container) there. Inspect a running pod with
`docker compose -p <project> ps` (the project is printed at start).

Ctrl-C (or SIGTERM) kills the pod like a Mesos KILL; press it again to shut the executor down,
a third time to destroy it (then dce up removes what the pod left behind).

Exit status: 0 when the pod finished, or was killed after Ctrl-C/SIGTERM; 1 when it failed
(TASK_FAILED) or dce up could not start it; 2 on a usage error; 3 when the executor itself
died (then dce up removes the pod) or the task ended LOST, ERROR, DROPPED or GONE; 124 when
--timeout killed it.";

/// Arguments of `dce up`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct UpArgs {
    /// Compose file(s), merged in order (default: `docker-compose.yml` or `compose.yaml` in the
    /// current directory).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Host ports offered to the pod, as Mesos would (`31000-31010,32000`); without them Docker
    /// picks ephemeral host ports.
    #[arg(long, value_name = "RANGES")]
    pub ports: Option<String>,
    /// Task id, which names the pod (`dce-<task id>`); default: the directory's name plus a
    /// random suffix.
    #[arg(long = "task-id", value_name = "ID")]
    pub task_id: Option<String>,
    /// dce config file (default: `config.yaml` in the sandbox, then `/etc/dce/config.yaml`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Kill the pod after this long (e.g. `90s`, `10m`); exit status 124.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// A task-level config override, sent as the task label `config.KEY=VALUE` (repeatable),
    /// e.g. `--set launchtask.timeout=60s`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    pod::config::parse_duration(text)
}

/// Runs `dce up`; returns the process exit code. Errors before the pod exists (a missing file,
/// bad ports) are printed as one line, `dce up: <what>: <why>`, with exit status 1.
pub fn run(args: UpArgs) -> anyhow::Result<i32> {
    crate::reap::init_logging();
    match start(args) {
        Ok(code) => Ok(code),
        Err(error) => {
            eprintln!("dce up: {error:#}");
            Ok(1)
        }
    }
}

fn start(args: UpArgs) -> anyhow::Result<i32> {
    let sandbox = sandbox::LocalSandbox::choose(&args.files)?;
    let ports = match &args.ports {
        Some(text) => pod::ports::parse_port_ranges(text)?,
        None => Vec::new(),
    };
    let config_overrides = args
        .overrides
        .iter()
        .map(|text| task::parse_override(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let config = match &args.config {
        Some(path) => Some(
            path.canonicalize()
                .with_context(|| format!("config file {}", path.display()))?,
        ),
        None => None,
    };
    let task = task::LocalTask {
        task_id: args
            .task_id
            .clone()
            .unwrap_or_else(|| task::default_task_id(&sandbox.dir)),
        file_name: sandbox.file_name_label(),
        ports,
        config_overrides,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let local = session::LocalRun {
        sandbox,
        task,
        config,
        timeout: args.timeout,
    };
    let code = runtime.block_on(session::run(local))?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(code)
}
