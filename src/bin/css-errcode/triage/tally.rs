//! Counting: what triage knows after the records. Every map is capped, so memory is bounded
//! whatever the input; what a cap turned away is counted and reported.

use std::collections::{BTreeMap, HashMap};

use tencent_css_errcode::Category;
use tencent_css_errcode::events::{Deduper, EventKind, Record};

/// Distinct domains/apps and streams counted exactly; later new keys are counted as untracked.
const MAX_TRACKED: usize = 100_000;
/// Distinct reasons (listed ones, and unlisted code pairs) counted one by one.
const MAX_REASONS: usize = 1_000;
/// Problems (malformed lines, API errors) reported one by one.
pub const SHOWN_PROBLEMS: usize = 10;
/// The `by_reason` key of the unlisted pairs past `MAX_REASONS`.
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

/// Exact counts for up to `MAX_TRACKED` distinct keys.
#[derive(Default)]
pub struct Counter {
    counts: HashMap<String, u64>,
    pub untracked: u64,
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

    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

/// Records in, counts out: applies the time window and the library's deduper.
pub struct Counting {
    pub tally: Tally,
    deduper: Deduper,
    since: Option<i64>,
    until: Option<i64>,
}

impl Counting {
    pub fn new(since: Option<i64>, until: Option<i64>) -> Self {
        Counting {
            tally: Tally::default(),
            deduper: Deduper::new(),
            since,
            until,
        }
    }

    pub fn record(&mut self, record: Record) {
        let time = record.time;
        if self.since.is_some_and(|s| time < s) || self.until.is_some_and(|u| time > u) {
            self.tally.outside_window += 1;
            return;
        }
        if !self.deduper.check(record.key, time).is_new() {
            self.tally.duplicates += 1;
            return;
        }
        let tally = &mut self.tally;
        tally.events += 1;
        if record.kind == EventKind::PushStart {
            tally.push_start += 1;
            return;
        }
        tally.stream_end += 1;
        let category = record
            .cause
            .as_ref()
            .map_or(Category::Unknown, |c| c.category());
        *tally.by_category.entry(category.name()).or_default() += 1;
        let reason = match record.cause.as_ref().and_then(|c| c.interruption()) {
            Some(i) => match i.reason() {
                Some(reason) => reason.name().to_owned(),
                None => format!("{}/{} (unlisted)", i.errcode(), i.sub_errcode()),
            },
            None => format!("no code ({category})"),
        };
        if let Some(count) = tally.by_reason.get_mut(&reason) {
            *count += 1;
        } else if tally.by_reason.len() < MAX_REASONS {
            tally.by_reason.insert(reason, 1);
        } else {
            *tally.by_reason.entry(OTHER_REASONS.to_owned()).or_default() += 1;
        }
        if category.retryable() {
            tally.retryable += 1;
        }
        if !category.is_intentional() {
            tally.failures += 1;
            tally
                .by_app
                .add(format!("{}/{}", record.domain, record.app));
            tally.by_stream.add(format!(
                "{}/{}/{}",
                record.domain, record.app, record.stream
            ));
        }
    }

    pub fn malformed(&mut self, file: &str, line: u64, reason: String) {
        self.tally.malformed += 1;
        if self.tally.malformed_shown.len() < SHOWN_PROBLEMS {
            self.tally.malformed_shown.push(Problem {
                file: file.to_owned(),
                line,
                reason,
            });
        }
    }

    pub fn api_error(&mut self, file: &str, line: u64, reason: String) {
        self.tally.api_errors += 1;
        if self.tally.api_errors_shown.len() < SHOWN_PROBLEMS {
            self.tally.api_errors_shown.push(Problem {
                file: file.to_owned(),
                line,
                reason,
            });
        }
    }

    pub fn finish(mut self) -> Tally {
        self.tally.unverified = self.deduper.unverified();
        self.tally
    }
}
