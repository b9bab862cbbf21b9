//! `trtbench build --backend tensorrt`: the flags of TensorRT Edge-LLM builds, turned into
//! a [`Request`], planned by `build::edge_llm` (limits chosen from a KV memory budget when
//! not given), printed, and run as logged, timed steps. `--plan` prints the commands
//! without running them (and works without any NVIDIA software installed). Does not
//! depend on `cli::build` (which flattens [`TrtBuildArgs`] into its flags).

use std::path::{Path, PathBuf};

use crate::build::edge_llm::{self, EdgeQuant, Request};
use crate::cli::Usage;

/// Options of TensorRT Edge-LLM builds.
#[derive(Debug, Clone, clap::Args)]
pub struct TrtBuildArgs {
    /// Print the pipeline's commands without running them.
    #[arg(long)]
    pub plan: bool,
    /// Largest batch the engine accepts (default: chosen from --mem-budget).
    #[arg(long)]
    pub max_batch: Option<u32>,
    /// Longest prompt the engine accepts.
    #[arg(long, default_value_t = 1024)]
    pub max_input_len: u32,
    /// KV capacity per sequence (prompt + output tokens).
    #[arg(long)]
    pub max_seq_len: Option<u32>,
    /// Memory the KV cache may use when choosing --max-batch (e.g. `6GiB`).
    #[arg(long)]
    pub mem_budget: Option<String>,
    /// Build a speculative engine directory (Edge-LLM 0.10): `eagle3`, `mtp` or `dflash`.
    /// The base and its draft go into one directory (`--specBase`, `--specDraft`).
    #[arg(long)]
    pub draft: Option<String>,
    /// The draft checkpoint directory (EAGLE3 and DFlash; MTP's is in the base checkpoint).
    #[arg(long, requires = "draft")]
    pub draft_from: Option<PathBuf>,
    /// `--maxVerifyTreeSize` of the base and `--maxDraftTreeSize` of the draft (default:
    /// Edge-LLM's example, 60 for EAGLE3, 4 for MTP, 16 for DFlash).
    #[arg(long, requires = "draft")]
    pub max_verify: Option<u32>,
}

impl TrtBuildArgs {
    /// The library request for these options and the shared build flags.
    pub fn request(
        &self,
        from: &Path,
        quant: &str,
        out: Option<PathBuf>,
        engines_dir: &Path,
        force: bool,
    ) -> anyhow::Result<Request> {
        let quant = EdgeQuant::parse(quant)?;
        let mem_budget_bytes =
            match &self.mem_budget {
                Some(s) => Some(crate::units::parse_bytes(s).ok_or_else(|| {
                    Usage(format!("--mem-budget: `{s}` is not a size (e.g. 6GiB)"))
                })?),
                None => None,
            };
        let draft = match &self.draft {
            Some(kind) => Some(crate::build::edge_spec::DraftBuild::new(
                crate::build::edge_spec::DraftKind::parse(kind)?,
                self.draft_from.clone(),
                self.max_verify,
            )?),
            None => None,
        };
        Ok(Request {
            draft,
            from: from.to_owned(),
            quant,
            out,
            engines_dir: engines_dir.to_owned(),
            force,
            plan_only: self.plan,
            max_batch: self.max_batch,
            max_input_len: self.max_input_len,
            max_seq_len: self.max_seq_len,
            mem_budget_bytes,
        })
    }
}

/// Plans `req`, prints the plan, and (unless `--plan`) runs it.
pub fn run(req: &Request) -> anyhow::Result<()> {
    let plan = edge_llm::plan(req)?;
    let lim = plan.limits;
    println!(
        "# Edge-LLM build of {} → {} ({}): max batch {}, max input {}, KV capacity {} tokens{}",
        plan.from.display(),
        plan.out.display(),
        plan.quant.as_str(),
        lim.max_batch,
        lim.max_input_len,
        lim.kv_capacity,
        if lim.kv_bytes > 0 {
            format!(", KV reserved {}", crate::units::human_bytes(lim.kv_bytes))
        } else {
            String::new()
        }
    );
    println!("# limits: {}", plan.limits_source);
    if let Some(d) = &req.draft {
        println!(
            "# speculative: {} draft, base and draft built into {} (verify/draft tree {})",
            d.kind.as_str(),
            plan.out.display(),
            d.tree
        );
    }
    if req.plan_only {
        for s in &plan.steps {
            println!("{}", s.shell_line());
        }
        if !plan.missing_tools.is_empty() {
            println!("# not found here: {}", plan.missing_tools.join(", "));
        }
        return Ok(());
    }
    let t = std::time::Instant::now();
    let mut progress = StepProgress::new(plan.steps.len());
    let built = edge_llm::run(&plan, &mut |i, s| progress.start(i, s));
    progress.finish(built.is_ok());
    built?;
    println!(
        "built {} in {:.1} s",
        plan.out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Progress of the build steps: an indicatif bar (step i/n, elapsed, the step's name) on a
/// terminal; each step's command line when it starts, and one plain line per finished
/// step with its wall time, so a long build in a CI log is never silent.
struct StepProgress {
    bar: indicatif::ProgressBar,
    current: Option<(usize, String, std::time::Instant)>,
    n: usize,
}

impl StepProgress {
    fn new(n: usize) -> Self {
        let bar = if super::interactive() {
            indicatif::ProgressBar::new(n as u64)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "[{pos}/{len}] {bar:20} [{elapsed_precise}] {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        StepProgress {
            bar,
            current: None,
            n,
        }
    }

    fn start(&mut self, i: usize, s: &crate::build::steps::Step) {
        self.end_current("done");
        self.line(format!(
            "[{}/{}] {}: {}",
            i + 1,
            self.n,
            s.name,
            s.shell_line()
        ));
        self.bar.set_position(i as u64);
        self.bar.set_message(s.name.clone());
        self.current = Some((i, s.name.clone(), std::time::Instant::now()));
    }

    /// Above the bar on a terminal; plain stderr otherwise (a hidden bar prints nothing).
    fn line(&self, text: String) {
        if self.bar.is_hidden() {
            eprintln!("{text}");
        } else {
            self.bar.println(text);
        }
    }

    fn end_current(&mut self, how: &str) {
        if let Some((i, name, t)) = self.current.take() {
            self.line(format!(
                "[{}/{}] {name}: {how} in {:.1} s",
                i + 1,
                self.n,
                t.elapsed().as_secs_f64()
            ));
            self.bar.set_position(i as u64 + 1);
        }
    }

    fn finish(mut self, ok: bool) {
        self.end_current(if ok { "done" } else { "failed" });
        self.bar.finish_and_clear();
    }
}
