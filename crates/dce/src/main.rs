//! `dce`: runs a pod of Docker containers described by docker-compose files as one Mesos task.

mod executor;
mod help;
mod pause;
mod reap;
mod render;
mod up;

use clap::{CommandFactory, Parser, Subcommand};

/// Command line of the `dce` binary.
#[derive(Debug, Parser)]
#[command(name = "dce", version, about, long_about = None, after_help = help::DCE)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run as a Mesos executor over the v1 HTTP executor API (the default when started by a Mesos
    /// agent, i.e. with `MESOS_EXECUTOR_ID` set).
    #[command(after_help = help::EXECUTOR)]
    Executor(executor::ExecutorArgs),
    /// Run a pod locally exactly as the executor would, on the local Docker engine; Ctrl-C
    /// kills it.
    Up(up::UpArgs),
    /// Print the rewritten compose file and explain every rewrite; start nothing.
    #[command(after_help = help::RENDER)]
    Render(render::RenderArgs),
    /// Remove containers, networks and volumes of pods whose executor is gone (with --images,
    /// also unused infra images of other dce builds).
    Reap(reap::ReapArgs),
    /// Entrypoint of the infra container: sleep until SIGTERM/SIGINT, reaping zombies.
    #[command(after_help = help::PAUSE)]
    Pause,
    /// Print the version.
    #[command(after_help = help::VERSION)]
    Version,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Version) => {
            println!("dce {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(Command::Render(args)) => render::run(args),
        Some(Command::Pause) => pause::run(),
        Some(Command::Executor(args)) => std::process::exit(executor::run(args)?),
        None if std::env::var_os("MESOS_EXECUTOR_ID").is_some() => {
            std::process::exit(executor::run(executor::ExecutorArgs::default())?)
        }
        Some(Command::Reap(args)) => std::process::exit(reap::run(args)?),
        Some(Command::Up(args)) => std::process::exit(up::run(args)?),
        None => {
            Cli::command().print_help()?;
            Ok(())
        }
    }
}
