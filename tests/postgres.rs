//! Receivers that share one PostgreSQL (a real server: `tests/common/postgres.rs`), the real
//! binary over real HTTP on 127.0.0.1: two replicas started at once migrate once; under load
//! with each callback sent to one replica and redelivered to the other, one replica killed
//! with SIGKILL and restarted, every acknowledged callback is stored once; a push whose start
//! reached one replica and whose end reached the other is one whole session, and both answer
//! the same live set; PostgreSQL stopped and started again under load gives 503s while it is
//! away, loses nothing acknowledged, and the receiver takes callbacks again by itself.
#![cfg(all(feature = "serve", feature = "postgres"))]

#[path = "common/postgres.rs"]
mod postgres_server;
#[path = "common/receiver.rs"]
mod receiver;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres_server::Postgres;
use receiver::*;
use serde_json::Value;

/// A replica on the test's database (the URL in an environment variable, as operators should
/// pass it).
fn replica(pg: &Postgres) -> Server {
    Server::start_store(
        &["--database-env", "CSS_TEST_DATABASE"],
        &[],
        &[],
        &[("CSS_TEST_DATABASE", &pg.url)],
    )
}

/// A stable choice of replica for event `n` ("at random", but the same on every run).
fn first_replica(n: u64) -> usize {
    (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 63) as usize
}

