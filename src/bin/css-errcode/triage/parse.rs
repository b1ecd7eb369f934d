//! The parallel part of triage: one block of lines into compact summaries, with the library's
//! `RecordLine` (so a line means here what it means everywhere). No allocation per line on the
//! common path: text is borrowed from the block, and only names of failing streams new to the
//! block are copied.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

use tencent_css_errcode::events::{
    Block, DEFAULT_LINE_LIMIT, DedupeKey, EventKind, Record, RecordLine,
};
use tencent_css_errcode::{Category, Reason};

/// What a stream end is counted under in `by_reason`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ReasonKey {
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
pub struct Summary {
    pub key: DedupeKey,
    pub time: i64,
    pub kind: EventKind,
    pub category: Category,
    pub reason: ReasonKey,
    /// Hashes of `domain/app` and `domain/app/stream`; their text is in `Parsed::names`.
    pub app: u64,
    pub stream: u64,
}

pub enum Item {
    Event(Summary),
    Malformed { line: u64, reason: String },
    ApiError { line: u64, reason: String },
}

/// A parsed block: its items in line order, how many lines it had, and the text of the
/// app and stream keys of its failures. Reused from block to block, so that its memory is
/// allocated once rather than per block.
#[derive(Default)]
pub struct Parsed {
    pub items: Vec<Item>,
    pub lines: u64,
    pub names: HashMap<u64, String, BuildHasherDefault<IdentityHasher>>,
}

/// The keys are already hashes.
#[derive(Default)]
pub struct IdentityHasher(u64);

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
pub struct Wanted {
    pub apps: AtomicBool,
    pub streams: AtomicBool,
}

impl Default for Wanted {
    fn default() -> Self {
        Wanted {
            apps: AtomicBool::new(true),
            streams: AtomicBool::new(true),
        }
    }
}

/// Whether a stream end counts as a failure (and so in the top lists).
pub fn is_failure(category: Category) -> bool {
    !category.is_intentional()
}

/// Parses `block` into `parsed`, replacing what it held.
pub fn parse_block(block: &Block, wanted: &Wanted, parsed: &mut Parsed) {
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
            Ok(Some(_)) => parsed.items.push(Item::Malformed {
                line: number,
                reason: "a kind of line triage does not count".to_owned(),
            }),
            Err(e) => parsed.items.push(Item::Malformed {
                line: number,
                reason: e.to_string(),
            }),
        }
    }
}

fn add(parsed: &mut Parsed, record: &Record<'_>, wanted: &Wanted) {
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
            parsed
                .names
                .entry(app)
                .or_insert_with(|| format!("{}/{}", record.domain, record.app));
        }
        if wanted.streams.load(Ordering::Relaxed) {
            parsed
                .names
                .entry(stream)
                .or_insert_with(|| format!("{}/{}/{}", record.domain, record.app, record.stream));
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
