//! Push sessions and live streams: the starts and ends of pushes, paired by `sequence`.
//!
//! Needs the `events` feature.
//!
//! A push start and the stream end of the same push carry the same `sequence`; Tencent's
//! callbacks are asynchronous and may arrive in any order (a quick re-push's start before the
//! old push's end), twice, or not at all, and with primary and backup pushes a stream has two
//! pushes at once, so one end does not take it off the air. [`Sessions`] keeps what it was told
//! of each push, the start and the end, as facts: what it answers ([`Sessions::sessions`],
//! [`Sessions::live`]) is derived from the facts alone, so any order and any duplication of the
//! same events give the same answer, and two reducers merged ([`Sessions::merge`]) answer as
//! one reducer fed both inputs. A start that arrives after its own end does not reopen the push.
//!
//! # Example
//! Tencent's own example: start seq1, start seq2, end seq1: still live, on seq2.
//! ```
//! use tencent_css_errcode::events::StreamEvent;
//! use tencent_css_errcode::sessions::{Sessions, State};
//!
//! let event = |kind: u8, sequence: &str, time: i64| -> StreamEvent {
//!     serde_json::from_str(&format!(
//!         r#"{{"event_type":{kind},"t":0,"app":"push.example.com","appname":"live","stream_id":"room42",
//!             "sequence":"{sequence}","event_time":{time},"errcode":1,"push_duration":"60000"}}"#
//!     )).unwrap()
//! };
//! let mut sessions = Sessions::new();
//! sessions.add(&event(1, "seq1", 1_000));
//! sessions.add(&event(1, "seq2", 1_030));
//! sessions.add(&event(0, "seq1", 1_060));
//! let live = sessions.live();
//! assert_eq!(live.len(), 1);
//! assert_eq!(live[0].sequences, ["seq2"]);
//! let ended = &sessions.sessions()[0];
//! assert_eq!((ended.sequence.as_str(), ended.state, ended.duration), ("seq1", State::Ended, Some(60)));
//! ```

use std::collections::{BTreeMap, HashMap};

use crate::Interruption;
use crate::events::{Cause, EventKind, StreamEvent};

/// A push counts as replaced when it ended with errcode 21 and another push of the same stream
/// started within this many seconds of its end, before or after.
pub const REPLACED_WITHIN: i64 = 5;

/// Pushes a reducer holds by default.
const DEFAULT_LIMIT: usize = 4_000_000;

/// One stream: push domain, AppName and StreamName. The same name under another domain or app
/// is another stream.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub struct Stream {
    /// The push domain (a callback's `app`).
    pub domain: String,
    /// The AppName (`appname`), the console's "path".
    pub app: String,
    /// The StreamName (`stream_id`).
    pub stream: String,
}

impl Stream {
    /// The stream `stream` of AppName `app` on push domain `domain`.
    pub fn new(
        domain: impl Into<String>,
        app: impl Into<String>,
        stream: impl Into<String>,
    ) -> Stream {
        Stream {
            domain: domain.into(),
            app: app.into(),
            stream: stream.into(),
        }
    }

    /// The stream of a callback.
    pub fn of(event: &StreamEvent) -> Stream {
        Stream {
            domain: event.app.clone(),
            app: event.appname.clone(),
            stream: event.stream_id.clone(),
        }
    }
}

/// What is known of a push's start.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct Start {
    pub(crate) time: i64,
    pub(crate) client_ip: Option<String>,
    pub(crate) node: Option<String>,
}

/// What is known of a push's end.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct End {
    pub(crate) time: i64,
    pub(crate) push_duration_ms: Option<u64>,
    pub(crate) errcode: u32,
    pub(crate) errmsg: Option<String>,
    pub(crate) client_ip: Option<String>,
    pub(crate) node: Option<String>,
}

/// The facts of one push. Two reports of the same fact that differ (they should not: they
/// are deliveries of one event) are resolved by keeping the smaller, so that the result does
/// not depend on their order.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
struct Facts {
    start: Option<Start>,
    end: Option<End>,
}

fn keep_least<T: Ord>(slot: &mut Option<T>, new: T) {
    match slot {
        Some(old) if *old <= new => {}
        _ => *slot = Some(new),
    }
}

