//! Triage: counting a log's stream events as `css-errcode triage` reports them, in one place
//! for every caller (logs read on several threads, the cloud API's records, a program of
//! yours): what counts as a redelivery (the [`Deduper`]), what a failure is, the counts by
//! category and reason, the streams and domains that fail most.
//!
//! Needs the `events` feature.
//!
//! Memory is bounded whatever the input: the deduper has a fixed size and every map is
//! capped; what a cap turned away is counted ([`Tally::untracked_keys`],
//! [`Tally::unverified`], [`OTHER_REASONS`]).
//!
//! Logs are counted a block at a time: [`BlockParser::parse`] reads a [`Block`] of lines
//! into a [`ParsedBlock`] (on any thread: it borrows the block's text and copies only the
//! names the counts can still use), and [`Triage::add_block`] counts parsed blocks in the
//! order of the log, so that the report is the same whatever the number of threads.
//!
//! # Example
//! ```
//! use tencent_css_errcode::events::{Block, RecordLine};
//! use tencent_css_errcode::triage::{ParsedBlock, Triage};
//!
//! let log = br#"{"event_type":0,"t":1,"app":"d.example.com","appname":"live","stream_id":"s","sequence":"9","event_time":5,"errcode":12}
//! {"event_type":0,"t":1,"app":"d.example.com","appname":"live","stream_id":"s","sequence":"9","event_time":5,"errcode":12}
//! not json
//! "#;
//! let mut triage = Triage::new(None, None);
//! let parser = triage.parser();
//! let mut parsed = ParsedBlock::default();
//! parser.parse(&Block::Lines(log.to_vec()), &mut parsed);
//! triage.add_block("events.jsonl", 1, &parsed);
//! let tally = triage.finish();
//! assert_eq!((tally.events, tally.duplicates, tally.malformed), (1, 1, 1));
//! assert_eq!(tally.by_category.get("network"), Some(&1));
//! assert_eq!(tally.malformed_shown[0].line, 3);
//! ```

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::events::{
    Block, DEFAULT_LINE_LIMIT, DedupeKey, Deduper, EventKind, Record, RecordLine, StreamEventInfo,
};
use crate::{Category, Reason};

/// Distinct domains/apps and streams counted exactly; later new keys are counted as untracked.
const MAX_TRACKED: usize = 100_000;
/// Distinct unlisted code pairs (and code-less texts) counted one by one.
const MAX_UNLISTED: usize = 1_000;
/// Events whose deduper slots are read ahead together.
const WARM_BATCH: usize = 256;
/// Problems (malformed lines, API errors) reported one by one.
pub const SHOWN_PROBLEMS: usize = 10;
/// The `by_reason` key of what is past `MAX_UNLISTED`.
pub const OTHER_REASONS: &str = "(other unlisted pairs)";

/// What a stream end is counted under in `by_reason`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum ReasonKey {
    Listed(Reason),
    Unlisted(u32, u32),
    /// A record whose text names no errcode: only its category is known.
    NoCode(Category),
}

impl ReasonKey {
    pub fn name(self) -> String {
        match self {
            ReasonKey::Listed(reason) => reason.name().to_owned(),
            ReasonKey::Unlisted(e, s) => format!("{e}/{s} (unlisted)"),
            ReasonKey::NoCode(category) => format!("no code ({category})"),
        }
    }
}

/// One event, as much of it as the tally needs.
struct Summary {
    pub key: DedupeKey,
    pub time: i64,
    pub kind: EventKind,
    pub category: Category,
    pub reason: ReasonKey,
    /// Hashes of `domain/app` and `domain/app/stream`; their text is in
    /// `ParsedBlock::names`.
    pub app: u64,
    pub stream: u64,
}

enum Item {
    Event(Summary),
    Malformed { line: u64, reason: String },
    ApiError { line: u64, reason: String },
}

/// A block of lines, parsed by [`BlockParser::parse`] for [`Triage::add_block`]: what each
/// line told, in line order. Reuse one from block to block: its memory is allocated once.
#[derive(Default)]
pub struct ParsedBlock {
    items: Vec<Item>,
    lines: u64,
    names: Names,
}

/// The names of a block's failing apps and streams, by hash, all written into one text: a
/// reused block's names cost no allocation (a `String` each, made with `format!`, was about
/// 4% of triage's instructions).
#[derive(Default)]
struct Names {
    text: String,
    spans: ByHash<(usize, usize)>,
}

