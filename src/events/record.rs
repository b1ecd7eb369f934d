use core::fmt;
use std::borrow::Cow;

use super::{Cause, EventKind};

/// Where a [`Record`] came from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Source {
    /// A stream callback that Tencent POSTed ([`StreamEvent`](super::StreamEvent)).
    Callback,
    /// A DescribeLiveStreamEventList record ([`StreamEventInfo`](super::StreamEventInfo)).
    EventList,
}

/// One stream end or push start, whichever way it arrived: the normalised form that triage,
/// the deduper and a receiver work on.
///
/// Made by [`StreamEvent::record`](super::StreamEvent::record),
/// [`StreamEventInfo::record`](super::StreamEventInfo::record) and, straight from a log line
/// without copying its text, [`RecordLine::parse`](super::RecordLine::parse). Its text borrows
/// from what it was made from; [`into_owned`](Record::into_owned) keeps it longer.
///
/// # Example
/// ```
/// use tencent_css_errcode::Category;
/// use tencent_css_errcode::events::{EventKind, Source, StreamEventInfo};
///
/// let mut info = StreamEventInfo::default();
/// info.stream_name = "room42".into();
/// info.stream_end_time = "2019-01-04T11:59:58Z".into();
/// info.stop_reason = "客户端主动断流".into();
/// let record = info.record()?;
/// assert_eq!((record.kind, record.source), (EventKind::StreamEnd, Source::EventList));
/// assert_eq!(record.time, 1_546_603_198);
/// assert_eq!(record.cause.as_ref().map(|c| c.category()), Some(Category::ClientClosed));
/// # Ok::<(), tencent_css_errcode::events::TimeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Record<'a> {
    /// Stream end or push start. API records are always stream ends.
    pub kind: EventKind,
    /// Callback or API record.
    pub source: Source,
    /// The push domain (a callback's `app`, a record's `DomainName`).
    pub domain: Cow<'a, str>,
    /// The AppName, the console's "path" (`appname`, `AppName`).
    pub app: Cow<'a, str>,
    /// The StreamName (`stream_id`, `StreamName`).
    pub stream: Cow<'a, str>,
    /// When it happened, in Unix seconds: a callback's `event_time`, a record's `StreamEndTime`.
    pub time: i64,
    /// Why the push ended; `None` for a push start.
    pub cause: Option<Cause<'a>>,
    /// The same for every delivery of this event; see [`DedupeKey`].
    pub key: DedupeKey,
    /// A callback's `sequence`, the same for the start and the end of one push (what
    /// [`crate::sessions`] pairs them by); `None` for an API record, which has none.
    pub sequence: Option<Cow<'a, str>>,
    /// The pushing client's IP address (a callback's `user_ip`, a record's `ClientIp`).
    pub client_ip: Option<Cow<'a, str>>,
    /// The access node that took the push (a callback's `node`); `None` for an API record.
    pub node: Option<Cow<'a, str>>,
    /// A stream end's `push_duration`, in milliseconds; `None` for a push start and an API
    /// record.
    pub push_duration_ms: Option<u64>,
}

impl Record<'_> {
    /// The same record with its text copied, free of what it was made from.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{Record, RecordLine};
    /// let owned: Record<'static> = {
    ///     let line = String::from(r#"{"event_type":1,"t":1,"stream_id":"s","sequence":"1","event_time":1}"#);
    ///     let Ok(Some(RecordLine::Callback(record))) = RecordLine::parse(line.as_bytes()) else { panic!() };
    ///     record.into_owned()
    /// };
    /// assert_eq!(owned.stream, "s");
    /// ```
    pub fn into_owned(self) -> Record<'static> {
        Record {
            kind: self.kind,
            source: self.source,
            domain: Cow::Owned(self.domain.into_owned()),
            app: Cow::Owned(self.app.into_owned()),
            stream: Cow::Owned(self.stream.into_owned()),
            time: self.time,
            cause: self.cause.map(Cause::into_owned),
            key: self.key,
            sequence: self.sequence.map(|s| Cow::Owned(s.into_owned())),
            client_ip: self.client_ip.map(|s| Cow::Owned(s.into_owned())),
            node: self.node.map(|s| Cow::Owned(s.into_owned())),
            push_duration_ms: self.push_duration_ms,
        }
    }
}