#[test]
fn two_replicas_under_load_one_killed_and_restarted_keep_every_acknowledged_event_once() {
    let Some(pg) = Postgres::start("two_replicas") else {
        return;
    };
    // Started at once on an empty database: one of them migrates, the other waits for the
    // advisory lock and finds the schema current.
    let (one, two) = std::thread::scope(|s| {
        let a = s.spawn(|| replica(&pg));
        let b = s.spawn(|| replica(&pg));
        (a.join().unwrap(), b.join().unwrap())
    });
    let versions = pg
        .client()
        .query("SELECT version FROM css_schema", &[])
        .unwrap();
    assert_eq!(versions.len(), 1, "migrated once");

    let addresses = Arc::new(Mutex::new([one.address.clone(), two.address.clone()]));
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let statuses = Arc::new(Mutex::new(HashMap::<u16, usize>::new()));
    let events: u64 = 3_000;
    let t = now() + 600;
    let senders: Vec<_> = (0..8u64)
        .map(|thread| {
            let (addresses, acked, statuses) = (addresses.clone(), acked.clone(), statuses.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                for n in (thread..events).step_by(8) {
                    if Instant::now() > deadline {
                        break;
                    }
                    let sequence = n.to_string();
                    let body = callback(KEY, t, 0, &sequence, Some((n % 40) as u32));
                    let first = first_replica(n);
                    // To one replica, then its redelivery to the other.
                    for side in [first, 1 - first] {
                        let address = addresses.lock().unwrap()[side].clone();
                        if let Ok((status, _, _)) =
                            request(&address, "POST", "/callback", body.as_bytes())
                        {
                            *statuses.lock().unwrap().entry(status).or_default() += 1;
                            if status == 200 {
                                acked.lock().unwrap().insert(sequence.clone());
                            }
                        }
                    }
                }
            })
        })
        .collect();
    // Kill the second replica in the middle of the load, and start it again.
    std::thread::sleep(Duration::from_millis(700));
    two.kill();
    std::thread::sleep(Duration::from_millis(300));
    let two = replica(&pg);
    addresses.lock().unwrap()[1] = two.address.clone();
    for sender in senders {
        sender.join().unwrap();
    }
    let acked = Arc::try_unwrap(acked).unwrap().into_inner().unwrap();
    assert!(!acked.is_empty());
    let stored_now = pg.stored();
    assert_each_acked_once(&acked, &stored_now);
    // Tencent retries what was not acknowledged: resend everything to the restarted replica.
    let resent = load(
        &two.address,
        (0..events).collect(),
        8,
        Duration::from_secs(60),
    );
    assert_eq!(resent.acked.len(), events as usize, "{:?}", resent.statuses);
    let stored_after = pg.stored();
    assert_each_acked_once(&resent.acked, &stored_after);
    assert_eq!(stored_after.len(), events as usize);
    eprintln!(
        "two replicas: {} acknowledged before the resend, statuses {:?}",
        acked.len(),
        statuses.lock().unwrap()
    );

    // Sessions across replicas: each push's start to one, its end to the other (either way
    // round, the end first for a third of them); 40 pushes only start.
    let base = 1_700_000_000;
    for n in 0..240u64 {
        let (stream, sequence) = (format!("room-{}", n % 60), format!("push-{n}"));
        let start = push_callback(&stream, &sequence, base + n as i64 * 10, None);
        let end = push_callback(&stream, &sequence, base + n as i64 * 10 + 5, Some(3));
        let replicas = if first_replica(n) == 0 {
            [&one, &two]
        } else {
            [&two, &one]
        };
        if n >= 200 {
            assert_eq!(replicas[0].post(&start).0, 200);
            continue;
        }
        if n % 3 == 0 {
            assert_eq!(replicas[1].post(&end).0, 200);
            assert_eq!(replicas[0].post(&start).0, 200);
        } else {
            assert_eq!(replicas[0].post(&start).0, 200);
            assert_eq!(replicas[1].post(&end).0, 200);
        }
    }
    let halves = pg
        .client()
        .query_one(
            "SELECT count(*) FILTER (WHERE start_time IS NOT NULL AND end_time IS NOT NULL), \
             count(*) FILTER (WHERE end_time IS NULL), count(*) FROM pushes \
             WHERE sequence LIKE 'push-%'",
            &[],
        )
        .unwrap();
    assert_eq!(
        (
            halves.get::<_, i64>(0),
            halves.get::<_, i64>(1),
            halves.get::<_, i64>(2)
        ),
        (200, 40, 240),
        "every push is one row, whole"
    );
    let live = |server: &Server| -> Vec<String> {
        let (status, body) = server.admin("GET", "/api/streams?live=true");
        assert_eq!(status, 200, "{body}");
        let value: Value = serde_json::from_str(&body).unwrap();
        let mut names: Vec<String> = value
            .as_array()
            .unwrap_or_else(|| panic!("an array of streams: {value}"))
            .iter()
            .map(|s| format!("{} {}", s["stream"], s["sequences"]))
            .collect();
        names.sort();
        names
    };
    let from_one = live(&one);
    assert_eq!(from_one.len(), 40, "{from_one:?}");
    assert_eq!(
        from_one,
        live(&two),
        "both replicas answer the same live set"
    );
    assert_eq!(one.terminate().0, Some(0));
    assert_eq!(two.terminate().0, Some(0));

    // export, triage and sessions read the same database (--database-env, and --database).
    let command = |args: &[&str]| {
        let output = std::process::Command::new(BIN)
            .args(args)
            .env("CSS_TEST_DATABASE", &pg.url)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let exported = command(&["export", "--database-env", "CSS_TEST_DATABASE"]);
    let total = events as usize + 200 * 2 + 40;
    assert_eq!(exported.lines().count(), total);
    let of_export =
        std::env::temp_dir().join(format!("css-pg-export-{}.jsonl", std::process::id()));
    std::fs::write(&of_export, &exported).unwrap();
    let mut report: Value =
        serde_json::from_str(&command(&["triage", "--json", "--database", &pg.url])).unwrap();
    assert_eq!(report["events"], total, "{report}");
    let mut report_of_export: Value =
        serde_json::from_str(&command(&["triage", "--json", of_export.to_str().unwrap()])).unwrap();
    std::fs::remove_file(&of_export).unwrap();
    for r in [&mut report, &mut report_of_export] {
        r.as_object_mut().unwrap().remove("inputs");
    }
    assert_eq!(
        report, report_of_export,
        "triage of the database is triage of its export"
    );
    let live_rows = command(&[
        "sessions",
        "--database-env",
        "CSS_TEST_DATABASE",
        "--any-order",
        "--live",
        "--format",
        "jsonl",
    ]);
    assert_eq!(live_rows.lines().count(), 40, "{live_rows}");
    // The password never shows: an error names the database without it.
    let with_password = pg
        .url
        .replacen("://css@", "://css:hunter2@", 1)
        .replace("css_test", "no_such_db");
    let output = std::process::Command::new(BIN)
        .args(["export", "--database", &with_password])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no_such_db") && !stderr.contains("hunter2"),
        "{stderr}"
    );
}

