//! `dce`: runs a pod of Docker containers described by docker-compose files as one Mesos task.

use clap::{Parser, Subcommand};

/// Command line of the `dce` binary.
#[derive(Debug, Parser)]
#[command(name = "dce", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run as a Mesos executor over the v1 HTTP executor API (not yet implemented).
    Executor,
    /// Print the version.
    Version,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Version) => {
            println!("dce {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(Command::Executor) => anyhow::bail!("the executor is not implemented yet"),
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(())
        }
    }
}
