//! The shared store suite: the same callbacks, out of order and redelivered, kept through the
//! library's `Store` and read back through its `Reader`, must give the same answers on SQLite
//! and on PostgreSQL (a real server, see `tests/common/postgres.rs`), and the answers a
//! demanding user expects: each event once, the pushes paired by sequence, the live set, a
//! stream's sessions, the interruptions of a window, the export in order, a poll's
//! reconciliation.
#![cfg(feature = "store")]

#[cfg(feature = "postgres")]
#[path = "common/postgres.rs"]
mod postgres_server;

use std::collections::HashSet;

use tencent_css_errcode::events::{Callback, sign};
use tencent_css_errcode::receiver::{Row, Stored};
use tencent_css_errcode::sessions::{Online, State, Stream};
use tencent_css_errcode::store::{Filter, InterruptionQuery, Location, Options, Reader, Store};

const KEY: &str = "suite-key";

/// A signed callback of push `sequence` of `stream` on push.example.com/live.
fn body(stream: &str, sequence: &str, event_time: i64, end: Option<(u32, u64)>) -> String {
    let t = 4_000_000_000;
    let mut value = serde_json::json!({
        "t": t, "sign": sign(KEY, t), "event_type": if end.is_some() { 0 } else { 1 },
        "app": "push.example.com", "appname": "live", "stream_id": stream,
        "sequence": sequence, "event_time": event_time, "user_ip": "198.51.100.7",
        "node": "203.0.113.9",
    });
    if let Some((errcode, duration_ms)) = end {
        value["errcode"] = errcode.into();
        value["push_duration"] = duration_ms.to_string().into();
    }
    value.to_string()
}

fn row(body: &str, received: i64) -> Row {
    let Ok(Callback::Stream(event)) = Callback::parse(body.as_bytes()) else {
        panic!("a stream callback: {body}")
    };
    Row::new(&event, body.as_bytes(), received)
}

fn stream(name: &str) -> Stream {
    Stream::new("push.example.com", "live", name)
}

/// What the suite reads back, to compare the two stores.
#[derive(Debug, PartialEq)]
struct Answers {
    stored: Vec<Stored>,
    live: Vec<String>,
    sessions_c: Vec<String>,
    counts: Vec<(i64, Option<u32>, u64)>,
    rows: Vec<String>,
    exported: Vec<String>,
    reconciled: (u64, u64, u64),
    live_after_polls: Vec<String>,
    scopes: Vec<(String, String)>,
}

/// The suite, on the store at `location` (new and empty).
fn suite(location: &Location) -> Answers {
    let store = Store::open_at(location, Options::default()).expect("the store opens");
    // A: start, end. B: the end arrives before its start. C: primary and backup, the primary
    // ends (still live on the backup). D: an end alone (its start from push_duration). E: a
    // push that stays open, which two polls in a row do not list.
    let a_start = body("a", "s1", 1_000, None);
    let a_end = body("a", "s1", 1_060, Some((1, 60_000)));
    let b_end = body("b", "s2", 2_060, Some((3, 60_000)));
    let b_start = body("b", "s2", 2_000, None);
    let c_primary = body("c", "s3", 3_000, None);
    let c_backup = body("c", "s4", 3_005, None);
    let c_primary_end = body("c", "s3", 3_100, Some((12, 100_000)));
    let d_end = body("d", "s5", 4_060, Some((1, 60_000)));
    let e_start = body("e", "s6", 5_000, None);
    let order = [
        &a_start,
        &b_end,
        &c_primary,
        &a_end,
        &a_start, // redelivered
        &b_start,
        &c_backup,
        &c_primary_end,
        &b_end, // redelivered
        &d_end,
        &e_start,
    ];
    let mut stored = Vec::new();
    for (i, body) in order.iter().enumerate() {
        stored.push(store.append(row(body, 10_000 + i as i64)).unwrap());
    }
    // The same event twice in one batch: one of them is new.
    let (tx, rx) = std::sync::mpsc::channel();
    let twice = body("f", "s7", 6_000, None);
    for _ in 0..2 {
        let tx = tx.clone();
        store.submit(row(&twice, 20_000), move |result| {
            tx.send(result).unwrap();
        });
    }
    let mut batch: Vec<Stored> = (0..2).map(|_| rx.recv().unwrap().unwrap()).collect();
    batch.sort_by_key(|s| *s != Stored::New);
    stored.extend(batch);

    let reader = Reader::open_at(location).expect("the reader opens");
    let live: Vec<String> = reader
        .live()
        .unwrap()
        .iter()
        .map(|l| format!("{} since {} on {:?}", l.stream.stream, l.since, l.sequences))
        .collect();
    let sessions_c: Vec<String> = reader
        .stream_sessions(&stream("c"), 10)
        .unwrap()
        .iter()
        .map(|s| format!("{:?} {:?}-{:?} {:?}", s.sequence, s.start, s.end, s.state))
        .collect();
    let interruptions = reader
        .interruptions(&InterruptionQuery::new(0, 10_000))
        .unwrap();
    let rows: Vec<String> = interruptions
        .rows
        .iter()
        .map(|s| {
            format!(
                "{} {:?} {:?}-{:?} {:?} {:?}",
                s.stream.stream,
                s.sequence,
                s.start,
                s.end,
                s.state,
                s.interruption().map(|i| i.errcode())
            )
        })
        .collect();
    let exported: Vec<String> = Reader::open_at(location)
        .unwrap()
        .callbacks(Filter::default())
        .map(|kept| kept.unwrap().body)
        .collect();
    let scopes = store.open_scopes().unwrap();

    // Two polls in a row list c (with its backup's publish time) but neither e nor f: they
    // are ended as "end not received" by the second.
    let poll = |at| Online::new(at, Some("push.example.com"), "live").stream(stream("c"), [3_005]);
    let first = store.reconcile(&poll(7_000)).unwrap();
    let second = store.reconcile(&poll(7_060)).unwrap();
    let reconciled = (
        first.missed + second.missed,
        first.lost + second.lost,
        first.start_not_received + second.start_not_received,
    );
    let live_after_polls: Vec<String> = Reader::open_at(location)
        .unwrap()
        .live()
        .unwrap()
        .iter()
        .map(|l| format!("{} on {:?}", l.stream.stream, l.sequences))
        .collect();
    let e_sessions = reader.stream_sessions(&stream("e"), 1).unwrap();
    assert_eq!(e_sessions[0].state, State::EndNotReceived, "{e_sessions:?}");
    store.close();
    Answers {
        stored,
        live,
        sessions_c,
        counts: interruptions.counts,
        rows,
        exported,
        reconciled,
        live_after_polls,
        scopes,
    }
}

