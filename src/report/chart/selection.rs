//! Chart families built from report rows: a metric against a swept parameter
//! ([`versus`]), a metric's percentiles per point, and memory or power over time. Each
//! picks the rows that have data, groups them into at most [`MAX_SERIES`] labelled series
//! and returns `None` when nothing is left, so no chart is ever empty.

use std::collections::BTreeSet;

use super::{Chart, Series, Style, XAxis, Xy, MAX_SERIES};
use crate::record::{MemorySample, PointKind};
use crate::report::{fmt_num, metric_label, ordered_params, param_f64, param_str, varying_params};
use crate::report::{Report, Row};

fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// Label of a row among `rows`: its values of the parameters that vary, minus `except`.
fn label(row: &Row, varying: &BTreeSet<String>, except: &[&str]) -> String {
    let parts: Vec<String> = ordered_params(std::iter::once(row))
        .into_iter()
        .filter(|k| varying.contains(k) && !except.contains(&k.as_str()))
        .map(|k| format!("{k}={}", param_str(&row.point, &k)))
        .collect();
    if parts.is_empty() {
        "all points".into()
    } else {
        parts.join(", ")
    }
}

/// Groups rows into at most [`MAX_SERIES`] labelled series, keeping first-seen order.
fn group<'a>(rows: &[&'a Row], except: &[&str]) -> (Vec<(String, Vec<&'a Row>)>, Option<String>) {
    let varying = varying_params(rows.iter().copied());
    let mut order: Vec<(String, Vec<&Row>)> = Vec::new();
    for r in rows {
        let l = label(r, &varying, except);
        match order.iter_mut().find(|(k, _)| *k == l) {
            Some((_, v)) => v.push(r),
            None => order.push((l, vec![r])),
        }
    }
    let note = (order.len() > MAX_SERIES).then(|| {
        format!(
            "{} more series not drawn: {}",
            order.len() - MAX_SERIES,
            order[MAX_SERIES..]
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )
    });
    order.truncate(MAX_SERIES);
    (order, note)
}

/// `metric.stat` against a numeric parameter shown as categories.
#[allow(clippy::too_many_arguments)]
pub(super) fn versus(
    report: &Report,
    rows: &[&Row],
    x_param: &str,
    metrics: &[(&str, &str)],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> Option<Chart> {
    let rows: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| param_f64(&r.point, x_param).is_some())
        .filter(|r| {
            metrics
                .iter()
                .any(|(m, s)| report.figure(&r.point, m, s).is_some())
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut xs: Vec<f64> = rows
        .iter()
        .filter_map(|r| param_f64(&r.point, x_param))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let (groups, note) = group(&rows, &[x_param]);
    let mut series = Vec::new();
    for (name, members) in &groups {
        for (metric, stat) in metrics {
            let mut pts: Vec<Xy> = members
                .iter()
                .filter_map(|r| {
                    let x = param_f64(&r.point, x_param)?;
                    let f = report.figure(&r.point, metric, stat)?;
                    Some(Xy {
                        x: xs.iter().position(|v| *v == x)? as f64,
                        y: f.value,
                        ci: f.ci,
                    })
                })
                .collect();
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.x.total_cmp(&b.x));
            let name = if metrics.len() > 1 && groups.len() == 1 && name == "all points" {
                stat.to_string()
            } else if metrics.len() > 1 {
                format!("{name} {stat}")
            } else {
                name.clone()
            };
            series.push(Series { name, points: pts });
        }
    }
    if series.is_empty() {
        return None;
    }
    Some(Chart {
        id: slug(title),
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        x_axis: XAxis::Categories(xs.iter().map(|x| fmt_num_trim(*x)).collect()),
        style: Style::Lines,
        series,
        note,
    })
}

fn fmt_num_trim(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        fmt_num(x)
    }
}

pub(super) fn percentiles(report: &Report, rows: &[&Row], metric: &str) -> Option<Chart> {
    let rows: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| r.point.summary.contains_key(metric))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let stats = ["p50", "p90", "p95", "p99", "max"];
    let varying = varying_params(rows.iter().copied());
    let mut series: Vec<Series> = rows
        .iter()
        .map(|r| Series {
            name: label(r, &varying, &[]),
            points: stats
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let f = report.figure(&r.point, metric, s)?;
                    Some(Xy {
                        x: i as f64,
                        y: f.value,
                        ci: f.ci,
                    })
                })
                .collect(),
        })
        .collect();
    let note = (series.len() > MAX_SERIES)
        .then(|| format!("first {MAX_SERIES} of {} points drawn", series.len()));
    series.truncate(MAX_SERIES);
    let name = metric_label(metric);
    Some(Chart {
        id: slug(&format!("{metric} percentiles")),
        title: format!("{name} percentiles"),
        x_label: "statistic".into(),
        y_label: name,
        x_axis: XAxis::Categories(stats.map(String::from).to_vec()),
        style: Style::Lines,
        series,
        note,
    })
}

pub(super) fn timeline(
    rows: &[&Row],
    title: &str,
    y_label: &str,
    get: impl Fn(&MemorySample) -> Option<f64>,
) -> Option<Chart> {
    let rows: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| r.point.memory.timeline.iter().any(|s| get(s).is_some()))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let varying = varying_params(rows.iter().copied());
    let mut series: Vec<Series> = rows
        .iter()
        .map(|r| Series {
            name: format!("{} ({})", label(r, &varying, &[]), kind_name(r.point.kind)),
            points: r
                .point
                .memory
                .timeline
                .iter()
                .filter_map(|s| {
                    Some(Xy {
                        x: s.t_s,
                        y: get(s)?,
                        ci: None,
                    })
                })
                .collect(),
        })
        .collect();
    let note = (series.len() > MAX_SERIES)
        .then(|| format!("first {MAX_SERIES} of {} points drawn", series.len()));
    series.truncate(MAX_SERIES);
    Some(Chart {
        id: slug(title),
        title: title.into(),
        x_label: "seconds since the point started".into(),
        y_label: y_label.into(),
        x_axis: XAxis::Linear,
        style: Style::Lines,
        series,
        note,
    })
}

fn kind_name(k: PointKind) -> &'static str {
    match k {
        PointKind::Engine => "engine",
        PointKind::Load => "load",
        PointKind::Quality => "quality",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(
            super::slug("Decode throughput vs batch"),
            "decode-throughput-vs-batch"
        );
    }
}
