//! `css-errcode sessions --reconcile` against the local fake of DescribeLiveStreamOnlineList
//! (tests/common/fake_api.rs) on 127.0.0.1: a stream whose start never came, a push the API no
//! longer lists after one poll, and a failed query.
#![cfg(feature = "cli")]

#[path = "common/fake_api.rs"]
mod fake_api;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;

use fake_api::{Fake, Fault, SECRET_ID, SECRET_KEY, now, online, start};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_css-errcode");

/// A push start of `stream` (sequence `sequence`) at `time`.
fn start_line(app: &str, stream: &str, sequence: &str, time: i64) -> String {
    json!({"t": 0, "sign": "x", "event_type": 1, "app": "push.example.com", "appname": app,
           "stream_id": stream, "sequence": sequence, "event_time": time,
           "user_ip": "198.51.100.7", "node": "203.0.113.7"})
    .to_string()
}

/// Runs `sessions --reconcile --format jsonl` over `log` with the fake's credentials; `name`
/// makes the test's directory its own.
async fn sessions(name: &str, endpoint: &str, log: String) -> (Option<i32>, Vec<Value>, String) {
    let dir = std::env::temp_dir().join(format!("css-reconcile-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("log.jsonl");
    std::fs::write(&file, log).unwrap();
    let mut command = Command::new(BIN);
    command
        .args([
            "sessions",
            "--reconcile",
            "--format",
            "jsonl",
            "--endpoint",
            endpoint,
        ])
        .arg(&file)
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
        .env_remove("TENCENTCLOUD_TOKEN")
        .env_remove("TENCENTCLOUD_CREDENTIALS_FILE")
        .env("HOME", &dir)
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let rows = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        output.status.code(),
        rows,
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn state_of<'a>(rows: &'a [Value], stream: &str) -> Vec<&'a str> {
    rows.iter()
        .filter(|r| r["stream"] == stream)
        .map(|r| r["state"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_stream_without_a_start_is_live_and_one_poll_ends_nothing() {
    let now = now();
    let fake = Fake::new(now, Vec::new());
    {
        let mut listed = fake.online.lock().unwrap();
        // room2's start callback never came; room1 (open in the log) is not listed.
        listed.push(online("push.example.com", "live", "room2", &[now - 500]));
        // An open push under AppName edu: its scope is polled too, and it is listed.
        listed.push(online("push.example.com", "edu", "class", &[now - 400]));
    }
    let endpoint = start(fake.clone()).await;
    let log = [
        start_line("live", "room1", "11", now - 900),
        start_line("edu", "class", "21", now - 400),
    ]
    .join("\n");
    let (code, rows, stderr) = sessions("listed", &endpoint, log).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(fake.rejections.lock().unwrap().is_empty());
    // Two polls: live on every domain, and edu on push.example.com.
    assert_eq!(fake.online_requests.load(Ordering::SeqCst), 2);
    assert_eq!(state_of(&rows, "room2"), ["start_not_received"]);
    let room2 = rows.iter().find(|r| r["stream"] == "room2").unwrap();
    assert_eq!(
        (&room2["sequence"], &room2["start"]),
        (&Value::Null, &json!(now - 500))
    );
    assert_eq!(state_of(&rows, "room1"), ["live"], "one poll ends no push");
    assert_eq!(state_of(&rows, "class"), ["live"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_query_changes_nothing_and_says_so() {
    let now = now();
    let fake = Fake::new(now, Vec::new());
    fake.online
        .lock()
        .unwrap()
        .push(online("push.example.com", "live", "room2", &[now - 500]));
    // Every try fails (the client tries five times).
    fake.faults
        .lock()
        .unwrap()
        .extend((1..=5).map(|n| (n, Fault::BadGateway)));
    let endpoint = start(fake.clone()).await;
    let log = start_line("live", "room1", "11", now - 900);
    let (code, rows, stderr) = sessions("failed", &endpoint, log).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("DescribeLiveStreamOnlineList"), "{stderr}");
    assert!(state_of(&rows, "room2").is_empty(), "{rows:?}");
    assert_eq!(state_of(&rows, "room1"), ["live"]);
}
