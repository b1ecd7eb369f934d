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
//! [`Sessions`] holds every push until it is asked. For one pass over a long log in time order
//! (a receiver's), [`Streaming`] gives each push out once the input has gone [`WINDOW`] seconds
//! past its end, and holds only what is on the air and what ended in the last minutes.
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
//! assert_eq!((ended.sequence.as_deref(), ended.state, ended.duration), (Some("seq1"), State::Ended, Some(60)));
//! ```

use std::borrow::{Borrow, Cow};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::Interruption;
use crate::events::{Cause, EventKind, Record, StreamEvent, StreamEventInfo};

mod streaming;

pub use streaming::{Streaming, WINDOW};

/// A push counts as replaced when it ended with errcode 21 and another push of the same stream
/// started within this many seconds of its end, before or after.
pub const REPLACED_WITHIN: i64 = 5;

/// Pushes a reducer holds by default.
const DEFAULT_LIMIT: usize = 4_000_000;

/// The reducers' maps: a fast hash, seeded per process (stream names come from outside).
type Hashing = foldhash::fast::RandomState;

/// One stream: push domain, AppName and StreamName. The same name under another domain or app
/// is another stream.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
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

impl Hash for Stream {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

/// A stream's three names, borrowed: so that a map keyed by [`Stream`] is searched with the
/// names of a line, copying nothing.
trait StreamKey {
    fn parts(&self) -> (&str, &str, &str);
}

impl StreamKey for Stream {
    fn parts(&self) -> (&str, &str, &str) {
        (&self.domain, &self.app, &self.stream)
    }
}

impl StreamKey for (&str, &str, &str) {
    fn parts(&self) -> (&str, &str, &str) {
        *self
    }
}

impl<'a> Borrow<dyn StreamKey + 'a> for Stream {
    fn borrow(&self) -> &(dyn StreamKey + 'a) {
        self
    }
}

impl<'a> Borrow<dyn StreamKey + 'a> for Arc<Stream> {
    fn borrow(&self) -> &(dyn StreamKey + 'a) {
        &**self
    }
}

impl Hash for dyn StreamKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn StreamKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn StreamKey + '_ {}

/// One stream's pushes by sequence, in order: a sorted vector, since a stream has one or two
/// pushes at a time (a map's node would be ten times the size of one push).
#[derive(Clone, Default, Debug)]
struct Pushes(Vec<(String, Facts)>);

impl Pushes {
    fn find(&self, sequence: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|(held, _)| held.as_str().cmp(sequence))
    }

    fn get_mut(&mut self, sequence: &str) -> Option<&mut Facts> {
        self.find(sequence).ok().map(|at| &mut self.0[at].1)
    }

    fn contains_key(&self, sequence: &str) -> bool {
        self.find(sequence).is_ok()
    }

    /// Keeps `facts` for `sequence`, replacing what it had.
    fn insert(&mut self, sequence: String, facts: Facts) {
        match self.find(&sequence) {
            Ok(at) => self.0[at].1 = facts,
            Err(at) => self.0.insert(at, (sequence, facts)),
        }
    }

    /// Takes out the push at place `at` of [`iter`](Pushes::iter).
    fn remove_at(&mut self, at: usize) -> (String, Facts) {
        self.0.remove(at)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &Facts)> {
        self.0.iter().map(|(sequence, facts)| (sequence, facts))
    }

    fn values(&self) -> impl Iterator<Item = &Facts> {
        self.0.iter().map(|(_, facts)| facts)
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut Facts> {
        self.0.iter_mut().map(|(_, facts)| facts)
    }
}

impl IntoIterator for Pushes {
    type Item = (String, Facts);
    type IntoIter = std::vec::IntoIter<(String, Facts)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
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
    /// Polls of DescribeLiveStreamOnlineList in a row that did not list the stream while this
    /// push was open.
    missed: u8,
    /// When a poll found it missing for the [`MISSED_POLLS`]th time in a row: its end was
    /// not received.
    lost: Option<i64>,
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
        if let Some(lost) = other.lost {
            keep_least(&mut self.lost, lost);
        }
        self.missed = self.missed.max(other.missed);
    }

    /// When its end callback says it ended.
    fn end_time(&self) -> Option<i64> {
        self.end.as_ref().map(|end| end.time)
    }