impl Facts {
    fn merge(&mut self, other: Facts) {
        if let Some(start) = other.start {
            keep_least(&mut self.start, start);
        }
        if let Some(end) = other.end {
            keep_least(&mut self.end, end);
        }
    }

    /// When the push started: its start callback's time, or its end's time less the push's
    /// duration.
    fn start_time(&self) -> Option<i64> {
        self.start.as_ref().map(|s| s.time).or_else(|| {
            let end = self.end.as_ref()?;
            let ms = end.push_duration_ms?;
            end.time.checked_sub(i64::try_from(ms / 1_000).ok()?)
        })
    }
}

/// Where a push stands.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub enum State {
    /// Started and not ended.
    Live,
    /// Ended.
    Ended,
    /// Ended with errcode 21 while another push of the stream started within
    /// [`REPLACED_WITHIN`] seconds: replaced by a new push, not a failure.
    Replaced,
}

impl State {
    /// The snake_case name: `live`, `ended`, `replaced`.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::sessions::State::Replaced.name(), "replaced");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            State::Live => "live",
            State::Ended => "ended",
            State::Replaced => "replaced",
        }
    }
}

/// One push of one stream, from its start to its end: a row of the console's Stream
/// Interruption Records page.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Session {
    /// The stream.
    pub stream: Stream,
    /// The push's `sequence`.
    pub sequence: String,
    /// When it started, Unix seconds: its start callback's `event_time`, or its end's less
    /// `push_duration`; `None` when neither is known.
    pub start: Option<i64>,
    /// When it ended, Unix seconds; `None` while it is live.
    pub end: Option<i64>,
    /// How long it lasted, in seconds: end less start.
    pub duration: Option<i64>,
    /// The pushing client's IP address (`user_ip`).
    pub client_ip: Option<String>,
    /// The access node that took the push (`node`).
    pub node: Option<String>,
    /// Why it ended: its errcode, read as the library reads a callback's.
    pub cause: Option<Cause<'static>>,
    /// Where it stands.
    pub state: State,
}

impl Session {
    /// The decoded errcode of its end (`decode(errcode, 0)`).
    pub fn interruption(&self) -> Option<Interruption> {
        self.cause.as_ref().and_then(Cause::interruption)
    }

    /// Whether the push was on the air at some time in `since..=until` (either end open):
    /// ended at or after `since`, or not ended; started at or before `until`, or start
    /// unknown.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::StreamEvent;
    /// use tencent_css_errcode::sessions::Sessions;
    /// let end: StreamEvent = serde_json::from_str(r#"{"event_type":0,"t":0,"app":"d","appname":"live",
    ///     "stream_id":"s","sequence":"7","event_time":100,"errcode":1,"push_duration":"40000"}"#).unwrap();
    /// let mut sessions = Sessions::new();
    /// sessions.add(&end);
    /// let push = &sessions.sessions()[0]; // from 60 to 100
    /// assert!(push.overlaps(Some(90), None) && push.overlaps(None, Some(60)));
    /// assert!(!push.overlaps(Some(101), None) && !push.overlaps(Some(0), Some(59)));
    /// ```
    pub fn overlaps(&self, since: Option<i64>, until: Option<i64>) -> bool {
        since.is_none_or(|since| self.end.is_none_or(|end| end >= since))
            && until.is_none_or(|until| self.start.is_none_or(|start| start <= until))
    }

