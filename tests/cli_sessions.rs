//! `css-errcode sessions` over a generated log with a known answer: pushes whose callbacks are
//! shuffled, redelivered and partly missing, primary and backup pushes, a malformed line.
#![cfg(feature = "cli")]

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_css-errcode");

struct Push {
    stream: String,
    sequence: String,
    start: i64,
    end: Option<(i64, u32)>,
    start_sent: bool,
}

/// 300 pushes over 60 streams: the expected answer, and the log's lines in a scrambled order.
fn generated() -> (Vec<Push>, Vec<String>) {
    let mut pushes = Vec::new();
    let mut lines = Vec::new();
    for n in 0..300u64 {
        let stream = format!("room{}", n % 60);
        let start = 1_700_000_000 + (n as i64) * 100;
        // Every fifth push is still live; every seventh lost its start callback.
        let end =
            (n % 5 != 0).then(|| (start + 30 + (n as i64 % 50), [1, 12, 18, 3][n as usize % 4]));
        let start_sent = n % 7 != 0 || end.is_none();
        let push = Push {
            stream,
            sequence: format!("{}", 6_674_468_118_806_626_493u64 - n),
            start,
            end,
            start_sent,
        };
        let body = |kind: u8| {
            let mut b = json!({
                "t": 0, "sign": "x", "event_type": kind, "app": "push.example.com", "appname": "live",
                "stream_id": push.stream, "sequence": push.sequence, "user_ip": "198.51.100.7",
                "event_time": push.start,
            });
            if let (0, Some((at, errcode))) = (kind, push.end) {
                b["event_time"] = at.into();
                b["errcode"] = errcode.into();
                b["push_duration"] = ((at - push.start) * 1_000).to_string().into();
            }
            b.to_string()
        };
        if push.start_sent {
            lines.push(body(1));
        }
        if push.end.is_some() {
            lines.push(body(0));
            // A redelivery of every third end.
            if n % 3 == 0 {
                lines.push(body(0));
            }
        }
        pushes.push(push);
    }
    // Ends before starts, streams interleaved: a fixed scramble.
    let len = lines.len();
    let mut scrambled: Vec<String> = (0..len).map(|i| lines[(i * 7919) % len].clone()).collect();
    scrambled.insert(len / 2, "{not json".to_owned());
    (pushes, scrambled)
}

fn run(args: &[&str], input: &str) -> (Option<i32>, String, String) {
    // A file of its own for every call: tests run at once, some with the same arguments.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let file =
        std::env::temp_dir().join(format!("css-sessions-{}-{call}.jsonl", std::process::id()));
    std::fs::write(&file, input).unwrap();
    let output = Command::new(BIN)
        .arg("sessions")
        .args(args)
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The log's lines in time order (each event by its `event_time`; the malformed line kept in
/// the middle), as a receiver writes them.
fn in_time_order(lines: &[String]) -> Vec<String> {
    let mut timed: Vec<(i64, String)> = lines
        .iter()
        .filter_map(|l| {
            let value: Value = serde_json::from_str(l).ok()?;
            Some((value["event_time"].as_i64()?, l.clone()))
        })
        .collect();
    timed.sort_by_key(|(time, _)| *time);
    let mut ordered: Vec<String> = timed.into_iter().map(|(_, l)| l).collect();
    ordered.insert(ordered.len() / 2, "{not json".to_owned());
    ordered
}

/// Every push once, with its start, end, state and cause; the rows, parsed.
fn assert_every_push_once(pushes: &[Push], stdout: &str) -> Vec<Value> {
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), pushes.len());
    let by_sequence: BTreeMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["sequence"].as_str().unwrap(), r))
        .collect();
    for push in pushes {
        let row = by_sequence[push.sequence.as_str()];
        assert_eq!(row["stream"], push.stream.as_str());
        assert_eq!(
            (row["domain"].as_str(), row["app"].as_str()),
            (Some("push.example.com"), Some("live"))
        );
        assert_eq!(
            row["start"], push.start,
            "start known from the callback or from push_duration"
        );
        match push.end {
            None => {
                assert_eq!(row["state"], "live");
                assert_eq!(row["end"], Value::Null);
                assert_eq!(row["errcode"], Value::Null);
            }
            Some((at, errcode)) => {
                assert_eq!(row["state"], "ended");
                assert_eq!(row["end"], at);
                assert_eq!(row["duration_s"], at - push.start);
                assert_eq!(row["errcode"], errcode);
                let category = tencent_css_errcode::decode(errcode, 0).category().name();
                assert_eq!(row["category"], category);
            }
        }
        assert_eq!(row["client_ip"], "198.51.100.7");
    }
    rows
}

