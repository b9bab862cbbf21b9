//! `trtbench build --backend tensorrt` (TensorRT Edge-LLM pipeline).

use super::build::Args;

pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("TensorRT builds are not wired yet")
}