    /// Started, not ended and not found missing by the API: on the air.
    fn is_open(&self) -> bool {
        self.start.is_some() && self.end.is_none() && self.lost.is_none()
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
    /// Started, no end callback came, and DescribeLiveStreamOnlineList stopped listing the
    /// stream ([`MISSED_POLLS`] polls in a row): it ended, when and why is unknown.
    EndNotReceived,
    /// On the air by DescribeLiveStreamOnlineList, but no start callback of it came: its
    /// `sequence` is unknown, its start is the API's publish time.
    StartNotReceived,
}

impl State {
    /// The snake_case name: `live`, `ended`, `replaced`, `end_not_received`,
    /// `start_not_received`.
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
            State::EndNotReceived => "end_not_received",
            State::StartNotReceived => "start_not_received",
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
    /// The push's `sequence`; `None` for a push known only from the API
    /// ([`State::StartNotReceived`]).
    pub sequence: Option<String>,
    /// When it started, Unix seconds: its start callback's `event_time`, or its end's less
    /// `push_duration`; `None` when neither is known.
    pub start: Option<i64>,
    /// When it ended, Unix seconds; `None` while it is live, and when its end was not
    /// received.
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
        serde_json::to_value(self).expect("a session is plain JSON")
    }
}

/// A value of a session's JSON object.
enum JsonValue<'a> {
    Text(Option<&'a str>),
    Number(Option<i64>),
}

impl serde::Serialize for JsonValue<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonValue::Text(text) => text.serialize(serializer),
            JsonValue::Number(number) => number.serialize(serializer),
        }
    }
}

impl Session {
    /// The fields of its JSON object, in order: the one list behind its `Serialize` form and
    /// [`Session::write_json`].
    fn json_fields(&self) -> [(&'static str, JsonValue<'_>); 13] {
        use JsonValue::{Number, Text};
        let interruption = self.interruption();
        [
            ("domain", Text(Some(&self.stream.domain))),
            ("app", Text(Some(&self.stream.app))),
            ("stream", Text(Some(&self.stream.stream))),
            ("sequence", Text(self.sequence.as_deref())),
            ("start", Number(self.start)),
            ("end", Number(self.end)),
            ("duration_s", Number(self.duration)),
            ("state", Text(Some(self.state.name()))),
            (
                "errcode",
                Number(interruption.map(|i| i64::from(i.errcode()))),
            ),
            (
                "category",
                Text(self.cause.as_ref().map(|c| c.category().name())),
            ),
            (
                "reason",
                Text(interruption.and_then(|i| i.reason()).map(|r| r.name())),
            ),
            ("client_ip", Text(self.client_ip.as_deref())),
            ("node", Text(self.node.as_deref())),
        ]
    }

    /// Appends the session to `out` as one compact JSON object, byte for byte what
    /// `serde_json::to_writer` writes of it, with less work (each text checked for what JSON
    /// escapes eight bytes at a time; one that needs escaping is written by serde_json
    /// itself): for a program that writes many, as `css-errcode sessions --format jsonl` does.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::StreamEvent;
    /// use tencent_css_errcode::sessions::Sessions;
    /// let end: StreamEvent = serde_json::from_str(r#"{"event_type":0,"t":0,"app":"d","appname":"live",
    ///     "stream_id":"a \"quoted\" name","sequence":"7","event_time":100,"errcode":1}"#).unwrap();
    /// let mut sessions = Sessions::new();
    /// sessions.add(&end);
    /// let session = &sessions.sessions()[0];
    /// let mut line = Vec::new();
    /// session.write_json(&mut line);
    /// assert_eq!(line, serde_json::to_vec(session).unwrap());
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.reserve(512);
        out.push(b'{');
        for (at, (name, value)) in self.json_fields().iter().enumerate() {
            if at > 0 {
                out.push(b',');
            }
            // The names are plain ASCII.
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            match value {
                JsonValue::Text(Some(text)) if !needs_escape(text) => {
                    out.push(b'"');
                    out.extend_from_slice(text.as_bytes());
                    out.push(b'"');
                }
                JsonValue::Text(None) | JsonValue::Number(None) => out.extend_from_slice(b"null"),
                value => serde_json::to_writer(&mut *out, value).expect("a Vec takes any write"),
            }
        }
        out.push(b'}');
    }
}