#[test]
fn every_push_once_with_its_start_end_state_and_cause() {
    let (pushes, lines) = generated();
    // Scrambled: with --any-order, every push is held to the end, and the rows come by start.
    let (code, stdout, stderr) = run(
        &["--any-order", "--format", "jsonl"],
        &(lines.join("\n") + "\n"),
    );
    assert_eq!(code, Some(1), "a malformed line: exit 1; {stderr}");
    let malformed_at = lines.iter().position(|l| l == "{not json").unwrap() + 1;
    assert!(
        stderr.contains(&format!(":{malformed_at}: malformed")),
        "{stderr}"
    );
    let rows = assert_every_push_once(&pushes, &stdout);
    let starts: Vec<i64> = rows.iter().map(|r| r["start"].as_i64().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    assert!(!stderr.contains("approximate"), "{stderr}");

    // In time order, as a receiver's log is: the same pushes, each given out once it settled,
    // in order of their end, the open ones last.
    let ordered = in_time_order(&lines);
    let (code, stdout, stderr) = run(&["--format", "jsonl"], &(ordered.join("\n") + "\n"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("approximate"), "{stderr}");
    let rows = assert_every_push_once(&pushes, &stdout);
    let ends: Vec<Option<i64>> = rows.iter().map(|r| r["end"].as_i64()).collect();
    let ended = ends.iter().take_while(|e| e.is_some()).count();
    assert!(
        ends[ended..].iter().all(Option::is_none),
        "the open pushes last"
    );
    assert!(
        ends[..ended].windows(2).all(|w| w[0] <= w[1]),
        "ended by end"
    );

    // Scrambled without --any-order: what came too late is said, with what to do.
    let (_, _, stderr) = run(&["--format", "jsonl"], &(lines.join("\n") + "\n"));
    assert!(
        stderr.contains("approximate") && stderr.contains("--any-order"),
        "{stderr}"
    );
}

#[test]
fn live_streams_filters_and_formats() {
    let (pushes, lines) = generated();
    let log = lines.join("\n") + "\n";
    let (_, stdout, _) = run(&["--any-order", "--live", "--format", "jsonl"], &log);
    let live: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected: BTreeMap<&str, Vec<&str>> =
        pushes
            .iter()
            .filter(|p| p.end.is_none())
            .fold(BTreeMap::new(), |mut m, p| {
                m.entry(p.stream.as_str())
                    .or_default()
                    .push(p.sequence.as_str());
                m
            });
    assert_eq!(live.len(), expected.len());
    for row in &live {
        let mut sequences: Vec<&str> = row["sequences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        sequences.sort_unstable();
        let mut want = expected[row["stream"].as_str().unwrap()].clone();
        want.sort_unstable();
        assert_eq!(sequences, want);
        assert!(row["since"].is_i64());
    }
    // One stream, as CSV.
    let (_, csv, _) = run(
        &["--any-order", "--stream", "room7", "--format", "csv"],
        &log,
    );
    let mut csv_lines = csv.lines();
    assert_eq!(
        csv_lines.next(),
        Some(
            "stream,path,domain,sequence,start,end,duration_s,state,errcode,category,reason,client_ip"
        )
    );
    assert_eq!(
        csv_lines.count(),
        pushes.iter().filter(|p| p.stream == "room7").count()
    );
    // A window: pushes on the air in it.
    let (_, json_text, _) = run(
        &[
            "--any-order",
            "--since",
            "1700010000",
            "--until",
            "1700012000",
            "--format",
            "json",
        ],
        &log,
    );
    let windowed: Vec<Value> = serde_json::from_str(&json_text).unwrap();
    let want = pushes
        .iter()
        .filter(|p| p.start <= 1_700_012_000 && p.end.is_none_or(|(at, _)| at >= 1_700_010_000))
        .count();
    assert_eq!(windowed.len(), want);
    // The table the console's page shows.
    let (_, table, _) = run(&["--any-order"], &log);
    assert!(table.starts_with("STREAM"), "{table}");
    assert!(table.contains("refused 18 (one of 28)"), "{table}");
}

#[test]
fn api_record_pages_are_pushes_too_paired_with_callbacks_by_time() {
    let callback = |kind: u8, time: i64| {
        let mut body = json!({"t": 0, "sign": "x", "event_type": kind, "app": "push.example.com",
            "appname": "live", "stream_id": "room1", "sequence": "77", "event_time": time});
        if kind == 0 {
            body["errcode"] = json!(12);
            body["push_duration"] = json!("600000");
        }
        body.to_string()
    };
    // One page of DescribeLiveStreamEventList (what `records --format jsonl` writes): the same
    // push as the callbacks (its times a second off), and one the callbacks never told.
    let page = json!({"Response": {"EventList": [
        {"AppName": "live", "DomainName": "push.example.com", "StreamName": "room1",
         "StreamStartTime": "2023-11-14T22:00:01Z", "StreamEndTime": "2023-11-14T22:10:01Z",
         "StopReason": "推流链路网络异常(12)", "Duration": 600, "ClientIp": "-", "Resolution": ""},
        {"AppName": "live", "DomainName": "push.example.com", "StreamName": "room2",
         "StreamStartTime": "2023-11-14T23:00:00Z", "StreamEndTime": "2023-11-14T23:05:00Z",
         "StopReason": "客户端主动断流", "Duration": 300, "ClientIp": "198.51.100.9", "Resolution": ""},
        {"AppName": "live", "DomainName": "push.example.com", "StreamName": "room3",
         "StreamStartTime": "yesterday", "StreamEndTime": "today", "StopReason": "", "Duration": 0,
         "ClientIp": "", "Resolution": ""}
    ], "TotalNum": 3, "RequestId": "r"}});
    let log = [
        callback(1, 1_699_999_200),
        page.to_string(),
        callback(0, 1_699_999_800),
    ]
    .join("\n");
    let (code, stdout, stderr) = run(&["--format", "jsonl"], &log);
    assert_eq!(
        code,
        Some(1),
        "the record with unreadable times is malformed: {stderr}"
    );
    assert!(stderr.contains(":2: malformed"), "{stderr}");
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (&rows[0]["stream"], &rows[0]["sequence"]),
        (&json!("room1"), &json!("77"))
    );
    assert_eq!(
        (&rows[1]["stream"], &rows[1]["sequence"]),
        (&json!("room2"), &Value::Null)
    );
    assert_eq!(
        (&rows[1]["duration_s"], &rows[1]["category"]),
        (&json!(300), &json!("client_closed"))
    );
}
