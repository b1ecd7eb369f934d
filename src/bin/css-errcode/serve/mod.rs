//! `serve`: a stream callback receiver that keeps every callback it acknowledges.
//!
//! The library reads and checks each callback (`Callback`, signatures, `Record`, its dedupe key
//! and cause); this module answers HTTP, stores, and counts.

mod metrics;
mod store;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tencent_css_errcode::events::{Callback, EventKind, SignatureError};

use metrics::{Kind, Metrics};
use store::{Store, Stored};

/// Callback bodies are a few hundred bytes; anything larger than this is not one.
const BODY_LIMIT: usize = 64 * 1024;

/// `serve`'s options.
#[derive(clap::Args)]
pub struct Options {
    /// Address to listen on, such as 0.0.0.0:8080 (port 0 picks a free one).
    #[arg(long)]
    pub listen: String,
    /// Directory for the events-YYYY-MM-DD.jsonl files.
    #[arg(long, value_name = "DIR")]
    pub data_dir: std::path::PathBuf,
    /// Environment variable that holds the callback key (keys never go on the command line).
    #[arg(long, value_name = "VAR")]
    pub key_env: String,
    /// Path that takes the callbacks.
    #[arg(long, default_value = "/callback")]
    pub path: String,
    /// How long after its `t` a callback is still accepted: 90s, 10m, 1h.
    #[arg(long, value_parser = crate::url::parse_span, default_value = "10m")]
    pub max_skew: u64,
    /// Skip the fsync (acknowledged callbacks may be lost in a crash): to measure its cost.
    #[arg(long, hide = true)]
    pub no_fsync: bool,
}

struct App {
    key: String,
    max_skew: i64,
    store: Store,
    metrics: Metrics,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Runs until SIGTERM or Ctrl-C, then finishes what is in flight and returns 0.
pub fn run(options: Options) -> Result<ExitCode, String> {
    let key = std::env::var(&options.key_env)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            format!(
                "the environment variable {} holds no callback key",
                options.key_env
            )
        })?;
    if !options.path.starts_with('/') {
        return Err(format!("--path `{}` must start with /", options.path));
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(serve(options, key))
}

async fn serve(options: Options, key: String) -> Result<ExitCode, String> {
    let store = Store::open(&options.data_dir, !options.no_fsync)
        .map_err(|e| format!("{}: {e}", options.data_dir.display()))?;
    if options.no_fsync {
        tracing::warn!(
            "--no-fsync: acknowledged callbacks may be lost in a crash (for measurement only)"
        );
    }
    let app = Arc::new(App {
        key,
        max_skew: i64::try_from(options.max_skew).unwrap_or(i64::MAX),
        store: store.clone(),
        metrics: Metrics::new(),
    });
    let router = Router::new()
        .route(&options.path, post(callback))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"code": 404, "error": "not found"})),
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    // On stdout, for whoever started the receiver on port 0.
    println!("listening on {address}");
    tracing::info!(%address, path = %options.path, data_dir = %options.data_dir.display(), "started");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .map_err(|e| format!("server: {e}"))?;
    // Every request is answered: the writer cuts the space it wrote ahead and stops.
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
    tracing::info!("stopped: every acknowledged callback is on disk");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("stopping: finishing the requests in flight");
}

fn answer(status: StatusCode, code: u16, error: Option<String>) -> Response {
    let body = match error {
        Some(error) => json!({"code": code, "error": error}),
        None => json!({"code": 0}),
    };
    (status, axum::Json(body)).into_response()
}

fn reject(app: &App, kind: Kind, remote: SocketAddr, status: StatusCode, why: String) -> Response {
    app.metrics.callback(kind);
    tracing::warn!(%remote, status = status.as_u16(), reason = %why, "rejected a callback");
    answer(status, status.as_u16(), Some(why))
}

async fn callback(
    State(app): State<Arc<App>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    // A callback whose `t` is up to `max_skew` in the past is still accepted.
    let now = unix_now().saturating_sub(app.max_skew);
    let event = match Callback::parse(&body) {
        Err(error) => {
            return reject(
                &app,
                Kind::Malformed,
                remote,
                StatusCode::BAD_REQUEST,
                format!("not a callback: {error}"),
            );
        }
        Ok(Callback::Other(other)) => {
            return match other.verify(&app.key, now) {
                Ok(()) => {
                    app.metrics.callback(Kind::Ignored);
                    answer(StatusCode::OK, 0, None)
                }
                Err(error) => signature_rejected(&app, remote, error),
            };
        }
        Ok(Callback::Stream(event)) => event,
        Ok(_) => {
            return reject(
                &app,
                Kind::Malformed,
                remote,
                StatusCode::BAD_REQUEST,
                "an unknown kind of callback".to_owned(),
            );
        }
    };
    if let Err(error) = event.verify(&app.key, now) {
        return signature_rejected(&app, remote, error);
    }
    let record = event.record();
    match app
        .store
        .append(record.key, record.time, one_line(&body))
        .await
    {
        Stored::Accepted(elapsed) => {
            app.metrics.callback(Kind::Accepted);
            app.metrics.stored(elapsed.as_secs_f64());
            match (
                record.kind,
                record.cause.as_ref().and_then(|c| c.interruption()),
            ) {
                (EventKind::PushStart, _) => app.metrics.push_start(),
                (_, Some(interruption)) => app.metrics.stream_end(interruption),
                _ => {}
            }
            answer(StatusCode::OK, 0, None)
        }
        Stored::Duplicate => {
            app.metrics.callback(Kind::Duplicate);
            answer(StatusCode::OK, 0, None)
        }
        Stored::Failed(error) => reject(
            &app,
            Kind::Unstored,
            remote,
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot store the callback: {error}"),
        ),
    }
}

fn signature_rejected(app: &App, remote: SocketAddr, error: SignatureError) -> Response {
    let kind = match error {
        SignatureError::Expired { .. } => Kind::Expired,
        _ => Kind::BadSignature,
    };
    reject(
        app,
        kind,
        remote,
        StatusCode::UNAUTHORIZED,
        error.to_string(),
    )
}

/// The body as one line of the day's file: as received when it is one line already (numbers
/// stay numbers, strings stay strings), else the same JSON written compactly.
fn one_line(body: &[u8]) -> Vec<u8> {
    let body = body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(body)
        .trim_ascii();
    if !body.contains(&b'\n') && !body.contains(&b'\r') {
        return body.to_vec();
    }
    serde_json::from_slice::<serde_json::Value>(body)
        .and_then(|value| serde_json::to_vec(&value))
        .unwrap_or_else(|_| {
            body.iter()
                .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
                .collect()
        })
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        app.metrics.text(),
    )
        .into_response()
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let store = app.store.clone();
    let writable = tokio::task::spawn_blocking(move || store.writable())
        .await
        .unwrap_or(false);
    if writable {
        answer(StatusCode::OK, 0, None)
    } else {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            503,
            Some("the data directory is not writable".to_owned()),
        )
    }
}
