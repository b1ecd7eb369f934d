//! `serve` and `export`: the library's receiver (`receiver::Receiver`, `store::Store`) wired to
//! a listener, signals and logs; and the store read back as JSON lines.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use std::time::Duration;

use tencent_css_errcode::api::{Client, Credentials, DEFAULT_ENDPOINT};
use tencent_css_errcode::receiver::{Receiver, Rules};
use tencent_css_errcode::store::{self, Filter, Reader, Store};

/// `serve`'s options.
#[derive(clap::Args)]
pub struct Options {
    /// Address to listen on, such as 0.0.0.0:8080 (port 0 picks a free one).
    #[arg(long)]
    pub listen: String,
    /// Address of the admin listener: the page, `/api/…`, `/metrics` and `/healthz` (port 0
    /// picks a free one). Keep it off the internet, or set --admin-token-env.
    #[arg(long, default_value = "127.0.0.1:9464", value_name = "ADDR")]
    pub admin_listen: String,
    /// Environment variable that holds a token every admin request but /healthz must send
    /// as `Authorization: Bearer <token>`.
    #[arg(long, value_name = "VAR")]
    pub admin_token_env: Option<String>,
    /// The store: --data-dir DIR (SQLite in DIR/events.db, created if missing, on a local
    /// filesystem), or --database URL / --database-env VAR (PostgreSQL, shared by replicas).
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
    /// Environment variable that holds the callback key (keys never go on the command line).
    #[arg(long, value_name = "VAR")]
    pub key_env: String,
    /// Path that takes the callbacks.
    #[arg(long, default_value = "/callback")]
    pub path: String,
    /// How long after its `t` a callback is still accepted: 90s, 10m, 1h.
    #[arg(long, value_parser = crate::url::parse_span, default_value = "10m")]
    pub max_skew: u64,
    /// Delete callbacks received longer ago than this (such as 90d); default: keep everything.
    #[arg(long, value_parser = crate::url::parse_span, value_name = "SPAN")]
    pub retain: Option<u64>,
    /// Callbacks that may wait for the store; past that, 503 with Retry-After.
    #[arg(long, default_value_t = 16_384, value_name = "N")]
    pub queue: usize,
    /// Commit without syncing (acknowledged callbacks may be lost in a power cut): to measure
    /// its cost.
    #[arg(long, hide = true)]
    pub no_fsync: bool,
    /// Poll DescribeLiveStreamOnlineList this often (such as 5m; Tencent advises at least a
    /// minute) to find pushes whose start or end callback never came. Needs API credentials,
    /// as `records` does.
    #[arg(long, value_parser = crate::url::parse_span, value_name = "SPAN")]
    pub reconcile_every: Option<u64>,
    /// An AppName to poll on every domain (repeat for several; default: live). The AppNames of
    /// open pushes are polled too.
    #[arg(long, value_name = "APP", requires = "reconcile_every")]
    pub reconcile_app: Vec<String>,
    /// The API endpoint (for the international site: `https://live.intl.tencentcloudapi.com`).
    #[arg(long, value_name = "URL", requires = "reconcile_every")]
    pub endpoint: Option<String>,
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
    let mut store_options = store::Options::default()
        .queue(options.queue)
        .retain(options.retain.map(|s| i64::try_from(s).unwrap_or(i64::MAX)));
    if options.no_fsync {
        store_options = store_options.without_sync();
        tracing::warn!(
            "--no-fsync: acknowledged callbacks may be lost in a power cut (for measurement only)"
        );
    }
    let location = options.store.required()?;
    // Off the runtime's threads: opening may connect to PostgreSQL with a blocking client.
    let store = tokio::task::spawn_blocking(move || Store::open_at(&location, store_options))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if let Some(import) = store.imported() {
        tracing::info!(
            files = import.files,
            callbacks = import.callbacks,
            duplicates = import.duplicates,
            unreadable = import.unreadable,
            "imported the 0.2 day files (left in place)"
        );
    }
    let client = match options.reconcile_every {
        Some(_) => {
            let credentials = Credentials::load().map_err(|e| e.to_string())?;
            Some(
                Client::new(credentials)
                    .endpoint(options.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT)),
            )
        }
        None => None,
    };
    let admin_token = match &options.admin_token_env {
        Some(var) => Some(
            std::env::var(var)
                .ok()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| format!("the environment variable {var} holds no admin token"))?,
        ),
        None => None,
    };
    let rules = Rules::new(key, options.path.clone())
        .max_skew(i64::try_from(options.max_skew).unwrap_or(i64::MAX));
    let receiver = Arc::new(Receiver::new(rules, store.clone()));
    // Dropped when the server stops, which ends the reconciliation thread.
    let (_stop, stopped) = std::sync::mpsc::channel::<()>();
    if let (Some(client), Some(every)) = (client, options.reconcile_every) {
        let (receiver, apps) = (Arc::clone(&receiver), options.reconcile_app.clone());
        let every = Duration::from_secs(every.max(1));
        std::thread::Builder::new()
            .name("reconcile".to_owned())
            .spawn(move || {
                loop {
                    receiver.reconcile(&client, &apps);
                    match stopped.recv_timeout(every) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            })
            .map_err(|e| format!("cannot start the reconciliation: {e}"))?;
    }
    let bind = |address: String| async move {
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        Ok::<_, String>((listener, local))
    };
    let (listener, address) = bind(options.listen.clone()).await?;
    let (admin_listener, admin_address) = bind(options.admin_listen.clone()).await?;
    // On stdout, for whoever started the receiver on port 0.
    println!("listening on {address}");
    println!("admin on {admin_address}");
    tracing::info!(
        %address,
        %admin_address,
        admin_token = admin_token.is_some(),
        path = %options.path,
        database = %store.location(),
        "started"
    );
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stopped| *stopped).await;
    };
    let public = axum::serve(
        listener,
        receiver
            .callback_router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(until_stopped(stopping.clone()));
    let admin = axum::serve(
        admin_listener,
        receiver
            .admin_router(admin_token)
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(until_stopped(stopping));
    tokio::try_join!(public.into_future(), admin.into_future())
        .map_err(|e| format!("server: {e}"))?;
    // Every request is answered; the writer closes the database.
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
    tracing::info!("stopped: every acknowledged callback is committed");
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

/// `export`'s options.
#[derive(clap::Args)]
pub struct ExportOptions {
    /// The receiver's store.
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
    /// Only callbacks received at or after this time (Unix seconds or 2024-01-31T00:00:00Z).
    #[arg(long, value_parser = crate::triage::parse_time)]
    pub since: Option<i64>,
    /// Only callbacks received at or before this time.
    #[arg(long, value_parser = crate::triage::parse_time)]
    pub until: Option<i64>,
    /// Only this StreamName.
    #[arg(long, value_name = "NAME")]
    pub stream: Option<String>,
}

/// Writes the kept callbacks as JSON lines, in order of receipt.
pub fn export(options: ExportOptions) -> Result<ExitCode, String> {
    let reader = Reader::open_at(&options.store.required()?).map_err(|e| e.to_string())?;
    let filter = Filter::default()
        .since(options.since)
        .until(options.until)
        .stream(options.stream);
    let mut lines = reader.callbacks(filter).into_json_lines();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match std::io::copy(&mut lines, &mut out).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(format!("export: {e}")),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}
