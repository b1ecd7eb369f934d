use core::time::Duration;
use std::borrow::Cow;

use super::lenient::{BadField, Lenient, Str};
use super::record::KeyHash;
use super::{Cause, DedupeKey, Record, Source};
use crate::{Interruption, decode};

/// Which stream event a callback reports: its `event_type`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub enum EventKind {
    /// `event_type` 0: the push ended. Carries an `errcode`.
    StreamEnd,
    /// `event_type` 1: a push started.
    PushStart,
}

impl EventKind {
    /// The `event_type` number: 0 or 1.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::events::EventKind::StreamEnd.event_type(), 0);
    /// ```
    pub const fn event_type(self) -> u8 {
        match self {
            EventKind::StreamEnd => 0,
            EventKind::PushStart => 1,
        }
    }
}

/// A push-start or stream-end callback, as Tencent POSTs it (JSON).
///
/// Tolerant where real payloads vary: numbers may arrive as strings (`push_duration` always
/// does), `idc_id`, `width`, `height` and other optional fields may be missing, and unknown
/// fields are ignored. Strict where a wrong value would mislead: `event_type` must be 0 or 1, and
/// a stream-end event must carry a non-negative integer `errcode`. Errors name the field and
/// the value ([`EventError`]).
///
/// The fields are the payload's, under its own names. Check [`verify`](StreamEvent::verify)
/// before trusting any of them.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::{EventKind, StreamEvent};
///
/// let event: StreamEvent = serde_json::from_str(r#"{
///     "event_type": 0, "t": 1700000600, "sign": "…", "app": "push.example.com",
///     "appname": "live", "stream_id": "room42", "event_time": 1700000000,
///     "sequence": "6674468118806626493", "push_duration": "61000", "errcode": "18"
/// }"#)?;
/// assert_eq!(event.kind, EventKind::StreamEnd);
/// assert_eq!(event.errcode, Some(18));
/// assert_eq!(event.interruption().map(|i| i.category().name()), Some("refused"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct StreamEvent {
    /// `event_type`: stream end (0) or push start (1).
    pub kind: EventKind,
    /// `t`: when the signature expires, in Unix seconds (10 minutes after sending by default).
    pub t: i64,
    /// `sign`: lowercase hex `MD5(callback_key + t)`; see [`verify`](StreamEvent::verify).
    pub sign: Option<String>,
    /// `appid`: the account's APPID.
    pub appid: Option<u64>,
    /// `app`: the push domain.
    pub app: String,
    /// `appname`: the push URL's AppName (the console's "path").
    pub appname: String,
    /// `stream_id`: the StreamName.
    pub stream_id: String,
    /// `channel_id`: the same as `stream_id`.
    pub channel_id: Option<String>,
    /// `event_time`: when the event happened, in Unix seconds.
    pub event_time: i64,
    /// `sequence`: identifies one push session; the start and end events of a push share it.
    pub sequence: String,
    /// `node`: the IP address of the access point that took the push.
    pub node: Option<String>,
    /// `user_ip`: the pushing client's IP address.
    pub user_ip: Option<String>,
    /// `stream_param`: the push URL's query string.
    pub stream_param: Option<String>,
    /// `push_duration` in milliseconds (stream-end events only).
    pub push_duration_ms: Option<u64>,
    /// `errcode`: why the push ended. Always present on a stream-end event.
    pub errcode: Option<u32>,
    /// `errmsg`: free text; its wording has changed over the years, so do not match on it.
    pub errmsg: Option<String>,
    /// `set_id`: 1-6 inside the Chinese mainland, 7-200 outside.
    pub set_id: Option<u32>,
    /// `width` of the video, 0 or absent when unknown.
    pub width: Option<u32>,
    /// `height` of the video, 0 or absent when unknown.
    pub height: Option<u32>,
    /// `idc_id`: undocumented, present in newer payloads.
    pub idc_id: Option<u64>,
}