impl Names {
    fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    /// Keeps `parts` joined by `/` as the name of `hash`, unless it has one already.
    fn add(&mut self, hash: u64, parts: &[&str]) {
        let text = &mut self.text;
        self.spans.entry(hash).or_insert_with(|| {
            let start = text.len();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    text.push('/');
                }
                text.push_str(part);
            }
            (start, text.len())
        });
    }

    fn get(&self, hash: u64) -> Option<&str> {
        let &(start, end) = self.spans.get(&hash)?;
        self.text.get(start..end)
    }
}

impl ParsedBlock {
    /// The lines the block had, blank ones included.
    pub fn lines(&self) -> u64 {
        self.lines
    }
}

impl std::fmt::Debug for ParsedBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedBlock")
            .field("lines", &self.lines)
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// The keys are already hashes.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Which names the tally can still use: once a top-list counter tracks as many keys as it
/// may, a key new to it is only counted as untracked, so its name is not worth copying.
/// (Counters never shrink, so a `false` stays `false`.)
#[derive(Debug)]
struct Wanted {
    apps: AtomicBool,
    streams: AtomicBool,
}

impl Default for Wanted {
    fn default() -> Self {
        Wanted {
            apps: AtomicBool::new(true),
            streams: AtomicBool::new(true),
        }
    }
}

/// Parses blocks of a log for a [`Triage`] ([`Triage::parser`]); cheap to clone, and to use
/// on several threads at once.
#[derive(Clone, Debug)]
pub struct BlockParser {
    wanted: Arc<Wanted>,
}

impl BlockParser {
    /// Parses `block` into `parsed`, replacing what it held: each line as the library's
    /// [`RecordLine`] reads it.
    pub fn parse(&self, block: &Block, parsed: &mut ParsedBlock) {
        let wanted = &*self.wanted;
        parsed.items.clear();
        parsed.lines = 0;
        parsed.names.clear();
        for (index, line) in block.lines(DEFAULT_LINE_LIMIT).enumerate() {
            parsed.lines += 1;
            let number = index as u64;
            match line.and_then(RecordLine::parse) {
                Ok(None) => {}
                Ok(Some(RecordLine::Callback(record))) => add(parsed, &record, wanted),
                Ok(Some(RecordLine::Page(page))) => {
                    for info in page.events() {
                        match info.record() {
                            Ok(record) => add(parsed, &record, wanted),
                            Err(e) => parsed.items.push(Item::Malformed {
                                line: number,
                                reason: format!("StreamEndTime {e}"),
                            }),
                        }
                    }
                }
                Ok(Some(RecordLine::ApiError(error))) => parsed.items.push(Item::ApiError {
                    line: number,
                    reason: error.to_string(),
                }),
                Err(e) => parsed.items.push(Item::Malformed {
                    line: number,
                    reason: e.to_string(),
                }),
            }
        }
    }
}

/// Whether a stream end counts as a failure (and so in the top lists).
fn is_failure(category: Category) -> bool {
    !category.is_intentional()
}

fn add(parsed: &mut ParsedBlock, record: &Record<'_>, wanted: &Wanted) {
    let category = record
        .cause
        .as_ref()
        .map_or(Category::Unknown, |c| c.category());
    let reason = match record.cause.as_ref().and_then(|c| c.interruption()) {
        Some(i) => match i.reason() {
            Some(reason) => ReasonKey::Listed(reason),
            None => ReasonKey::Unlisted(i.errcode(), i.sub_errcode()),
        },
        None => ReasonKey::NoCode(category),
    };
    let (mut app, mut stream) = (0, 0);
    if record.kind == EventKind::StreamEnd && is_failure(category) {
        app = name_hash(&[&record.domain, &record.app]);
        stream = name_hash(&[&record.domain, &record.app, &record.stream]);
        if wanted.apps.load(Ordering::Relaxed) {
            parsed.names.add(app, &[&record.domain, &record.app]);
        }
        if wanted.streams.load(Ordering::Relaxed) {
            parsed
                .names
                .add(stream, &[&record.domain, &record.app, &record.stream]);
        }
    }
    parsed.items.push(Item::Event(Summary {
        key: record.key,
        time: record.time,
        kind: record.kind,
        category,
        reason,
        app,
        stream,
    }));
}

/// The parts' hash, with each part's length (so that no two splits of one text meet): the
/// same in every block and on every thread (a fixed seed).
fn name_hash(parts: &[&str]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(parts)
}

/// A line that could not be counted, with where it was.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Problem {
    /// The input, as the caller named it.
    pub file: String,
    /// The line's number in it (1-based).
    pub line: u64,
    /// Why it could not be counted.
    pub reason: String,
}

