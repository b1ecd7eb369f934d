//! `sessions`: the pushes of JSON-lines logs of callbacks and API records (or of a receiver's
//! store), one row a push, or the streams live at the end of them.
//!
//! The library reads each line (`events::RecordLine`) and pairs starts and ends
//! (`sessions::Streaming`, which gives each push out once it has settled, so that memory stays
//! bounded by what is on the air); this module reads the inputs (on several threads, with
//! triage's pipeline), filters and prints.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tencent_css_errcode::api::{Client, Credentials, DEFAULT_ENDPOINT, OnlineQuery};
use tencent_css_errcode::events::{
    Block, DEFAULT_LINE_LIMIT, EventListResponse, RecordArena, RecordLine, format_utc_time,
};
use tencent_css_errcode::sessions::{LiveStream, Session, Sessions, Streaming, scopes};

use crate::triage::Input;
use crate::triage::pipeline::{self, Step};

/// Malformed lines named on stderr; the rest are counted.
const SHOWN: usize = 10;

/// How to print: the same choices as `records`.
pub use crate::records::Format;

/// `sessions`' options.
#[derive(clap::Args)]
pub struct Options {
    /// Log files of callbacks (.gz read transparently), oldest first; none, or `-`, reads
    /// stdin.
    pub files: Vec<PathBuf>,
    /// Read a receiver's store instead of, or besides, log files.
    #[cfg(feature = "serve")]
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
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
    /// Pair the events in any order, holding every push until the end (memory grows with the
    /// input), instead of giving each push out 15 minutes of input after its end (memory
    /// bounded by what is on the air; exact when the events are in time order within those
    /// minutes, as a receiver's log is).
    #[arg(long)]
    pub any_order: bool,
    /// Threads that parse (default: one fewer than the cores, at least one: the thread that
    /// pairs needs a core of its own). The output is the same for any number.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// A block of lines, parsed by a worker: what the reducer takes, in line order. The callbacks'
/// records are in `records`, their text in one buffer reused from block to block.
#[derive(Default)]
struct Parsed {
    items: Vec<Item>,
    records: RecordArena,
    lines: u64,
}

enum Item {
    /// The next record of the arena.
    Callback,
    /// A page of DescribeLiveStreamEventList (what `records --format jsonl` writes), on the
    /// block's line with this index.
    Page(u64, EventListResponse),
    Malformed(u64, String),
}

fn parse_block(block: &Block, parsed: &mut Parsed) {
    parsed.items.clear();
    parsed.records.clear();
    parsed.lines = 0;
    for (index, line) in block.lines(DEFAULT_LINE_LIMIT).enumerate() {
        parsed.lines += 1;
        let index = index as u64;
        match line.and_then(RecordLine::parse) {
            Ok(Some(RecordLine::Callback(record))) => {
                parsed.records.push(&record);
                parsed.items.push(Item::Callback);
            }
            Ok(Some(RecordLine::Page(page))) => parsed.items.push(Item::Page(index, page)),
            // Blank lines, API errors and other lines tell nothing of a push.
            Ok(_) => {}
            Err(e) => parsed.items.push(Item::Malformed(index, e.to_string())),
        }
    }
}

/// Reads, pairs, prints. Exit codes as triage's: 0; 1 when some lines were malformed; 2 when
/// an input could not be read to the end (what was read is still printed).
pub fn run(options: Options) -> Result<ExitCode, String> {
    #[cfg(feature = "serve")]
    let inputs = match options.store.location()? {
        Some(location) if options.files.is_empty() => vec![Input::Store(location)],
        Some(location) => {
            let mut inputs = Input::from_args(&options.files);
            inputs.push(Input::Store(location));
            inputs
        }
        None => Input::from_args(&options.files),
    };
    #[cfg(not(feature = "serve"))]
    let inputs = Input::from_args(&options.files);
    // Pairing is the slowest stage and runs on one thread: parsing on every core as well
    // only takes time from it (measured in BENCHMARKS.md).
    let threads = options.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)),
        usize::from,
    );

    let wanted = |session: &Session| {
        stream_wanted(&options, &session.stream) && session.overlaps(options.since, options.until)
    };
    let mut rows = Rows::new(
        io::BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        options.format,
        options.live,
    );
    let mut pushes = if options.any_order {
        Reducer::Whole(Sessions::new())
    } else {
        Reducer::Streaming(Box::new(Streaming::new()))
    };
    let (mut malformed, mut unreadable) = (0u64, Vec::new());
    // The number of the next line of each input: blocks arrive in order.
    let mut next_line = vec![1u64; inputs.len()];
    let mut report = |input: &Input, line: u64, what: &dyn std::fmt::Display| {
        malformed += 1;
        if malformed as usize <= SHOWN {
            eprintln!("css-errcode: {}:{line}: malformed: {what}", input.name());
        }
    };
    pipeline::run(&inputs, threads, None, &parse_block, |step| match step {
        Step::Block(index, parsed) => {
            let first = next_line[index];
            let mut records = parsed.records.iter();
            for item in &parsed.items {
                match item {
                    Item::Callback => {
                        if let Some(record) = records.next() {
                            pushes.add_record(record);
                        }
                    }
                    Item::Page(line, page) => {
                        for record in page.events() {
                            if !pushes.add_api_record(record) {
                                report(
                                    &inputs[index],
                                    first + line,
                                    &"a record's times cannot be read",
                                );
                            }
                        }
                    }
                    Item::Malformed(line, reason) => report(&inputs[index], first + line, reason),
                }
            }
            next_line[index] += parsed.lines;
            if let Reducer::Streaming(streaming) = &mut pushes {
                for session in streaming.settled() {
                    if wanted(&session) {
                        rows.session(&session);
                    }
                }
            }
        }
        Step::Failed(index, message) => {
            let read = next_line[index] - 1;
            unreadable.push(if read > 0 {
                format!("{message} (after line {read})")
            } else {
                message
            });
        }
    });
    let (late, dropped, (ended, mut open)) = match pushes {
        Reducer::Streaming(streaming) => {
            (streaming.late(), streaming.dropped(), streaming.finish())
        }
        Reducer::Whole(sessions) => (0, sessions.dropped(), (Vec::new(), sessions)),
    };
    if options.reconcile {
        reconcile(&options, &mut open, &mut unreadable)?;
    }
    if malformed as usize > SHOWN {
        eprintln!("css-errcode: {malformed} malformed lines in all");
    }
    if dropped > 0 {
        eprintln!(
            "css-errcode: warning: more pushes on the air than the reducer holds; {dropped} events left out, so the answer is approximate"
        );
    }
    if late > 0 {
        eprintln!(
            "css-errcode: warning: {late} events came more than {} minutes out of time order, after their push was given out, and were left out, so the answer is approximate; give the files oldest first, or use --any-order",
            tencent_css_errcode::sessions::WINDOW / 60
        );
    }
    if options.live {
        for live in open.live() {
            if stream_wanted(&options, &live.stream) {
                rows.live(&live);
            }
        }
    } else {
        for session in ended.iter().chain(&open.sessions()) {
            if wanted(session) {
                rows.session(session);
            }
        }
    }
    match rows.finish() {
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

fn stream_wanted(options: &Options, stream: &tencent_css_errcode::sessions::Stream) -> bool {
    options.domain.as_deref().is_none_or(|d| d == stream.domain)
        && options.app.as_deref().is_none_or(|a| a == stream.app)
        && options.stream.as_deref().is_none_or(|s| s == stream.stream)
}

/// The library's reducer the options chose.
enum Reducer {
    /// Each push given out once settled: bounded memory, events in time order.
    Streaming(Box<Streaming>),
    /// Every push held to the end: any order.
    Whole(Sessions),
}

impl Reducer {
    fn add_record(&mut self, record: tencent_css_errcode::events::Record<'_>) {
        match self {
            Reducer::Streaming(streaming) => streaming.add_record(record),
            Reducer::Whole(sessions) => sessions.add_record(record),
        };
    }

    fn add_api_record(&mut self, record: &tencent_css_errcode::events::StreamEventInfo) -> bool {
        match self {
            Reducer::Streaming(streaming) => streaming.add_api_record(record),
            Reducer::Whole(sessions) => sessions.add_api_record(record),
        }
    }
}

/// One poll of DescribeLiveStreamOnlineList for each scope of the open pushes.
fn reconcile(
    options: &Options,
    open: &mut Sessions,
    unreadable: &mut Vec<String>,
) -> Result<(), String> {
    let credentials = Credentials::load().map_err(|e| e.to_string())?;
    let client =
        Client::new(credentials).endpoint(options.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT));
    let apps: Vec<String> = options.app.iter().cloned().collect();
    for (domain, app) in scopes(open.open_scopes(), &apps) {
        match client.online(&OnlineQuery::scope(domain.as_deref(), &app)) {
            Ok(poll) => {
                open.reconcile(&poll);
            }
            Err(e) if e.is_auth_failure() => return Err(e.to_string()),
            Err(e) => unreadable.push(format!(
                "DescribeLiveStreamOnlineList for {}/{app}: {e} (nothing taken from it)",
                domain.as_deref().unwrap_or("every domain")
            )),
        }
    }
    Ok(())
}

