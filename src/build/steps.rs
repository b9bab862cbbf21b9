//! Runs a build pipeline as a list of external commands: each step's wall time, its
//! output captured to a log file, and the first failing step stops the pipeline with the
//! tail of its stderr in the error. `--plan` prints the same steps without running them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::engine::BuildStep;
use crate::error::{Error, Result};

/// One command of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub argv: Vec<String>,
    /// Extra environment variables for this step.
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
}

impl Step {
    pub fn new(name: impl Into<String>, argv: Vec<String>) -> Self {
        Step {
            name: name.into(),
            argv,
            env: Vec::new(),
            cwd: None,
        }
    }

    /// The command as a shell line (for `--plan` and logs), with quoting where needed.
    pub fn shell_line(&self) -> String {
        let quote = |s: &str| {
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                s.to_owned()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        };
        let mut parts: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        parts.extend(self.argv.iter().map(|a| quote(a)));
        let line = parts.join(" ");
        match &self.cwd {
            Some(d) => format!("(cd {} && {line})", quote(&d.display().to_string())),
            None => line,
        }
    }
}

/// Runs the steps in order, logging each to `log_dir/<n>-<name>.log`. Calls `on_start`
/// before each step (for progress display). Stops at the first failure.
pub fn run_steps(
    steps: &[Step],
    log_dir: &Path,
    on_start: &mut dyn FnMut(usize, &Step),
) -> Result<Vec<BuildStep>> {
    std::fs::create_dir_all(log_dir).map_err(|e| Error::io(log_dir, e))?;
    let mut done = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        on_start(i, step);
        let Some((prog, args)) = step.argv.split_first() else {
            return Err(Error::config(
                format!("step {}", step.name),
                "empty command",
            ));
        };
        let safe: String = step
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let log = log_dir.join(format!("{:02}-{safe}.log", i + 1));
        let mut cmd = Command::new(prog);
        cmd.args(args).stdin(Stdio::null());
        for (k, v) in &step.env {
            cmd.env(k, v);
        }
        if let Some(d) = &step.cwd {
            cmd.current_dir(d);
        }
        let t = Instant::now();
        let out = cmd.output().map_err(|e| Error::Tool {
            tool: step.name.clone(),
            message: format!("could not start `{prog}`: {e}"),
        })?;
        let wall_s = t.elapsed().as_secs_f64();
        let mut text = format!("$ {}\n", step.shell_line());
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        text.push_str(&format!("\n[{} after {wall_s:.2} s]\n", out.status));
        std::fs::write(&log, text).map_err(|e| Error::io(&log, e))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(Error::Tool {
                tool: step.name.clone(),
                message: format!(
                    "step {} of {} failed ({}) after {wall_s:.2} s; full log: {}\n{}",
                    i + 1,
                    steps.len(),
                    out.status,
                    log.display(),
                    tail.join("\n")
                ),
            });
        }
        done.push(BuildStep {
            name: step.name.clone(),
            command: step.argv.clone(),
            wall_s,
        });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(name: &str, script: &str) -> Step {
        Step::new(name, vec!["sh".into(), "-c".into(), script.into()])
    }

    #[test]
    fn runs_in_order_times_and_logs() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("m");
        let steps = vec![
            sh(
                "first",
                &format!("echo one > {}; echo hello", marker.display()),
            ),
            sh("second", &format!("cat {}; sleep 0.2", marker.display())),
        ];
        let mut started = vec![];
        let done = run_steps(&steps, &dir.path().join("logs"), &mut |i, _| {
            started.push(i)
        })
        .unwrap();
        assert_eq!(started, vec![0, 1]);
        assert_eq!(done.len(), 2);
        assert!(done[1].wall_s >= 0.2, "{}", done[1].wall_s);
        let log = std::fs::read_to_string(dir.path().join("logs/02-second.log")).unwrap();
        assert!(
            log.contains("one") && log.contains("exit status: 0"),
            "{log}"
        );
    }

    #[test]
    fn failing_step_stops_and_shows_its_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let never = dir.path().join("never");
        let steps = vec![
            sh("ok", "true"),
            sh("quantize", "echo 'out of memory on layer 7' >&2; exit 3"),
            sh("export", &format!("touch {}", never.display())),
        ];
        let e = run_steps(&steps, dir.path(), &mut |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("quantize") && e.contains("step 2 of 3"), "{e}");
        assert!(e.contains("out of memory on layer 7"), "{e}");
        assert!(!never.exists(), "the pipeline went on after a failure");
    }

    #[test]
    fn missing_program_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let steps = vec![Step::new("build", vec!["/no/such/llm_build".into()])];
        let e = run_steps(&steps, dir.path(), &mut |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("/no/such/llm_build"), "{e}");
    }

    #[test]
    fn shell_line_quotes() {
        let mut s = Step::new(
            "x",
            vec!["python3".into(), "-m".into(), "a b".into(), "it's".into()],
        );
        s.env.push(("CUDA_VISIBLE_DEVICES".into(), "0".into()));
        assert_eq!(
            s.shell_line(),
            r"CUDA_VISIBLE_DEVICES=0 python3 -m 'a b' 'it'\''s'"
        );
    }
}