/// What a [`Triage`] counted: the report of `css-errcode triage`.
#[derive(Default, Debug)]
#[non_exhaustive]
pub struct Tally {
    /// Events counted: each once, however often it was delivered, within the window.
    pub events: u64,
    /// Of those, stream ends.
    pub stream_end: u64,
    /// Of those, push starts.
    pub push_start: u64,
    /// Redeliveries of an event counted already (left out of every other count).
    pub duplicates: u64,
    /// Events counted as new but checked only approximately: more distinct events than the
    /// deduper holds exactly.
    pub unverified: u64,
    /// Events outside the window (left out of every other count).
    pub outside_window: u64,
    /// Stream ends not intended (every category but the requested and configured ones).
    pub failures: u64,
    /// Stream ends whose category is worth a retry.
    pub retryable: u64,
    /// Stream ends by category name.
    pub by_category: BTreeMap<&'static str, u64>,
    /// Stream ends by reason name, an unlisted pair as `18/3 (unlisted)`, a text without a
    /// code as `no code (category)`, and the unlisted pairs past a thousand under
    /// [`OTHER_REASONS`].
    pub by_reason: BTreeMap<String, u64>,
    /// Failures by `domain/app`.
    pub by_app: Counter,
    /// Failures by `domain/app/stream`.
    pub by_stream: Counter,
    /// Lines that were not a callback, a page of API records or an API error.
    pub malformed: u64,
    /// The first [`SHOWN_PROBLEMS`] of them.
    pub malformed_shown: Vec<Problem>,
    /// Lines that were API errors (their records are missing).
    pub api_errors: u64,
    /// The first [`SHOWN_PROBLEMS`] of them.
    pub api_errors_shown: Vec<Problem>,
    /// Inputs that could not be read to the end, with why.
    pub unreadable: Vec<String>,
}

impl Tally {
    /// Failures of a domain/app or stream that no top list holds, because the counters
    /// already track as many keys as they may.
    pub fn untracked_keys(&self) -> u64 {
        self.by_app.untracked + self.by_stream.untracked
    }
}

type ByHash<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

/// Failures by key, exact for up to 100,000 distinct keys; later new keys are counted in
/// `untracked` only.
#[derive(Default)]
pub struct Counter {
    counts: ByHash<(String, u64)>,
    /// Failures of keys past the limit.
    pub untracked: u64,
}

/// A key's place in a top list: more failures first, then by name; the greatest is the last.
#[derive(PartialEq, Eq)]
struct Ranked<'a>(u64, &'a str);

impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.cmp(&self.0).then_with(|| self.1.cmp(other.1))
    }
}

impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counter")
            .field("keys", &self.counts.len())
            .field("untracked", &self.untracked)
            .finish()
    }
}

impl Counter {
    /// Counts one failure of the key `hash`; false once the counter is full (it tracks no new
    /// key any more).
    fn add(&mut self, hash: u64, names: &Names) -> bool {
        if let Some((_, count)) = self.counts.get_mut(&hash) {
            *count += 1;
        } else if self.counts.len() < MAX_TRACKED {
            let name = names.get(hash).unwrap_or_default().to_owned();
            self.counts.insert(hash, (name, 1));
        } else {
            self.untracked += 1;
        }
        self.counts.len() < MAX_TRACKED
    }

    /// Reads the entries of `hashes` ahead of counting them (see `Deduper::warm`): the reads
    /// are independent, so the processor waits for them together. Changes no count.
    fn warm(&self, hashes: impl Iterator<Item = u64>) {
        let mut seen = 0u64;
        for hash in hashes {
            seen ^= self.counts.get(&hash).map_or(0, |(_, count)| *count);
        }
        std::hint::black_box(seen);
    }

    /// The `n` keys with the most failures, most first (ties by key).
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        // One pass that keeps the best `n` so far, the worst of them on top of a heap: most
        // keys have fewer failures than the `n`th, and are turned away on their count alone.
        // Sorting every key (100,000 of them, most tied on a count of one, so compared by
        // name) took tens of milliseconds at the end of a large triage, with every other
        // thread done; picking the `n` by `select_nth_unstable` still compared names some
        // 300,000 times (5 ms).
        let mut best: BinaryHeap<Ranked<'_>> = BinaryHeap::with_capacity(n.saturating_add(1));
        for (name, count) in self.counts.values() {
            let ranked = Ranked(*count, name.as_str());
            if best.len() < n {
                best.push(ranked);
            } else if best.peek().is_some_and(|worst| ranked < *worst) {
                best.pop();
                best.push(ranked);
            }
        }
        best.into_sorted_vec()
            .into_iter()
            .map(|Ranked(count, name)| (name, count))
            .collect()
    }
}