#[test]
fn postgres_stopped_and_started_under_load_loses_nothing_acknowledged() {
    let Some(pg) = Postgres::start("postgres_restart") else {
        return;
    };
    if !pg.own_server() {
        eprintln!("postgres_restart: skipped: needs a server of the test's own to stop");
        return;
    }
    let server = replica(&pg);
    let address = server.address.clone();
    let events: u64 = 200_000;
    let sender = std::thread::spawn(move || {
        load(&address, (0..events).collect(), 8, Duration::from_secs(6))
    });
    std::thread::sleep(Duration::from_millis(1_500));
    pg.stop();
    // While it is away the receiver says so.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut health = 0;
    while Instant::now() < deadline {
        health = server.admin("GET", "/healthz").0;
        if health == 503 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(health, 503, "/healthz while PostgreSQL is down");
    std::thread::sleep(Duration::from_millis(1_000));
    pg.start_again();
    let sent = sender.join().unwrap();
    // Back by itself: healthy again, and callbacks are taken.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.admin("GET", "/healthz").0 != 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        server.admin("GET", "/healthz").0,
        200,
        "/healthz after the restart"
    );
    let after = load(
        &server.address,
        vec![events + 1, events + 2],
        1,
        Duration::from_secs(10),
    );
    assert_eq!(after.acked.len(), 2, "{:?}", after.statuses);
    assert!(
        sent.statuses.get(&503).copied().unwrap_or(0) > 0,
        "503s while PostgreSQL was down: {:?}",
        sent.statuses
    );
    assert!(sent.acked.len() > 100, "{:?}", sent.statuses);
    let stored_now = pg.stored();
    assert_each_acked_once(&sent.acked, &stored_now);
    assert_each_acked_once(&after.acked, &stored_now);
    eprintln!("postgres restart: statuses {:?}", sent.statuses);
    assert_eq!(server.terminate().0, Some(0));
}

#[test]
fn writer_connections_killed_under_load_lose_nothing_acknowledged() {
    let Some(pg) = Postgres::start("terminated_connections") else {
        return;
    };
    let server = replica(&pg);
    let address = server.address.clone();
    let events: u64 = 100_000;
    let sender = std::thread::spawn(move || {
        load(&address, (0..events).collect(), 8, Duration::from_secs(4))
    });
    // The server ends the receiver's connections, mid-commit or between commits, again and
    // again: each failed batch gets 503 and the writer connects again.
    let mut admin = pg.client();
    let mut terminated = 0i64;
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(150));
        terminated += admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = 'css-errcode' AND datname = current_database()",
                &[],
            )
            .unwrap()
            .len() as i64;
    }
    let sent = sender.join().unwrap();
    assert!(terminated >= 10, "{terminated} connections ended");
    assert!(
        sent.statuses.get(&503).copied().unwrap_or(0) > 0,
        "the batches of the ended connections got 503: {:?}",
        sent.statuses
    );
    assert!(sent.acked.len() > 100, "{:?}", sent.statuses);
    assert_each_acked_once(&sent.acked, &pg.stored());
    // Healthy again by itself, and every event is kept once when Tencent retries them.
    let resent = load(
        &server.address,
        sent.acked
            .iter()
            .map(|s| s.parse().unwrap())
            .take(2_000)
            .collect(),
        4,
        Duration::from_secs(30),
    );
    assert_eq!(
        resent.acked.len(),
        sent.acked.len().min(2_000),
        "{:?}",
        resent.statuses
    );
    assert_each_acked_once(&sent.acked, &pg.stored());
    eprintln!(
        "terminated connections: {terminated} ended, statuses {:?}",
        sent.statuses
    );
    assert_eq!(server.terminate().0, Some(0));
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (install openssl)");
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
}

