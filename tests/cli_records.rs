//! `css-errcode records` against the local fake of DescribeLiveStreamEventList
//! (tests/common/fake_api.rs) on 127.0.0.1: formats, `--triage`, and the exit codes.
#![cfg(feature = "cli")]

#[path = "common/fake_api.rs"]
mod fake_api;

use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use fake_api::{Fake, Fault, SECRET_ID, SECRET_KEY, now, spread, start};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_css-errcode");

/// Runs `css-errcode` with the fake's credentials (or `key`) and no profile file.
async fn records(endpoint: &str, key: Option<&str>, args: &[String]) -> Output {
    let home = std::env::temp_dir().join(format!("css-errcode-home-{}", std::process::id()));
    let mut command = Command::new(BIN);
    command
        .arg("records")
        .arg("--endpoint")
        .arg(endpoint)
        .args(args)
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .env_remove("TENCENTCLOUD_TOKEN")
        .env_remove("TENCENTCLOUD_CREDENTIALS_FILE")
        .env("HOME", home)
        .stdin(Stdio::null());
    if let Some(key) = key {
        command
            .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
            .env("TENCENTCLOUD_SECRET_KEY", key);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn fake_with(count: u64, span: i64) -> (Arc<Fake>, String, i64) {
    let now = now();
    let fake = Fake::new(now + 1, spread(0, count, now - span, now - 60));
    let endpoint = start(fake.clone()).await;
    (fake, endpoint, now)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formats_and_the_pipe_into_triage() {
    let (fake, endpoint, now) = fake_with(250, 7_200).await;
    let since = format!("{}", now - 7_200);
    let jsonl = records(
        &endpoint,
        Some(SECRET_KEY),
        &[
            "--since".into(),
            since.clone(),
            "--format".into(),
            "jsonl".into(),
        ],
    )
    .await;
    assert_eq!(jsonl.status.code(), Some(0), "{}", text(&jsonl.stderr));
    let lines: Vec<Value> = text(&jsonl.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 250);
    assert!(
        lines
            .iter()
            .all(|l| l["StopReason"] == "推流链路网络异常(12)")
    );

    // What records writes, triage reads.
    let mut triage = Command::new(BIN)
        .args(["triage", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    triage
        .stdin
        .take()
        .unwrap()
        .write_all(&jsonl.stdout)
        .unwrap();
    let report: Value = serde_json::from_slice(&triage.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(
        (report["stream_end"].as_u64(), report["malformed"].as_u64()),
        (Some(250), Some(0))
    );
    assert_eq!(report["by_reason"]["12/0 (unlisted)"], Value::Null);
    assert_eq!(report["by_category"]["network"], 250);

    let direct = records(
        &endpoint,
        Some(SECRET_KEY),
        &[
            "--since".into(),
            since.clone(),
            "--triage".into(),
            "--format".into(),
            "json".into(),
        ],
    )
    .await;
    let direct: Value = serde_json::from_slice(&direct.stdout).unwrap();
    assert_eq!(direct["stream_end"], 250);
    // Counted by the library's triage straight from the records: the report of the JSON
    // lines piped into triage.
    let (mut direct, mut piped) = (direct, report.clone());
    for r in [&mut direct, &mut piped] {
        if let Some(object) = r.as_object_mut() {
            object.remove("inputs");
        }
    }
    assert_eq!(direct, piped);

    let json = records(
        &endpoint,
        Some(SECRET_KEY),
        &[
            "--since".into(),
            since.clone(),
            "--format".into(),
            "json".into(),
            "--lang".into(),
            "zh".into(),
        ],
    )
    .await;
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 250);
    assert_eq!(json[0]["cause"]["category"], "network");
    assert_eq!(json[0]["cause"]["errcode"], 12);
    assert_eq!(json[0]["cause"]["message"], "推流链路网络异常");

    let csv = records(
        &endpoint,
        Some(SECRET_KEY),
        &[
            "--since".into(),
            since.clone(),
            "--format".into(),
            "csv".into(),
        ],
    )
    .await;
    let csv = text(&csv.stdout);
    assert_eq!(csv.lines().count(), 251, "{}", &csv[..csv.len().min(600)]);
    assert!(csv.starts_with(
        "stream,path,domain,start,end,duration_s,client_ip,category,errcode,reason,stop_reason\n"
    ));

    let table = records(
        &endpoint,
        Some(SECRET_KEY),
        &[
            "--since".into(),
            since,
            "--domain".into(),
            "push1.example.com".into(),
        ],
    )
    .await;
    let table = text(&table.stdout);
    assert!(table.starts_with("STREAM"), "{table}");
    assert_eq!(
        table.lines().count(),
        1 + (0..250).filter(|n| n % 3 == 1).count()
    );
    assert!(fake.rejections.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes() {
    let (fake, endpoint, now) = fake_with(100, 40 * 86_400).await;

    // No credentials: 2, naming where they are looked for.
    let none = records(&endpoint, None, &[]).await;
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none.stderr).contains("TENCENTCLOUD_SECRET_ID"),
        "{}",
        text(&none.stderr)
    );

    // A window the API cannot serve: 2, before any request.
    let before = fake.requests.load(Ordering::SeqCst);
    let old = records(
        &endpoint,
        Some(SECRET_KEY),
        &["--since".into(), format!("{}", now - 61 * 86_400)],
    )
    .await;
    assert_eq!(old.status.code(), Some(2));
    assert!(
        text(&old.stderr).contains("60 days"),
        "{}",
        text(&old.stderr)
    );
    assert_eq!(fake.requests.load(Ordering::SeqCst), before);

    // A wrong key: 2, with the API's code and the hint.
    let wrong = records(&endpoint, Some("not-the-key"), &[]).await;
    assert_eq!(wrong.status.code(), Some(2));
    let err = text(&wrong.stderr);
    assert!(
        err.contains("AuthFailure.SignatureFailure") && err.contains("TENCENTCLOUD_SECRET_KEY"),
        "{err}"
    );

    // A window that fails (an error that is not worth retrying): 1, the rest printed, the
    // missing window named.
    let next = fake.requests.load(Ordering::SeqCst) + 1;
    fake.faults
        .lock()
        .unwrap()
        .insert(next, Fault::Api("ResourceNotFound.FreezeService"));
    let partial = records(
        &endpoint,
        Some(SECRET_KEY),
        &[
            "--since".into(),
            format!("{}", now - 40 * 86_400),
            "--format".into(),
            "jsonl".into(),
        ],
    )
    .await;
    assert_eq!(partial.status.code(), Some(1), "{}", text(&partial.stderr));
    let err = text(&partial.stderr);
    assert!(
        err.contains("ResourceNotFound.FreezeService") && err.contains("missing: the records from"),
        "{err}"
    );
    let printed = text(&partial.stdout).lines().count();
    assert!(printed > 0 && printed < 100, "{printed}");
}