/// A callback body that is JSON but not a valid stream event.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// `event_type` is neither 0 (stream end) nor 1 (push start).
    #[error("unsupported event_type {0}: stream events are 0 (stream end) and 1 (push start)")]
    UnsupportedEventType(String),
    /// A field the event cannot do without is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field holds a value of the wrong kind or range.
    #[error("field `{field}` is {value}: expected {expected}")]
    InvalidField {
        /// The field's name in the payload.
        field: &'static str,
        /// The value as received.
        value: String,
        /// What the field must hold.
        expected: &'static str,
    },
}

impl From<BadField> for EventError {
    fn from(bad: BadField) -> Self {
        EventError::InvalidField {
            field: bad.field,
            value: bad.value,
            expected: bad.expected,
        }
    }
}

impl StreamEvent {
    /// The decoded interruption of a stream-end event: `decode(errcode, 0)`, since callbacks
    /// carry no sub-code. `None` for a push-start event.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Category, events::StreamEvent};
    /// let event: StreamEvent = serde_json::from_str(r#"{"event_type":0,"t":1,"stream_id":"s",
    ///     "sequence":"1","event_time":1,"errcode":21}"#).unwrap();
    /// assert_eq!(event.interruption().unwrap().category(), Category::Requested);
    /// ```
    pub fn interruption(&self) -> Option<Interruption> {
        match self.kind {
            EventKind::StreamEnd => self.errcode.map(|errcode| decode(errcode, 0)),
            EventKind::PushStart => None,
        }
    }

    /// How long the push lasted (stream-end events).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::StreamEvent;
    /// let event: StreamEvent = serde_json::from_str(r#"{"event_type":0,"t":1,"stream_id":"s",
    ///     "sequence":"1","event_time":1,"errcode":1,"push_duration":"1500"}"#).unwrap();
    /// assert_eq!(event.push_duration(), Some(core::time::Duration::from_millis(1500)));
    /// ```
    pub fn push_duration(&self) -> Option<Duration> {
        self.push_duration_ms.map(Duration::from_millis)
    }

    /// When the event happened, in Unix seconds.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::StreamEvent;
    /// let event: StreamEvent = serde_json::from_str(r#"{"event_type":1,"t":9,"stream_id":"s",
    ///     "sequence":"1","event_time":"1700000000"}"#).unwrap();
    /// assert_eq!(event.event_time_unix(), 1_700_000_000);
    /// ```
    pub fn event_time_unix(&self) -> i64 {
        self.event_time
    }

    /// When the signature expires (`t`), in Unix seconds.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::StreamEvent;
    /// let event: StreamEvent = serde_json::from_str(r#"{"event_type":1,"t":9,"stream_id":"s",
    ///     "sequence":"1","event_time":1}"#).unwrap();
    /// assert_eq!(event.expires_at_unix(), 9);
    /// ```
    pub fn expires_at_unix(&self) -> i64 {
        self.t
    }

    /// The key shared by every redelivery of this event: its `sequence`, `event_type` and
    /// `event_time` (Tencent retries a delivery up to 12 times).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::StreamEvent;
    /// let parse = |text: &str| serde_json::from_str::<StreamEvent>(text).unwrap();
    /// let first = parse(r#"{"event_type":0,"t":9,"stream_id":"s","sequence":"66","event_time":5,"errcode":1}"#);
    /// // A redelivery has a new `t` and `sign`, but the same key.
    /// let again = parse(r#"{"event_type":0,"t":70,"stream_id":"s","sequence":"66","event_time":5,"errcode":1}"#);
    /// assert_eq!(first.dedupe_key(), again.dedupe_key());
    /// ```
    pub fn dedupe_key(&self) -> DedupeKey {
        callback_key(&self.sequence, self.kind, self.event_time)
    }

    /// This event as a [`Record`], the form triage and the deduper work on.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Category, events::StreamEvent};
    /// let event: StreamEvent = serde_json::from_str(r#"{"event_type":0,"t":9,"app":"d.example.com",
    ///     "appname":"live","stream_id":"s","sequence":"66","event_time":5,"errcode":12}"#).unwrap();
    /// let record = event.record();
    /// assert_eq!((&*record.domain, record.time), ("d.example.com", 5));
    /// assert_eq!(record.cause.map(|c| c.category()), Some(Category::Network));
    /// ```
    pub fn record(&self) -> Record<'_> {
        fn text(field: &Option<String>) -> Option<Cow<'_, str>> {
            field.as_deref().map(Cow::Borrowed)
        }
        callback_record(
            self.kind,
            Cow::Borrowed(&self.app),
            Cow::Borrowed(&self.appname),
            Cow::Borrowed(&self.stream_id),
            self.event_time,
            Cow::Borrowed(&self.sequence),
            self.errcode,
            text(&self.errmsg),
            Peer {
                client_ip: text(&self.user_ip),
                node: text(&self.node),
                push_duration_ms: self.push_duration_ms,
            },
        )
    }
}

