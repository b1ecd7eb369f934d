//! `css-errcode serve`, the real binary, over real HTTP on 127.0.0.1: every status, the rows it
//! keeps, the metrics, export and triage of the store, schema versions, the import of a 0.2
//! directory, retention, the queue's bound, SIGTERM and SIGKILL under load, and two receivers
//! on one directory.
#![cfg(feature = "serve")]

#[path = "common/receiver.rs"]
mod receiver;

use std::process::Command;
use std::time::Duration;

use receiver::*;
use serde_json::{Value, json};
use tencent_css_errcode::events::sign;

#[test]
fn every_status_the_rows_kept_and_the_metrics() {
    let data = temp_dir("serve");
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
    let expired_t = now() - 3_600;
    let (status, body) = server.post(&callback(KEY, expired_t, 0, "1005", Some(1)));
    assert_eq!(status, 401, "expired beyond the skew");
    let error = body["error"].as_str().unwrap();
    let said_now: i64 = error
        .split("it is now ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{error}"));
    assert!(
        (said_now - now()).abs() <= 5,
        "the real time, not one shifted by the skew: {error}"
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

    // The store holds each accepted event once: one-line bodies as sent, the pretty one
    // compacted; with the columns queries need.
    let bodies = stored_bodies(&data);
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    assert_eq!(bodies[0], first);
    assert_eq!(bodies[1], start);
    assert_eq!(
        serde_json::from_str::<Value>(&bodies[2]).unwrap(),
        serde_json::from_str::<Value>(&pretty).unwrap()
    );
    assert!(!bodies[2].contains('\n'));
    let columns: (String, String, String, String, i64, i64, Option<i64>) = database(&data)
        .query_row(
            "SELECT domain, app, stream, sequence, event_type, event_time, errcode FROM callbacks ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap();
    assert_eq!(
        columns,
        (
            "push.example.com".into(),
            "live".into(),
            "room-1001".into(),
            "1001".into(),
            0,
            1_700_000_000,
            Some(18)
        )
    );

    // export: the bodies as stored, one a line, in order of receipt, while the receiver runs.
    let export = Command::new(BIN)
        .args(["export", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(export.status.success(), "{export:?}");
    let expected: String = bodies.iter().map(|b| format!("{b}\n")).collect();
    assert_eq!(String::from_utf8(export.stdout.clone()).unwrap(), expected);
    let one_stream = Command::new(BIN)
        .args(["export", "--stream", "room-1002", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(one_stream.stdout).unwrap(),
        format!("{start}\n")
    );
    // triage of the store is triage of the export.
    let exported = data.join("export.jsonl");
    std::fs::write(&exported, &export.stdout).unwrap();
    let of_store = Command::new(BIN)
        .args(["triage", "--json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let of_export = Command::new(BIN)
        .args(["triage", "--json"])
        .arg(&exported)
        .output()
        .unwrap();
    assert!(of_store.status.success(), "{of_store:?}");
    let mut report: Value = serde_json::from_slice(&of_store.stdout).unwrap();
    let mut report_of_export: Value = serde_json::from_slice(&of_export.stdout).unwrap();
    assert_eq!(report["events"], 4, "{report}");
    for r in [&mut report, &mut report_of_export] {
        r.as_object_mut().unwrap().remove("inputs");
    }
    assert_eq!(report, report_of_export);

    let text = server.metrics();
    for (outcome, count) in [
        ("accepted", 4.0),
        ("duplicate", 1.0),
        ("bad_signature", 2.0),
        ("expired", 1.0),
        ("malformed", 2.0),
        ("ignored", 1.0),
        ("too_large", 1.0),
        ("method_not_allowed", 1.0),
        ("not_found", 1.0),
        ("busy", 0.0),
        ("unstored", 0.0),
    ] {
        assert_eq!(
            metric(
                &text,
                &format!("css_callbacks_total{{outcome=\"{outcome}\"}}")
            ),
            count,
            "{outcome}"
        );
    }
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
    assert_eq!(
        metric(&text, "css_sessions_ended_total{category=\"refused\"}"),
        1.0
    );
    assert_eq!(metric(&text, "css_store_seconds_count"), 4.0);
    assert_eq!(metric(&text, "css_store_healthy"), 1.0);

    // After a restart the receiver still knows what it kept.
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("refused a callback") && log.contains("stopped"),
        "{log}"
    );
    assert_eq!(integrity(&data), "ok");
    let again = Server::start(&data);
    assert_eq!(
        again.post(&callback(KEY, t + 120, 0, "1001", Some(18))).0,
        200
    );
    assert_eq!(
        stored_bodies(&data).len(),
        4,
        "not kept twice across a restart"
    );
    assert_eq!(
        metric(
            &again.metrics(),
            "css_callbacks_total{outcome=\"duplicate\"}"
        ),
        1.0
    );
    drop(again);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn an_empty_database_of_schema_0_is_migrated_and_a_newer_schema_is_refused() {
    // Schema 0: a database file with nothing in it (what SQLite makes of a new file).
    let data = temp_dir("schema");
    rusqlite::Connection::open(data.join("events.db"))
        .unwrap()
        .execute_batch("PRAGMA user_version = 0")
        .unwrap();
    let server = Server::start(&data);
    assert_eq!(
        server.post(&callback(KEY, now() + 600, 0, "1", Some(1))).0,
        200
    );
    drop(server);
    let version: i64 = database(&data)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3);
    assert_eq!(stored_bodies(&data).len(), 1);

    // A database from a newer release: refused with the reason, exit 2, nothing changed.
    database(&data)
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--key-env",
            "SERVE_TEST_KEY",
            "--data-dir",
        ])
        .arg(&data)
        .env("SERVE_TEST_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("schema version 99 is newer"), "{stderr}");
    let export = Command::new(BIN)
        .args(["export", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(export.status.code(), Some(2), "{export:?}");
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn a_0_2_directory_is_imported_once_and_left_as_it_was() {
    let data = temp_dir("import");
    let t = now() + 600;
    let (a, b, c) = (
        callback(KEY, t, 0, "501", Some(12)),
        callback(KEY, t, 1, "502", None),
        callback(KEY, t, 0, "503", Some(3)),
    );
    // Day one: two events, a redelivery, and a line that is not a callback. Day two: the
    // blank lines 0.2 wrote ahead, and a torn last line left by a crash.
    let day_one = format!("{a}\n{b}\n{a}\nnot json\n");
    let mut day_two = format!("{c}\n").into_bytes();
    day_two.resize(day_two.len() + 5_000, b'\n');
    day_two.extend_from_slice(&c.as_bytes()[..20]);
    std::fs::write(data.join("events-2026-11-01.jsonl"), &day_one).unwrap();
    std::fs::write(data.join("events-2026-11-02.jsonl"), &day_two).unwrap();

    let server = Server::start(&data);
    assert_eq!(
        server.post(&callback(KEY, t + 60, 0, "501", Some(12))).0,
        200
    );
    let (_, log) = server.terminate();
    assert_eq!(
        log.matches("imported the 0.2 day files").count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("files=2 callbacks=3 duplicates=1 unreadable=2"),
        "{log}"
    );
    assert_eq!(stored_bodies(&data), [a.clone(), b.clone(), c.clone()]);
    let received: Vec<i64> = database(&data)
        .prepare("SELECT received FROM callbacks ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        received,
        [1_793_491_200, 1_793_491_200, 1_793_577_600],
        "the day's start"
    );
    // The old files are left as they were; a second start imports nothing.
    assert_eq!(
        std::fs::read_to_string(data.join("events-2026-11-01.jsonl")).unwrap(),
        day_one
    );
    assert_eq!(
        std::fs::read(data.join("events-2026-11-02.jsonl")).unwrap(),
        day_two
    );
    let (_, log) = Server::start(&data).terminate();
    assert!(!log.contains("imported"), "{log}");
    assert_eq!(stored_bodies(&data).len(), 3);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn retention_deletes_what_is_older_and_keeps_the_rest() {
    let data = temp_dir("retain");
    let server = Server::start(&data);
    let t = now() + 600;
    for n in 0..30 {
        assert_eq!(
            server.post(&callback(KEY, t, 0, &n.to_string(), Some(1))).0,
            200
        );
    }
    drop(server);
    // Received over two seconds ago: past a retention of one second.
    std::thread::sleep(Duration::from_millis(2_100));
    let server = Server::start_with(&data, &["--retain", "1s"], &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !stored_bodies(&data).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stored_bodies(&data).len(), 0, "the old rows are deleted");
    assert_eq!(server.post(&callback(KEY, t, 0, "new", Some(1))).0, 200);
    assert_eq!(stored_bodies(&data).len(), 1, "a new row is kept");
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn a_full_queue_answers_503_with_retry_after_and_loses_nothing_acknowledged() {
    let data = temp_dir("queue");
    let server = Server::start_with(&data, &["--queue", "1"], &[]);
    let sent = load(
        &server.address,
        (0..3_000).collect(),
        48,
        Duration::from_secs(30),
    );
    let busy = sent.statuses.get(&503).copied().unwrap_or(0);
    assert!(
        busy > 0,
        "48 senders overflow a queue of one: {:?}",
        sent.statuses
    );
    assert_eq!(sent.retry_after, busy, "every 503 says when to retry");
    assert_eq!(
        metric(&server.metrics(), "css_callbacks_total{outcome=\"busy\"}"),
        busy as f64
    );
    drop(server);
    assert_each_acked_once(&sent.acked, &stored_sequences(&data));
    assert_eq!(
        stored_sequences(&data).len(),
        sent.acked.len(),
        "nothing refused is kept"
    );
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn sigterm_under_load_loses_nothing_acknowledged() {
    let data = temp_dir("sigterm");
    let server = Server::start(&data);
    let address = server.address.clone();
    let sender = std::thread::spawn(move || {
        load(&address, (0..3_000).collect(), 8, Duration::from_secs(30))
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.terminate().0, Some(0));
    let sent = sender.join().unwrap();
    assert!(!sent.acked.is_empty());
    assert_each_acked_once(&sent.acked, &stored_sequences(&data));
    assert_eq!(integrity(&data), "ok");
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn sigkill_mid_load_then_restart_keeps_every_acknowledged_event_once() {
    let data = temp_dir("sigkill");
    let server = Server::start(&data);
    let address = server.address.clone();
    let sender = std::thread::spawn(move || {
        load(&address, (0..4_000).collect(), 8, Duration::from_secs(30))
    });
    std::thread::sleep(Duration::from_millis(400));
    server.kill();
    let sent = sender.join().unwrap();
    assert!(
        !sent.acked.is_empty(),
        "some events were acknowledged before the kill"
    );
    assert_each_acked_once(&sent.acked, &stored_sequences(&data));

    // Restart on the same directory; resend everything (the unacknowledged, and the
    // acknowledged again, as Tencent's redeliveries would).
    let server = Server::start(&data);
    let resent = load(
        &server.address,
        (0..4_000).collect(),
        8,
        Duration::from_secs(60),
    );
    assert_eq!(
        resent.acked.len(),
        4_000,
        "every event acknowledged after the restart"
    );
    let stored = stored_sequences(&data);
    assert_each_acked_once(&resent.acked, &stored);
    assert_eq!(stored.len(), 4_000);
    let (_, text) = server.admin("GET", "/metrics");
    // What was acknowledged before the kill comes back as redeliveries; so may a few that
    // were committed while their answers were on the way (at most one per sender).
    let duplicates = metric(&text, "css_callbacks_total{outcome=\"duplicate\"}") as usize;
    assert!(
        (sent.acked.len()..=sent.acked.len() + 8).contains(&duplicates),
        "{duplicates} duplicates for {} acknowledged",
        sent.acked.len()
    );
    assert_eq!(server.terminate().0, Some(0));
    assert_eq!(integrity(&data), "ok");
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn two_receivers_on_one_directory_keep_each_event_once() {
    let data = temp_dir("two");
    let (one, two) = (Server::start(&data), Server::start(&data));
    // Both take load at once; each event goes to one, and its redelivery to the other.
    let events: Vec<u64> = (0..2_000).collect();
    let (a, b) = (one.address.clone(), two.address.clone());
    let (first_a, first_b): (Vec<u64>, Vec<u64>) = events.iter().partition(|n| *n % 2 == 0);
    let (ea, eb) = (first_a.clone(), first_b.clone());
    let to_one = std::thread::spawn(move || load(&a, ea, 6, Duration::from_secs(60)));
    let to_two = std::thread::spawn(move || load(&b, eb, 6, Duration::from_secs(60)));
    let (sent_one, sent_two) = (to_one.join().unwrap(), to_two.join().unwrap());
    let again_one = load(&one.address, first_b, 6, Duration::from_secs(60));
    let again_two = load(&two.address, first_a, 6, Duration::from_secs(60));
    for sent in [&sent_one, &sent_two, &again_one, &again_two] {
        assert_eq!(sent.acked.len(), 1_000, "{:?}", sent.statuses);
    }
    let duplicates = metric(&one.metrics(), "css_callbacks_total{outcome=\"duplicate\"}")
        + metric(&two.metrics(), "css_callbacks_total{outcome=\"duplicate\"}");
    assert_eq!(
        duplicates, 2_000.0,
        "every redelivery to the other receiver is a duplicate"
    );
    assert_eq!(one.terminate().0, Some(0));
    assert_eq!(two.terminate().0, Some(0));
    let stored = stored_sequences(&data);
    assert_eq!(stored.len(), 2_000);
    assert!(stored.values().all(|&n| n == 1));
    assert_eq!(integrity(&data), "ok");
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn export_while_the_receiver_writes_gives_whole_lines_in_order() {
    let data = temp_dir("export");
    let server = Server::start(&data);
    let address = server.address.clone();
    let sender = std::thread::spawn(move || {
        load(&address, (0..6_000).collect(), 8, Duration::from_secs(30))
    });
    std::thread::sleep(Duration::from_millis(300));
    let export = Command::new(BIN)
        .args(["export", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let sent = sender.join().unwrap();
    assert!(export.status.success());
    let text = String::from_utf8(export.stdout).unwrap();
    let exported: Vec<&str> = text.lines().collect();
    let stored = stored_bodies(&data);
    assert!(!exported.is_empty() && exported.len() <= stored.len());
    assert_eq!(
        exported[..],
        stored[..exported.len()],
        "a prefix of the store, in order"
    );
    assert_eq!(stored.len(), sent.acked.len());
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn a_schema_1_store_is_migrated_and_its_pushes_filled_in() {
    let data = temp_dir("schema1");
    let conn = rusqlite::Connection::open(data.join("events.db")).unwrap();
    conn.execute_batch(include_str!("../src/store/migrations/1.sql"))
        .unwrap();
    conn.execute_batch("PRAGMA user_version = 1").unwrap();
    // A push still live, and one ended (its end twice: the earlier report is the one kept).
    for (kind, sequence, time, errcode) in [
        (1, "a", 100, None),
        (1, "b", 200, None),
        (0, "b", 260, Some(12)),
    ] {
        let body = serde_json::from_str::<Value>(&push_callback("room1", sequence, time, errcode))
            .unwrap();
        conn.execute(
            "INSERT INTO callbacks (received, event_type, domain, app, stream, sequence, event_time, errcode, body) \
             VALUES (1, ?1, 'push.example.com', 'live', 'room1', ?2, ?3, ?4, ?5)",
            rusqlite::params![kind, sequence, time, errcode, body.to_string()],
        )
        .unwrap();
    }
    drop(conn);
    let server = Server::start(&data);
    let (status, live) = server.admin("GET", "/api/streams?live=true");
    assert_eq!(status, 200);
    let live: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(
        live,
        json!([{"domain": "push.example.com", "app": "live", "stream": "room1", "since": 100, "sequences": ["a"]}])
    );
    let (_, sessions) = server.admin("GET", "/api/streams/push.example.com/live/room1");
    let sessions: Value = serde_json::from_str(&sessions).unwrap();
    assert_eq!(sessions[0]["sequence"], "b", "newest first");
    assert_eq!(sessions[0]["state"], "ended");
    assert_eq!(sessions[0]["duration_s"], 60);
    assert_eq!(sessions[0]["client_ip"], "198.51.100.7");
    assert_eq!(sessions[1]["state"], "live");
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn sessions_are_kept_in_the_store_out_of_order_twice_and_across_a_restart() {
    let data = temp_dir("sessions");
    let server = Server::start(&data);
    let post = |server: &Server, body: String| assert_eq!(server.post(&body).0, 200);
    // Primary and backup of room1; a re-push of room2 whose start comes before the old end;
    // an end without its start (room3); each sent twice.
    let first_half = [
        push_callback("room1", "p", 1_000, None),
        push_callback("room2", "new", 2_030, None),
        push_callback("room1", "b", 1_001, None),
        push_callback("room3", "lonely", 3_000, Some(1)),
    ];
    for body in first_half.iter().chain(first_half.iter()) {
        post(&server, body.clone());
    }
    // Restart in the middle: the live set comes back from the store.
    drop(server);
    let server = Server::start(&data);
    let second_half = [
        push_callback("room2", "old", 2_029, Some(21)),
        push_callback("room2", "old", 1_999, None),
        push_callback("room1", "b", 1_500, Some(3)),
    ];
    for body in second_half.iter().chain(second_half.iter()) {
        post(&server, body.clone());
    }
    let (_, live) = server.admin("GET", "/api/streams?live=true");
    let live: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(
        live,
        json!([
            {"domain": "push.example.com", "app": "live", "stream": "room1", "since": 1_000, "sequences": ["p"]},
            {"domain": "push.example.com", "app": "live", "stream": "room2", "since": 2_030, "sequences": ["new"]},
        ]),
        "room1 stays on the air on its primary; room2 on its new push"
    );
    let sessions = |stream: &str| -> Value {
        let (status, text) = server.admin(
            "GET",
            &format!("/api/streams/push.example.com/live/{stream}"),
        );
        assert_eq!(status, 200);
        serde_json::from_str(&text).unwrap()
    };
    let room2 = sessions("room2");
    assert_eq!(room2[1]["sequence"], "old");
    assert_eq!(
        room2[1]["state"], "replaced",
        "ended with 21 as a new push started"
    );
    assert_eq!(room2[1]["category"], "requested");
    let room3 = sessions("room3");
    assert_eq!(
        (room3[0]["start"].as_i64(), room3[0]["end"].as_i64()),
        (Some(2_970), Some(3_000))
    );
    assert_eq!(room3.as_array().unwrap().len(), 1);
    assert_eq!(metric(&server.metrics(), "css_streams_live"), 2.0);
    assert_eq!(server.admin("GET", "/api/streams?live=maybe").0, 400);
    // The command reads the same store to the same answer.
    let output = Command::new(BIN)
        .args(["sessions", "--live", "--format", "json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let from_command: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(from_command, live);
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}
