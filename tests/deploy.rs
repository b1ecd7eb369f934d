//! The Grafana dashboard and the Prometheus alert rules under deploy/: every metric they name
//! is one the receiver serves, the dashboard is valid JSON with its panels' queries, the alert
//! on abnormal interruptions names the library's retryable categories, and promtool checks
//! the rules and runs their unit tests (skipped, saying so, where promtool is missing; with
//! CSS_REQUIRE_DEPLOY_TESTS=1, as .ci/run sets, a skip is a failure).
#![cfg(feature = "serve")]

#[path = "common/receiver.rs"]
mod receiver;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use receiver::*;
use serde_json::Value;
use tencent_css_errcode::Category;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `css_…` names in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(found) = text[at..].find("css_") {
        let start = at + found;
        let boundary =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .map_or(text.len(), |n| start + n);
        if boundary {
            names.insert(text[start..end].to_owned());
        }
        at = end;
    }
    names
}

/// The sample names the receiver's /metrics serves (`css_store_seconds_bucket`, …) once it
/// has taken a push start and a stream end.
fn served() -> BTreeSet<String> {
    let data = temp_dir("deploy");
    let server = Server::start(&data);
    // A start and an end, so that the labelled families have a sample to show.
    for errcode in [None, Some(12)] {
        let body = push_callback("room1", "1", now() - 10, errcode);
        assert_eq!(server.post(&body).0, 200);
    }
    let text = server.metrics();
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
    // Every family, from its `# TYPE` line (a labelled family has no sample until it counts
    // something), with the names of its samples.
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (family, kind) = rest.split_once(' ').unwrap();
        match kind {
            "counter" => {
                names.insert(format!("{family}_total"));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{family}{suffix}"));
                }
            }
            _ => {
                names.insert(family.to_owned());
            }
        }
    }
    names
}

fn expressions(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr", Value::String(expr)) => out.push(expr.clone()),
                    _ => expressions(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| expressions(v, out)),
        _ => {}
    }
}

#[test]
fn every_metric_the_dashboard_and_the_alerts_name_is_served() {
    let served = served();
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("deploy/grafana/css-errcode.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 8, "{} panels", panels.len());
    for panel in panels {
        assert!(
            panel["title"].is_string() && panel["gridPos"].is_object(),
            "{panel}"
        );
    }
    let mut queries = Vec::new();
    expressions(&dashboard, &mut queries);
    assert!(queries.len() >= panels.len());
    let alerts = std::fs::read_to_string(root().join("deploy/prometheus/alerts.yml")).unwrap();
    let mut named = metric_names(&queries.join("\n"));
    let dashboard_names = named.clone();
    named.extend(metric_names(&alerts));
    let missing: Vec<&String> = named.iter().filter(|n| !served.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "named but not served: {missing:?}; served: {served:?}"
    );
    // The dashboard shows what the issue asks for: categories, live streams, outcomes,
    // store latency, 503s.
    for name in [
        "css_stream_ends_total",
        "css_streams_live",
        "css_callbacks_total",
        "css_store_seconds_bucket",
        "css_store_healthy",
    ] {
        assert!(
            dashboard_names.contains(name),
            "the dashboard does not show {name}"
        );
    }
}

#[test]
fn the_abnormal_interruption_alert_names_the_retryable_categories() {
    let alerts = std::fs::read_to_string(root().join("deploy/prometheus/alerts.yml")).unwrap();
    let rule = &alerts[alerts.find("alert: CSSAbnormalInterruptions").unwrap()..];
    let list = rule
        .split("category=~\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let named: BTreeSet<&str> = list.split('|').collect();
    let retryable: BTreeSet<&str> = Category::ALL
        .iter()
        .filter(|c| c.retryable())
        .map(|c| c.name())
        .collect();
    assert_eq!(named, retryable);
}

#[test]
fn promtool_checks_the_rules_and_passes_their_unit_tests() {
    let dir = root().join("deploy/prometheus");
    let Ok(check) = Command::new("promtool")
        .args(["check", "rules", "alerts.yml"])
        .current_dir(&dir)
        .output()
    else {
        assert!(
            std::env::var("CSS_REQUIRE_DEPLOY_TESTS").is_err(),
            "promtool is required but missing"
        );
        eprintln!("skipped: promtool is missing (Debian's prometheus package has it)");
        return;
    };
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let test = Command::new("promtool")
        .args(["test", "rules", "alerts.test.yml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
}
