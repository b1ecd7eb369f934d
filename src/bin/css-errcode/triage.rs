//! `triage`: count stream events in JSON-lines logs.
//!
//! Each line is a stream callback body or a DescribeLiveStreamEventList response, told apart per
//! line. Lines are parsed with the library's own types, so a line counts as malformed exactly
//! when the library would refuse it, and the reason given is the library's.
//!
//! Memory stays bounded whatever the input size: lines are read one at a time into one buffer,
//! redeliveries are remembered as 64-bit hashes for an hour of event time (Tencent retries for at
//! most 12 minutes), and the per-stream failure counts track at most `MAX_TRACKED` distinct keys.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;
use tencent_css_errcode::events::{EventKind, EventListResponse, StreamEvent};
use tencent_css_errcode::{Category, Interruption};

/// How far back in event time a redelivery is still recognised.
const DEDUPE_WINDOW_SECONDS: i64 = 3_600;
/// Distinct domains/apps and streams counted exactly; later new keys are not tracked.
const MAX_TRACKED: usize = 100_000;
/// Malformed lines reported one by one.
const SHOWN_MALFORMED: usize = 10;
/// Inputs at least this large get a progress bar on a terminal.
const PROGRESS_THRESHOLD: u64 = 8 << 20;

/// Parses `--since`/`--until`: Unix seconds or `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    tencent_css_errcode::events::parse_utc_time(text).map_err(|_| {
        format!("`{text}` is neither Unix seconds nor a time like 2024-01-31T00:00:00Z")
    })
}

struct Malformed {
    file: String,
    line: u64,
    reason: String,
}

#[derive(Default)]
struct Tally {
    events: u64,
    stream_end: u64,
    push_start: u64,
    malformed: u64,
    duplicates: u64,
    outside_window: u64,
    failures: u64,
    retryable: u64,
    by_category: BTreeMap<&'static str, u64>,
    by_reason: BTreeMap<String, u64>,
    by_app: Counter,
    by_stream: Counter,
    shown: Vec<Malformed>,
}

/// Exact counts for up to `MAX_TRACKED` distinct keys.
#[derive(Default)]
struct Counter {
    counts: HashMap<String, u64>,
    untracked: u64,
}

impl Counter {
    fn add(&mut self, key: String) {
        if let Some(count) = self.counts.get_mut(&key) {
            *count += 1;
        } else if self.counts.len() < MAX_TRACKED {
            self.counts.insert(key, 1);
        } else {
            self.untracked += 1;
        }
    }

    fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

/// Redeliveries seen within the window, as hashes.
#[derive(Default)]
struct Seen {
    hashes: HashSet<u64>,
    order: VecDeque<(i64, u64)>,
    newest: i64,
}

impl Seen {
    /// False if this key was already seen.
    fn insert(&mut self, key: impl Hash, event_time: i64) -> bool {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let hash = hasher.finish();
        if !self.hashes.insert(hash) {
            return false;
        }
        self.newest = self.newest.max(event_time);
        self.order.push_back((event_time, hash));
        while let Some(&(time, old)) = self.order.front() {
            if time >= self.newest - DEDUPE_WINDOW_SECONDS {
                break;
            }
            self.order.pop_front();
            self.hashes.remove(&old);
        }
        true
    }
}

/// One stream-end (or push-start) event, whatever line shape it came from.
struct Event<'a> {
    interruption: Option<Interruption>,
    domain: &'a str,
    app: &'a str,
    stream: &'a str,
    time: i64,
}

struct Triage {
    tally: Tally,
    seen: Seen,
    since: Option<i64>,
    until: Option<i64>,
}

