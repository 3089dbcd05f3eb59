//! `dce executor`: run as a Mesos custom executor over the v1 HTTP executor API (SPEC §4–§7).
//!
//! [`driver`] owns the Mesos session and one [`supervisor`] per task; a supervisor launches its
//! pod ([`launch`]), follows it ([`pod_view`], [`container_logs`]), reports it ([`status`]) and
//! tears it down.

mod container_logs;
mod driver;
mod launch;
mod logging;
mod pod_files;
mod pod_view;
mod status;
mod supervisor;
mod task_setup;

use std::path::PathBuf;

use anyhow::Context;

pub use logging::LogFormat;

/// Arguments of `dce executor`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExecutorArgs {
    /// Config file (default: `$MESOS_SANDBOX/config.yaml`, then `/etc/dce/config.yaml`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Log format on stderr (also `DCE_LOG_FORMAT`); the level comes from `DCE_LOG` or
    /// `RUST_LOG` (default `info`).
    #[arg(long = "log-format", env = "DCE_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

/// Runs the executor; returns the process exit code.
pub fn run(args: ExecutorArgs) -> anyhow::Result<i32> {
    let format = args.log_format.or_else(|| {
        let text = std::env::var("DCE_LOG_FORMAT").ok()?;
        clap::ValueEnum::from_str(&text, true).ok()
    });
    logging::init(format.unwrap_or_default());
    let env = mesos::ExecutorEnv::from_env()
        .context("not started by a Mesos agent (the executor environment is incomplete)")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let options = driver::ExecutorOptions {
        config: args.config,
    };
    let code = runtime.block_on(driver::run(env, options));
    // Stray tasks (log followers, watchers) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(code)
}