/// Counts events in the order of their log: each once (the library's [`Deduper`]), within
/// an optional window of event times.
pub struct Triage {
    tally: Tally,
    deduper: Deduper,
    /// Stream ends by listed reason, in `Reason::ALL` order (the names are made at the end).
    by_listed: Vec<u64>,
    /// Stream ends by unlisted pair or code-less text.
    by_reason: HashMap<ReasonKey, u64, foldhash::fast::FixedState>,
    /// Stream ends by category, in `Category::ALL` order.
    by_category: Vec<u64>,
    unlisted: usize,
    other_reasons: u64,
    since: Option<i64>,
    until: Option<i64>,
    /// Shared with the parsing threads: which names are still worth copying.
    wanted: Arc<Wanted>,
    /// One record's block, for [`Triage::add_record`].
    one: ParsedBlock,
}

impl std::fmt::Debug for Triage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Triage")
            .field("events", &self.tally.events)
            .field("since", &self.since)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

impl Triage {
    /// Counts the events from `since` to `until` (event times, Unix seconds, both included;
    /// `None`: no bound).
    pub fn new(since: Option<i64>, until: Option<i64>) -> Self {
        Triage {
            one: ParsedBlock::default(),
            wanted: Arc::default(),
            tally: Tally::default(),
            deduper: Deduper::new(),
            by_listed: vec![0; Reason::ALL.len()],
            by_reason: HashMap::default(),
            by_category: vec![0; Category::ALL.len()],
            unlisted: 0,
            other_reasons: 0,
            since,
            until,
        }
    }

    /// Makes room for `events` more distinct events in one step (see [`Deduper::reserve`]):
    /// for a caller that knows its input is large, as `css-errcode triage` knows the size of
    /// its files. The counts are the same either way.
    pub fn reserve(&mut self, events: usize) {
        self.deduper.reserve(events);
    }

    /// A parser of blocks for this triage (it knows which names are still worth copying).
    pub fn parser(&self) -> BlockParser {
        BlockParser {
            wanted: Arc::clone(&self.wanted),
        }
    }

    /// Counts a parsed block of `file` whose first line is line `first_line` (1-based). Add
    /// the blocks of a log in its order.
    pub fn add_block(&mut self, file: &str, first_line: u64, parsed: &ParsedBlock) {
        // The deduper's slots for a batch of events are read ahead together (see
        // `Deduper::warm`); a batch of slots fits in the cache with room to spare.
        for batch in parsed.items.chunks(WARM_BATCH) {
            let events = || {
                batch.iter().filter_map(|item| match item {
                    Item::Event(summary) => Some(summary),
                    _ => None,
                })
            };
            self.deduper.warm(events().map(|summary| summary.key));
            // Likewise the counters of failures, which outgrow the cache with many streams.
            // A summary that is no failure has no name hashes, and warms nothing.
            let failing = || events().filter(|summary| summary.stream != 0);
            self.tally.by_app.warm(failing().map(|summary| summary.app));
            self.tally
                .by_stream
                .warm(failing().map(|summary| summary.stream));
            self.batch(file, first_line, batch, &parsed.names);
        }
    }

    fn batch(&mut self, file: &str, first_line: u64, items: &[Item], names: &Names) {
        for item in items {
            match item {
                Item::Event(summary) => self.event(summary, names),
                Item::Malformed { line, reason } => self.malformed(file, first_line + line, reason),
                Item::ApiError { line, reason } => {
                    self.tally.api_errors += 1;
                    keep(
                        &mut self.tally.api_errors_shown,
                        file,
                        first_line + line,
                        reason,
                    );
                }
            }
        }
    }

