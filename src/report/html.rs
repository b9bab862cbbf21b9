//! One self-contained HTML file: inline CSS, inline SVG charts, no script, no network
//! access (no fonts, styles or images fetched). Tables match the Markdown report; figures
//! whose confidence interval is wide are greyed, with the interval in a tooltip.

use super::chart::{charts, svg};
use super::markdown::utc_date;
use super::table::{figures_note, tables, Table};
use super::{describe_env, Report};

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1400px;padding:0 1rem;color:#222}
.scroll{overflow-x:auto}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.9rem;margin:.6rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;white-space:nowrap}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.noisy{color:#9a9a9a;background:#fafafa}
.note{color:#555;font-size:.85rem;max-width:60rem}
.warn{background:#fff7e0;border:1px solid #f0d48a;padding:.6rem 1rem;border-radius:4px}
.error{background:#fde8e8;border:1px solid #e5a5a5;padding:.6rem 1rem}
figure.chart{margin:1.2rem 0}figure.chart svg{max-width:100%;height:auto;border:1px solid #eee}
details{margin:.4rem 0}code{background:#f4f4f4;padding:0 .2rem}
";

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn table_html(t: &Table) -> String {
    let mut o = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for h in &t.headers {
        o.push_str(&format!("<th>{}</th>", esc(h)));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        o.push_str("<tr>");
        for c in row {
            let mut class = Vec::new();
            if c.numeric {
                class.push("num");
            }
            if c.noisy && c.text != "-" {
                class.push("noisy");
            }
            let class = if class.is_empty() {
                String::new()
            } else {
                format!(" class=\"{}\"", class.join(" "))
            };
            let title = c
                .title
                .as_ref()
                .map(|t| format!(" title=\"{}\"", esc(t)))
                .unwrap_or_default();
            o.push_str(&format!("<td{class}{title}>{}</td>", esc(&c.text)));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table></div>\n");
    if let Some(n) = &t.note {
        o.push_str(&format!("<p class=\"note\">{}</p>\n", esc(n)));
    }
    o
}

fn env_html(env: &serde_json::Value) -> String {
    let mut o = String::from("<table>");
    if let Some(m) = env.as_object() {
        for (k, v) in m {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            o.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                esc(k),
                esc(&text)
            ));
        }
    }
    o.push_str("</table>");
    o
}

/// The list of source files, each with its machine and command.
fn sources_html(report: &Report) -> String {
    let mut o = String::new();
    o.push_str("<section id=\"sources\">\n<ul>\n");
    for s in &report.sources {
        o.push_str(&format!(
            "<li><code>{}</code> on <b>{}</b>, {}: {}<details><summary>environment and command</summary>{}<p><code>{}</code></p></details></li>\n",
            esc(&s.file),
            esc(&s.device),
            esc(&utc_date(s.created_unix_s)),
            esc(&describe_env(&s.environment)),
            env_html(&s.environment),
            esc(&s.command.join(" "))
        ));
    }
    o.push_str("</ul>\n</section>\n");
    o
}

/// The warnings section (after the tables), one item per sentence.
fn warnings_html(warnings: &[String]) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut o = String::from("<section id=\"warnings\" class=\"warn\"><b>Warnings</b><ul>\n");
    for w in warnings {
        o.push_str(&format!("<li>{}</li>\n", esc(w)));
    }
    o.push_str("</ul></section>\n");
    o
}

/// Renders the whole report. Charts that cannot be drawn (no font) are replaced by a
/// visible error naming the fix; tables are always there.
pub fn render(report: &Report) -> String {
    let mut o = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>trtbench report</title>\n<style>",
    );
    o.push_str(CSS);
    o.push_str("</style>\n</head>\n<body>\n<h1>trtbench report</h1>\n");
    o.push_str(&sources_html(report));

    // The figures first; the warnings (grouped by sentence) after the tables, announced
    // by one line here.
    let warnings = report.warnings();
    if !warnings.is_empty() {
        o.push_str(&format!(
            "<p class=\"warn\" id=\"warnings-note\"><a href=\"#warnings\">{} warning(s)</a> \
             below the tables.</p>\n",
            warnings.len()
        ));
    }

    for t in tables(report) {
        o.push_str(&format!(
            "<section class=\"table\">\n<h2>{}</h2>\n",
            esc(&t.title)
        ));
        o.push_str(&table_html(&t));
        o.push_str("</section>\n");
    }

    o.push_str(&warnings_html(&warnings));

    let cs = charts(report);
    if !cs.is_empty() {
        o.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
        o.push_str(&format!(
            "<p class=\"note\">Bars on points: 95% confidence intervals. {}</p>\n",
            esc(&figures_note(report))
        ));
        for c in &cs {
            o.push_str(&format!(
                "<figure class=\"chart\" id=\"chart-{}\">\n",
                esc(&c.id)
            ));
            match svg(c) {
                Ok(s) => o.push_str(&s),
                Err(e) => o.push_str(&format!(
                    "<p class=\"error\">{}: chart not drawn: {}</p>",
                    esc(&c.title),
                    esc(&e.to_string())
                )),
            }
            if let Some(n) = &c.note {
                o.push_str(&format!(
                    "<figcaption class=\"note\">{}</figcaption>",
                    esc(n)
                ));
            }
            o.push_str("\n</figure>\n");
        }
        o.push_str("</section>\n");
    }
    o.push_str(&format!(
        "<footer class=\"note\"><p>Percentiles: {}. Generated by trtbench {}.</p></footer>\n</body>\n</html>\n",
        esc(crate::stats::PERCENTILE_METHOD),
        env!("CARGO_PKG_VERSION")
    ));
    o
}