    /// As one JSON object: `domain`, `app`, `stream`, `sequence`, `start` and `end` (Unix
    /// seconds or `null`), `duration_s`, `state`, `errcode`, `category`, `reason`,
    /// `client_ip`, `node`. What `css-errcode sessions --format jsonl` prints a line of.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::StreamEvent;
    /// use tencent_css_errcode::sessions::Sessions;
    /// let end: StreamEvent = serde_json::from_str(r#"{"event_type":0,"t":0,"app":"d","appname":"live",
    ///     "stream_id":"s","sequence":"7","event_time":100,"errcode":12,"push_duration":"40000"}"#).unwrap();
    /// let mut sessions = Sessions::new();
    /// sessions.add(&end);
    /// let json = sessions.sessions()[0].to_json();
    /// assert_eq!((json["start"].as_i64(), json["state"].as_str()), (Some(60), Some("ended")));
    /// assert_eq!(json["category"], "network");
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let interruption = self.interruption();
        serde_json::json!({
            "domain": self.stream.domain,
            "app": self.stream.app,
            "stream": self.stream.stream,
            "sequence": self.sequence,
            "start": self.start,
            "end": self.end,
            "duration_s": self.duration,
            "state": self.state.name(),
            "errcode": interruption.map(|i| i.errcode()),
            "category": self.cause.as_ref().map(|c| c.category().name()),
            "reason": interruption.and_then(|i| i.reason()).map(|r| r.name()),
            "client_ip": self.client_ip,
            "node": self.node,
        })
    }
}

/// A stream on the air: at least one of its pushes has started and not ended.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct LiveStream {
    /// The stream.
    pub stream: Stream,
    /// The earliest start among its open pushes, Unix seconds.
    pub since: i64,
    /// The `sequence` of each open push (two with primary and backup), in order.
    pub sequences: Vec<String>,
}

impl LiveStream {
    /// As one JSON object: `domain`, `app`, `stream`, `since`, `sequences`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "domain": self.stream.domain, "app": self.stream.app, "stream": self.stream.stream,
            "since": self.since, "sequences": self.sequences,
        })
    }
}

/// The reducer: takes stream events in any order, answers sessions and live streams.
///
/// Memory is bounded: it holds at most `limit` pushes (4 million by default, with
/// [`Sessions::with_limit`] to choose); the events of further pushes are counted in
/// [`Sessions::dropped`] and the answers are then approximate ([`Sessions::is_approximate`]).
#[derive(Clone, Debug)]
pub struct Sessions {
    streams: HashMap<Stream, BTreeMap<String, Facts>>,
    pushes: usize,
    limit: usize,
    dropped: u64,
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions::new()
    }
}

impl PartialEq for Sessions {
    /// Two reducers are equal when they answer the same.
    fn eq(&self, other: &Sessions) -> bool {
        self.sessions() == other.sessions() && self.dropped == other.dropped
    }
}

impl Sessions {
    /// An empty reducer holding up to 4 million pushes.
    pub fn new() -> Sessions {
        Sessions::with_limit(DEFAULT_LIMIT)
    }

    /// An empty reducer holding up to `limit` pushes.
    pub fn with_limit(limit: usize) -> Sessions {
        Sessions {
            streams: HashMap::new(),
            pushes: 0,
            limit,
            dropped: 0,
        }
    }

    /// Takes one push start or stream end (a redelivery changes nothing).
    pub fn add(&mut self, event: &StreamEvent) {
        let mut facts = Facts::default();
        match event.kind {
            EventKind::PushStart => {
                facts.start = Some(Start {
                    time: event.event_time,
                    client_ip: event.user_ip.clone(),
                    node: event.node.clone(),
                });
            }
            EventKind::StreamEnd => {
                facts.end = Some(End {
                    time: event.event_time,
                    push_duration_ms: event.push_duration_ms,
                    // A stream end always has one (StreamEvent checks it).
                    errcode: event.errcode.unwrap_or(0),
                    errmsg: event.errmsg.clone(),
                    client_ip: event.user_ip.clone(),
                    node: event.node.clone(),
                });
            }
        }
        self.insert(Stream::of(event), event.sequence.clone(), facts);
    }

    /// What a store kept of one push (the store's `pushes` table).
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn add_push(
        &mut self,
        stream: Stream,
        sequence: String,
        start: Option<Start>,
        end: Option<End>,
    ) {
        self.insert(stream, sequence, Facts { start, end });
    }

    fn insert(&mut self, stream: Stream, sequence: String, facts: Facts) {
        let known = self
            .streams
            .get(&stream)
            .is_some_and(|pushes| pushes.contains_key(&sequence));
        if !known && self.pushes >= self.limit {
            self.dropped += 1;
            return;
        }
        let pushes = self.streams.entry(stream).or_default();
        match pushes.get_mut(&sequence) {
            Some(old) => old.merge(facts),
            None => {
                pushes.insert(sequence, facts);
                self.pushes += 1;
            }
        }
    }