/// Records whose text is kept together in one buffer: what a thread that parses lines hands to
/// the thread that counts them, with no allocation per record once the arena has grown to the
/// size of a block (clear it and fill it again).
///
/// # Example
/// ```
/// use tencent_css_errcode::events::{RecordArena, RecordLine};
/// let mut arena = RecordArena::default();
/// for line in [&br#"{"event_type":1,"t":1,"app":"d","stream_id":"a","sequence":"1","event_time":5}"#[..],
///              br#"{"event_type":0,"t":1,"app":"d","stream_id":"a","sequence":"1","event_time":9,"errcode":12}"#] {
///     let Ok(Some(RecordLine::Callback(record))) = RecordLine::parse(line) else { panic!() };
///     arena.push(&record);
/// }
/// // The lines are gone; the records are in the arena.
/// let records: Vec<_> = arena.iter().collect();
/// assert_eq!((records.len(), &*records[1].stream, records[1].time), (2, "a", 9));
/// assert_eq!(records[1].cause.as_ref().map(|c| c.category()), Some(tencent_css_errcode::Category::Network));
/// ```
#[derive(Clone, Default, Debug)]
pub struct RecordArena {
    text: String,
    records: Vec<Packed>,
}

/// A record with its text as ranges of the arena's buffer.
#[derive(Clone, Debug)]
struct Packed {
    kind: EventKind,
    source: Source,
    time: i64,
    key: DedupeKey,
    cause: Option<(Option<crate::Interruption>, crate::Category, Span)>,
    domain: Span,
    app: Span,
    stream: Span,
    sequence: Option<Span>,
    client_ip: Option<Span>,
    node: Option<Span>,
    push_duration_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

impl RecordArena {
    /// Copies `record` into the arena, after those it holds.
    pub fn push(&mut self, record: &Record<'_>) {
        let mut keep = |text: &str| {
            let start = self.text.len();
            self.text.push_str(text);
            Span {
                start,
                end: self.text.len(),
            }
        };
        let packed = Packed {
            kind: record.kind,
            source: record.source,
            time: record.time,
            key: record.key,
            cause: record
                .cause
                .as_ref()
                .map(|c| (c.interruption(), c.category(), keep(c.text()))),
            domain: keep(&record.domain),
            app: keep(&record.app),
            stream: keep(&record.stream),
            sequence: record.sequence.as_deref().map(&mut keep),
            client_ip: record.client_ip.as_deref().map(&mut keep),
            node: record.node.as_deref().map(&mut keep),
            push_duration_ms: record.push_duration_ms,
        };
        self.records.push(packed);
    }

    /// The records, in the order they were pushed, their text borrowed from the arena.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Record<'_>> + '_ {
        self.records.iter().map(|packed| {
            let text = |span: Span| Cow::Borrowed(&self.text[span.start..span.end]);
            Record {
                kind: packed.kind,
                source: packed.source,
                domain: text(packed.domain),
                app: text(packed.app),
                stream: text(packed.stream),
                time: packed.time,
                cause: packed.cause.map(|(interruption, category, span)| {
                    Cause::from_parts(interruption, category, text(span))
                }),
                key: packed.key,
                sequence: packed.sequence.map(text),
                client_ip: packed.client_ip.map(text),
                node: packed.node.map(text),
                push_duration_ms: packed.push_duration_ms,
            }
        })
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Forgets every record, keeping the memory for the next ones.
    pub fn clear(&mut self) {
        self.text.clear();
        self.records.clear();
    }
}

/// Identifies one event across redeliveries, for [`Deduper`](super::Deduper).
///
/// A callback's key is made of its `sequence`, `event_type` and `event_time`; an API record's of
/// its domain, AppName, StreamName, start and end time. It is a 64-bit hash of those fields, the
/// same on every platform and in every version of this crate's 0.x line, so keys from
/// different runs and receivers agree. Distinct events share a key only by a hash collision: for
/// four million distinct events the chance that any two collide is below one in two million.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::DedupeKey;
/// let key = DedupeKey::from_u64(0x1234);
/// assert_eq!(key.as_u64(), 0x1234);
/// assert_eq!(key.to_string(), "0000000000001234");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct DedupeKey(u64);

impl DedupeKey {
    /// A key from its 64-bit value, as [`as_u64`](DedupeKey::as_u64) gave it.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::DedupeKey;
    /// assert_eq!(DedupeKey::from_u64(7), DedupeKey::from_u64(7));
    /// ```
    pub const fn from_u64(value: u64) -> DedupeKey {
        DedupeKey(value)
    }

