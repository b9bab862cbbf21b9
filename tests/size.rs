//! The length rule of CONTRIBUTING.md as a test: no function over 80 lines and no file whose
//! non-test part is over 600 lines, unless a reason is written beside it (`// Long: why`
//! among the comment lines directly above the function, `//! Long: why` in the module doc).
//! Test modules (`#[cfg(test)] mod tests`) are not counted.

use std::path::Path;

const MAX_FN_LINES: usize = 80;
const MAX_FILE_LINES: usize = 600;

/// The name of the function a line starts, with its indentation, if it starts one.
fn fn_start(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start().len();
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let name = rest.strip_prefix("fn ")?;
    let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    // A declaration without a body (trait method, extern) is not a function body.
    (!line.trim_end().ends_with(';')).then_some((indent, &name[..end]))
}

/// Whether the comment block directly above line `i` gives a reason.
fn has_reason(lines: &[&str], i: usize) -> bool {
    lines[..i]
        .iter()
        .rev()
        .take_while(|l| {
            let t = l.trim_start();
            t.starts_with("//") || t.starts_with("#[")
        })
        .any(|l| l.trim_start().starts_with("// Long:"))
}

/// The violations in one file's text.
fn check(rel: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].starts_with("#[cfg(test)]") && w[1].starts_with("mod tests"))
        .unwrap_or(lines.len());
    let mut bad = Vec::new();
    if end > MAX_FILE_LINES && !lines.iter().any(|l| l.starts_with("//! Long:")) {
        bad.push(format!(
            "{rel}: {end} lines (over {MAX_FILE_LINES}) and no `//! Long:` reason"
        ));
    }
    for (i, line) in lines[..end].iter().enumerate() {
        let Some((indent, name)) = fn_start(line) else {
            continue;
        };
        let close = format!("{}}}", " ".repeat(indent));
        let Some(len) = lines[i..end].iter().position(|l| l.trim_end() == close) else {
            continue;
        };
        let n = len + 1;
        if n > MAX_FN_LINES && !has_reason(&lines, i) {
            bad.push(format!(
                "{rel}:{}: fn {name} is {n} lines (over {MAX_FN_LINES}) and no `// Long:` reason",
                i + 1
            ));
        }
    }
    bad
}

#[test]
fn no_long_function_or_file_without_a_reason() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    crate::util::rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        let text = std::fs::read_to_string(f).unwrap();
        bad.extend(check(&rel.to_string_lossy(), &text));
    }
    assert!(
        bad.is_empty(),
        "split these or say why:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_checker_measures_functions_and_reads_reasons() {
    let body = "    x();\n".repeat(MAX_FN_LINES);
    let long = format!("/// Doc.\npub fn long() {{\n{body}}}\n");
    assert_eq!(check("a.rs", &long).len(), 1);
    let excused = format!("/// Doc.\n// Long: one table.\npub fn long() {{\n{body}}}\n");
    assert!(check("a.rs", &excused).is_empty());
    let in_tests = format!("#[cfg(test)]\nmod tests {{\n    fn t() {{\n{body}    }}\n}}\n");
    assert!(check("a.rs", &in_tests).is_empty());
    let short = "fn short() {\n    x();\n}\n";
    assert!(check("a.rs", short).is_empty());
}
