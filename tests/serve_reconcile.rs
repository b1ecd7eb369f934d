//! `css-errcode serve --reconcile-every` against the local fake of DescribeLiveStreamOnlineList
//! (tests/common/fake_api.rs), the real binary over real HTTP on 127.0.0.1: a start lost, an
//! end lost, an API failure, a late end, and a restart.
#![cfg(feature = "serve")]

#[path = "common/fake_api.rs"]
mod fake_api;
#[path = "common/receiver.rs"]
mod receiver;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fake_api::{Fake, Fault, SECRET_ID, SECRET_KEY, online};
use receiver::*;
use serde_json::{Value, json};

/// Waits (at most 30 s) until `metric` reaches `at_least`.
fn wait_for(server: &Server, metric_name: &str, at_least: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = metric(&server.metrics(), metric_name);
        if value >= at_least {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{metric_name} stayed at {value}, short of {at_least}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn live(server: &Server) -> Value {
    serde_json::from_str(&server.admin("GET", "/api/streams?live=true").1).unwrap()
}

fn states(server: &Server, stream: &str) -> Vec<String> {
    let (_, body) = server.admin(
        "GET",
        &format!("/api/streams/push.example.com/live/{stream}"),
    );
    let sessions: Value = serde_json::from_str(&body).unwrap();
    sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap().to_owned())
        .collect()
}

const OK: &str = "css_reconciliations_total{outcome=\"ok\"}";
const FAILED: &str = "css_reconciliations_total{outcome=\"failed\"}";
const LOST: &str = "css_pushes_end_not_received_total";

#[test]
fn polls_find_lost_starts_and_ends_and_a_failed_poll_changes_nothing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let now = now();
    let fake = Fake::new(now, Vec::new());
    {
        let mut listed = fake.online.lock().unwrap();
        // room2's start never reaches the receiver; room3 is on the air and said so.
        listed.push(online("push.example.com", "live", "room2", &[now - 500]));
        listed.push(online("push.example.com", "live", "room3", &[now - 900]));
    }
    let endpoint = runtime.block_on(fake_api::start(fake.clone()));
    let data = temp_dir("reconcile");
    let args = ["--reconcile-every", "1s", "--endpoint", endpoint.as_str()];
    let env = [
        ("TENCENTCLOUD_SECRET_ID", SECRET_ID),
        ("TENCENTCLOUD_SECRET_KEY", SECRET_KEY),
    ];
    let server = Server::start_env(&data, &args, &[], &env);
    // room1's start arrives, its end never will, and the API does not list it.
    for (stream, sequence) in [("room1", "a"), ("room3", "c")] {
        let start = push_callback(stream, sequence, now - 900, None);
        assert_eq!(server.post(&start).0, 200);
    }
    wait_for(&server, LOST, 1.0);
    assert!(fake.rejections.lock().unwrap().is_empty());
    assert_eq!(
        live(&server),
        json!([
            {"domain": "push.example.com", "app": "live", "stream": "room2", "since": now - 500, "sequences": []},
            {"domain": "push.example.com", "app": "live", "stream": "room3", "since": now - 900, "sequences": ["c"]},
        ])
    );
    assert_eq!(states(&server, "room1"), ["end_not_received"]);
    assert_eq!(states(&server, "room2"), ["start_not_received"]);

    // The API fails from now on, and room3 leaves its list: failed polls change nothing.
    let next = fake.requests.load(Ordering::SeqCst) + 1;
    fake.faults
        .lock()
        .unwrap()
        .extend((next..next + 10_000).map(|n| (n, Fault::Api("FailedOperation"))));
    fake.online
        .lock()
        .unwrap()
        .retain(|s| s["StreamName"] != "room3");
    let failed = metric(&server.metrics(), FAILED);
    wait_for(&server, FAILED, failed + 3.0);
    assert_eq!(
        states(&server, "room3"),
        ["live"],
        "a failed query ends nothing"
    );
    assert_eq!(metric(&server.metrics(), LOST), 1.0);

    // The API answers again: room3 is missed twice and ended.
    fake.faults.lock().unwrap().clear();
    wait_for(&server, LOST, 2.0);
    assert_eq!(states(&server, "room3"), ["end_not_received"]);
    // room1's end arrives late after all: its cause and time win.
    let end = push_callback("room1", "a", now - 100, Some(3));
    assert_eq!(server.post(&end).0, 200);
    assert_eq!(states(&server, "room1"), ["ended"]);

    // After a restart without polling, the store still says all of it.
    drop(server);
    let server = Server::start(&data);
    assert_eq!(
        live(&server)
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["stream"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["room2"]
    );
    assert_eq!(states(&server, "room3"), ["end_not_received"]);
    assert!(metric(&server.metrics(), OK) == 0.0);
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}