/// Whether JSON escapes something in `text`: a quote, a backslash or a control character.
/// Eight bytes at a time: the texts are short, too short for the compiler's vector loops.
fn needs_escape(text: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether a byte of `word` is below `n` (exact as a whole, for n up to 0x80: a borrow
    // can only spread from a byte that is below `n` already).
    let below = |word: u64, n: u64| word.wrapping_sub(n * ONES) & !word & HIGH != 0;
    let special = |word: u64| {
        below(word ^ (u64::from(b'"') * ONES), 1)
            | below(word ^ (u64::from(b'\\') * ONES), 1)
            | below(word, 0x20)
    };
    let mut words = text.as_bytes().chunks_exact(8);
    for word in &mut words {
        if special(u64::from_le_bytes(word.try_into().expect("8 bytes"))) {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b == b'"' || b == b'\\' || b < 0x20)
}

/// The object of [`Session::to_json`], written straight to a serializer.
impl serde::Serialize for Session {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let fields = self.json_fields();
        let mut object = serializer.serialize_struct("Session", fields.len())?;
        for (name, value) in &fields {
            object.serialize_field(name, value)?;
        }
        object.end()
    }
}

/// A stream on the air: at least one of its pushes has started and not ended.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct LiveStream {
    /// The stream.
    pub stream: Stream,
    /// The earliest start among its open pushes, Unix seconds (for a stream known only from
    /// the API, its earliest publish time, or the time of the poll when the API gave none).
    pub since: i64,
    /// The `sequence` of each open push (two with primary and backup), in order; empty when
    /// only DescribeLiveStreamOnlineList says the stream is on the air (its start callback
    /// never came).
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
    /// Each stream's pushes. The names are shared (with [`Streaming`]'s queue of ends).
    streams: HashMap<Arc<Stream>, Pushes, Hashing>,
    /// The streams the latest poll of DescribeLiveStreamOnlineList that covered them listed.
    online: BTreeMap<Stream, Listed>,
    /// Pushes known from DescribeLiveStreamEventList records, which carry no sequence.
    recorded: HashMap<Stream, BTreeSet<Recorded>, Hashing>,
    pushes: usize,
    limit: usize,
    dropped: u64,
}

/// What an API record says of one push: start, end, `StopReason`, client IP.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Recorded {
    start: i64,
    end: i64,
    stop_reason: String,
    client_ip: Option<String>,
}

impl Recorded {
    /// Whether a push known from callbacks that started at `start` and ended at `end` is this
    /// record's: their starts, or their ends, at most [`RECORD_WITHIN`] seconds apart.
    fn pairs_with(&self, start: Option<i64>, end: Option<i64>) -> bool {
        let near = |a: i64, b: i64| a.abs_diff(b) <= RECORD_WITHIN as u64;
        start.is_some_and(|t| near(t, self.start)) || end.is_some_and(|t| near(t, self.end))
    }

    /// The record as a push of its own.
    fn session(&self, stream: &Stream) -> Session {
        Session {
            stream: stream.clone(),
            sequence: None,
            start: Some(self.start),
            end: Some(self.end),
            duration: self.end.checked_sub(self.start),
            client_ip: self.client_ip.clone(),
            node: None,
            cause: Some(Cause::from_stop_reason(&self.stop_reason).into_owned()),
            state: State::Ended,
        }
    }
}

