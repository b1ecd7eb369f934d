use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::metrics::Metrics;
use super::{Answer, BODY_LIMIT, Decision, Request, Rules, StoreError};
use crate::sessions::{LiveStream, Session, Stream};
use crate::store::{Reader, Store};

/// Why one poll of [`Receiver::reconcile`] changed nothing.
#[cfg(feature = "api")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// DescribeLiveStreamOnlineList failed for this scope (`domain/AppName`, `*` for every
    /// domain), after its retries.
    #[error("DescribeLiveStreamOnlineList for {scope}: {source}")]
    Api {
        /// The scope polled.
        scope: String,
        /// The API's error.
        #[source]
        source: crate::api::Error,
    },
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// How long `/healthz` waits for the writer's answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A callback receiver: the answer [`Rules`], a [`Store`] and metrics, served as two axum
/// `Router`s that a program can serve alone or nest in its own: one for Tencent, often on the
/// internet, that says nothing of the streams; one for operators.
///
/// [`callback_router`](Receiver::callback_router):
/// - the rules' path: every method goes to [`Rules::decide`]; a callback to keep is answered
///   once its batch is committed;
/// - `GET /healthz`: `200 {"code":0}` while the store commits, `503` after a failed commit
///   until it recovers;
/// - anything else: `404`.
///
/// [`admin_router`](Receiver::admin_router), every route behind `Authorization: Bearer
/// <token>` when a token is given (compared in constant time), except `/healthz`; a token in
/// the query string is refused (401), so that it never lands in a log of URLs:
/// - `GET /healthz`, as above;
/// - `GET /metrics`: Prometheus text (`css_callbacks_total{outcome}`,
///   `css_stream_ends_total{category,errcode}`, `css_push_starts_total`,
///   `css_sessions_ended_total{category}`, `css_store_seconds`, `css_store_waiting`,
///   `css_store_healthy`, `css_streams_live`, `css_reconciliations_total{outcome}`,
///   `css_pushes_end_not_received_total`);
/// - `GET /api/streams?live=true`: the streams on the air, as `css-errcode sessions --live
///   --format json` prints them;
/// - `GET /api/streams/{domain}/{app}/{stream}`: that stream's latest 100 pushes, newest
///   first, as `css-errcode sessions --format json` prints them;
/// - with the `page` feature, `GET /` and `GET /streams/{domain}/{app}/{stream}`: the Stream
///   Interruption Records page ([`crate::page`]);
/// - a query string over 2 KiB, or one that cannot be read: `400`; anything else: `404`.
///
/// # Example
/// ```no_run
/// use std::sync::Arc;
/// use tencent_css_errcode::receiver::{Receiver, Rules};
/// use tencent_css_errcode::store::{Options, Store};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Store::open("/var/lib/css-callbacks".as_ref(), Options::default())?;
/// let receiver = Arc::new(Receiver::new(Rules::new("callback-key", "/callback"), store));
/// let public = axum::Router::new().nest("/css", receiver.callback_router());
/// let admin = receiver.admin_router(Some("a long random token".to_owned()));
/// let (public_listener, admin_listener) = (
///     tokio::net::TcpListener::bind("0.0.0.0:8080").await?,
///     tokio::net::TcpListener::bind("127.0.0.1:9464").await?,
/// );
/// tokio::try_join!(axum::serve(public_listener, public), axum::serve(admin_listener, admin))?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Receiver {
    rules: Rules,
    store: Store,
    metrics: Metrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Receiver {
    /// A receiver that answers by `rules` and keeps callbacks in `store`.
    pub fn new(rules: Rules, store: Store) -> Receiver {
        Receiver {
            rules,
            store,
            metrics: Metrics::new(),
        }
    }

    /// Its store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Polls DescribeLiveStreamOnlineList once for each of the [`scopes`] of the store's open
    /// pushes and `apps`, and takes each answer into the store ([`Store::reconcile`]). A failed
    /// query changes nothing (as Tencent advises: it does not take a stream off the air); it
    /// is logged and counted in `css_reconciliations_total{outcome="failed"}`, never fatal.
    /// Blocking: call it from a thread of its own, at most once a minute.
    ///
    /// [`scopes`]: crate::sessions::scopes
    #[cfg(feature = "api")]
    pub fn reconcile(
        &self,
        client: &crate::api::Client,
        apps: &[String],
    ) -> Vec<Result<crate::sessions::Reconciled, ReconcileError>> {
        let open = match self.store.open_scopes() {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(error = %e, "reconcile: cannot read the open pushes");
                self.metrics.reconciled(None);
                return vec![Err(ReconcileError::Store(e))];
            }
        };
        crate::sessions::scopes(open, apps)
            .into_iter()
            .map(|(domain, app)| {
                let scope = format!("{}/{app}", domain.as_deref().unwrap_or("*"));
                let query = crate::api::OnlineQuery::scope(domain.as_deref(), &app);
                let result = client
                    .online(&query)
                    .map_err(|source| ReconcileError::Api {
                        scope: scope.clone(),
                        source,
                    })
                    .and_then(|poll| Ok(self.store.reconcile(&poll)?));
                match &result {
                    Ok(changed) => {
                        tracing::info!(
                            %scope,
                            missed = changed.missed,
                            end_not_received = changed.lost,
                            start_not_received = changed.start_not_received,
                            "reconciled with DescribeLiveStreamOnlineList"
                        );
                        self.metrics.reconciled(Some(changed.lost));
                    }
                    Err(e) => {
                        tracing::warn!(%scope, error = %e, "reconcile failed; nothing changed");
                        self.metrics.reconciled(None);
                    }
                }
                result
            })
            .collect()
    }

    /// The routes Tencent calls (see [`Receiver`]): the callback path and `/healthz`. When the
    /// server gives `ConnectInfo<SocketAddr>`, refusals are logged with the sender's address.
    pub fn callback_router(self: &Arc<Self>) -> Router {
        let path = self.rules.path().to_owned();
        Router::new()
            .route("/healthz", get(healthz))
            .route(&path, axum::routing::any(callback))
            .fallback(callback)
            .with_state(Arc::clone(self))
    }

    /// The routes operators read (see [`Receiver`]): metrics, the JSON API and, with the
    /// `page` feature, the page; behind `token` when one is given.
    pub fn admin_router(self: &Arc<Self>, token: Option<String>) -> Router {
        let router = Router::new()
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics))
            .route("/api/streams", get(live_streams))
            .route("/api/streams/{domain}/{app}/{stream}", get(stream_sessions));
        #[cfg(feature = "page")]
        let router = router.route("/", get(super::admin::overview_page)).route(
            "/streams/{domain}/{app}/{stream}",
            get(super::admin::stream_page),
        );
        router
            .fallback(super::admin::not_found)
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(super::admin::Guard::new(token)),
                super::admin::guard,
            ))
            .with_state(Arc::clone(self))
    }

    /// Answers one request: decides, keeps what is to be kept, counts. `body` is `None` when
    /// it was over [`BODY_LIMIT`].
    pub async fn handle(&self, method: &str, path: &str, body: Option<&[u8]>, now: i64) -> Answer {
        let decision = match body {
            Some(body) => self.rules.decide(&Request { method, path, body }, now),
            None => Decision::Answer(self.rules.decide_oversize(method, path)),
        };
        let answer = match decision {
            Decision::Answer(answer) => answer,
            Decision::Keep(keep) => {
                let (sender, receiver) = tokio::sync::oneshot::channel();
                let started = Instant::now();
                let (kind, interruption) = (keep.row().kind, keep.row().interruption());
                self.store.submit(keep.into_row(), move |result| {
                    let _ = sender.send(result);
                });
                let result = receiver.await.unwrap_or(Err(StoreError::Closed));
                if let Ok(super::Stored::New) = result {
                    self.metrics
                        .kept(kind, interruption, started.elapsed().as_secs_f64());
                }
                Answer::after_store(result)
            }
        };
        self.metrics.outcome(answer.outcome);
        answer
    }
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.body,
    )
        .into_response();
    if let Some(seconds) = answer.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn callback(
    State(receiver): State<Arc<Receiver>>,
    request: axum::extract::Request,
) -> Response {
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let body = axum::body::to_bytes(request.into_body(), BODY_LIMIT).await;
    let answer = receiver
        .handle(
            &method,
            &path,
            body.as_deref().ok(),
            crate::receiver::unix_now(),
        )
        .await;
    if answer.status >= 400 && answer.status != 404 {
        let remote = remote.map(|r| r.to_string()).unwrap_or_default();
        tracing::warn!(%remote, status = answer.status, reason = %answer.body, "refused a callback");
    }
    respond(answer)
}