impl Triage {
    fn line(&mut self, file: &str, number: u64, bytes: &[u8]) {
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match serde_json::from_slice::<StreamEvent>(bytes) {
            Ok(event) => {
                let fresh = self.seen.insert(event.dedupe_key(), event.event_time);
                self.count(
                    fresh,
                    event.kind,
                    Event {
                        interruption: event.interruption(),
                        domain: &event.app,
                        app: &event.appname,
                        stream: &event.stream_id,
                        time: event.event_time,
                    },
                );
            }
            Err(callback_error) => {
                let looks_like_list = bytes.windows(11).any(|w| w == b"\"EventList\"");
                let page = if looks_like_list {
                    serde_json::from_slice::<EventListResponse>(bytes)
                } else {
                    Err(callback_error)
                };
                match page {
                    Ok(page) => self.page(file, number, &page),
                    Err(error) => self.malformed(file, number, clean(&error)),
                }
            }
        }
    }

    fn page(&mut self, file: &str, number: u64, page: &EventListResponse) {
        for record in page.events() {
            let Ok(time) = record.end_time_unix() else {
                self.malformed(
                    file,
                    number,
                    format!("StreamEndTime {}", record.end_time_unix().unwrap_err()),
                );
                continue;
            };
            let key = (
                &record.domain_name,
                &record.app_name,
                &record.stream_name,
                &record.stream_start_time,
                &record.stream_end_time,
            );
            let fresh = self.seen.insert(key, time);
            self.count(
                fresh,
                EventKind::StreamEnd,
                Event {
                    interruption: record.interruption(),
                    domain: &record.domain_name,
                    app: &record.app_name,
                    stream: &record.stream_name,
                    time,
                },
            );
        }
    }

    fn count(&mut self, fresh: bool, kind: EventKind, event: Event<'_>) {
        if self.since.is_some_and(|s| event.time < s) || self.until.is_some_and(|u| event.time > u)
        {
            self.tally.outside_window += 1;
            return;
        }
        if !fresh {
            self.tally.duplicates += 1;
            return;
        }
        let tally = &mut self.tally;
        tally.events += 1;
        if kind == EventKind::PushStart {
            tally.push_start += 1;
            return;
        }
        tally.stream_end += 1;
        // A record whose StopReason carries no code still ended: its cause is unknown.
        let category = event
            .interruption
            .map_or(Category::Unknown, |i| i.category());
        *tally.by_category.entry(category.name()).or_default() += 1;
        let reason = match event.interruption {
            Some(i) => match i.reason() {
                Some(reason) => reason.name().to_owned(),
                None => format!("{}/{} (unlisted)", i.errcode(), i.sub_errcode()),
            },
            None => "no code given".to_owned(),
        };
        *tally.by_reason.entry(reason).or_default() += 1;
        if category.retryable() {
            tally.retryable += 1;
        }
        if !category.is_intentional() {
            tally.failures += 1;
            tally.by_app.add(format!("{}/{}", event.domain, event.app));
            tally
                .by_stream
                .add(format!("{}/{}/{}", event.domain, event.app, event.stream));
        }
    }

    fn malformed(&mut self, file: &str, line: u64, reason: String) {
        self.tally.malformed += 1;
        if self.tally.shown.len() < SHOWN_MALFORMED {
            self.tally.shown.push(Malformed {
                file: file.to_owned(),
                line,
                reason,
            });
        }
    }
}

/// serde_json's message without its position inside the one-line document.
fn clean(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => format!("{} (column {})", &text[..i], error.column()),
        None => text,
    }
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    bar: Option<indicatif::ProgressBar>,
    pending: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(bar) = &self.bar {
            self.pending += n as u64;
            if self.pending >= 1 << 20 || n == 0 {
                bar.inc(self.pending);
                self.pending = 0;
            }
        }
        Ok(n)
    }
}

fn progress_bar(files: &[PathBuf]) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() || files.is_empty() {
        return None;
    }
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    if total < PROGRESS_THRESHOLD {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

fn open(path: &Path, bar: Option<indicatif::ProgressBar>) -> Result<Box<dyn BufRead>, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let counted = Counting {
        inner: file,
        bar,
        pending: 0,
    };
    let gz = path.extension().is_some_and(|e| e == "gz");
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, counted)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, counted))
    })
}

