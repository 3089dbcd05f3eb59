//! `dce render`: show the generated compose file and why each rewrite happened.

/// Arguments of `dce render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Compose file(s), merged in order.
    #[arg(short = 'f', long = "file")]
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: RenderArgs) -> anyhow::Result<()> {
    anyhow::bail!("`dce render` is not implemented yet")
}
