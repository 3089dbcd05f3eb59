//! `dce pause`: the infra container's entrypoint.

pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("`dce pause` is not implemented yet")
}