pub fn run(
    files: &[PathBuf],
    json_output: bool,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<ExitCode, String> {
    let mut triage = Triage {
        tally: Tally::default(),
        seen: Seen::default(),
        since,
        until,
    };
    let stdin_only = files.is_empty();
    let named: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.as_os_str() != "-")
        .cloned()
        .collect();
    let bar = progress_bar(&named);
    let inputs: Vec<Option<&PathBuf>> = if stdin_only {
        vec![None]
    } else {
        files
            .iter()
            .map(|f| (f.as_os_str() != "-").then_some(f))
            .collect()
    };

    let mut buffer = Vec::with_capacity(64 * 1024);
    for input in inputs {
        let (name, mut reader): (String, Box<dyn BufRead>) = match input {
            None => (
                "<stdin>".to_owned(),
                Box::new(BufReader::with_capacity(1 << 20, io::stdin().lock())),
            ),
            Some(path) => (path.display().to_string(), open(path, bar.clone())?),
        };
        let mut number = 0u64;
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) => break,
                Ok(_) => {
                    number += 1;
                    triage.line(&name, number, &buffer);
                }
                Err(e) => return Err(format!("{name}: {e}")),
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    let tally = triage.tally;
    for m in &tally.shown {
        eprintln!("{}:{}: malformed line: {}", m.file, m.line, m.reason);
    }
    if tally.malformed > 0 {
        eprintln!("{} malformed line(s) in all", tally.malformed);
    }
    let text = if json_output {
        report_json(&tally)
    } else {
        report_text(&tally)
    };
    crate::print(&text)?;
    Ok(if tally.malformed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn report_json(t: &Tally) -> String {
    let top = |c: &Counter| {
        c.top(10)
            .into_iter()
            .map(|(k, v)| json!({"key": k, "failures": v}))
            .collect::<Vec<_>>()
    };
    let value = json!({
        "events": t.events,
        "stream_end": t.stream_end,
        "push_start": t.push_start,
        "malformed": t.malformed,
        "duplicates": t.duplicates,
        "outside_window": t.outside_window,
        "by_category": t.by_category,
        "by_reason": t.by_reason,
        "failures": t.failures,
        "retryable": t.retryable,
        "retryable_share": share(t.retryable, t.stream_end) / 100.0,
        "top_apps": top(&t.by_app),
        "top_streams": top(&t.by_stream),
        "untracked_keys": t.by_app.untracked + t.by_stream.untracked,
        "malformed_lines": t.shown.iter().map(|m| json!({"file": m.file, "line": m.line, "reason": m.reason})).collect::<Vec<_>>(),
    });
    format!("{value:#}\n")
}

fn report_text(t: &Tally) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "events:      {} ({} stream end, {} push start)",
        t.events, t.stream_end, t.push_start
    );
    let _ = writeln!(out, "duplicates:  {} redeliveries dropped", t.duplicates);
    let _ = writeln!(out, "malformed:   {} lines", t.malformed);
    if t.outside_window > 0 {
        let _ = writeln!(
            out,
            "skipped:     {} events outside --since/--until",
            t.outside_window
        );
    }
    let _ = writeln!(
        out,
        "failures:    {} stream ends not intended; retryable {} ({:.1}% of stream ends)",
        t.failures,
        t.retryable,
        share(t.retryable, t.stream_end)
    );
    if t.stream_end > 0 {
        let _ = writeln!(out, "\nby category:");
        let mut categories: Vec<_> = t.by_category.iter().collect();
        categories.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (name, count) in categories {
            let _ = writeln!(
                out,
                "  {name:<16} {count:>10} {:>6.1}%",
                share(*count, t.stream_end)
            );
        }
        let _ = writeln!(out, "\nby reason:");
        let mut reasons: Vec<_> = t.by_reason.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (name, count) in reasons {
            let _ = writeln!(
                out,
                "  {name:<28} {count:>10} {:>6.1}%",
                share(*count, t.stream_end)
            );
        }
    }
    for (title, counter) in [("domains/apps", &t.by_app), ("streams", &t.by_stream)] {
        let top = counter.top(10);
        if !top.is_empty() {
            let _ = writeln!(out, "\ntop {title} by failures:");
            for (key, count) in top {
                let _ = writeln!(out, "  {count:>10}  {key}");
            }
        }
    }
    out
}
