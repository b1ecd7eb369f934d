//! `sessions`: the pushes of JSON-lines logs of callbacks and API records (or of a receiver's
//! store), one row a push, or the
//! streams live at the end of them.
//!
//! The library pairs starts and ends (`sessions::Sessions`) and reads each line
//! (`events::LineReader`); this module reads the inputs, filters and prints.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;
use tencent_css_errcode::api::{Client, Credentials, DEFAULT_ENDPOINT, OnlineQuery};
use tencent_css_errcode::events::{Line, LineReader, format_utc_time};
use tencent_css_errcode::sessions::{LiveStream, Session, Sessions, scopes};

use crate::triage::Input;

/// Malformed lines named on stderr; the rest are counted.
const SHOWN: usize = 10;

/// How to print: the same choices as `records`.
pub use crate::records::Format;

/// `sessions`' options.
#[derive(clap::Args)]
pub struct Options {
    /// Log files of callbacks (.gz read transparently); none, or `-`, reads stdin.
    pub files: Vec<PathBuf>,
    /// Read a receiver's store (DIR/events.db) instead of, or besides, log files.
    #[cfg(feature = "serve")]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Only this push domain.
    #[arg(long)]
    pub domain: Option<String>,
    /// Only this AppName (the console's path).
    #[arg(long)]
    pub app: Option<String>,
    /// Only this StreamName.
    #[arg(long)]
    pub stream: Option<String>,
    /// Only pushes still on the air at or after this time (Unix seconds or 2024-01-31T00:00:00Z).
    #[arg(long, value_parser = crate::triage::parse_time)]
    pub since: Option<i64>,
    /// Only pushes started at or before this time.
    #[arg(long, value_parser = crate::triage::parse_time)]
    pub until: Option<i64>,
    /// The streams live at the end of the input instead, one a row.
    #[arg(long)]
    pub live: bool,
    /// Ask DescribeLiveStreamOnlineList once which streams are on the air (credentials as
    /// for `records`): a listed stream with no open push is live, `start_not_received`. One
    /// poll ends no push: `end_not_received` takes two in a row (`serve --reconcile-every`).
    #[arg(long)]
    pub reconcile: bool,
    /// The API endpoint (for the international site: `https://live.intl.tencentcloudapi.com`).
    #[arg(long, value_name = "URL", requires = "reconcile")]
    pub endpoint: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Reads, pairs, prints. Exit codes as triage's: 0; 1 when some lines were malformed; 2 when
/// an input could not be read to the end (what was read is still printed).
pub fn run(options: Options) -> Result<ExitCode, String> {
    #[cfg(feature = "serve")]
    let inputs = match &options.data_dir {
        Some(dir) if options.files.is_empty() => vec![Input::Store(dir.clone())],
        Some(dir) => {
            let mut inputs = Input::from_args(&options.files);
            inputs.push(Input::Store(dir.clone()));
            inputs
        }
        None => Input::from_args(&options.files),
    };
    #[cfg(not(feature = "serve"))]
    let inputs = Input::from_args(&options.files);

    let mut sessions = Sessions::new();
    let (mut malformed, mut unreadable) = (0u64, Vec::new());
    for input in &inputs {
        let reader = match input.open(None) {
            Ok(reader) => reader,
            Err(e) => {
                unreadable.push(format!("{}: {e}", input.name()));
                continue;
            }
        };
        let mut read = 0;
        for line in LineReader::new(reader) {
            match line {
                Err(e) => {
                    unreadable.push(format!("{}: {e} (after line {read})", input.name()));
                    break;
                }
                Ok(numbered) => {
                    read = numbered.number;
                    let mut report = |what: &dyn std::fmt::Display| {
                        malformed += 1;
                        if malformed as usize <= SHOWN {
                            eprintln!(
                                "css-errcode: {}:{}: malformed: {what}",
                                input.name(),
                                numbered.number
                            );
                        }
                    };
                    match numbered.line {
                        Ok(Line::Callback(event)) => sessions.add(&event),
                        // A page of DescribeLiveStreamEventList (what `records --format
                        // jsonl` writes): whole pushes, paired with callbacks by time.
                        Ok(Line::Page(page)) => {
                            for record in page.events() {
                                if !sessions.add_record(record) {
                                    report(&"a record's times cannot be read");
                                }
                            }
                        }
                        // API errors and other lines tell nothing of a push.
                        Ok(_) => {}
                        Err(e) => report(&e),
                    }
                }
            }
        }
    }
    if options.reconcile {
        let credentials = Credentials::load().map_err(|e| e.to_string())?;
        let client = Client::new(credentials)
            .endpoint(options.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT));
        let apps: Vec<String> = options.app.iter().cloned().collect();
        for (domain, app) in scopes(sessions.open_scopes(), &apps) {
            match client.online(&OnlineQuery::scope(domain.as_deref(), &app)) {
                Ok(poll) => {
                    sessions.reconcile(&poll);
                }
                Err(e) if e.is_auth_failure() => return Err(e.to_string()),
                Err(e) => unreadable.push(format!(
                    "DescribeLiveStreamOnlineList for {}/{app}: {e} (nothing taken from it)",
                    domain.as_deref().unwrap_or("every domain")
                )),
            }
        }
    }
    if malformed as usize > SHOWN {
        eprintln!("css-errcode: {malformed} malformed lines in all");
    }
    if sessions.is_approximate() {
        eprintln!(
            "css-errcode: warning: more pushes than the reducer holds; {} events left out, so the answer is approximate",
            sessions.dropped()
        );
    }