/// The output, written a row at a time as pushes settle; the first write error is kept and
/// ends the writing.
struct Rows<W: Write> {
    out: W,
    format: Format,
    rows: usize,
    error: Option<io::Error>,
    /// A row's text, kept from row to row.
    line: Vec<u8>,
}

impl<W: Write> Rows<W> {
    fn new(out: W, format: Format, live: bool) -> Rows<W> {
        let mut rows = Rows {
            out,
            format,
            rows: 0,
            error: None,
            line: Vec::new(),
        };
        let header = match (format, live) {
            (Format::Table, false) => format!(
                "{:<24} {:<10} {:<28} {:<20} {:<20} {:>9} {:<18} {:<16} CAUSE\n",
                "STREAM", "PATH", "DOMAIN", "START", "END", "DURATION", "STATE", "CLIENT IP"
            ),
            (Format::Table, true) => format!(
                "{:<24} {:<10} {:<28} {:<20} SEQUENCES\n",
                "STREAM", "PATH", "DOMAIN", "SINCE"
            ),
            (Format::Csv, false) => CSV_HEADER.to_owned(),
            (Format::Csv, true) => LIVE_CSV_HEADER.to_owned(),
            (Format::Json | Format::Jsonl, _) => String::new(),
        };
        rows.write(|out| out.write_all(header.as_bytes()));
        rows
    }

