//! `records`: the console's Stream Interruption Records page, from DescribeLiveStreamEventList.
//!
//! The library fetches (paging, splitting, pacing, retrying, deduplicating) and reads each
//! record's cause; this module only asks, prints and chooses the exit code.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use serde_json::{Value, json};
use tencent_css_errcode::Lang;
use tencent_css_errcode::api::{
    Client, Credentials, DEFAULT_ENDPOINT, EventQuery, Order, StreamMatch,
};
use tencent_css_errcode::events::{StreamEventInfo, format_utc_time};
use tencent_css_errcode::triage::{Tally, Triage};

use crate::unix_now;

/// How to print the rows of `records` and `sessions`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// What the console's page shows, one row a line.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object a line (`records`: each record as the API gives it, what `css-errcode
    /// triage` reads).
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
}

/// `records`' options.
#[derive(clap::Args)]
pub struct Options {
    /// Only this push domain.
    #[arg(long)]
    pub domain: Option<String>,
    /// Only this AppName (the console's "path").
    #[arg(long)]
    pub app: Option<String>,
    /// Only streams whose name contains this (exactly this, with --exact).
    #[arg(long)]
    pub stream: Option<String>,
    /// Match --stream exactly.
    #[arg(long)]
    pub exact: bool,
    /// From this time (Unix seconds or 2024-01-31T00:00:00Z; default: 24 hours before --until).
    #[arg(long, value_parser = crate::triage::parse_time)]
    pub since: Option<i64>,
    /// Until this time (default: now).
    #[arg(long, value_parser = crate::triage::parse_time)]
    pub until: Option<i64>,
    /// Only pushes that started successfully.
    #[arg(long)]
    pub only_successful: bool,
    /// Earliest first (default: latest first).
    #[arg(long)]
    pub oldest_first: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The language of the cause's message.
    #[arg(long, value_parser = crate::parse_lang, default_value = "en")]
    pub lang: Lang,
    /// The API endpoint (for the international site: `https://live.intl.tencentcloudapi.com`).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Print the triage report of the records instead of the records.
    #[arg(long)]
    pub triage: bool,
}

/// Exit codes: 0; 1 when a window still failed after its retries (what was fetched is
/// printed, and stderr names the missing windows); 2 on usage errors, missing credentials and
/// refused credentials.
pub fn run(options: Options) -> Result<ExitCode, String> {
    let now = unix_now();
    let until = options.until.unwrap_or(now);
    let since = match options.since {
        Some(since) => since,
        None => until.checked_sub(86_400).ok_or("--until is too early")?,
    };
    let mut query = EventQuery::new(since, until);
    if let Some(domain) = &options.domain {
        query = query.domain(domain);
    }
    if let Some(app) = &options.app {
        query = query.app(app);
    }
    match (&options.stream, options.exact) {
        (Some(stream), exact) => {
            let how = if exact {
                StreamMatch::Exact
            } else {
                StreamMatch::Fuzzy
            };
            query = query.stream(stream, how);
        }
        (None, true) => return Err("--exact needs --stream".to_owned()),
        (None, false) => {}
    }
    if options.only_successful {
        query = query.only_successful();
    }
    if options.oldest_first {
        query = query.order(Order::OldestFirst);
    }
    query.check(now).map_err(|e| e.to_string())?;
    let credentials = Credentials::load().map_err(|e| e.to_string())?;
    let client =
        Client::new(credentials).endpoint(options.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT));
    let mut events = client.events(&query).map_err(|e| e.to_string())?;

    let bar = progress_bar();
    let mut out = Output::new(options.format, options.lang, options.triage);
    let mut failures = Vec::new();
    while let Some(item) = events.next() {
        match item {
            Ok(record) => out.record(&record)?,
            Err(error) if error.is_auth_failure() => {
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                out.finish()?;
                return Err(error.to_string());
            }
            Err(error) => failures.push(error.to_string()),
        }
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{} pages, {} records",
                events.fetch().requests(),
                events.fetch().records()
            ));
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(tally) = out.finish()? {
        crate::triage::print(&tally, matches!(options.format, Format::Json))?;
    }
    for window in events.fetch().truncated() {
        eprintln!(
            "css-errcode: warning: {} to {} holds more than 10,000 records in one second; only 10,000 were fetched",
            format_utc_time(window.0),
            format_utc_time(window.1)
        );
    }
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for failure in &failures {
        eprintln!("css-errcode: {failure}");
    }
    for window in events.fetch().skipped() {
        eprintln!(
            "css-errcode: missing: the records from {} to {} could not be fetched",
            format_utc_time(window.0),
            format_utc_time(window.1)
        );
    }
    Ok(ExitCode::from(1))
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar.set_message("fetching");
    Some(bar)
}

/// Writes records as they come (a JSON array is opened and closed around them).
struct Output {
    format: Format,
    lang: Lang,
    /// With `--triage`: the records counted (and how many), for triage; nothing is printed.
    triage: Option<(Triage, u64)>,
    out: io::BufWriter<io::Stdout>,
    count: u64,
}

