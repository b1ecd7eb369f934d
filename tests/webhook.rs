//! Runs examples/webhook.rs on 127.0.0.1 and talks to it over real HTTP.
#![cfg(feature = "events")]

#[allow(dead_code)]
#[path = "../examples/webhook.rs"]
mod webhook;

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tencent_css_errcode::events::sign;
use webhook::unix_now as now;

const KEY: &str = "test-callback-key";

/// An official-format stream-end body, signed with `key`, expiring at `t`.
fn body(key: &str, t: i64, sequence: &str, errcode: u32) -> Value {
    json!({
        "t": t, "sign": sign(key, t), "event_type": 0, "appid": 1250000000,
        "app": "push.example.com", "appname": "live", "stream_id": "room42", "channel_id": "room42",
        "event_time": 1700000000, "sequence": sequence, "node": "203.0.113.7", "user_ip": "198.51.100.23",
        "stream_param": "txSecret=x&txTime=y", "push_duration": "61000", "errcode": errcode,
        "errmsg": "recv rtmp deleteStream", "set_id": 2, "width": 1280, "height": 720, "idc_id": 38
    })
}

async fn start() -> (String, Arc<Mutex<Vec<String>>>) {
    let logged = Arc::new(Mutex::new(Vec::new()));
    let sink = logged.clone();
    let receiver = Arc::new(webhook::Receiver::new(
        KEY.to_owned(),
        Arc::new(move |line| sink.lock().unwrap().push(line)),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, webhook::app(receiver)).await.unwrap() });
    (format!("http://{address}/callback"), logged)
}

async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn the_receiver_answers_each_kind_of_delivery() {
    let (url, logged) = start().await;
    let client = reqwest::Client::new();
    let t = now() + 600;

    // Two official-format events, signed correctly.
    let (status, answer) = post(
        &client,
        &url,
        body(KEY, t, "1001", 18).to_string().into_bytes(),
    )
    .await;
    assert_eq!((status, answer), (200, json!({"code": 0})));
    let (status, _) = post(
        &client,
        &url,
        body(KEY, t, "1002", 12).to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 200);

    // A redelivery of the first, re-signed with a later t as Tencent does: 200, not logged again.
    let (status, answer) = post(
        &client,
        &url,
        body(KEY, t + 60, "1001", 18).to_string().into_bytes(),
    )
    .await;
    assert_eq!((status, answer), (200, json!({"code": 0})));

    // A wrong signature and an expired one.
    let (status, answer) = post(
        &client,
        &url,
        body("not-the-key", t, "1003", 1).to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        answer["error"].as_str().unwrap().contains("does not match"),
        "{answer}"
    );
    let (status, answer) = post(
        &client,
        &url,
        body(KEY, now() - 3_600, "1004", 1).to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        answer["error"].as_str().unwrap().contains("expired"),
        "{answer}"
    );

    // Malformed bodies: not JSON, and JSON that is not a valid stream event.
    let (status, answer) = post(&client, &url, b"{\"event_type\": 0, ".to_vec()).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("not a callback"),
        "{answer}"
    );
    let mut no_errcode = body(KEY, t, "1005", 1);
    no_errcode.as_object_mut().unwrap().remove("errcode");
    let (status, answer) = post(&client, &url, no_errcode.to_string().into_bytes()).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("missing field `errcode`"),
        "{answer}"
    );

    // A body of several megabytes.
    let mut huge = body(KEY, t, "1006", 1);
    huge["errmsg"] = json!("x".repeat(5 * 1024 * 1024));
    let (status, _) = post(&client, &url, huge.to_string().into_bytes()).await;
    assert_eq!(status, 413);

    // Exactly the two new, authentic events were logged, one structured line each.
    let lines: Vec<Value> = logged
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["sequence"], "1001");
    assert_eq!(lines[0]["event"], "stream_end");
    assert_eq!(lines[0]["errcode"], 18);
    assert_eq!(lines[0]["category"], "refused");
    assert_eq!(lines[0]["reason"], Value::Null);
    assert_eq!(lines[0]["domain"], "push.example.com");
    assert_eq!(lines[1]["sequence"], "1002");
    assert_eq!(lines[1]["category"], "network");
    assert_eq!(lines[1]["retryable"], true);
}

/// The answers `css-errcode serve` gives that a receiver without a store must give too: a
/// signed recording callback is acknowledged (else Tencent retries it twelve times), other
/// paths and methods are refused as serve refuses them.
#[tokio::test]
async fn other_kinds_paths_and_methods_are_answered_as_serve_answers_them() {
    let (url, logged) = start().await;
    let client = reqwest::Client::new();
    let t = now() + 600;
    let recording =
        json!({"event_type": 100, "t": t, "sign": sign(KEY, t), "video_url": "https://v"});
    let (status, answer) = post(&client, &url, recording.to_string().into_bytes()).await;
    assert_eq!((status, answer), (200, json!({"code": 0})));
    let elsewhere = url.replace("/callback", "/elsewhere");
    assert_eq!(post(&client, &elsewhere, b"{}".to_vec()).await.0, 404);
    let get = client.get(&url).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert!(
        logged.lock().unwrap().is_empty(),
        "nothing of another kind is logged"
    );
}
