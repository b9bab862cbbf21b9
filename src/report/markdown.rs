//! Markdown report for READMEs and terminals, laid out like llama-bench's tables: one
//! table per kind of point, padded columns, numbers right-aligned. Noisy figures are in
//! italics (Markdown has no grey).

use super::table::{tables, Cell, Table};
use super::{describe_env, Report};

/// Renders a report as Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::from("# trtbench report\n\n");
    for s in &report.sources {
        out.push_str(&format!(
            "- `{}` on **{}**, {}: {}\n",
            s.file,
            md_escape(&s.device),
            utc_date(s.created_unix_s),
            md_escape(&describe_env(&s.environment))
        ));
    }
    out.push('\n');
    let ts = tables(report);
    if ts.is_empty() {
        out.push_str("No points.\n\n");
    }
    for t in &ts {
        out.push_str(&format!("## {}\n\n", t.title));
        out.push_str(&table(t));
        if let Some(n) = &t.note {
            out.push_str(&format!("\n_{}_\n", n));
        }
        out.push('\n');
    }
    let warnings = report.warnings();
    if !warnings.is_empty() {
        out.push_str("## Warnings\n\n");
        for w in warnings {
            out.push_str(&format!("- {}\n", md_escape(&w)));
        }
        out.push('\n');
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn cell_text(c: &Cell) -> String {
    let t = md_escape(&c.text);
    if c.noisy && t != "-" {
        format!("*{t}*")
    } else {
        t
    }
}

/// A padded Markdown table.
pub fn table(t: &Table) -> String {
    let cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(cell_text).collect())
        .collect();
    let ncol = t.headers.len();
    let numeric: Vec<bool> = (0..ncol)
        .map(|i| t.rows.iter().any(|r| r.get(i).is_some_and(|c| c.numeric)))
        .collect();
    let width: Vec<usize> = (0..ncol)
        .map(|i| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .map(|s| s.chars().count())
                .chain([t.headers[i].chars().count(), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let pad = |s: &str, i: usize| {
        let n = width[i].saturating_sub(s.chars().count());
        if numeric[i] {
            format!("{}{s}", " ".repeat(n))
        } else {
            format!("{s}{}", " ".repeat(n))
        }
    };
    let mut out = String::new();
    let line = |vals: Vec<String>| format!("| {} |\n", vals.join(" | "));
    out.push_str(&line(
        t.headers
            .iter()
            .enumerate()
            .map(|(i, h)| pad(&md_escape(h), i))
            .collect(),
    ));
    out.push_str(&line(
        (0..ncol)
            .map(|i| {
                if numeric[i] {
                    format!("{}:", "-".repeat(width[i] - 1))
                } else {
                    "-".repeat(width[i])
                }
            })
            .collect(),
    ));
    for r in &cells {
        out.push_str(&line(
            (0..ncol)
                .map(|i| pad(r.get(i).map_or("", |s| s), i))
                .collect(),
        ));
    }
    out
}

/// `YYYY-MM-DD HH:MM UTC` from Unix seconds (civil-from-days, H. Hinnant's algorithm).
pub fn utc_date(unix_s: f64) -> String {
    if !unix_s.is_finite() || unix_s <= 0.0 {
        return "unknown date".into();
    }
    let secs = unix_s as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::utc_date(0.0), "unknown date");
        assert_eq!(super::utc_date(1_700_000_000.0), "2023-11-14 22:13 UTC");
        assert_eq!(super::utc_date(951_782_400.0), "2000-02-29 00:00 UTC");
    }
}
