//! `css-errcode serve`, the real binary, over real HTTP on 127.0.0.1: every status, the bytes it
//! writes, the metrics, restarts, a torn line, an unwritable data directory, SIGTERM under load
//! and SIGKILL mid-load (crash safety).
#![cfg(feature = "serve")]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tencent_css_errcode::events::sign;

const BIN: &str = env!("CARGO_BIN_EXE_css-errcode");
const KEY: &str = "serve-test-key";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "css-errcode-serve-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running receiver; killed if the test ends first.
struct Server {
    child: Child,
    address: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    fn start(data: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--key-env",
                "SERVE_TEST_KEY",
                "--data-dir",
            ])
            .arg(data)
            .env("SERVE_TEST_KEY", KEY)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        let mut pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        Server {
            child,
            address,
            stderr: Some(stderr),
        }
    }

    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        request(&self.address, method, path, body).expect("the receiver answers")
    }

    fn post(&self, body: &str) -> (u16, Value) {
        let (status, text) = self.request("POST", "/callback", body.as_bytes());
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// SIGTERM: the exit code and what the receiver logged.
    fn terminate(mut self) -> (Option<i32>, String) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let code = self.child.wait().unwrap().code();
        let log = self
            .stderr
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        (code, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: the status and the body.
fn request(address: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A callback body signed with `key`, expiring at `t`.
fn callback(key: &str, t: i64, event_type: u32, sequence: &str, errcode: Option<u32>) -> String {
    let mut body = json!({
        "t": t, "sign": sign(key, t), "event_type": event_type, "appid": 1250000000,
        "app": "push.example.com", "appname": "live", "stream_id": format!("room-{sequence}"),
        "event_time": 1_700_000_000, "sequence": sequence, "push_duration": "61000"
    });
    if let Some(errcode) = errcode {
        body["errcode"] = json!(errcode);
    }
    body.to_string()
}

/// The data directory's files, by name.
fn data_files(data: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Every line of the data directory's files. While the receiver runs, the day's file ends in
/// the blank lines it has written ahead; there are none before that.
fn stored_lines(data: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for file in data_files(data) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends in a torn line",
            file.display()
        );
        let content = text.trim_end_matches('\n');
        assert!(
            !content.contains("\n\n"),
            "{} has a blank line before its last line",
            file.display()
        );
        lines.extend(content.lines().map(str::to_owned));
    }
    lines
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[test]
fn every_status_the_bytes_written_and_the_metrics() {
    let data = temp_dir();
    let server = Server::start(&data);
    let t = now() + 600;
    let first = callback(KEY, t, 0, "1001", Some(18));
    let redelivery = callback(KEY, t + 60, 0, "1001", Some(18));
    let start = callback(KEY, t, 1, "1002", None);
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<Value>(&callback(KEY, t, 0, "1003", Some(3))).unwrap(),
    )
    .unwrap();

    assert_eq!(server.post(&first), (200, json!({"code": 0})));
    assert_eq!(
        server.post(&redelivery),
        (200, json!({"code": 0})),
        "a redelivery is acknowledged"
    );
    assert_eq!(server.post(&start).0, 200);
    assert_eq!(server.post(&pretty).0, 200);
    assert_eq!(
        server.post(&callback("wrong-key", t, 0, "1004", Some(1))).0,
        401
    );
    assert_eq!(
        server
            .post(&callback(KEY, now() - 3_600, 0, "1005", Some(1)))
            .0,
        401,
        "expired beyond the skew"
    );
    assert_eq!(
        server
            .post(&callback(KEY, now() - 60, 0, "1006", Some(1)))
            .0,
        200,
        "within the 10 minutes of skew"
    );
    let (status, body) = server.post("not json");
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("not a callback"),
        "{body}"
    );
    let (status, body) = server.post(&callback(KEY, t, 0, "1007", None));
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("errcode"),
        "{body}"
    );
    let recording =
        json!({"event_type": 100, "t": t, "sign": sign(KEY, t), "video_url": "https://v"})
            .to_string();
    assert_eq!(
        server.post(&recording),
        (200, json!({"code": 0})),
        "kept by nobody, acknowledged"
    );
    let bad_recording = json!({"event_type": 100, "t": t, "sign": "0"}).to_string();
    assert_eq!(server.post(&bad_recording).0, 401);
    assert_eq!(
        server
            .request("POST", "/callback", &vec![b' '; 70 * 1024])
            .0,
        413
    );
    assert_eq!(server.request("GET", "/callback", b"").0, 405);
    assert_eq!(
        server.request("POST", "/elsewhere", first.as_bytes()).0,
        404
    );
    assert_eq!(server.request("GET", "/healthz", b"").0, 200);

    // The files hold each accepted event once: one-line bodies as sent, the pretty one compacted.
    let lines = stored_lines(&data);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], first);
    assert_eq!(lines[1], start);
    assert_eq!(
        serde_json::from_str::<Value>(&lines[2]).unwrap(),
        serde_json::from_str::<Value>(&pretty).unwrap()
    );
    assert!(!lines[2].contains('\n'));
    // While the receiver runs, the day's file is written ahead in blank lines...
    let files = data_files(&data);
    assert_eq!(files.len(), 1);
    let written: usize = lines.iter().map(|l| l.len() + 1).sum();
    let bytes = std::fs::read(&files[0]).unwrap();
    assert!(bytes.len() > written, "written ahead");
    assert!(bytes[written..].iter().all(|&b| b == b'\n'));
    // ...which triage reads as the directory is, the blank lines skipped.
    let triage = Command::new(BIN)
        .args(["triage", "--json"])
        .arg(&files[0])
        .output()
        .unwrap();
    assert!(triage.status.success(), "{triage:?}");
    let report: Value = serde_json::from_slice(&triage.stdout).unwrap();
    assert_eq!(report["events"], 4, "{report}");
    assert_eq!(report["malformed"], 0, "{report}");

    let (_, text) = server.request("GET", "/metrics", b"");
    assert_eq!(
        metric(&text, "css_callbacks_total{outcome=\"accepted\"}"),
        4.0
    );
    assert_eq!(
        metric(&text, "css_callbacks_total{outcome=\"duplicate\"}"),
        1.0
    );
    assert_eq!(
        metric(&text, "css_callbacks_total{outcome=\"bad_signature\"}"),
        2.0
    );
    assert_eq!(
        metric(&text, "css_callbacks_total{outcome=\"expired\"}"),
        1.0
    );
    assert_eq!(
        metric(&text, "css_callbacks_total{outcome=\"malformed\"}"),
        2.0
    );
    assert_eq!(
        metric(&text, "css_callbacks_total{outcome=\"ignored\"}"),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "css_stream_ends_total{category=\"refused\",errcode=\"18\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "css_stream_ends_total{category=\"client_closed\",errcode=\"3\"}"
        ),
        1.0
    );
    assert_eq!(metric(&text, "css_push_starts_total"), 1.0);
    assert_eq!(metric(&text, "css_store_seconds_count"), 4.0);

    // After a restart the receiver still knows what it kept.
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("rejected a callback") && log.contains("stopped"),
        "{log}"
    );
    // ...and a stop leaves it holding its lines and nothing else.
    let expected: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), expected);
    let again = Server::start(&data);
    assert_eq!(
        again.post(&callback(KEY, t + 120, 0, "1001", Some(18))).0,
        200
    );
    assert_eq!(
        stored_lines(&data).len(),
        4,
        "not written twice across a restart"
    );
    let (_, text) = again.request("GET", "/metrics", b"");
    assert_eq!(
        metric(&text, "css_callbacks_total{outcome=\"duplicate\"}"),
        1.0
    );
    drop(again);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn a_torn_last_line_is_cut_at_start() {
    let data = temp_dir();
    let t = now() + 600;
    let kept = callback(KEY, t, 0, "2001", Some(12));
    let day = tencent_css_errcode::events::format_utc_time(now());
    let file = data.join(format!("events-{}.jsonl", &day[..10]));
    std::fs::write(&file, format!("{kept}\n{{\"t\":{t},\"sign\":\"ab")).unwrap();
    let server = Server::start(&data);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("{kept}\n"));
    assert_eq!(
        server.post(&callback(KEY, t + 60, 0, "2001", Some(12))).0,
        200
    );
    assert_eq!(server.post(&callback(KEY, t, 0, "2002", Some(12))).0, 200);
    assert_eq!(
        stored_lines(&data).len(),
        2,
        "the kept event is known, the new one written"
    );
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(log.contains("cut a torn last line"), "{log}");
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn a_torn_line_in_the_space_written_ahead_is_cut_at_start() {
    let data = temp_dir();
    let t = now() + 600;
    let kept = callback(KEY, t, 0, "2101", Some(12));
    let torn = callback(KEY, t, 0, "2102", Some(12));
    let day = tencent_css_errcode::events::format_utc_time(now());
    let file = data.join(format!("events-{}.jsonl", &day[..10]));
    // A kill in the middle of overwriting the blank lines written ahead.
    let mut bytes = format!("{kept}\n{}", &torn[..torn.len() / 2]).into_bytes();
    bytes.resize(bytes.len() + 10_000, b'\n');
    std::fs::write(&file, bytes).unwrap();
    let server = Server::start(&data);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("{kept}\n"));
    assert_eq!(
        server.post(&torn).0,
        200,
        "never acknowledged, so written now"
    );
    assert_eq!(stored_lines(&data), [kept, torn]);
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(log.contains("cut a torn last line"), "{log}");
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn an_unwritable_data_directory_answers_503_and_acknowledges_nothing() {
    let root = temp_dir();
    let data = root.join("data");
    let server = Server::start(&data);
    let t = now() + 600;
    assert_eq!(server.post(&callback(KEY, t, 0, "3001", Some(1))).0, 200);
    // The directory goes away and a file takes its name: nothing can be written there.
    std::fs::rename(&data, root.join("moved")).unwrap();
    std::fs::write(&data, "not a directory").unwrap();
    assert_eq!(server.post(&callback(KEY, t, 0, "3002", Some(1))).0, 503);
    assert_eq!(server.request("GET", "/healthz", b"").0, 503);
    // Back: the same event is accepted now (it was not acknowledged before).
    std::fs::remove_file(&data).unwrap();
    std::fs::rename(root.join("moved"), &data).unwrap();
    assert_eq!(server.request("GET", "/healthz", b"").0, 200);
    assert_eq!(server.post(&callback(KEY, t, 0, "3002", Some(1))).0, 200);
    assert_eq!(stored_lines(&data).len(), 2);
    let (_, text) = server.request("GET", "/metrics", b"");
    assert_eq!(
        metric(&text, "css_callbacks_total{outcome=\"unstored\"}"),
        1.0
    );
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(log.contains("cannot write"), "{log}");
    std::fs::remove_dir_all(root).unwrap();
}