    let stream_wanted = |domain: &str, app: &str, stream: &str| {
        options.domain.as_deref().is_none_or(|d| d == domain)
            && options.app.as_deref().is_none_or(|a| a == app)
            && options.stream.as_deref().is_none_or(|s| s == stream)
    };
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let written = if options.live {
        let live: Vec<LiveStream> = sessions
            .live()
            .into_iter()
            .filter(|l| stream_wanted(&l.stream.domain, &l.stream.app, &l.stream.stream))
            .collect();
        render_live(&mut out, &live, options.format)
    } else {
        let rows: Vec<Session> = sessions
            .sessions()
            .into_iter()
            .filter(|s| stream_wanted(&s.stream.domain, &s.stream.app, &s.stream.stream))
            .filter(|s| s.overlaps(options.since, options.until))
            .collect();
        render(&mut out, &rows, options.format)
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            return Err(format!("cannot write output: {e}"));
        }
        _ => {}
    }
    for failure in &unreadable {
        eprintln!(
            "css-errcode: warning: could not read {failure}; the output covers what was read"
        );
    }
    Ok(if !unreadable.is_empty() {
        ExitCode::from(2)
    } else if malformed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn time(unix: Option<i64>) -> String {
    unix.map_or_else(|| "-".to_owned(), format_utc_time)
}

/// `network 12`, `client_closed push_client_stopped`, `refused 18 (one of 28)`.
fn cause_text(session: &Session) -> String {
    let Some(cause) = &session.cause else {
        return "-".to_owned();
    };
    match cause.interruption() {
        Some(i) => match i.reason() {
            Some(reason) => format!("{} {reason}", cause.category()),
            None if i.candidates().is_empty() => format!("{} {}", cause.category(), i.errcode()),
            None => format!(
                "{} {} (one of {})",
                cause.category(),
                i.errcode(),
                i.candidates().len()
            ),
        },
        None => cause.category().to_string(),
    }
}

fn object(session: &Session) -> Value {
    session.to_json()
}

fn render(text: &mut impl Write, rows: &[Session], format: Format) -> io::Result<()> {
    match format {
        Format::Table => {
            writeln!(
                text,
                "{:<24} {:<10} {:<28} {:<20} {:<20} {:>9} {:<18} {:<16} CAUSE",
                "STREAM", "PATH", "DOMAIN", "START", "END", "DURATION", "STATE", "CLIENT IP"
            )?;
            for s in rows {
                writeln!(
                    text,
                    "{:<24} {:<10} {:<28} {:<20} {:<20} {:>9} {:<18} {:<16} {}",
                    s.stream.stream,
                    s.stream.app,
                    s.stream.domain,
                    time(s.start),
                    time(s.end),
                    s.duration
                        .map_or_else(|| "-".to_owned(), |d| format!("{d}s")),
                    s.state.name(),
                    s.client_ip.as_deref().unwrap_or("-"),
                    cause_text(s)
                )?;
            }
        }
        Format::Json => {
            let all: Vec<Value> = rows.iter().map(object).collect();
            writeln!(text, "{:#}", Value::Array(all))?;
        }
        Format::Jsonl => {
            for s in rows {
                writeln!(text, "{}", object(s))?;
            }
        }
        Format::Csv => {
            text.write_all(b"stream,path,domain,sequence,start,end,duration_s,state,errcode,category,reason,client_ip\n")?;
            for s in rows {
                let o = object(s);
                let field = |v: &Value| match v {
                    Value::Null => String::new(),
                    Value::String(s) => crate::csv_field(s),
                    other => other.to_string(),
                };
                let fields: Vec<String> = [
                    "stream",
                    "app",
                    "domain",
                    "sequence",
                    "start",
                    "end",
                    "duration_s",
                    "state",
                    "errcode",
                    "category",
                    "reason",
                    "client_ip",
                ]
                .iter()
                .map(|k| field(&o[*k]))
                .collect();
                writeln!(text, "{}", fields.join(","))?;
            }
        }
    }
    Ok(())
}

fn render_live(text: &mut impl Write, live: &[LiveStream], format: Format) -> io::Result<()> {
    let object = LiveStream::to_json;
    match format {
        Format::Table => {
            writeln!(
                text,
                "{:<24} {:<10} {:<28} {:<20} SEQUENCES",
                "STREAM", "PATH", "DOMAIN", "SINCE"
            )?;
            for l in live {
                writeln!(
                    text,
                    "{:<24} {:<10} {:<28} {:<20} {}",
                    l.stream.stream,
                    l.stream.app,
                    l.stream.domain,
                    format_utc_time(l.since),
                    l.sequences.join(" ")
                )?;
            }
        }
        Format::Json => {
            writeln!(
                text,
                "{:#}",
                Value::Array(live.iter().map(object).collect())
            )?;
        }
        Format::Jsonl => {
            for l in live {
                writeln!(text, "{}", object(l))?;
            }
        }
        Format::Csv => {
            text.write_all(b"stream,path,domain,since,sequences\n")?;
            for l in live {
                writeln!(
                    text,
                    "{},{},{},{},{}",
                    crate::csv_field(&l.stream.stream),
                    crate::csv_field(&l.stream.app),
                    crate::csv_field(&l.stream.domain),
                    l.since,
                    crate::csv_field(&l.sequences.join(" "))
                )?;
            }
        }
    }
    Ok(())
}