    fn event(&mut self, event: &Summary, names: &Names) {
        let time = event.time;
        if self.since.is_some_and(|s| time < s) || self.until.is_some_and(|u| time > u) {
            self.tally.outside_window += 1;
            return;
        }
        if !self.deduper.check(event.key, time).is_new() {
            self.tally.duplicates += 1;
            return;
        }
        let tally = &mut self.tally;
        tally.events += 1;
        if event.kind == EventKind::PushStart {
            tally.push_start += 1;
            return;
        }
        tally.stream_end += 1;
        // `ALL` lists each enum in the order of its variants (tested), so a variant's number
        // is its place there.
        if let Some(count) = self.by_category.get_mut(event.category as usize) {
            *count += 1;
        }
        if let ReasonKey::Listed(reason) = event.reason {
            if let Some(count) = self.by_listed.get_mut(reason as usize) {
                *count += 1;
            }
        } else if let Some(count) = self.by_reason.get_mut(&event.reason) {
            *count += 1;
        } else if self.unlisted < MAX_UNLISTED {
            self.unlisted += 1;
            self.by_reason.insert(event.reason, 1);
        } else {
            self.other_reasons += 1;
        }
        if event.category.retryable() {
            tally.retryable += 1;
        }
        if is_failure(event.category) {
            tally.failures += 1;
            if !tally.by_app.add(event.app, names) {
                self.wanted.apps.store(false, Ordering::Relaxed);
            }
            if !tally.by_stream.add(event.stream, names) {
                self.wanted.streams.store(false, Ordering::Relaxed);
            }
        }
    }

    /// Counts one record, as a block of one line would be counted.
    pub fn add_record(&mut self, record: &Record<'_>) {
        let mut one = std::mem::take(&mut self.one);
        one.items.clear();
        one.names.clear();
        add(&mut one, record, &self.wanted);
        self.add_block("", 0, &one);
        self.one = one;
    }

    /// Counts one record of the cloud API, as a line of a page of them would be counted: a
    /// record whose end time cannot be read is a malformed line `line` of `file`.
    pub fn add_api_record(&mut self, file: &str, line: u64, record: &StreamEventInfo) {
        match record.record() {
            Ok(record) => self.add_record(&record),
            Err(e) => self.malformed(file, line, &format!("StreamEndTime {e}")),
        }
    }

    /// Counts line `line` of `file` as malformed, for `reason`.
    pub fn malformed(&mut self, file: &str, line: u64, reason: &str) {
        self.tally.malformed += 1;
        keep(&mut self.tally.malformed_shown, file, line, reason);
    }

    /// Notes an input that could not be read to the end; the tally covers what was read.
    pub fn unreadable(&mut self, why: String) {
        self.tally.unreadable.push(why);
    }

    /// The counts.
    pub fn finish(mut self) -> Tally {
        self.tally.unverified = self.deduper.unverified();
        let listed = Reason::ALL
            .iter()
            .zip(&self.by_listed)
            .filter(|(_, count)| **count > 0)
            .map(|(reason, count)| (ReasonKey::Listed(*reason), *count));
        let mut by_reason: BTreeMap<String, u64> = listed
            .chain(self.by_reason)
            .map(|(key, count)| (key.name(), count))
            .collect();
        if self.other_reasons > 0 {
            by_reason.insert(OTHER_REASONS.to_owned(), self.other_reasons);
        }
        self.tally.by_reason = by_reason;
        self.tally.by_category = Category::ALL
            .iter()
            .zip(&self.by_category)
            .filter(|(_, count)| **count > 0)
            .map(|(category, count)| (category.name(), *count))
            .collect();
        self.tally
    }
}

fn keep(shown: &mut Vec<Problem>, file: &str, line: u64, reason: &str) {
    if shown.len() < SHOWN_PROBLEMS {
        shown.push(Problem {
            file: file.to_owned(),
            line,
            reason: reason.to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{Counter, Names};
    use crate::{Category, Reason};

    #[test]
    fn a_variant_number_is_its_place_in_all() {
        // The tally counts by `reason as usize` and `category as usize`.
        assert!(
            Reason::ALL
                .iter()
                .enumerate()
                .all(|(i, r)| *r as usize == i)
        );
        assert!(
            Category::ALL
                .iter()
                .enumerate()
                .all(|(i, c)| *c as usize == i)
        );
    }

    #[test]
    fn the_top_keys_are_those_of_a_full_sort() {
        // Keys with few distinct counts, so that most are tied and ordered by name.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut counter = Counter::default();
        let mut names = Names::default();
        for hash in 1..=3_000u64 {
            names.add(hash, &["d", "app", &format!("stream{}", hash % 1_000)]);
        }
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            counter.add(1 + state % 3_000, &names);
        }
        let mut all: Vec<(&str, u64)> = counter
            .counts
            .values()
            .map(|(name, count)| (name.as_str(), *count))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for n in [0, 1, 10, 999, all.len() - 1, all.len(), all.len() + 5] {
            assert_eq!(counter.top(n), all[..n.min(all.len())], "top {n}");
        }
    }
}