/// Sends `count` unique events from `threads` threads; returns the sequences acknowledged
/// with 200, stopping at the first connection error.
fn load(address: &str, first: u64, count: u64, threads: u64) -> HashSet<String> {
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let t = now() + 600;
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let (address, acked) = (address.to_owned(), acked.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(30);
                for n in (first + thread..first + count).step_by(threads as usize) {
                    if Instant::now() > deadline {
                        break;
                    }
                    let sequence = n.to_string();
                    let body = callback(KEY, t, 0, &sequence, Some((n % 40) as u32));
                    match request(&address, "POST", "/callback", body.as_bytes()) {
                        Ok((200, _)) => {
                            acked.lock().unwrap().insert(sequence);
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        let _ = handle.join();
    }
    Arc::try_unwrap(acked).unwrap().into_inner().unwrap()
}

/// The sequences in the files, each with how often it is there.
fn stored_sequences(data: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in stored_lines(data) {
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        *counts
            .entry(value["sequence"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

#[test]
fn sigterm_under_load_loses_nothing_acknowledged() {
    let data = temp_dir();
    let server = Server::start(&data);
    let address = server.address.clone();
    let sender = std::thread::spawn(move || load(&address, 0, 3_000, 8));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.terminate().0, Some(0));
    let acked = sender.join().unwrap();
    let stored = stored_sequences(&data);
    assert!(!acked.is_empty());
    for sequence in &acked {
        assert_eq!(
            stored.get(sequence),
            Some(&1),
            "acknowledged {sequence} is on disk once"
        );
    }
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn sigkill_mid_load_then_restart_keeps_every_acknowledged_event_once() {
    let data = temp_dir();
    let mut server = Server::start(&data);
    let address = server.address.clone();
    let sender = std::thread::spawn(move || load(&address, 0, 4_000, 8));
    std::thread::sleep(Duration::from_millis(400));
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let acked = sender.join().unwrap();
    assert!(
        !acked.is_empty(),
        "some events were acknowledged before the kill"
    );
    let killed = std::fs::read(&data_files(&data)[0]).unwrap();
    assert!(
        killed.ends_with(b"\n\n"),
        "the kill left the space written ahead"
    );

    // Restart on the same directory; resend everything (the unacknowledged, and the
    // acknowledged again, as Tencent's redeliveries would).
    let server = Server::start(&data);
    let resent = load(&server.address, 0, 4_000, 8);
    assert_eq!(
        resent.len(),
        4_000,
        "every event acknowledged after the restart"
    );
    let stored = stored_sequences(&data);
    for n in 0..4_000u64 {
        assert_eq!(
            stored.get(&n.to_string()),
            Some(&1),
            "event {n} is on disk exactly once"
        );
    }
    assert_eq!(stored.len(), 4_000);
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("cut what was left after the last line"),
        "{log}"
    );
    std::fs::remove_dir_all(data).unwrap();
}