    fn write(&mut self, f: impl FnOnce(&mut W) -> io::Result<()>) {
        if self.error.is_none() {
            if let Err(e) = f(&mut self.out) {
                self.error = Some(e);
            }
        }
    }

    /// Writes an object of the JSON array: `[` before the first, `,` between.
    fn json_element(&mut self, value: &impl serde::Serialize) {
        let first = self.rows == 0;
        self.write(|out| {
            out.write_all(if first { b"[\n  " } else { b",\n  " })?;
            let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
            out.write_all(text.replace('\n', "\n  ").as_bytes())
        });
    }

    fn session(&mut self, s: &Session) {
        match self.format {
            Format::Table => self.write(|out| {
                writeln!(
                    out,
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
                )
            }),
            Format::Json => self.json_element(s),
            Format::Jsonl => {
                let mut line = std::mem::take(&mut self.line);
                line.clear();
                s.write_json(&mut line);
                line.push(b'\n');
                self.write(|out| out.write_all(&line));
                self.line = line;
            }
            Format::Csv => self.write(|out| {
                let interruption = s.interruption();
                let text = |v: Option<&str>| v.map(crate::csv_field).unwrap_or_default();
                let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
                writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{},{}",
                    crate::csv_field(&s.stream.stream),
                    crate::csv_field(&s.stream.app),
                    crate::csv_field(&s.stream.domain),
                    text(s.sequence.as_deref()),
                    number(s.start),
                    number(s.end),
                    number(s.duration),
                    s.state.name(),
                    number(interruption.map(|i| i64::from(i.errcode()))),
                    text(s.cause.as_ref().map(|c| c.category().name())),
                    text(interruption.and_then(|i| i.reason()).map(|r| r.name())),
                    text(s.client_ip.as_deref()),
                )
            }),
        }
        self.rows += 1;
    }

    fn live(&mut self, l: &LiveStream) {
        match self.format {
            Format::Table => self.write(|out| {
                writeln!(
                    out,
                    "{:<24} {:<10} {:<28} {:<20} {}",
                    l.stream.stream,
                    l.stream.app,
                    l.stream.domain,
                    format_utc_time(l.since),
                    l.sequences.join(" ")
                )
            }),
            Format::Json => self.json_element(&l.to_json()),
            Format::Jsonl => self.write(|out| writeln!(out, "{}", l.to_json())),
            Format::Csv => self.write(|out| {
                writeln!(
                    out,
                    "{},{},{},{},{}",
                    crate::csv_field(&l.stream.stream),
                    crate::csv_field(&l.stream.app),
                    crate::csv_field(&l.stream.domain),
                    l.since,
                    crate::csv_field(&l.sequences.join(" "))
                )
            }),
        }
        self.rows += 1;
    }

    fn finish(mut self) -> io::Result<()> {
        if matches!(self.format, Format::Json) {
            let end: &[u8] = if self.rows == 0 { b"[]\n" } else { b"\n]\n" };
            self.write(|out| out.write_all(end));
        }
        self.write(|out| out.flush());
        self.error.map_or(Ok(()), Err)
    }
}

const CSV_HEADER: &str =
    "stream,path,domain,sequence,start,end,duration_s,state,errcode,category,reason,client_ip\n";
const LIVE_CSV_HEADER: &str = "stream,path,domain,since,sequences\n";

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
