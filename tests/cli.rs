//! The built `css-errcode` binary on fixture files (needs `--features cli`).
//! Snapshots live in tests/snapshots/; run with UPDATE_SNAPSHOTS=1 to rewrite them on purpose.
#![cfg(feature = "cli")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_css-errcode");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run css-errcode")
}

fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run css-errcode");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

/// A fresh directory under the system temp dir.
fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "css-errcode-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}: run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

#[test]
fn explain_snapshots() {
    for (args, name) in [
        (&["explain", "18", "202"][..], "explain-18-202.txt"),
        (&["explain", "18"][..], "explain-18.txt"),
        (
            &["explain", "18", "310", "--lang", "ko"][..],
            "explain-18-310-ko.txt",
        ),
        (&["explain", "99", "1", "--json"][..], "explain-99-1.json"),
    ] {
        let output = run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        snapshot(name, &stdout(&output));
    }
}

#[test]
fn explain_json_is_complete() {
    let value = json_of(&run(&["explain", "21", "--json"]));
    assert_eq!(value["reason"], Value::Null);
    assert_eq!(value["category"], "requested");
    assert_eq!(value["intentional"], true);
    assert_eq!(value["candidates"].as_array().unwrap().len(), 4);
    assert_eq!(value["messages"].as_object().unwrap().len(), 3);
    let value = json_of(&run(&["explain", "18", "503", "--json", "--lang", "zh"]));
    assert_eq!(value["reason"], "tx_secret_mismatch");
    assert_eq!(value["messages"], json!({"zh": "校验鉴权参数不通过"}));
}

#[test]
fn list_snapshots_and_formats() {
    let table = stdout(&run(&["list"]));
    assert!(
        table.lines().all(|l| l.chars().count() <= 80),
        "table fits 80 columns"
    );
    snapshot("list.txt", &table);
    let csv = stdout(&run(&["list", "--category", "auth", "--format", "csv"]));
    snapshot("list-auth.csv", &csv);
    assert_eq!(csv.lines().count(), 6, "header and five auth rows");
    let rows = json_of(&run(&["list", "--format", "json"]));
    assert_eq!(rows.as_array().unwrap().len(), 70);
    assert_eq!(rows[0]["reason"], "unknown_0");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["explain", "x"][..],
        &["list", "--category", "nope"][..],
        &["frobnicate"][..],
        &["triage", "--since", "soon"][..],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&output).is_empty());
    }
    let output = run(&["list", "--category", "nope"]);
    assert!(stderr(&output).contains("unknown category name `nope`"));
}