    /// The key's 64-bit value, for storing it.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::DedupeKey;
    /// assert_eq!(DedupeKey::from_u64(u64::MAX).as_u64(), u64::MAX);
    /// ```
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Hashes the fields, each prefixed by its length so that `("ab", "c")` and `("a", "bc")`
    /// differ. A multiply-xorshift hash over 8-byte words with a full-avalanche finish: fast on
    /// the short fields of an event, and stable because it is ours.
    pub(crate) fn of(fields: &[&[u8]]) -> DedupeKey {
        fields
            .iter()
            .fold(KeyHash::SEED, |hash, field| hash.field(field))
            .finish()
    }
}

/// The state of [`DedupeKey::of`]'s hash, fields taken so far.
#[derive(Clone, Copy)]
pub(crate) struct KeyHash(u64);

impl KeyHash {
    const SEED: KeyHash = KeyHash(0x243F_6A88_85A3_08D3);

    /// The state after the field `callback`, which begins every callback's key: worked out
    /// when the crate is compiled, it takes two of the ten dependent steps off each line's key.
    pub(crate) const CALLBACK: KeyHash =
        KeyHash::SEED.word(8).word(u64::from_le_bytes(*b"callback"));

    const fn word(self, word: u64) -> KeyHash {
        let h = (self.0 ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        KeyHash(h ^ (h >> 29))
    }

    /// Takes one field: its length, then its bytes eight at a time, the last word padded.
    pub(crate) fn field(self, field: &[u8]) -> KeyHash {
        let mut hash = self.word(field.len() as u64);
        let mut chunks = field.chunks_exact(8);
        for chunk in &mut chunks {
            hash = hash.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            hash = hash.word(u64::from_le_bytes(last));
        }
        hash
    }

    /// The key: the murmur3 finaliser, so that every input bit affects every output bit.
    pub(crate) fn finish(self) -> DedupeKey {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
        h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        h ^= h >> 33;
        DedupeKey(h)
    }
}

impl fmt::Display for DedupeKey {
    /// 16 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::DedupeKey;

    #[test]
    fn field_boundaries_matter() {
        assert_ne!(DedupeKey::of(&[b"ab", b"c"]), DedupeKey::of(&[b"a", b"bc"]));
        assert_ne!(DedupeKey::of(&[b"", b"x"]), DedupeKey::of(&[b"x", b""]));
        assert_ne!(
            DedupeKey::of(&[b"abcdefgh"]),
            DedupeKey::of(&[b"abcdefgh\0"])
        );
    }

    #[test]
    fn keys_are_stable() {
        // Pinned: keys are compared across runs and receivers, so the hash must not change.
        assert_eq!(
            DedupeKey::of(&[
                b"callback",
                b"6674468118806626493",
                &[0],
                &1_700_000_000i64.to_le_bytes()
            ])
            .to_string(),
            PINNED
        );
    }

    const PINNED: &str = "3943324a47f82df7";

    #[test]
    fn a_callback_key_is_its_fields_hashed() {
        // `callback_key` starts from the state after `callback`, worked out at compile time.
        for (sequence, kind, time) in [
            (
                "6674468118806626493",
                crate::events::EventKind::StreamEnd,
                1_700_000_000,
            ),
            ("", crate::events::EventKind::PushStart, -1),
            ("12345678", crate::events::EventKind::StreamEnd, i64::MAX),
        ] {
            assert_eq!(
                crate::events::callback_key(sequence, kind, time),
                DedupeKey::of(&[
                    b"callback",
                    sequence.as_bytes(),
                    &[kind.event_type()],
                    &time.to_le_bytes()
                ])
            );
        }
    }

    #[test]
    fn no_collisions_among_a_million_sequential_sequences() {
        let mut keys: Vec<u64> = (0..1_000_000u64)
            .map(|n| DedupeKey::of(&[b"callback", n.to_string().as_bytes(), &[0]]).as_u64())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 1_000_000);
    }
}