/// What every store must answer.
fn assert_expected(answers: &Answers) {
    use Stored::{Duplicate, New};
    assert_eq!(
        answers.stored,
        [
            New, New, New, New, Duplicate, New, New, New, Duplicate, New, New, New, Duplicate
        ]
    );
    let mut live = answers.live.clone();
    live.sort();
    assert_eq!(
        live,
        [
            "c since 3005 on [\"s4\"]",
            "e since 5000 on [\"s6\"]",
            "f since 6000 on [\"s7\"]"
        ]
    );
    assert_eq!(
        answers.sessions_c,
        [
            "Some(\"s4\") Some(3005)-None Live",
            "Some(\"s3\") Some(3000)-Some(3100) Ended"
        ]
    );
    // Ends by the hour from 0: a at 1060, b at 2060, c's primary at 3100, d at 4060.
    assert_eq!(
        answers.counts,
        [
            (0, Some(1), 1),
            (0, Some(3), 1),
            (0, Some(12), 1),
            (1, Some(1), 1)
        ]
    );
    assert_eq!(
        answers.rows,
        [
            "d Some(\"s5\") Some(4000)-Some(4060) Ended Some(1)",
            "c Some(\"s3\") Some(3000)-Some(3100) Ended Some(12)",
            "b Some(\"s2\") Some(2000)-Some(2060) Ended Some(3)",
            "a Some(\"s1\") Some(1000)-Some(1060) Ended Some(1)",
        ]
    );
    assert_eq!(answers.exported.len(), 10, "each event once");
    let distinct: HashSet<&String> = answers.exported.iter().collect();
    assert_eq!(distinct.len(), 10);
    assert_eq!(
        answers.reconciled,
        (4, 2, 0),
        "e and f missed twice, then lost"
    );
    assert_eq!(answers.live_after_polls, ["c on [\"s4\"]"]);
    assert_eq!(
        answers.scopes,
        [("push.example.com".to_owned(), "live".to_owned())]
    );
}

fn sqlite_answers() -> Answers {
    let dir = std::env::temp_dir().join(format!("css-store-suite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let answers = suite(&Location::Directory(dir.clone()));
    std::fs::remove_dir_all(&dir).unwrap();
    answers
}

#[test]
fn the_suite_on_sqlite() {
    assert_expected(&sqlite_answers());
}

#[cfg(feature = "postgres")]
#[test]
fn the_suite_on_postgres_gives_sqlites_answers() {
    let Some(pg) = postgres_server::Postgres::start("the_suite_on_postgres") else {
        return;
    };
    let answers = suite(&Location::Postgres(pg.url.clone()));
    assert_expected(&answers);
    assert_eq!(answers, sqlite_answers());
}
