//! A stream callback receiver that keeps nothing: the library's answer rules
//! (`receiver::Rules`), a `Deduper` in memory, and one JSON log line per new event on stdout.
//!
//! ```sh
//! CSS_CALLBACK_KEY=your-callback-key cargo run --example webhook --features events
//! # listens on 127.0.0.1:8080 (set BIND to change it); point the CSS callback URL at it
//! ```
//!
//! It answers every request as `css-errcode serve` does (200 to an authentic callback of any
//! kind, also to a redelivery, which it drops; 400, 401, 404, 405, 413 with the reason), but
//! remembers events only while it runs: use `css-errcode serve` to keep them.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request as HttpRequest, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tencent_css_errcode::events::{Deduper, EventKind};
use tencent_css_errcode::receiver::{Answer, BODY_LIMIT, Decision, Request, Row, Rules, Stored};

/// Where log lines go: stdout in `main`, a buffer in the tests.
pub type Sink = Arc<dyn Fn(String) + Send + Sync>;

/// The receiver's state.
pub struct Receiver {
    rules: Rules,
    log: Sink,
    /// The library's deduper: exact for millions of events, bounded past that.
    seen: Mutex<Deduper>,
}

impl Receiver {
    pub fn new(key: String, log: Sink) -> Self {
        Receiver {
            rules: Rules::new(key, "/callback"),
            log,
            seen: Mutex::new(Deduper::new()),
        }
    }
}

/// The current Unix time in seconds (0 before 1970).
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Every path goes to the rules (which answer 404 off `/callback`).
pub fn app(receiver: Arc<Receiver>) -> Router {
    Router::new().fallback(callback).with_state(receiver)
}

async fn callback(State(receiver): State<Arc<Receiver>>, request: HttpRequest) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let answer = match axum::body::to_bytes(request.into_body(), BODY_LIMIT).await {
        Err(_) => receiver.rules.decide_oversize(&method, &path),
        Ok(body) => {
            let request = Request {
                method: &method,
                path: &path,
                body: &body,
            };
            match receiver.rules.decide(&request, unix_now()) {
                Decision::Answer(answer) => answer,
                Decision::Keep(keep) => {
                    let row = keep.row();
                    let fresh = receiver
                        .seen
                        .lock()
                        .map(|mut seen| seen.check(row.dedupe_key(), row.event_time).is_new())
                        .unwrap_or(true);
                    if fresh {
                        (receiver.log)(log_line(row).to_string());
                    }
                    keep.answer(Ok(if fresh {
                        Stored::New
                    } else {
                        Stored::Duplicate
                    }))
                }
            }
        }
    };
    respond(answer)
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.body,
    )
        .into_response()
}

/// One structured line per event.
fn log_line(row: &Row) -> Value {
    let interruption = row.interruption();
    let category = interruption.map(|i| i.category());
    json!({
        "event": match row.kind {
            EventKind::StreamEnd => "stream_end",
            EventKind::PushStart => "push_start",
            _ => "other",
        },
        "domain": row.domain,
        "app": row.app,
        "stream": row.stream,
        "sequence": row.sequence,
        "event_time": row.event_time,
        "errcode": row.errcode,
        "reason": interruption.and_then(|i| i.reason()).map(|r| r.name()),
        "category": category.map(|c| c.name()),
        "retryable": category.map(|c| c.retryable()),
        "intentional": category.map(|c| c.is_intentional()),
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