/// Any callback Tencent POSTs to a receiver: a stream event, which this crate reads whole, or
/// another kind (recording, snapshot, push error, …) with only what checking its signature
/// needs, so that a receiver can acknowledge it without keeping it.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::Callback;
/// let body = br#"{"event_type":100,"t":1700000600,"sign":"x","video_url":"https://x"}"#;
/// let Ok(Callback::Other(other)) = Callback::parse(body) else { panic!() };
/// assert_eq!((other.event_type, other.t), (100, 1_700_000_600));
/// assert!(Callback::parse(br#"{"event_type":0}"#).is_err()); // a stream end without its fields
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // stream events are the common case
pub enum Callback {
    /// A push start or stream end.
    Stream(StreamEvent),
    /// A callback of another `event_type`.
    Other(OtherCallback),
}

/// A callback of a kind other than push start and stream end: its type and signature fields.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct OtherCallback {
    /// `event_type`.
    pub event_type: i64,
    /// `t`: when the signature expires, Unix seconds.
    pub t: i64,
    /// `sign`.
    pub sign: Option<String>,
}

impl Callback {
    /// Reads a callback body (a leading byte order mark and surrounding white space ignored).
    /// A body whose integer `event_type` is neither 0 nor 1 is [`Callback::Other`] when its `t`
    /// is readable; anything else must be a valid [`StreamEvent`].
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::Callback;
    /// let body = br#"{"event_type":1,"t":9,"stream_id":"s","sequence":"1","event_time":1}"#;
    /// assert!(matches!(Callback::parse(body), Ok(Callback::Stream(_))));
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Callback, super::LineError> {
        let invalid = |reason: String| super::LineError::Invalid(reason);
        let bytes = super::line::trimmed(bytes);
        // A plain stream event, the common case, is read by the line scanner, exactly as serde
        // would read it; anything else (another kind, escapes, an error to word) by serde.
        if let Some(checked) = super::scan::scan(bytes) {
            return Ok(Callback::Stream(checked.into_event()));
        }
        let raw: RawStreamEvent<'_> =
            serde_json::from_slice(bytes).map_err(|e| invalid(super::line::clean(&e)))?;
        match raw.event_type.as_ref().and_then(Lenient::integer) {
            Some(kind) if kind != 0 && kind != 1 => {
                let t = required(raw.t, "t")
                    .and_then(|t| Ok(t.to("t", "Unix seconds")?))
                    .map_err(|e| invalid(e.to_string()))?;
                Ok(Callback::Other(OtherCallback {
                    event_type: i64::try_from(kind)
                        .map_err(|_| invalid(format!("event_type {kind} is out of range")))?,
                    t,
                    sign: raw.sign.map(|s| s.0.into_owned()),
                }))
            }
            _ => Checked::try_from(raw)
                .map(|checked| Callback::Stream(checked.into_event()))
                .map_err(|e| invalid(e.to_string())),
        }
    }
}

/// The payload as received, its text borrowed from the body where it can be, as serde reads
/// it. (`scan` reads the plain lines straight into a `Checked`, exactly as this and
/// `Checked::try_from` would.)
#[derive(serde::Deserialize)]
pub(super) struct RawStreamEvent<'a> {
    #[serde(borrow)]
    pub(super) event_type: Option<Lenient<'a>>,
    #[serde(borrow)]
    pub(super) t: Option<Lenient<'a>>,
    #[serde(borrow)]
    pub(super) sign: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) appid: Option<Lenient<'a>>,
    #[serde(borrow)]
    pub(super) app: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) appname: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) stream_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) channel_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) event_time: Option<Lenient<'a>>,
    #[serde(borrow)]
    pub(super) sequence: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) node: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) user_ip: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) stream_param: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) push_duration: Option<Lenient<'a>>,
    #[serde(borrow)]
    pub(super) errcode: Option<Lenient<'a>>,
    #[serde(borrow)]
    pub(super) errmsg: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) set_id: Option<Lenient<'a>>,
    #[serde(borrow)]
    pub(super) width: Option<Lenient<'a>>,
    #[serde(borrow)]
    pub(super) height: Option<Lenient<'a>>,
    #[serde(borrow)]
    pub(super) idc_id: Option<Lenient<'a>>,
}