#[test]
fn tls_to_a_database_with_its_own_ca_through_pgsslrootcert() {
    let Some(pg) = Postgres::init_only("tls") else {
        return;
    };
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CSS_REQUIRE_POSTGRES_TESTS").map_or(true, |v| v != "1"),
            "openssl is required to make the test's certificates"
        );
        eprintln!("tls: skipped: no openssl to make certificates");
        return;
    }
    // A CA of the test's own, and a certificate for 127.0.0.1 that it signed.
    let cluster = pg.cluster().unwrap();
    let certs = cluster.parent().unwrap().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    openssl(
        &certs,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=css-errcode test CA",
        ],
    );
    openssl(
        &certs,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        certs.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &certs,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    for file in ["server.crt", "server.key"] {
        std::fs::copy(certs.join(file), cluster.join(file)).unwrap();
    }
    let mut conf = std::fs::OpenOptions::new()
        .append(true)
        .open(cluster.join("postgresql.conf"))
        .unwrap();
    std::io::Write::write_all(
        &mut conf,
        b"ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
    )
    .unwrap();
    pg.give(&[&cluster.join("server.crt"), &cluster.join("server.key")]);
    let status = std::process::Command::new("chmod")
        .arg("600")
        .arg(cluster.join("server.key"))
        .status()
        .unwrap();
    assert!(status.success());
    pg.start_again();
    pg.create_database();

    let url = pg.url.replace("sslmode=disable", "sslmode=require");
    let ca = certs.join("ca.crt");
    let server = Server::start_store(
        &["--database-env", "CSS_TEST_DATABASE"],
        &[],
        &[],
        &[
            ("CSS_TEST_DATABASE", &url),
            ("PGSSLROOTCERT", ca.to_str().unwrap()),
        ],
    );
    let body = push_callback("room-tls", "tls-1", now() - 5, None);
    assert_eq!(server.post(&body).0, 200);
    let row = pg
        .client()
        .query_one(
            "SELECT count(*), coalesce(bool_and(s.ssl), false) FROM pg_stat_activity a \
             JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = 'css-errcode'",
            &[],
        )
        .unwrap();
    assert!(
        row.get::<_, i64>(0) >= 1,
        "the receiver's connections are there"
    );
    assert!(row.get::<_, bool>(1), "every one of them is TLS");
    assert_eq!(server.terminate().0, Some(0));

    // Without the CA the certificate is refused: the check is real.
    let output = std::process::Command::new(BIN)
        .args(["export", "--database", &url])
        .env_remove("PGSSLROOTCERT")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("without the CA: {stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    // With it, export reads the callback back over TLS.
    let output = std::process::Command::new(BIN)
        .args(["export", "--database", &url])
        .env("PGSSLROOTCERT", &ca)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
}

#[test]
fn retention_and_the_page_on_postgres() {
    let Some(pg) = Postgres::start("postgres_retention") else {
        return;
    };
    let server = replica(&pg);
    let t = now() + 600;
    for n in 0..30 {
        let body = push_callback(
            &format!("room-old-{n}"),
            &format!("old-{n}"),
            now() - 60,
            Some(3),
        );
        assert_eq!(server.post(&body).0, 200);
    }
    // The page (its default view: the last 24 hours) and a stream's pushes read the same
    // database.
    let (status, page) = server.admin("GET", "/");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("room-old-7"),
        "the page lists the interruptions"
    );
    let (status, pushes) = server.admin("GET", "/api/streams/push.example.com/live/room-old-7");
    assert_eq!(status, 200, "{pushes}");
    let pushes: Value = serde_json::from_str(&pushes).unwrap();
    assert_eq!(pushes.as_array().map(Vec::len), Some(1), "{pushes}");
    assert_eq!(server.terminate().0, Some(0));

    // Received over two seconds ago: past a retention of one second.
    std::thread::sleep(Duration::from_millis(2_100));
    let server = Server::start_store(
        &["--database-env", "CSS_TEST_DATABASE"],
        &["--retain", "1s"],
        &[],
        &[("CSS_TEST_DATABASE", &pg.url)],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pg.stored().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(pg.stored().is_empty(), "the old rows are deleted");
    assert_eq!(server.post(&callback(KEY, t, 0, "new", Some(1))).0, 200);
    assert_eq!(pg.stored().len(), 1, "a new row is kept");
    assert_eq!(server.terminate().0, Some(0));
}

#[test]
fn a_nul_in_a_callback_fails_no_batch_on_postgres() {
    let Some(pg) = Postgres::start("postgres_nul") else {
        return;
    };
    let server = replica(&pg);
    // `\u0000` in a field is valid JSON; PostgreSQL's text cannot hold it.
    let t = now() + 600;
    let body = format!(
        r#"{{"t":{t},"sign":"{}","event_type":0,"app":"push.example.com","appname":"live","stream_id":"room\u0000x","sequence":"nul-1","event_time":1700000000,"errcode":3,"errmsg":"a\u0000b"}}"#,
        tencent_css_errcode::events::sign(KEY, t)
    );
    assert_eq!(server.post(&body).0, 200, "kept");
    assert_eq!(server.post(&body).0, 200, "its redelivery");
    let sent = load(
        &server.address,
        (0..200).collect(),
        4,
        Duration::from_secs(30),
    );
    assert_eq!(sent.acked.len(), 200, "{:?}", sent.statuses);
    let stored = pg.stored();
    assert_eq!(stored.get("nul-1"), Some(&1), "kept once");
    let stream: String = pg
        .client()
        .query_one("SELECT stream FROM callbacks WHERE sequence = 'nul-1'", &[])
        .unwrap()
        .get(0);
    assert_eq!(stream, "room\u{FFFD}x");
    let metrics = server.metrics();
    assert_eq!(
        metric(&metrics, "css_callbacks_total{outcome=\"duplicate\"}"),
        1.0
    );
    assert_eq!(server.terminate().0, Some(0));
}