async fn metrics(State(receiver): State<Arc<Receiver>>) -> Response {
    let live = read(&receiver, |reader| reader.live())
        .await
        .map(|l| l.len());
    let text = receiver.metrics.text(
        receiver.store.waiting(),
        receiver.store.healthy(),
        live.ok(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Runs a read of the store on a blocking thread, with a reader of its own.
pub(super) async fn read<T: Send + 'static, E: std::fmt::Display>(
    receiver: &Arc<Receiver>,
    query: impl FnOnce(&Reader) -> Result<T, E> + Send + 'static,
) -> Result<T, String> {
    let location = receiver.store.location().clone();
    tokio::task::spawn_blocking(move || {
        let reader = Reader::open_at(&location).map_err(|e| e.to_string())?;
        query(&reader).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()))
}

fn json_answer(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

pub(super) fn api_error(status: StatusCode, error: &str) -> Response {
    json_answer(
        status,
        serde_json::json!({"code": status.as_u16(), "error": error}),
    )
}

pub(super) async fn live_streams(
    State(receiver): State<Arc<Receiver>>,
    uri: axum::http::Uri,
) -> Response {
    let query = uri.query().unwrap_or("");
    if query.len() > 1_024 || !query.split('&').all(|p| p.is_empty() || p == "live=true") {
        return api_error(StatusCode::BAD_REQUEST, "the only parameter is live=true");
    }
    match read(&receiver, |reader| reader.live()).await {
        Ok(live) => json_answer(
            StatusCode::OK,
            live.iter().map(LiveStream::to_json).collect(),
        ),
        Err(error) => api_error(StatusCode::SERVICE_UNAVAILABLE, &error),
    }
}

async fn stream_sessions(
    State(receiver): State<Arc<Receiver>>,
    axum::extract::Path((domain, app, stream)): axum::extract::Path<(String, String, String)>,
) -> Response {
    let stream = Stream::new(domain, app, stream);
    match read(&receiver, move |reader| {
        reader.stream_sessions(&stream, 100)
    })
    .await
    {
        Ok(sessions) => json_answer(
            StatusCode::OK,
            sessions.iter().map(Session::to_json).collect(),
        ),
        Err(error) => api_error(StatusCode::SERVICE_UNAVAILABLE, &error),
    }
}

async fn healthz(State(receiver): State<Arc<Receiver>>) -> Response {
    let (sender, answer) = tokio::sync::oneshot::channel();
    receiver.store.probe(move |healthy| {
        let _ = sender.send(healthy);
    });
    let healthy = matches!(
        tokio::time::timeout(PROBE_TIMEOUT, answer).await,
        Ok(Ok(true))
    );
    let body = if healthy {
        r#"{"code":0}"#.to_owned()
    } else {
        r#"{"code":503,"error":"the store cannot commit"}"#.to_owned()
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