/// A string field that some senders write as a number (`sequence`, `stream_id`).
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Text(match Lenient::deserialize(deserializer)? {
            Lenient::Text(text) => text,
            number => Cow::Owned(number.to_string()),
        }))
    }
}

fn required<T>(value: Option<T>, field: &'static str) -> Result<T, EventError> {
    value.ok_or(EventError::MissingField(field))
}

fn optional<T: TryFrom<i128>>(
    value: Option<Lenient<'_>>,
    field: &'static str,
    expected: &'static str,
) -> Result<Option<T>, EventError> {
    Ok(value.map(|v| v.to(field, expected)).transpose()?)
}

/// A callback checked field by field, its text still borrowed: what both [`StreamEvent`] (which
/// copies it) and [`Record`] (which borrows it) are made from, so they accept the same bodies.
pub(crate) struct Checked<'a> {
    pub(super) kind: EventKind,
    pub(super) t: i64,
    pub(super) sign: Option<Cow<'a, str>>,
    pub(super) appid: Option<u64>,
    pub(super) app: Option<Cow<'a, str>>,
    pub(super) appname: Option<Cow<'a, str>>,
    pub(super) stream_id: Cow<'a, str>,
    pub(super) channel_id: Option<Cow<'a, str>>,
    pub(super) event_time: i64,
    pub(super) sequence: Cow<'a, str>,
    pub(super) node: Option<Cow<'a, str>>,
    pub(super) user_ip: Option<Cow<'a, str>>,
    pub(super) stream_param: Option<Cow<'a, str>>,
    pub(super) push_duration_ms: Option<u64>,
    pub(super) errcode: Option<u32>,
    pub(super) errmsg: Option<Cow<'a, str>>,
    pub(super) set_id: Option<u32>,
    pub(super) width: Option<u32>,
    pub(super) height: Option<u32>,
    pub(super) idc_id: Option<u64>,
}

impl<'a> TryFrom<RawStreamEvent<'a>> for Checked<'a> {
    type Error = EventError;

    fn try_from(raw: RawStreamEvent<'a>) -> Result<Self, EventError> {
        let event_type = required(raw.event_type, "event_type")?;
        let kind = match event_type.integer() {
            Some(0) => EventKind::StreamEnd,
            Some(1) => EventKind::PushStart,
            _ => return Err(EventError::UnsupportedEventType(event_type.to_string())),
        };
        let errcode = optional(raw.errcode, "errcode", "a non-negative integer errcode")?;
        if kind == EventKind::StreamEnd && errcode.is_none() {
            return Err(EventError::MissingField("errcode"));
        }
        Ok(Checked {
            kind,
            t: required(raw.t, "t")?.to("t", "Unix seconds")?,
            sign: raw.sign.map(|s| s.0),
            appid: optional(raw.appid, "appid", "a non-negative integer")?,
            app: raw.app.map(|s| s.0),
            appname: raw.appname.map(|s| s.0),
            stream_id: required(raw.stream_id, "stream_id")?.0,
            channel_id: raw.channel_id.map(|c| c.0),
            event_time: required(raw.event_time, "event_time")?.to("event_time", "Unix seconds")?,
            sequence: required(raw.sequence, "sequence")?.0,
            node: raw.node.map(|s| s.0),
            user_ip: raw.user_ip.map(|s| s.0),
            stream_param: raw.stream_param.map(|s| s.0),
            push_duration_ms: optional(
                raw.push_duration,
                "push_duration",
                "a non-negative number of milliseconds",
            )?,
            errcode,
            errmsg: raw.errmsg.map(|s| s.0),
            set_id: optional(raw.set_id, "set_id", "a non-negative integer")?,
            width: optional(raw.width, "width", "a non-negative integer")?,
            height: optional(raw.height, "height", "a non-negative integer")?,
            idc_id: optional(raw.idc_id, "idc_id", "a non-negative integer")?,
        })
    }
}

