//! `css-errcode`: explain Tencent Cloud CSS interruption codes, list the table, triage event logs,
//! pair push sessions, fetch interruption records, receive and export callbacks, check and sign
//! push URLs.
//!
//! Exit codes: 0 success; 1 when `triage` or `sessions` met malformed lines or API errors (the
//! output is still printed), when `records` could not fetch a window after its retries (what
//! was fetched is printed), or when `check-url` found problems; 2 on usage errors, unreadable
//! inputs, missing or refused credentials, and a store that cannot be opened (`serve`, `export`).

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tencent_css_errcode::{Category, Lang};

mod explain;
mod list;
mod records;
#[cfg(feature = "serve")]
mod serve;
mod sessions;
#[cfg(feature = "serve")]
mod store_args;
mod triage;
mod url;

/// The allocator: `sessions` makes and drops several small strings a push on its pairing
/// thread, where mimalloc costs much less than the system's (measured in BENCHMARKS.md). Its
/// transparent huge pages are off (`no_thp`): with them, a small run's memory grew by whole
/// 2 MiB pages per thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Explain Tencent Cloud CSS push interruption codes and triage stream event logs.
#[derive(Parser)]
#[command(name = "css-errcode", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Everything known about a code pair (an errcode alone is read as a callback delivers it).
    Explain {
        /// The errcode (`18`), a pair (`18/202`), or a reason name (`account_overdue`).
        code: String,
        /// The sub_errcode (0 when absent, as in stream callbacks).
        sub_errcode: Option<String>,
        /// Show the message in this language only.
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The whole code table.
    List {
        /// Only this category (snake_case name, such as push_url).
        #[arg(long, value_parser = parse_category)]
        category: Option<Category>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Count stream events in JSON-lines logs (files or stdin; .gz is read transparently).
    Triage {
        /// Log files; none, or `-`, reads stdin.
        files: Vec<std::path::PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Only events at or after this time (Unix seconds or 2024-01-31T00:00:00Z).
        #[arg(long, value_parser = triage::parse_time)]
        since: Option<i64>,
        /// Only events at or before this time (Unix seconds or 2024-01-31T00:00:00Z).
        #[arg(long, value_parser = triage::parse_time)]
        until: Option<i64>,
        /// Threads that parse (default: every core). The report is the same for any number.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
        /// Read a receiver's store instead of, or besides, log files.
        #[cfg(feature = "serve")]
        #[command(flatten)]
        store: store_args::StoreArgs,
    },
    /// The console's Stream Interruption Records, from the DescribeLiveStreamEventList API.
    ///
    /// Credentials come from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and
    /// TENCENTCLOUD_TOKEN), or from ~/.tencentcloud/credentials; never from the command line.
    Records(records::Options),
    /// Pushes paired from their start and end callbacks, one row a push; or the live streams.
    ///
    /// From JSON-lines logs of callbacks (files, `-`, .gz) or a receiver's store (--data-dir,
    /// with the `serve` feature). Starts and ends pair by `sequence`, in any order.
    Sessions(sessions::Options),
    /// Receive stream callbacks: check, store durably, drop redeliveries, expose metrics.
    ///
    /// Needs the `serve` feature. POST callbacks to --path; GET /metrics and /healthz.
    #[cfg(feature = "serve")]
    Serve(serve::Options),
    /// Write the callbacks a receiver kept as JSON lines, in order of receipt (also while it runs).
    ///
    /// Needs the `serve` feature. Each line is a body exactly as stored.
    #[cfg(feature = "serve")]
    Export(serve::ExportOptions),
    /// Predict the refusals a push URL will meet (exit 1 if any).
    CheckUrl {
        /// The push URL (rtmp://, webrtc:// or srt://).
        url: String,
        /// Environment variable that holds the push key, to check txSecret.
        #[arg(long, value_name = "VAR")]
        key_env: Option<String>,
        /// Check as of this Unix time instead of now.
        #[arg(long, value_name = "UNIX")]
        now: Option<i64>,
    },
    /// Sign a push URL: set txTime and txSecret.
    SignUrl {
        /// The push URL.
        url: String,
        /// Environment variable that holds the push key (keys never go on the command line).
        #[arg(long, value_name = "VAR")]
        key_env: String,
        /// How long the URL stays valid: 90s, 30m, 2h, 7d or a number of seconds.
        #[arg(long, value_parser = url::parse_span, default_value = "24h")]
        expires_in: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

fn parse_lang(text: &str) -> Result<Lang, String> {
    text.parse()
        .map_err(|e: tencent_css_errcode::ParseNameError| e.to_string())
}

fn parse_category(text: &str) -> Result<Category, String> {
    text.parse()
        .map_err(|e: tencent_css_errcode::ParseNameError| {
            let names: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
            format!("{e} (one of: {})", names.join(", "))
        })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain {
            code,
            sub_errcode,
            lang,
            json,
        } => explain::parse_code(&code, sub_errcode.as_deref())
            .and_then(|(errcode, sub)| explain::run(errcode, sub, lang, json)),
        Command::List { category, format } => list::run(category, format),
        Command::Triage {
            files,
            json,
            since,
            until,
            threads,
            #[cfg(feature = "serve")]
            store,
        } => {
            let threads = threads.map_or_else(
                || std::thread::available_parallelism().map_or(1, |n| n.get()),
                usize::from,
            );
            #[cfg(feature = "serve")]
            let store = match store.location() {
                Ok(location) => Ok(location.map(triage::Input::Store)),
                Err(e) => Err(e),
            };
            #[cfg(not(feature = "serve"))]
            let store = Ok(None);
            store.and_then(|store| triage::run(&files, store, json, since, until, threads))
        }
        Command::Records(options) => records::run(options),
        Command::Sessions(options) => sessions::run(options),
        #[cfg(feature = "serve")]
        Command::Serve(options) => serve::run(options),
        #[cfg(feature = "serve")]
        Command::Export(options) => serve::export(options),
        Command::CheckUrl { url, key_env, now } => url::check(&url, key_env.as_deref(), now),
        Command::SignUrl {
            url,
            key_env,
            expires_in,
        } => url::sign(&url, &key_env, expires_in),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("css-errcode: {message}");
            ExitCode::from(2)
        }
    }
}

/// The current Unix time in seconds (0 before 1970), for the commands' clocks.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A CSV field, quoted as RFC 4180 says when it must be.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Output helpers shared by the subcommands: a closed stdout (`| head`) is not an error.
fn print(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write output: {e}"))
        }
        _ => Ok(()),
    }
}
