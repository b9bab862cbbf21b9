//! `trtbench run` / `trtbench sweep` (in progress).
#[derive(Debug, clap::Args)]
pub struct RunArgs {}
#[derive(Debug, clap::Args)]
pub struct SweepArgs {}
pub fn run_one(_a: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
pub fn sweep(_a: SweepArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