/// A stream a poll listed: when, and its earliest publish time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Listed {
    at: i64,
    since: i64,
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
            streams: HashMap::default(),
            online: BTreeMap::new(),
            recorded: HashMap::default(),
            pushes: 0,
            limit,
            dropped: 0,
        }
    }

    /// Takes one push start or stream end (a redelivery changes nothing).
    pub fn add(&mut self, event: &StreamEvent) {
        self.add_record(event.record());
    }

    /// Takes one push start or stream end of a callback as its [`Record`] (from
    /// [`StreamEvent::record`] or straight from a log line with
    /// [`RecordLine::parse`](crate::events::RecordLine::parse), copying nothing it already
    /// holds; what it owns is moved, not copied). A record without a `sequence` (an API
    /// record's) is not taken and gives
    /// `false`: give the API's records to [`add_api_record`](Sessions::add_api_record), which
    /// pairs them by time.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::RecordLine;
    /// use tencent_css_errcode::sessions::Sessions;
    /// let line = br#"{"event_type":1,"t":0,"app":"d","appname":"live","stream_id":"s","sequence":"7","event_time":1000}"#;
    /// let Ok(Some(RecordLine::Callback(record))) = RecordLine::parse(line) else { panic!() };
    /// let mut sessions = Sessions::new();
    /// assert!(sessions.add_record(record));
    /// assert_eq!(sessions.live()[0].sequences, ["7"]);
    /// ```
    pub fn add_record(&mut self, mut record: Record<'_>) -> bool {
        let Some(sequence) = record.sequence.take() else {
            return false;
        };
        let (domain, app, stream) = (
            std::mem::take(&mut record.domain),
            std::mem::take(&mut record.app),
            std::mem::take(&mut record.stream),
        );
        self.insert_with((domain, app, stream), sequence, || facts_of(record));
        true
    }

    /// Takes one record of DescribeLiveStreamEventList: a whole push, start to end, with its
    /// `StopReason`. A record carries no `sequence`, so it is paired by time: when a push of
    /// the same stream known from callbacks started or ended within [`RECORD_WITHIN`] seconds
    /// of the record's, they are one push and the callbacks' account is the one given (it
    /// holds the errcode); otherwise the record is a push of its own, with no sequence. A
    /// record whose times cannot be read is left out and returns `false`.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Category;
    /// use tencent_css_errcode::events::StreamEventInfo;
    /// use tencent_css_errcode::sessions::{Sessions, State};
    /// let record: StreamEventInfo = serde_json::from_str(r#"{"AppName":"live","DomainName":"d",
    ///     "StreamName":"room42","StreamStartTime":"2023-11-14T22:00:00Z",
    ///     "StreamEndTime":"2023-11-14T22:10:00Z","StopReason":"推流链路网络异常(12)","Duration":600,
    ///     "ClientIp":"198.51.100.7","Resolution":"1280*720"}"#).unwrap();
    /// let mut sessions = Sessions::new();
    /// assert!(sessions.add_api_record(&record));
    /// let push = &sessions.sessions()[0];
    /// assert_eq!((push.state, push.duration, push.sequence.as_deref()), (State::Ended, Some(600), None));
    /// assert_eq!(push.cause.as_ref().unwrap().category(), Category::Network);
    /// ```
    pub fn add_api_record(&mut self, record: &StreamEventInfo) -> bool {
        let (Ok(start), Ok(end)) = (record.start_time_unix(), record.end_time_unix()) else {
            return false;
        };
        let stream = Stream::new(
            record.domain_name.clone(),
            record.app_name.clone(),
            record.stream_name.clone(),
        );
        let recorded = Recorded {
            start,
            end,
            stop_reason: record.stop_reason.clone(),
            client_ip: record.client_address().map(str::to_owned),
        };
        self.insert_record(stream, recorded);
        true
    }

    /// Keeps one API record's push, within the limit.
    fn insert_record(&mut self, stream: Stream, recorded: Recorded) {
        let known = self
            .recorded
            .get(&stream)
            .is_some_and(|records| records.contains(&recorded));
        if !known && self.pushes >= self.limit {
            self.dropped += 1;
        } else if self.recorded.entry(stream).or_default().insert(recorded) {
            self.pushes += 1;
        }
    }

    /// What a store kept of one push (the store's `pushes` table).
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn add_push(
        &mut self,
        stream: Stream,
        sequence: String,
        start: Option<Start>,
        end: Option<End>,
        missed: u8,
        lost: Option<i64>,
    ) {
        self.insert(
            stream,
            sequence,
            Facts {
                start,
                end,
                missed,
                lost,
            },
        );
    }

    fn insert(&mut self, stream: Stream, sequence: String, facts: Facts) {
        let Stream {
            domain,
            app,
            stream,
        } = stream;
        self.insert_with(
            (domain.into(), app.into(), stream.into()),
            sequence.into(),
            || facts,
        );
    }

    /// Adds the facts `facts` makes to the push `sequence` of `stream`; the names are kept
    /// (moved when owned) only for a push new to the reducer.
    fn insert_with(
        &mut self,
        stream: (Cow<'_, str>, Cow<'_, str>, Cow<'_, str>),
        sequence: Cow<'_, str>,
        facts: impl FnOnce() -> Facts,
    ) {
        let names = (&*stream.0, &*stream.1, &*stream.2);
        let key: &dyn StreamKey = &names;
        if let Some(pushes) = self.streams.get_mut(key) {
            if let Some(old) = pushes.get_mut(&sequence) {
                old.merge(facts());
                return;
            }
            if self.pushes >= self.limit {
                self.dropped += 1;
                return;
            }
            pushes.insert(sequence.into_owned(), facts());
        } else {
            if self.pushes >= self.limit {
                self.dropped += 1;
                return;
            }
            let (domain, app, name) = stream;
            let mut pushes = Pushes::default();
            pushes.insert(sequence.into_owned(), facts());
            self.streams.insert(
                Arc::new(Stream::new(
                    domain.into_owned(),
                    app.into_owned(),
                    name.into_owned(),
                )),
                pushes,
            );
        }
        self.pushes += 1;
    }

    /// Adds what `other` knows, as if its events had been given to this reducer.
    pub fn merge(&mut self, other: Sessions) {
        self.dropped += other.dropped;
        for (stream, listed) in other.online {
            match self.online.get(&stream) {
                Some(mine) if mine.at >= listed.at => {}
                _ => {
                    self.online.insert(stream, listed);
                }
            }
        }
        for (stream, pushes) in other.streams {
            for (sequence, facts) in pushes {
                self.insert((*stream).clone(), sequence, facts);
            }
        }
        for (stream, records) in other.recorded {
            for recorded in records {
                self.insert_record(stream.clone(), recorded);
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

    /// Takes one poll of DescribeLiveStreamOnlineList, as Tencent advises using it beside the
    /// callbacks:
    ///
    /// - a stream the poll lists is on the air, even when no start callback of it came
    ///   ([`State::StartNotReceived`] while none of its pushes is open);
    /// - an open push of a stream in the poll's scope that the poll does not list is *missed*;
    ///   missed by [`MISSED_POLLS`] polls in a row, it ended with [`State::EndNotReceived`]
    ///   and no cause. A push that started less than [`ONLINE_GRACE`] seconds before the poll
    ///   is not counted missing (the API lists a push a little after it starts);
    /// - a failed or timed-out query is not a poll: do not call this, and nothing changes.
    ///
    /// A callback that comes later still counts: an end received after the push was found
    /// missing gives it its end and cause. Returns what the poll changed.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::StreamEvent;
    /// use tencent_css_errcode::sessions::{Online, Sessions, State, Stream};
    /// let start: StreamEvent = serde_json::from_str(r#"{"event_type":1,"t":0,"app":"d","appname":"live",
    ///     "stream_id":"a","sequence":"7","event_time":1000}"#).unwrap();
    /// let mut sessions = Sessions::new();
    /// sessions.add(&start);
    /// // Stream `a` is gone from the API, and `b` is on the air though its start never came.
    /// let poll = |at| Online::new(at, None, "live").stream(Stream::new("d", "live", "b"), [990]);
    /// sessions.reconcile(&poll(1_200));
    /// assert_eq!(sessions.live().len(), 2); // one miss is not enough to end `a`
    /// let changed = sessions.reconcile(&poll(1_260));
    /// assert_eq!(changed.lost, 1);
    /// let states: Vec<State> = sessions.sessions().iter().map(|s| s.state).collect();
    /// assert_eq!(states, [State::StartNotReceived, State::EndNotReceived]);
    /// ```
    pub fn reconcile(&mut self, poll: &Online) -> Reconciled {
        let mut changed = Reconciled::default();
        let listed: HashMap<&Stream, i64> = poll
            .streams
            .iter()
            .map(|(stream, since)| (stream, *since))
            .collect();
        for (stream, pushes) in &mut self.streams {
            if !poll.covers(stream) {
                continue;
            }
            let on_air = listed.contains_key(&**stream);
            for facts in pushes.values_mut().filter(|facts| facts.is_open()) {
                if on_air {
                    facts.missed = 0;
                    continue;
                }
                let started = facts.start.as_ref().map_or(i64::MIN, |s| s.time);
                if started > poll.at.saturating_sub(ONLINE_GRACE) {
                    continue;
                }
                facts.missed = facts.missed.saturating_add(1);
                changed.missed += 1;
                if facts.missed >= MISSED_POLLS {
                    facts.lost = Some(poll.at);
                    changed.lost += 1;
                }
            }
        }
        self.online.retain(|stream, _| !poll.covers(stream));
        for (stream, since) in listed {
            let open = self
                .streams
                .get(stream)
                .is_some_and(|pushes| pushes.values().any(Facts::is_open));
            if !open {
                changed.start_not_received += 1;
            }
            self.online
                .insert(stream.clone(), Listed { at: poll.at, since });
        }
        changed
    }

    /// The (domain, AppName) of each open push, each once: with [`scopes`], what to poll.
    pub fn open_scopes(&self) -> Vec<(String, String)> {
        let mut open: Vec<(String, String)> = self
            .streams
            .iter()
            .filter(|(_, pushes)| pushes.values().any(Facts::is_open))
            .map(|(stream, _)| (stream.domain.clone(), stream.app.clone()))
            .collect();
        open.sort();
        open.dedup();
        open
    }

    /// The pushes a store must write back after [`reconcile`](Sessions::reconcile): each open
    /// or lost push with its missed count and when it was found lost.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn polled(&self) -> impl Iterator<Item = (&Stream, &str, u8, Option<i64>)> {
        self.streams.iter().flat_map(|(stream, pushes)| {
            pushes
                .iter()
                .filter(|(_, facts)| facts.end.is_none())
                .map(move |(sequence, facts)| {
                    (&**stream, sequence.as_str(), facts.missed, facts.lost)
                })
        })
    }

    /// The streams listed by the polls taken, with the poll's time and the earliest publish
    /// time.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn listed(&self) -> impl Iterator<Item = (&Stream, i64, i64)> {
        self.online
            .iter()
            .map(|(stream, listed)| (stream, listed.at, listed.since))
    }

    /// A stream a store kept as listed by a poll.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn add_listed(&mut self, stream: Stream, at: i64, since: i64) {
        self.online.insert(stream, Listed { at, since });
    }

    /// The pushes known only from API records: no push of the stream known from callbacks
    /// started or ended within [`RECORD_WITHIN`] seconds of the record's.
    fn records_alone(&self) -> impl Iterator<Item = Session> + '_ {
        self.recorded.iter().flat_map(move |(stream, records)| {
            let pushes = self.streams.get(stream);
            records
                .iter()
                .filter(move |r| {
                    pushes.is_none_or(|pushes| {
                        !pushes
                            .values()
                            .any(|facts| r.pairs_with(facts.start_time(), facts.end_time()))
                    })
                })
                .map(move |r| r.session(stream))
        })
    }

    /// The streams the API lists that no open push explains: listed, none of their pushes
    /// open, and none ended since the poll (a later end callback knows better than the poll).
    fn unexplained(&self) -> impl Iterator<Item = (&Stream, &Listed)> {
        self.online.iter().filter(|(stream, listed)| {
            self.streams.get(*stream).is_none_or(|pushes| {
                !pushes.values().any(|facts| {
                    facts.is_open() || facts.end.as_ref().is_some_and(|end| end.time >= listed.at)
                })
            })
        })
    }

    /// Every push, ordered by start (unknown first), then stream and sequence.
    pub fn sessions(&self) -> Vec<Session> {
        let mut sessions: Vec<Session> = self
            .streams
            .iter()
            .flat_map(|(stream, pushes)| {
                let mut starts: Vec<(i64, u64)> = pushes
                    .iter()
                    .filter_map(|(sequence, facts)| {
                        Some((facts.start_time()?, sequence_key(sequence)))
                    })
                    .collect();
                starts.sort_unstable();
                pushes
                    .iter()
                    .map(move |(sequence, facts)| session(stream, sequence, facts, &starts))
                    .collect::<Vec<_>>()
            })
            .chain(self.records_alone())
            .chain(self.unexplained().map(|(stream, listed)| Session {
                stream: stream.clone(),
                sequence: None,
                start: Some(listed.since),
                end: None,
                duration: None,
                client_ip: None,
                node: None,
                cause: None,
                state: State::StartNotReceived,
            }))
            .collect();
        sessions.sort_by(|a, b| {
            (a.start, &a.stream, &a.sequence).cmp(&(b.start, &b.stream, &b.sequence))
        });
        sessions
    }

    /// The streams on the air now, ordered by stream: those with an open push, and those the
    /// latest poll of the API listed that no open push explains (with no sequences).
    pub fn live(&self) -> Vec<LiveStream> {
        let mut live: Vec<LiveStream> = self
            .streams
            .iter()
            .filter_map(|(stream, pushes)| {
                let open: Vec<(&String, i64)> = pushes
                    .iter()
                    .filter(|(_, facts)| facts.is_open())
                    .filter_map(|(sequence, facts)| Some((sequence, facts.start.as_ref()?.time)))
                    .collect();
                let since = open.iter().map(|(_, time)| *time).min()?;
                Some(LiveStream {
                    stream: (**stream).clone(),
                    since,
                    sequences: open.into_iter().map(|(s, _)| s.clone()).collect(),
                })
            })
            .chain(self.unexplained().map(|(stream, listed)| LiveStream {
                stream: stream.clone(),
                since: listed.since,
                sequences: Vec::new(),
            }))
            .collect();
        live.sort_by(|a, b| a.stream.cmp(&b.stream));
        live
    }
}

