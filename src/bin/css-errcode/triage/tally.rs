//! Counting, in file order: the time window, the library's deduper, and the counts. Every map
//! is capped, so memory is bounded whatever the input; what a cap turned away is counted.

use std::collections::{BTreeMap, HashMap};

use tencent_css_errcode::Category;
use tencent_css_errcode::events::{Deduper, EventKind};

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::parse::{IdentityHasher, Item, Parsed, ReasonKey, Summary, Wanted, is_failure};

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

/// A line that could not be counted, with where it was.
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

#[derive(Default)]
pub struct Tally {
    pub events: u64,
    pub stream_end: u64,
    pub push_start: u64,
    pub duplicates: u64,
    pub unverified: u64,
    pub outside_window: u64,
    pub failures: u64,
    pub retryable: u64,
    pub by_category: BTreeMap<&'static str, u64>,
    pub by_reason: BTreeMap<String, u64>,
    pub by_app: Counter,
    pub by_stream: Counter,
    pub malformed: u64,
    pub malformed_shown: Vec<Problem>,
    pub api_errors: u64,
    pub api_errors_shown: Vec<Problem>,
    /// Inputs that could not be read to the end, with why.
    pub unreadable: Vec<String>,
}

type ByHash<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IdentityHasher>>;

/// Exact counts for up to `MAX_TRACKED` distinct keys, by the hash of their text.
#[derive(Default)]
pub struct Counter {
    counts: ByHash<(String, u64)>,
    pub untracked: u64,
}

impl Counter {
    /// Counts one failure of the key `hash`; false once the counter is full (it tracks no new
    /// key any more).
    fn add(&mut self, hash: u64, names: &ByHash<String>) -> bool {
        if let Some((_, count)) = self.counts.get_mut(&hash) {
            *count += 1;
        } else if self.counts.len() < MAX_TRACKED {
            let name = names.get(&hash).cloned().unwrap_or_default();
            self.counts.insert(hash, (name, 1));
        } else {
            self.untracked += 1;
        }
        self.counts.len() < MAX_TRACKED
    }

    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self
            .counts
            .values()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

/// Summaries in, counts out, in file order.
pub struct Counting {
    pub tally: Tally,
    deduper: Deduper,
    by_reason: HashMap<ReasonKey, u64, foldhash::fast::FixedState>,
    /// Stream ends by category, in `Category::ALL` order (the names are made at the end).
    by_category: Vec<u64>,
    unlisted: usize,
    other_reasons: u64,
    since: Option<i64>,
    until: Option<i64>,
    /// Shared with the parsing threads: which names are still worth copying.
    pub wanted: Arc<Wanted>,
}

impl Counting {
    pub fn new(since: Option<i64>, until: Option<i64>) -> Self {
        Counting {
            wanted: Arc::default(),
            tally: Tally::default(),
            deduper: Deduper::new(),
            by_reason: HashMap::default(),
            by_category: vec![0; Category::ALL.len()],
            unlisted: 0,
            other_reasons: 0,
            since,
            until,
        }
    }

    /// One block's items; `first_line` is the number of the block's first line in `file`.
    pub fn block(&mut self, file: &str, first_line: u64, parsed: &Parsed) {
        // The deduper's slots for a batch of events are read ahead together (see
        // `Deduper::warm`); a batch of slots fits in the cache with room to spare.
        for batch in parsed.items.chunks(WARM_BATCH) {
            self.deduper
                .warm(batch.iter().filter_map(|item| match item {
                    Item::Event(summary) => Some(summary.key),
                    _ => None,
                }));
            self.batch(file, first_line, batch, &parsed.names);
        }
    }

    fn batch(&mut self, file: &str, first_line: u64, items: &[Item], names: &ByHash<String>) {
        for item in items {
            match item {
                Item::Event(summary) => self.event(summary, names),
                Item::Malformed { line, reason } => {
                    self.tally.malformed += 1;
                    keep(
                        &mut self.tally.malformed_shown,
                        file,
                        first_line + line,
                        reason,
                    );
                }
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

    fn event(&mut self, event: &Summary, names: &ByHash<String>) {
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
        if let Some(count) = Category::ALL
            .iter()
            .position(|c| *c == event.category)
            .and_then(|i| self.by_category.get_mut(i))
        {
            *count += 1;
        }
        if let Some(count) = self.by_reason.get_mut(&event.reason) {
            *count += 1;
        } else if matches!(event.reason, ReasonKey::Listed(_)) || self.unlisted < MAX_UNLISTED {
            self.unlisted += usize::from(!matches!(event.reason, ReasonKey::Listed(_)));
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

    pub fn finish(mut self) -> Tally {
        self.tally.unverified = self.deduper.unverified();
        let mut by_reason: BTreeMap<String, u64> = self
            .by_reason
            .into_iter()
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
