//! `css-errcode`: explain Tencent Cloud CSS interruption codes, list the table, triage event logs,
//! check and sign push URLs.
//!
//! Exit codes: 0 success; 1 when `triage` met malformed lines (the report is still printed) or
//! `check-url` found problems; 2 on usage errors and unreadable inputs.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tencent_css_errcode::{Category, Lang};

mod explain;
mod list;
mod records;
#[cfg(feature = "serve")]
mod serve;
mod triage;
mod url;

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
    },
    /// The console's Stream Interruption Records, from the DescribeLiveStreamEventList API.
    ///
    /// Credentials come from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and
    /// TENCENTCLOUD_TOKEN), or from ~/.tencentcloud/credentials; never from the command line.
    Records {
        /// Only this push domain.
        #[arg(long)]
        domain: Option<String>,
        /// Only this AppName (the console's "path").
        #[arg(long)]
        app: Option<String>,
        /// Only streams whose name contains this (exactly this, with --exact).
        #[arg(long)]
        stream: Option<String>,
        /// Match --stream exactly.
        #[arg(long)]
        exact: bool,
        /// From this time (Unix seconds or 2024-01-31T00:00:00Z; default: 24 hours before --until).
        #[arg(long, value_parser = triage::parse_time)]
        since: Option<i64>,
        /// Until this time (default: now).
        #[arg(long, value_parser = triage::parse_time)]
        until: Option<i64>,
        /// Only pushes that started successfully.
        #[arg(long)]
        only_successful: bool,
        /// Earliest first (default: latest first).
        #[arg(long)]
        oldest_first: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = records::Format::Table)]
        format: records::Format,
        /// The language of the cause's message.
        #[arg(long, value_parser = parse_lang, default_value = "en")]
        lang: Lang,
        /// The API endpoint (for the international site: `https://live.intl.tencentcloudapi.com`).
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// Print the triage report of the records instead of the records.
        #[arg(long)]
        triage: bool,
    },
    /// Receive stream callbacks: check, store durably, drop redeliveries, expose metrics.
    ///
    /// Needs the `serve` feature. POST callbacks to --path; GET /metrics and /healthz.
    #[cfg(feature = "serve")]
    Serve {
        /// Address to listen on, such as 0.0.0.0:8080 (port 0 picks a free one).
        #[arg(long)]
        listen: String,
        /// Directory for the events-YYYY-MM-DD.jsonl files.
        #[arg(long, value_name = "DIR")]
        data_dir: std::path::PathBuf,
        /// Environment variable that holds the callback key (keys never go on the command line).
        #[arg(long, value_name = "VAR")]
        key_env: String,
        /// Path that takes the callbacks.
        #[arg(long, default_value = "/callback")]
        path: String,
        /// How long after its `t` a callback is still accepted: 90s, 10m, 1h.
        #[arg(long, value_parser = url::parse_span, default_value = "10m")]
        max_skew: u64,
        /// Skip the fsync (acknowledged callbacks may be lost in a crash): to measure its cost.
        #[arg(long, hide = true)]
        no_fsync: bool,
    },
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
        } => {
            let threads = threads.map_or_else(
                || std::thread::available_parallelism().map_or(1, |n| n.get()),
                usize::from,
            );
            triage::run(&files, json, since, until, threads)
        }
        Command::Records {
            domain,
            app,
            stream,
            exact,
            since,
            until,
            only_successful,
            oldest_first,
            format,
            lang,
            endpoint,
            triage,
        } => records::run(records::Options {
            domain,
            app,
            stream,
            exact,
            since,
            until,
            only_successful,
            oldest_first,
            format,
            lang,
            endpoint,
            triage,
        }),
        #[cfg(feature = "serve")]
        Command::Serve {
            listen,
            data_dir,
            key_env,
            path,
            max_skew,
            no_fsync,
        } => serve::run(serve::Options {
            listen,
            data_dir,
            key_env,
            path,
            max_skew,
            no_fsync,
        }),
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