    /// Adds what `other` knows, as if its events had been given to this reducer.
    pub fn merge(&mut self, other: Sessions) {
        self.dropped += other.dropped;
        for (stream, pushes) in other.streams {
            for (sequence, facts) in pushes {
                self.insert(stream.clone(), sequence, facts);
            }
        }
    }

    /// Pushes held.
    pub fn len(&self) -> usize {
        self.pushes
    }

    /// Whether no push is held.
    pub fn is_empty(&self) -> bool {
        self.pushes == 0
    }

    /// Events of pushes that were not held because the limit was reached.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether a limit left events out, so that some pushes are missing or incomplete.
    pub fn is_approximate(&self) -> bool {
        self.dropped > 0
    }

    /// Every push, ordered by start (unknown first), then stream and sequence.
    pub fn sessions(&self) -> Vec<Session> {
        let mut sessions: Vec<Session> = self
            .streams
            .iter()
            .flat_map(|(stream, pushes)| {
                let mut starts: Vec<(i64, &str)> = pushes
                    .iter()
                    .filter_map(|(sequence, facts)| Some((facts.start_time()?, sequence.as_str())))
                    .collect();
                starts.sort_unstable();
                pushes
                    .iter()
                    .map(move |(sequence, facts)| session(stream, sequence, facts, &starts))
                    .collect::<Vec<_>>()
            })
            .collect();
        sessions.sort_by(|a, b| {
            (a.start, &a.stream, &a.sequence).cmp(&(b.start, &b.stream, &b.sequence))
        });
        sessions
    }

    /// The streams on the air now, ordered by stream.
    pub fn live(&self) -> Vec<LiveStream> {
        let mut live: Vec<LiveStream> = self
            .streams
            .iter()
            .filter_map(|(stream, pushes)| {
                let open: Vec<(&String, i64)> = pushes
                    .iter()
                    .filter(|(_, facts)| facts.end.is_none())
                    .filter_map(|(sequence, facts)| Some((sequence, facts.start.as_ref()?.time)))
                    .collect();
                let since = open.iter().map(|(_, time)| *time).min()?;
                Some(LiveStream {
                    stream: stream.clone(),
                    since,
                    sequences: open.into_iter().map(|(s, _)| s.clone()).collect(),
                })
            })
            .collect();
        live.sort_by(|a, b| a.stream.cmp(&b.stream));
        live
    }
}

/// The session of one push, given the start times of its stream's pushes, sorted.
fn session(stream: &Stream, sequence: &str, facts: &Facts, starts: &[(i64, &str)]) -> Session {
    let start = facts.start_time();
    let end = facts.end.as_ref();
    let replaced = |end: &End| {
        let (from, to) = (
            end.time.saturating_sub(REPLACED_WITHIN),
            end.time.saturating_add(REPLACED_WITHIN),
        );
        let first = starts.partition_point(|(time, _)| *time < from);
        starts[first..]
            .iter()
            .take_while(|(time, _)| *time <= to)
            .any(|(_, other)| *other != sequence)
    };
    let state = match end {
        None => State::Live,
        Some(end) if end.errcode == 21 && replaced(end) => State::Replaced,
        Some(_) => State::Ended,
    };
    let seen = |f: fn(&Start) -> &Option<String>, g: fn(&End) -> &Option<String>| {
        facts
            .start
            .as_ref()
            .and_then(|s| f(s).clone())
            .or_else(|| end.and_then(|e| g(e).clone()))
    };
    Session {
        stream: stream.clone(),
        sequence: sequence.to_owned(),
        start,
        end: end.map(|e| e.time),
        duration: match (start, end) {
            (Some(start), Some(end)) => end.time.checked_sub(start),
            _ => None,
        },
        client_ip: seen(|s| &s.client_ip, |e| &e.client_ip),
        node: seen(|s| &s.node, |e| &e.node),
        cause: end.map(|e| {
            Cause::from_errcode(e.errcode, e.errmsg.clone().unwrap_or_default()).into_owned()
        }),
        state,
    }
}
