//! A stream callback receiver: verifies, deduplicates, decodes and logs Tencent's push events.
//!
//! ```sh
//! CSS_CALLBACK_KEY=your-callback-key cargo run --example webhook --features events
//! # listens on 127.0.0.1:8080 (set BIND to change it); point the CSS callback URL at it
//! ```
//!
//! Answers 200 `{"code":0}` to every authentic event (so that Tencent stops retrying), also to a
//! redelivery, which it drops; 400 with the reason to a body that is not a stream event; 401 to a
//! bad or expired signature; 413 to a body over 64 KiB. Logs one JSON line per new event.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use tencent_css_errcode::events::{Deduper, EventKind, StreamEvent};

/// Callback bodies are a few hundred bytes; anything much larger is not one.
const BODY_LIMIT: usize = 64 * 1024;
/// Where log lines go: stdout in `main`, a buffer in the tests.
pub type Sink = Arc<dyn Fn(String) + Send + Sync>;

/// The receiver's state.
pub struct Receiver {
    key: String,
    log: Sink,
    /// The library's deduper: exact for millions of events, bounded past that.
    seen: Mutex<Deduper>,
}

impl Receiver {
    pub fn new(key: String, log: Sink) -> Self {
        Receiver {
            key,
            log,
            seen: Mutex::new(Deduper::new()),
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The HTTP routes: `POST /` and `POST /callback`.
pub fn app(receiver: Arc<Receiver>) -> Router {
    Router::new()
        .route("/", post(callback))
        .route("/callback", post(callback))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(receiver)
}

async fn callback(
    State(receiver): State<Arc<Receiver>>,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    let event: StreamEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(err) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"code": 400, "error": format!("not a stream event: {err}")})),
            );
        }
    };
    if let Err(err) = event.verify(&receiver.key, unix_now()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": 401, "error": err.to_string()})),
        );
    }
    let record = event.record();
    let fresh = receiver
        .seen
        .lock()
        .map(|mut seen| seen.check(record.key, record.time).is_new())
        .unwrap_or(true);
    if fresh {
        (receiver.log)(log_line(&event).to_string());
    }
    (StatusCode::OK, Json(json!({"code": 0})))
}

/// One structured line per event.
fn log_line(event: &StreamEvent) -> Value {
    let interruption = event.interruption();
    let category = interruption.map(|i| i.category());
    json!({
        "event": match event.kind {
            EventKind::StreamEnd => "stream_end",
            EventKind::PushStart => "push_start",
            _ => "other",
        },
        "domain": event.app,
        "app": event.appname,
        "stream": event.stream_id,
        "sequence": event.sequence,
        "event_time": event.event_time,
        "errcode": event.errcode,
        "reason": interruption.and_then(|i| i.reason()).map(|r| r.name()),
        "category": category.map(|c| c.name()),
        "retryable": category.map(|c| c.retryable()),
        "intentional": category.map(|c| c.is_intentional()),
        "push_duration_ms": event.push_duration_ms,
    })
}

#[tokio::main]
async fn main() {
    let Ok(key) = std::env::var("CSS_CALLBACK_KEY") else {
        eprintln!(
            "webhook: set CSS_CALLBACK_KEY to the callback key configured in the CSS console"
        );
        std::process::exit(2);
    };
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = match tokio::net::TcpListener::bind(&bind).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("webhook: cannot listen on {bind}: {err}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(address) => eprintln!("webhook: listening on {address}"),
        Err(_) => eprintln!("webhook: listening on {bind}"),
    }
    let receiver = Arc::new(Receiver::new(key, Arc::new(|line| println!("{line}"))));
    if let Err(err) = axum::serve(listener, app(receiver)).await {
        eprintln!("webhook: {err}");
        std::process::exit(1);
    }
}