fn check_callback_counts(value: &Value) {
    assert_eq!(value["events"], 7);
    assert_eq!(value["stream_end"], 6);
    assert_eq!(value["push_start"], 1);
    assert_eq!(value["malformed"], 2);
    assert_eq!(value["duplicates"], 1);
    assert_eq!(
        value["by_category"],
        json!({"network": 1, "refused": 2, "client_closed": 1, "requested": 1, "unknown": 1})
    );
    assert_eq!(value["failures"], 4);
    assert_eq!(value["retryable"], 2);
    assert_eq!(
        value["top_streams"][0],
        json!({"key": "push.example.com/live/room2", "failures": 2})
    );
    assert_eq!(
        value["top_apps"][0],
        json!({"key": "push.example.com/live", "failures": 4})
    );
    let lines: Vec<u64> = value["malformed_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [7, 9]);
}

#[test]
fn triage_callbacks_file() {
    let path = fixture("callbacks.jsonl");
    let output = run(&["triage", "--json", path.to_str().unwrap()]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "malformed lines give exit code 1"
    );
    check_callback_counts(&json_of(&output));
    let err = stderr(&output);
    assert!(
        err.contains("callbacks.jsonl:7: malformed line: EOF while parsing a value (column 25)"),
        "{err}"
    );
    assert!(
        err.contains("callbacks.jsonl:9: malformed line: unsupported event_type 7"),
        "{err}"
    );
    assert!(err.contains("2 malformed line(s) in all"), "{err}");

    let text = stdout(&run(&["triage", path.to_str().unwrap()]));
    assert!(
        text.contains("events:      7 (6 stream end, 1 push start)"),
        "{text}"
    );
    assert!(
        text.contains("duplicates:  1 redeliveries dropped"),
        "{text}"
    );
    assert!(
        text.contains("retryable 2 (33.3% of stream ends)"),
        "{text}"
    );
}

#[test]
fn triage_event_list_file() {
    let path = fixture("event_list.jsonl");
    let output = run(&["triage", "--json", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value = json_of(&output);
    assert_eq!(value["events"], 3);
    assert_eq!(value["stream_end"], 3);
    assert_eq!(value["duplicates"], 2);
    assert_eq!(value["malformed"], 0);
    assert_eq!(
        value["by_category"],
        json!({"account": 1, "client_closed": 1, "network": 1})
    );
    assert_eq!(value["by_reason"]["account_overdue"], 1);
}

#[test]
fn triage_gz_stdin_and_several_files() {
    let dir = temp_dir();
    let gz = dir.join("callbacks.jsonl.gz");
    std::fs::write(
        &gz,
        gzip(&std::fs::read(fixture("callbacks.jsonl")).unwrap()),
    )
    .unwrap();
    let output = run(&["triage", "--json", gz.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    check_callback_counts(&json_of(&output));

    let output = run_with_stdin(
        &["triage", "--json"],
        &std::fs::read(fixture("callbacks.jsonl")).unwrap(),
    );
    assert_eq!(output.status.code(), Some(1));
    check_callback_counts(&json_of(&output));
    assert!(
        stderr(&output).contains("<stdin>:7: malformed line"),
        "{}",
        stderr(&output)
    );

    // Both fixtures at once: the counts add up; `-` reads stdin among files.
    let list = fixture("event_list.jsonl");
    let output = run_with_stdin(
        &["triage", "--json", gz.to_str().unwrap(), "-"],
        &std::fs::read(&list).unwrap(),
    );
    let value = json_of(&output);
    assert_eq!(value["events"], 10);
    assert_eq!(value["duplicates"], 3);
    assert_eq!(value["malformed"], 2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn triage_since_until() {
    let path = fixture("callbacks.jsonl");
    let value = json_of(&run(&[
        "triage",
        "--json",
        "--since",
        "1700000200",
        "--until",
        "2023-11-14T22:20:00Z",
        path.to_str().unwrap(),
    ]));
    // 2023-11-14T22:20:00Z is 1700000400: the ends at 200, 300 and 400 remain.
    assert_eq!(value["stream_end"], 3);
    assert_eq!(value["events"], 3);
    assert_eq!(value["outside_window"], 5);
}

#[test]
fn triage_empty_and_missing_files() {
    let dir = temp_dir();
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let output = run(&["triage", "--json", empty.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let value = json_of(&output);
    assert_eq!(
        (value["events"].as_u64(), value["malformed"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(value["by_category"], json!({}));

    std::fs::remove_dir_all(dir).unwrap();
}

/// A stream-end callback line with the given sequence, time and errcode.
fn end_line(sequence: &str, event_time: i64, errcode: u32) -> String {
    format!(
        r#"{{"t":1,"event_type":0,"app":"d.example.com","appname":"live","stream_id":"s{sequence}","sequence":"{sequence}","event_time":{event_time},"errcode":{errcode}}}"#
    )
}

#[test]
fn triage_drops_redeliveries_in_any_order() {
    // The same callback twice with a far later one between: day2 before day1, or merged logs.
    let input = [
        end_line("a", 1_700_000_000, 12),
        end_line("z", 1_800_000_000, 12),
        end_line("a", 1_700_000_000, 12),
    ]
    .join("\n");
    let value = json_of(&run_with_stdin(&["triage", "--json"], input.as_bytes()));
    assert_eq!(
        (value["events"].as_u64(), value["duplicates"].as_u64()),
        (Some(2), Some(1))
    );

    // A line far in the future does not stop later redeliveries from being recognised.
    let input = [
        end_line("future", 4_000_000_000, 12),
        end_line("b", 1_700_000_000, 12),
        end_line("c", 1_700_003_600, 12),
        end_line("b", 1_700_000_000, 12),
        end_line("c", 1_700_003_600, 12),
    ]
    .join("\n");
    let value = json_of(&run_with_stdin(&["triage", "--json"], input.as_bytes()));
    assert_eq!(
        (value["events"].as_u64(), value["duplicates"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(value["unverified"], 0);
}

#[test]
fn triage_reports_a_long_line_and_counts_the_rest() {
    let long = format!(r#"{{"errmsg":"{}"}}"#, "x".repeat(3 << 20));
    let input = format!(
        "{}\n{long}\n{}\n",
        end_line("1", 10, 12),
        end_line("2", 20, 1)
    );
    let output = run_with_stdin(&["triage", "--json"], input.as_bytes());
    assert_eq!(output.status.code(), Some(1));
    let value = json_of(&output);
    assert_eq!(
        (value["events"].as_u64(), value["malformed"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(
        stderr(&output).contains("<stdin>:2: malformed line: line too long: 3145741 bytes, more than the limit of 1048576"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn triage_bom_gzip_on_stdin_and_api_errors() {
    let mut input = b"\xEF\xBB\xBF".to_vec();
    input.extend_from_slice(end_line("1", 10, 12).as_bytes());
    input.extend_from_slice(b"\n{\"Response\":{\"Error\":{\"Code\":\"AuthFailure.SignatureFailure\",\"Message\":\"bad\"},\"RequestId\":\"r-1\"}}\n");
    let gz = gzip(&input);
    for bytes in [&input, &gz] {
        let output = run_with_stdin(&["triage", "--json"], bytes);
        assert_eq!(
            output.status.code(),
            Some(1),
            "an API error means records are missing"
        );
        let value = json_of(&output);
        assert_eq!(
            (value["events"].as_u64(), value["malformed"].as_u64()),
            (Some(1), Some(0))
        );
        assert_eq!(value["api_errors"], 1);
        assert!(
            stderr(&output).contains("<stdin>:2: API error: the API answered AuthFailure.SignatureFailure: bad (RequestId r-1)"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn triage_reports_what_it_read_when_an_input_fails() {
    let dir = temp_dir();
    let good = fixture("callbacks.jsonl");
    let missing = dir.join("missing.jsonl");
    let truncated = dir.join("cut.jsonl.gz");
    let gz = gzip(&std::fs::read(&good).unwrap());
    std::fs::write(&truncated, &gz[..gz.len() / 2]).unwrap();
    for bad in [&missing, &dir, &truncated] {
        let output = run(&[
            "triage",
            "--json",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(2), "{}", bad.display());
        // The good file is fully counted (a truncated gz may add lines of its own).
        assert!(json_of(&output)["events"].as_u64().unwrap() >= 7);
        let err = stderr(&output);
        assert!(
            err.contains("warning: could not read") && err.contains(&bad.display().to_string()),
            "{err}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn triage_refuses_an_empty_window() {
    let output = run(&[
        "triage",
        "--since",
        "2024-06-02T00:00:00Z",
        "--until",
        "2024-06-01T00:00:00Z",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("is after --until"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn explain_accepts_the_forms_it_prints() {
    for args in [
        &["explain", "18/202"][..],
        &["explain", "account_overdue"],
        &["explain", "18", "202"],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(
            stdout(&output).contains("reason:       account_overdue"),
            "{args:?}"
        );
    }
    for args in [
        &["explain", "18/202", "5"][..],
        &["explain", "acount_overdue"],
        &["explain", "18/x"],
    ] {
        assert_eq!(run(args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn check_url_and_sign_url() {
    let key = "e12c46f2612d5106e2034781ab261ca3";
    let output = Command::new(BIN)
        .args([
            "sign-url",
            "rtmp://push.example.com/live/room42",
            "--key-env",
            "TEST_PUSH_KEY",
            "--expires-in",
            "2h",
        ])
        .env("TEST_PUSH_KEY", key)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let signed = stdout(&output).trim().to_owned();
    assert!(
        signed.starts_with("rtmp://push.example.com/live/room42?txSecret="),
        "{signed}"
    );

    let ok = Command::new(BIN)
        .args(["check-url", &signed, "--key-env", "TEST_PUSH_KEY"])
        .env("TEST_PUSH_KEY", key)
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).starts_with("no refusal predicted"));

    let wrong = Command::new(BIN)
        .args(["check-url", &signed, "--key-env", "TEST_PUSH_KEY"])
        .env("TEST_PUSH_KEY", "other")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stdout(&wrong).starts_with("18/503 tx_secret_mismatch (txSecret):"),
        "{}",
        stdout(&wrong)
    );

    let late = run(&["check-url", &signed, "--now", "4000000000"]);
    assert_eq!(late.status.code(), Some(1));
    assert!(
        stdout(&late).starts_with("18/501 tx_time_expired (txTime): txTime expired"),
        "{}",
        stdout(&late)
    );

    let ip = run(&[
        "check-url",
        "rtmp://203.0.113.7/live/room42",
        "--now",
        "1700000000",
    ]);
    assert_eq!(ip.status.code(), Some(1));
    assert_eq!(stdout(&ip).lines().count(), 3);

    let no_key = Command::new(BIN)
        .args([
            "sign-url",
            "rtmp://push.example.com/live/s",
            "--key-env",
            "UNSET_VARIABLE_FOR_TEST",
        ])
        .env_remove("UNSET_VARIABLE_FOR_TEST")
        .output()
        .unwrap();
    assert_eq!(no_key.status.code(), Some(2));
    assert!(stderr(&no_key).contains("UNSET_VARIABLE_FOR_TEST is not set"));

    let bad = run(&["check-url", "http://x/live/s"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("unsupported scheme"));
}

#[test]
fn sign_url_refuses_an_expiry_beyond_a_txtime() {
    let output = Command::new(BIN)
        .args([
            "sign-url",
            "rtmp://push.example.com/live/room42",
            "--key-env",
            "TEST_PUSH_KEY",
            "--expires-in",
            "18446744073709551615s",
        ])
        .env("TEST_PUSH_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("too far in the future"),
        "{}",
        stderr(&output)
    );
}

/// The block size of triage's reader (src/bin/css-errcode/triage/pipeline.rs): the tests below
/// place lines across its boundaries.
const BLOCK: usize = 5 << 18;

/// A log of `BLOCK * 2.5` bytes: stream ends, every tenth delivered twice, and two chosen lines
/// placed at the first block boundary: a malformed line that straddles it, then a redelivery of
/// the log's first event. Returns the log, the malformed line's number and how many
/// redeliveries it holds.
fn log_across_blocks() -> (Vec<u8>, u64, u64) {
    let mut log = Vec::new();
    let mut lines = 0u64;
    let mut push = |log: &mut Vec<u8>, line: &str| {
        log.extend_from_slice(line.as_bytes());
        log.push(b'\n');
        lines += 1;
        lines
    };
    let first = end_line("first", 1_700_000_000, 12);
    push(&mut log, &first);
    // Longer than any other line, so that some line start falls within its length before the
    // boundary.
    let bad = format!("{{\"event_type\":0,\"t\":1,{}", "x".repeat(400));
    let (mut n, mut malformed_line, mut redeliveries) = (0u64, 0, 0);
    while log.len() < BLOCK * 5 / 2 {
        if malformed_line == 0 && log.len() + bad.len() + 1 > BLOCK {
            assert!(
                log.len() < BLOCK,
                "the malformed line starts before the boundary"
            );
            malformed_line = push(&mut log, &bad);
            assert!(log.len() > BLOCK, "and ends after it");
            push(&mut log, &first);
            redeliveries += 1;
        }
        n += 1;
        let line = end_line(
            &n.to_string(),
            1_700_000_000 + (n % 7_200) as i64,
            (n % 40) as u32,
        );
        push(&mut log, &line);
        if n % 10 == 0 {
            push(&mut log, &line);
            redeliveries += 1;
        }
    }
    (log, malformed_line, redeliveries)
}

#[test]
fn triage_is_the_same_whatever_the_threads_and_across_blocks() {
    let (log, malformed_line, redeliveries) = log_across_blocks();
    let dir = temp_dir();
    let path = dir.join("big.jsonl");
    std::fs::write(&path, &log).unwrap();
    let one = run(&["triage", "--json", "--threads", "1", path.to_str().unwrap()]);
    let four = run(&["triage", "--json", "--threads", "4", path.to_str().unwrap()]);
    assert_eq!(
        one.stdout, four.stdout,
        "the report depends on the thread count"
    );
    assert_eq!(one.stderr, four.stderr);
    let text_one = run(&["triage", "--threads", "1", path.to_str().unwrap()]);
    let text_four = run(&["triage", "--threads", "4", path.to_str().unwrap()]);
    assert_eq!(text_one.stdout, text_four.stdout);

    let value = json_of(&one);
    let lines = log.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(value["malformed"], 1);
    assert_eq!(value["duplicates"].as_u64(), Some(redeliveries));
    assert_eq!(value["events"].as_u64(), Some(lines - 1 - redeliveries));
    let err = stderr(&one);
    assert!(
        err.contains(&format!("big.jsonl:{malformed_line}: malformed line")),
        "line {malformed_line} straddles the block boundary: {err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