/// An API record and a push known from callbacks are one push when their starts, or their
/// ends, are at most this many seconds apart.
pub const RECORD_WITHIN: i64 = 5;

/// Polls in a row that must miss an open push before it counts as ended
/// ([`State::EndNotReceived`]).
pub const MISSED_POLLS: u8 = 2;

/// Seconds after its start before a push counts as missing from a poll that does not list it.
pub const ONLINE_GRACE: i64 = 60;

/// One answer of DescribeLiveStreamOnlineList: the streams on the air at `at`, among those
/// its query covered (its scope: a domain or every domain, one AppName, one stream or all).
/// [`crate::api::Client::online`] fetches one; build one by hand from another client.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Online {
    /// When the poll was taken, Unix seconds.
    pub at: i64,
    /// The query's `DomainName`: `None` for every domain.
    pub domain: Option<String>,
    /// The query's `AppName` (the API's default is `live`).
    pub app: String,
    /// The query's `StreamName`, when it asked for one stream.
    pub stream: Option<String>,
    /// Each stream listed, with its earliest publish time (Unix seconds; the poll's time when
    /// the API gave none).
    pub streams: Vec<(Stream, i64)>,
}

impl Online {
    /// A poll at `at` of `domain` (or every domain) and AppName `app`, listing nothing yet.
    pub fn new(at: i64, domain: Option<&str>, app: &str) -> Online {
        Online {
            at,
            domain: domain.map(str::to_owned),
            app: app.to_owned(),
            stream: None,
            streams: Vec::new(),
        }
    }

