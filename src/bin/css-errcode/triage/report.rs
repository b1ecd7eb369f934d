//! Rendering a tally: the text report for people, JSON for machines, and the problems on stderr.

use std::fmt::Write as _;

use serde_json::json;

use tencent_css_errcode::triage::{Counter, Problem, Tally};

/// The problems, on stderr: the first malformed lines and API errors, with totals.
pub fn problems_to_stderr(t: &Tally) {
    for m in &t.malformed_shown {
        eprintln!("{}:{}: malformed line: {}", m.file, m.line, m.reason);
    }
    if t.malformed > 0 {
        eprintln!("{} malformed line(s) in all", t.malformed);
    }
    for m in &t.api_errors_shown {
        eprintln!("{}:{}: API error: {}", m.file, m.line, m.reason);
    }
    if t.api_errors > 0 {
        eprintln!("{} API error line(s) in all", t.api_errors);
    }
    if t.untracked_keys() > 0 {
        eprintln!(
            "note: more distinct domains/apps or streams than are tracked; {} failures are in no top list",
            t.untracked_keys()
        );
    }
}

/// A titled table of counts, largest first (ties by name), each with its share of `whole`.
fn shares<K: AsRef<str> + Ord>(
    out: &mut String,
    title: &str,
    width: usize,
    counts: &std::collections::BTreeMap<K, u64>,
    whole: u64,
) {
    let _ = writeln!(out, "\n{title}:");
    let mut rows: Vec<_> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (name, count) in rows {
        let _ = writeln!(
            out,
            "  {:<width$} {count:>10} {:>6.1}%",
            name.as_ref(),
            share(*count, whole)
        );
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn problems(list: &[Problem]) -> Vec<serde_json::Value> {
    list.iter()
        .map(|m| json!({"file": m.file, "line": m.line, "reason": m.reason}))
        .collect()
}

pub fn json(t: &Tally) -> String {
    let top = |c: &Counter| {
        c.top(10)
            .into_iter()
            .map(|(k, v)| json!({"key": k, "failures": v}))
            .collect::<Vec<_>>()
    };
    let value = json!({
        "events": t.events,
        "stream_end": t.stream_end,
        "push_start": t.push_start,
        "malformed": t.malformed,
        "api_errors": t.api_errors,
        "duplicates": t.duplicates,
        "unverified": t.unverified,
        "outside_window": t.outside_window,
        "by_category": t.by_category,
        "by_reason": t.by_reason,
        "failures": t.failures,
        "retryable": t.retryable,
        "retryable_share": share(t.retryable, t.stream_end) / 100.0,
        "top_apps": top(&t.by_app),
        "top_streams": top(&t.by_stream),
        "untracked_keys": t.untracked_keys(),
        "malformed_lines": problems(&t.malformed_shown),
        "api_error_lines": problems(&t.api_errors_shown),
        "unreadable": t.unreadable,
    });
    format!("{value:#}\n")
}

pub fn text(t: &Tally) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "events:      {} ({} stream end, {} push start)",
        t.events, t.stream_end, t.push_start
    );
    let _ = writeln!(out, "duplicates:  {} redeliveries dropped", t.duplicates);
    if t.unverified > 0 {
        let _ = writeln!(
            out,
            "unverified:  {} events counted as new but checked only approximately (more distinct events than the deduper holds exactly)",
            t.unverified
        );
    }
    let _ = writeln!(out, "malformed:   {} lines", t.malformed);
    if t.api_errors > 0 {
        let _ = writeln!(
            out,
            "api errors:  {} lines (their records are missing)",
            t.api_errors
        );
    }
    if t.outside_window > 0 {
        let _ = writeln!(
            out,
            "skipped:     {} events outside --since/--until",
            t.outside_window
        );
    }
    let _ = writeln!(
        out,
        "failures:    {} stream ends not intended; retryable {} ({:.1}% of stream ends)",
        t.failures,
        t.retryable,
        share(t.retryable, t.stream_end)
    );
    if t.stream_end > 0 {
        shares(&mut out, "by category", 16, &t.by_category, t.stream_end);
        shares(&mut out, "by reason", 28, &t.by_reason, t.stream_end);
    }
    for (title, counter) in [("domains/apps", &t.by_app), ("streams", &t.by_stream)] {
        let top = counter.top(10);
        if !top.is_empty() {
            let _ = writeln!(out, "\ntop {title} by failures:");
            for (key, count) in top {
                let _ = writeln!(out, "  {count:>10}  {key}");
            }
        }
    }
    out
}