impl Output {
    fn new(format: Format, lang: Lang, triage: bool) -> Self {
        Output {
            format,
            lang,
            triage: triage.then(|| (Triage::new(None, None), 0)),
            out: io::BufWriter::new(io::stdout()),
            count: 0,
        }
    }

    fn write(&mut self, text: &str) -> Result<(), String> {
        match self.out.write_all(text.as_bytes()) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                Err(format!("cannot write output: {e}"))
            }
            _ => Ok(()),
        }
    }

    fn record(&mut self, record: &StreamEventInfo) -> Result<(), String> {
        if let Some((triage, line)) = &mut self.triage {
            *line += 1;
            triage.add_api_record("<records>", *line, record);
            return Ok(());
        }
        let first = self.count == 0;
        self.count += 1;
        let text = match self.format {
            Format::Table => {
                let mut text = String::new();
                if first {
                    let _ = writeln!(
                        text,
                        "{:<24} {:<10} {:<28} {:<20} {:<20} {:>9} {:<16} CAUSE",
                        "STREAM", "PATH", "DOMAIN", "START", "END", "DURATION", "CLIENT IP"
                    );
                }
                let _ = writeln!(
                    text,
                    "{:<24} {:<10} {:<28} {:<20} {:<20} {:>9} {:<16} {}",
                    record.stream_name,
                    record.app_name,
                    record.domain_name,
                    record.stream_start_time,
                    record.stream_end_time,
                    format!("{}s", record.elapsed().as_secs()),
                    record.client_address().unwrap_or("-"),
                    cause_text(record, self.lang)
                );
                text
            }
            Format::Json => format!(
                "{}{:#}",
                if first { "[\n" } else { ",\n" },
                with_cause(record, self.lang)
            ),
            Format::Jsonl => format!("{}\n", raw(record)),
            Format::Csv => {
                let mut text = String::new();
                if first {
                    text.push_str("stream,path,domain,start,end,duration_s,client_ip,category,errcode,reason,stop_reason\n");
                }
                let cause = record.cause();
                let i = cause.interruption();
                let fields = [
                    record.stream_name.clone(),
                    record.app_name.clone(),
                    record.domain_name.clone(),
                    record.stream_start_time.clone(),
                    record.stream_end_time.clone(),
                    record.elapsed().as_secs().to_string(),
                    record.client_address().unwrap_or("").to_owned(),
                    cause.category().name().to_owned(),
                    i.map(|i| i.errcode().to_string()).unwrap_or_default(),
                    i.and_then(|i| i.reason())
                        .map(|r| r.name().to_owned())
                        .unwrap_or_default(),
                    record.stop_reason.clone(),
                ];
                let quoted: Vec<String> = fields.iter().map(|f| crate::csv_field(f)).collect();
                text.push_str(&quoted.join(","));
                text.push('\n');
                text
            }
        };
        self.write(&text)
    }

    /// Closes the output; with `--triage`, returns the tally.
    fn finish(mut self) -> Result<Option<Tally>, String> {
        if self.triage.is_none() {
            match self.format {
                Format::Json if self.count == 0 => self.write("[]\n")?,
                Format::Json => self.write("\n]\n")?,
                _ => {}
            }
            if let Err(e) = self.out.flush() {
                if e.kind() != io::ErrorKind::BrokenPipe {
                    return Err(format!("cannot write output: {e}"));
                }
            }
        }
        Ok(self.triage.take().map(|(triage, _)| triage.finish()))
    }
}

/// The record under the API's own field names.
fn raw(record: &StreamEventInfo) -> Value {
    json!({
        "AppName": record.app_name, "DomainName": record.domain_name,
        "StreamName": record.stream_name, "StreamStartTime": record.stream_start_time,
        "StreamEndTime": record.stream_end_time, "StopReason": record.stop_reason,
        "Duration": record.duration, "ClientIp": record.client_ip,
        "Resolution": record.resolution,
    })
}

/// The record and its cause as the library reads it.
fn with_cause(record: &StreamEventInfo, lang: Lang) -> Value {
    let cause = record.cause();
    let i = cause.interruption();
    let mut value = raw(record);
    value["cause"] = json!({
        "category": cause.category().name(),
        "errcode": i.map(|i| i.errcode()),
        "sub_errcode": i.map(|i| i.sub_errcode()),
        "reason": i.and_then(|i| i.reason()).map(|r| r.name()),
        "message": i.map_or(cause.category().message(lang), |i| i.message(lang)),
    });
    value
}

/// `network 12 (推流链路网络异常(12))`: the category, the reason or errcode, and the text as
/// the API gave it; with `--lang`, the message in that language instead of the text.
fn cause_text(record: &StreamEventInfo, lang: Lang) -> String {
    let cause = record.cause();
    let code = match cause.interruption() {
        Some(i) => match i.reason() {
            Some(reason) => format!("{reason} "),
            None => format!("{} ", i.errcode()),
        },
        None => String::new(),
    };
    let message = cause
        .interruption()
        .map_or(cause.category().message(lang), |i| i.message(lang));
    format!(
        "{} {code}\"{}\" — {message}",
        cause.category(),
        record.stop_reason
    )
}