    /// Lists `stream`, with the publish times of its upstreams (two with primary and backup).
    pub fn stream(
        mut self,
        stream: Stream,
        publish_times: impl IntoIterator<Item = i64>,
    ) -> Online {
        let since = publish_times.into_iter().min().unwrap_or(self.at);
        self.streams.push((stream, since));
        self
    }

    /// Whether the poll's query covered `stream`: only then does its absence say anything.
    pub fn covers(&self, stream: &Stream) -> bool {
        self.domain.as_deref().is_none_or(|d| d == stream.domain)
            && self.app == stream.app
            && self.stream.as_deref().is_none_or(|s| s == stream.stream)
    }
}

/// What to poll to reconcile: DescribeLiveStreamOnlineList lists one AppName a query (`live`
/// when none is named), so each AppName in `apps` (or `live` when `apps` is empty) is polled
/// on every domain, and each (domain, AppName) of an open push whose AppName that does not
/// cover is polled too, so that every open push is in some poll's scope. Returns
/// (domain or every domain, AppName) pairs, each once.
///
/// # Example
/// ```
/// use tencent_css_errcode::sessions::scopes;
/// let open = [("d".to_owned(), "live".to_owned()), ("d".to_owned(), "edu".to_owned())];
/// assert_eq!(scopes(open, &[]), [(None, "live".to_owned()), (Some("d".to_owned()), "edu".to_owned())]);
/// ```
pub fn scopes(
    open: impl IntoIterator<Item = (String, String)>,
    apps: &[String],
) -> Vec<(Option<String>, String)> {
    let everywhere: Vec<String> = if apps.is_empty() {
        vec!["live".to_owned()]
    } else {
        apps.to_vec()
    };
    let mut scopes: Vec<(Option<String>, String)> =
        everywhere.iter().map(|app| (None, app.clone())).collect();
    let mut extra: Vec<(String, String)> = open
        .into_iter()
        .filter(|(_, app)| !everywhere.contains(app))
        .collect();
    extra.sort();
    extra.dedup();
    scopes.extend(extra.into_iter().map(|(domain, app)| (Some(domain), app)));
    scopes
}

