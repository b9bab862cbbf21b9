//! The crate's layers (docs/ARCHITECTURE.md) as a test: every `crate::` path in src/ must
//! point to a module on a lower layer than the file's own top-level module, or inside it.
//! An import that points up or sideways (a cycle in the making) fails with the file, line
//! and the two modules named.

use std::collections::BTreeMap;
use std::path::Path;

/// Top-level modules and their layer: a module may use only modules on lower layers.
/// Keep this table and the diagram in docs/ARCHITECTURE.md in step.
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("units", 0),
    ("platform", 1),
    ("gguf", 1),
    ("record", 2),
    ("env", 2),
    ("roofline", 2),
    ("stats", 3),
    ("warning", 4),
    ("engine", 4),
    ("cuda", 4),
    ("backends", 5),
    ("build", 6),
    ("fetch", 6),
    ("bench", 7),
    ("client", 7),
    ("report", 7),
    ("import", 7),
    ("mlperf", 8),
    ("load", 8),
    ("cli", 9),
];

/// `lib.rs` declares the modules; `main.rs` is the binary, over everything.
const ROOT_FILES: &[&str] = &["lib.rs", "main.rs"];

/// Strips `//` comments (doc comments included) and string literals' contents, so paths
/// in prose or messages do not count.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut prev = ' ';
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            if c == '"' && prev != '\\' {
                in_str = false;
                out.push('"');
            }
            prev = if prev == '\\' && c == '\\' { ' ' } else { c };
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            break;
        }
        if c == '"' {
            in_str = true;
        }
        out.push(c);
        prev = c;
    }
    out
}

/// The top-level modules a line of code names through `crate::`, including those inside
/// a braced group (`use crate::{a, b::c}`), which may continue on following lines.
fn targets(code: &str, group: &mut Option<u32>, found: &mut Vec<String>) {
    let bytes = code.as_bytes();
    let mut i = 0;
    // Continuing a multi-line `crate::{ ... }` group: top-level names at depth 1.
    if let Some(depth) = group.as_mut() {
        let mut word = String::new();
        let mut at_start = true;
        while i < bytes.len() {
            let c = bytes[i] as char;
            match c {
                '{' => *depth += 1,
                '}' => {
                    *depth -= 1;
                    if *depth == 0 {
                        *group = None;
                        i += 1;
                        break;
                    }
                }
                _ => {}
            }
            if *depth == 1 && (c.is_alphanumeric() || c == '_') {
                if at_start {
                    word.push(c);
                }
            } else {
                if !word.is_empty() {
                    found.push(std::mem::take(&mut word));
                }
                at_start = matches!(c, ',' | ' ' | '{' | '\t');
            }
            i += 1;
        }
        if !word.is_empty() {
            found.push(word);
        }
        if group.is_some() {
            return;
        }
    }
    let rest = &code[i..];
    let mut from = 0;
    while let Some(pos) = rest[from..].find("crate::") {
        let start = from + pos + "crate::".len();
        // `$crate::` in macros and `trtbench_crate::` are not ours.
        let before = rest[..from + pos].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            from = start;
            continue;
        }
        let after = &rest[start..];
        if let Some(inner) = after.strip_prefix('{') {
            *group = Some(1);
            let mut sub = Vec::new();
            targets(inner, group, &mut sub);
            found.extend(sub);
            return;
        }
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(name);
        }
        from = start;
    }
}

#[test]
fn imports_point_down_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    crate::util::rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    let mut unknown = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let rel_s = rel.to_string_lossy().replace('\\', "/");
        if ROOT_FILES.contains(&rel_s.as_str()) {
            continue;
        }
        let own = rel_s
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        let Some(&own_layer) = layers.get(own.as_str()) else {
            unknown.push(format!("{rel_s}: module `{own}` is not in LAYERS"));
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        let mut group = None;
        for (n, line) in text.lines().enumerate() {
            let mut found = Vec::new();
            targets(&code_of(line), &mut group, &mut found);
            for t in found {
                if t == own || t == "self" || t == "Error" || t == "Result" {
                    continue;
                }
                match layers.get(t.as_str()) {
                    Some(&l) if l < own_layer => {}
                    Some(&l) => bad.push(format!(
                        "src/{rel_s}:{}: `{own}` (layer {own_layer}) uses `crate::{t}` (layer {l})",
                        n + 1
                    )),
                    None => unknown.push(format!(
                        "src/{rel_s}:{}: `crate::{t}` is not a module in LAYERS",
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from the layer table:\n{}",
        unknown.join("\n")
    );
    assert!(
        bad.is_empty(),
        "imports that point up or sideways (see docs/ARCHITECTURE.md):\n{}",
        bad.join("\n")
    );
}

/// The adapters for other languages (crates/: the C ABI, the Python module) sit at the top
/// beside `cli` (docs/ARCHITECTURE.md): they reach the library through `trtbench::` paths
/// to modules of the table, never `cli` (a second front end built on the first), so their
/// sweeps, engines and load runs are the library's own.
const ADAPTERS: &[&str] = &["crates/trtbench-c/src", "crates/trtbench-py/src"];

/// The library modules a line of an adapter names through `trtbench::` (its own `crate::`
/// paths are its business).
fn library_targets(line: &str, group: &mut Option<u32>, found: &mut Vec<String>) {
    let code = code_of(line)
        .replace("crate::", "self::")
        .replace("trtbench::", "crate::");
    targets(&code, group, found);
}

#[test]
fn adapters_use_the_library_below_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let cli = layers["cli"];
    let mut bad = Vec::new();
    for dir in ADAPTERS {
        let mut files = Vec::new();
        crate::util::rust_files(&root.join(dir), &mut files);
        files.sort();
        let mut uses = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let mut group = None;
            for (n, line) in text.lines().enumerate() {
                let mut found = Vec::new();
                library_targets(line, &mut group, &mut found);
                for t in found {
                    uses += 1;
                    match layers.get(t.as_str()) {
                        Some(&l) if l < cli => {}
                        Some(_) => {
                            bad.push(format!("{}:{}: uses `trtbench::{t}`", f.display(), n + 1))
                        }
                        None if t == "Error" || t == "Result" => {}
                        None => bad.push(format!(
                            "{}:{}: `trtbench::{t}` is not a module in LAYERS",
                            f.display(),
                            n + 1
                        )),
                    }
                }
            }
        }
        assert!(
            uses > 0,
            "{dir}: no `trtbench::` path found: is the adapter still there?"
        );
    }
    assert!(
        bad.is_empty(),
        "adapters must use the library, not the CLI:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_adapter_checker_reads_library_paths_only() {
    let (mut g, mut found) = (None, Vec::new());
    library_targets(
        "use trtbench::{bench::spec, cli::Cli}; use crate::guard; // trtbench::report",
        &mut g,
        &mut found,
    );
    library_targets("let p = trtbench::backends::open(d)?;", &mut g, &mut found);
    assert_eq!(found, ["bench", "cli", "backends"]);
}

#[test]
fn the_checker_sees_grouped_and_inline_paths() {
    let mut g = None;
    let mut found = Vec::new();
    targets(
        &code_of("use crate::{record::Point, stats, // crate::cli"),
        &mut g,
        &mut found,
    );
    assert_eq!(g, Some(1));
    targets(&code_of("    bench::plan::Plan,"), &mut g, &mut found);
    targets(&code_of("};"), &mut g, &mut found);
    assert_eq!(g, None);
    targets(
        &code_of(r#"let x = crate::report::markdown(&r); let s = "crate::cli";"#),
        &mut g,
        &mut found,
    );
    assert_eq!(found, ["record", "stats", "bench", "report"]);
}