impl Checked<'_> {
    /// The owned event.
    pub(crate) fn into_event(self) -> StreamEvent {
        let owned = |text: Option<Cow<'_, str>>| text.map(Cow::into_owned);
        StreamEvent {
            kind: self.kind,
            t: self.t,
            sign: owned(self.sign),
            appid: self.appid,
            app: self.app.map(Cow::into_owned).unwrap_or_default(),
            appname: self.appname.map(Cow::into_owned).unwrap_or_default(),
            stream_id: self.stream_id.into_owned(),
            channel_id: owned(self.channel_id),
            event_time: self.event_time,
            sequence: self.sequence.into_owned(),
            node: owned(self.node),
            user_ip: owned(self.user_ip),
            stream_param: owned(self.stream_param),
            push_duration_ms: self.push_duration_ms,
            errcode: self.errcode,
            errmsg: owned(self.errmsg),
            set_id: self.set_id,
            width: self.width,
            height: self.height,
            idc_id: self.idc_id,
        }
    }
}

impl<'a> Checked<'a> {
    /// The record, borrowing what the body lent.
    #[inline]
    pub(crate) fn into_record(self) -> Record<'a> {
        callback_record(
            self.kind,
            self.app.unwrap_or(Cow::Borrowed("")),
            self.appname.unwrap_or(Cow::Borrowed("")),
            self.stream_id,
            self.event_time,
            self.sequence,
            self.errcode,
            self.errmsg,
            Peer {
                client_ip: self.user_ip,
                node: self.node,
                push_duration_ms: self.push_duration_ms,
            },
        )
    }
}

/// What a callback's record says of the client and the push beyond the event itself.
struct Peer<'a> {
    client_ip: Option<Cow<'a, str>>,
    node: Option<Cow<'a, str>>,
    push_duration_ms: Option<u64>,
}

/// The one way a callback becomes a [`Record`], from an owned event or a borrowed line alike.
#[allow(clippy::too_many_arguments)]
#[inline]
fn callback_record<'a>(
    kind: EventKind,
    domain: Cow<'a, str>,
    app: Cow<'a, str>,
    stream: Cow<'a, str>,
    time: i64,
    sequence: Cow<'a, str>,
    errcode: Option<u32>,
    errmsg: Option<Cow<'a, str>>,
    peer: Peer<'a>,
) -> Record<'a> {
    let key = callback_key(&sequence, kind, time);
    let cause = match kind {
        EventKind::StreamEnd => {
            errcode.map(|e| Cause::from_errcode(e, errmsg.unwrap_or(Cow::Borrowed(""))))
        }
        EventKind::PushStart => None,
    };
    Record {
        kind,
        source: Source::Callback,
        domain,
        app,
        stream,
        time,
        cause,
        key,
        sequence: Some(sequence),
        client_ip: peer.client_ip,
        node: peer.node,
        push_duration_ms: match kind {
            EventKind::StreamEnd => peer.push_duration_ms,
            EventKind::PushStart => None,
        },
    }
}

/// A callback's dedupe key: its `sequence`, `event_type` and `event_time`.
pub(crate) fn callback_key(sequence: &str, kind: EventKind, event_time: i64) -> DedupeKey {
    // `DedupeKey::of(&[b"callback", sequence, &[event_type], &event_time.to_le_bytes()])`.
    KeyHash::CALLBACK
        .field(sequence.as_bytes())
        .field(&[kind.event_type()])
        .field(&event_time.to_le_bytes())
        .finish()
}

impl<'de> serde::Deserialize<'de> for Checked<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawStreamEvent::deserialize(deserializer)?;
        Checked::try_from(raw).map_err(serde::de::Error::custom)
    }
}

impl<'de> serde::Deserialize<'de> for StreamEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Checked::deserialize(deserializer).map(Checked::into_event)
    }
}