/// What a poll changed ([`Sessions::reconcile`]).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Reconciled {
    /// Open pushes the poll did not list.
    pub missed: u64,
    /// Of those, pushes now ended as [`State::EndNotReceived`].
    pub lost: u64,
    /// Streams listed with no open push ([`State::StartNotReceived`]).
    pub start_not_received: u64,
}

/// The facts one callback's record tells, its text moved when it owns it.
fn facts_of(record: Record<'_>) -> Facts {
    let text = |field: Option<Cow<'_, str>>| field.map(Cow::into_owned);
    let mut facts = Facts::default();
    match record.kind {
        EventKind::PushStart => {
            facts.start = Some(Start {
                time: record.time,
                client_ip: text(record.client_ip),
                node: text(record.node),
            });
        }
        EventKind::StreamEnd => {
            let cause = record.cause.as_ref();
            facts.end = Some(End {
                time: record.time,
                push_duration_ms: record.push_duration_ms,
                // A callback's stream end always has one (the record is made from it).
                errcode: cause
                    .and_then(Cause::interruption)
                    .map_or(0, |i| i.errcode()),
                errmsg: record
                    .cause
                    .map(Cause::into_text)
                    .filter(|t| !t.is_empty())
                    .map(Cow::into_owned),
                client_ip: text(record.client_ip),
                node: text(record.node),
            });
        }
    }
    facts
}

/// The session of one push, given the start times of its stream's pushes, sorted.
fn session(stream: &Stream, sequence: &str, facts: &Facts, starts: &[(i64, u64)]) -> Session {
    let state = state_of(sequence_key(sequence), facts, starts);
    into_session(stream.clone(), sequence.to_owned(), facts.clone(), state)
}

/// A sequence as [`state_of`] compares it: a hash, so that a push given out is remembered
/// without its text.
fn sequence_key(sequence: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(sequence)
}

/// Where the push whose sequence has `sequence`'s key stands, with these facts, given the
/// start times of its stream's pushes (with their sequences' keys), sorted.
fn state_of(sequence: u64, facts: &Facts, starts: &[(i64, u64)]) -> State {
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
    match &facts.end {
        None if facts.lost.is_some() => State::EndNotReceived,
        None => State::Live,
        Some(end) if end.errcode == 21 && replaced(end) => State::Replaced,
        Some(_) => State::Ended,
    }
}

/// The session of one push, its facts moved into it.
fn into_session(stream: Stream, sequence: String, facts: Facts, state: State) -> Session {
    let start_time = facts.start_time();
    let Facts { start, end, .. } = facts;
    let (start_ip, start_node) = start.map_or((None, None), |s| (s.client_ip, s.node));
    let end_time = end.as_ref().map(|e| e.time);
    let (end_ip, end_node, cause) = match end {
        Some(e) => (
            e.client_ip,
            e.node,
            Some(Cause::from_errcode(e.errcode, e.errmsg.unwrap_or_default())),
        ),
        None => (None, None, None),
    };
    Session {
        stream,
        sequence: Some(sequence),
        start: start_time,
        end: end_time,
        duration: match (start_time, end_time) {
            (Some(start), Some(end)) => end.checked_sub(start),
            _ => None,
        },
        client_ip: start_ip.or(end_ip),
        node: start_node.or(end_node),
        cause,
        state,
    }
}
