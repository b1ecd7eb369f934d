use crate::events::{DedupeKey, EventKind, StreamEvent, callback_key};
use crate::{Interruption, decode};

/// One accepted stream callback as a store keeps it: the body as received (on one line), when
/// it was received, and the fields that queries and the dedupe key need.
///
/// Two deliveries of one event (Tencent's retries) have the same
/// [`sequence`](Row::sequence), [`kind`](Row::kind) and [`event_time`](Row::event_time): that
/// triple is what a store keeps once (the same fields as
/// [`DedupeKey`](crate::events::DedupeKey), compared exactly rather than hashed).
///
/// # Example
/// ```
/// use tencent_css_errcode::events::{Callback, EventKind};
/// use tencent_css_errcode::receiver::Row;
///
/// let body = b"{\"event_type\":0,\"t\":9,\"app\":\"d.example.com\",\"appname\":\"live\",\n\
///     \"stream_id\":\"s\",\"sequence\":\"66\",\"event_time\":5,\"errcode\":12}";
/// let Ok(Callback::Stream(event)) = Callback::parse(body) else { panic!() };
/// let row = Row::new(&event, body, 1_700_000_000);
/// assert_eq!((row.kind, row.errcode, &*row.stream), (EventKind::StreamEnd, Some(12), "s"));
/// assert!(!row.body.contains('\n'), "kept on one line");
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Row {
    /// When the receiver got it, in Unix seconds.
    pub received: i64,
    /// Push start or stream end.
    pub kind: EventKind,
    /// The push domain (`app`).
    pub domain: String,
    /// The AppName (`appname`).
    pub app: String,
    /// The StreamName (`stream_id`).
    pub stream: String,
    /// `sequence`: the same for the start and the end of one push.
    pub sequence: String,
    /// `event_time`, in Unix seconds.
    pub event_time: i64,
    /// `errcode` of a stream end.
    pub errcode: Option<u32>,
    /// `errmsg` of a stream end.
    pub errmsg: Option<String>,
    /// `push_duration` of a stream end, in milliseconds.
    pub push_duration_ms: Option<u64>,
    /// `user_ip`: the pushing client's address.
    pub client_ip: Option<String>,
    /// `node`: the access point that took the push.
    pub node: Option<String>,
    /// The body as received, as one line of JSON (see [`Row::new`]).
    pub body: String,
}

impl Row {
    /// The row for a parsed `event` whose body was `body`, received at `received`.
    ///
    /// The body is kept as received when it is one line already (numbers stay numbers,
    /// strings stay strings, field order is kept); a body spread over several lines is
    /// written compactly, so that an export is JSON lines. A byte order mark and surrounding
    /// white space are dropped.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::Callback;
    /// use tencent_css_errcode::receiver::Row;
    /// let body = br#"  {"event_type":1,"t":9,"stream_id":"s","sequence":"1","event_time":1}  "#;
    /// let Ok(Callback::Stream(event)) = Callback::parse(body) else { panic!() };
    /// assert_eq!(Row::new(&event, body, 0).body.as_bytes(), body.trim_ascii());
    /// ```
    pub fn new(event: &StreamEvent, body: &[u8], received: i64) -> Row {
        Row {
            received,
            kind: event.kind,
            domain: event.app.clone(),
            app: event.appname.clone(),
            stream: event.stream_id.clone(),
            sequence: event.sequence.clone(),
            event_time: event.event_time,
            errcode: event.errcode,
            errmsg: event.errmsg.clone(),
            push_duration_ms: event.push_duration_ms,
            client_ip: event.user_ip.clone(),
            node: event.node.clone(),
            body: one_line(body),
        }
    }

    /// The event's [`DedupeKey`]: the same as its callback's
    /// ([`StreamEvent::dedupe_key`]), for a [`Deduper`](crate::events::Deduper) in memory.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::Callback;
    /// use tencent_css_errcode::receiver::Row;
    /// let body = br#"{"event_type":1,"t":9,"stream_id":"s","sequence":"1","event_time":1}"#;
    /// let Ok(Callback::Stream(event)) = Callback::parse(body) else { panic!() };
    /// assert_eq!(Row::new(&event, body, 0).dedupe_key(), event.dedupe_key());
    /// ```
    pub fn dedupe_key(&self) -> DedupeKey {
        callback_key(&self.sequence, self.kind, self.event_time)
    }

    /// The decoded interruption of a stream end (`decode(errcode, 0)`); `None` for a start.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Category;
    /// use tencent_css_errcode::events::Callback;
    /// use tencent_css_errcode::receiver::Row;
    /// let body = br#"{"event_type":0,"t":9,"stream_id":"s","sequence":"1","event_time":1,"errcode":1}"#;
    /// let Ok(Callback::Stream(event)) = Callback::parse(body) else { panic!() };
    /// let row = Row::new(&event, body, 0);
    /// assert_eq!(row.interruption().map(|i| i.category()), Some(Category::ClientClosed));
    /// ```
    pub fn interruption(&self) -> Option<Interruption> {
        match self.kind {
            EventKind::StreamEnd => self.errcode.map(|e| decode(e, 0)),
            EventKind::PushStart => None,
        }
    }
}

/// The body as one line: as received when it is one already, else the same JSON compacted.
fn one_line(body: &[u8]) -> String {
    let body = crate::events::trimmed(body);
    if !body.contains(&b'\n') && !body.contains(&b'\r') {
        if let Ok(text) = core::str::from_utf8(body) {
            return text.to_owned();
        }
    }
    // A parsed callback is JSON, so this only fails for invalid UTF-8 inside strings, which
    // serde_json's reader refuses anyway; keep the text readable rather than lose the row.
    serde_json::from_slice::<serde_json::Value>(body)
        .map(|value| value.to_string())
        .unwrap_or_else(|_| {
            String::from_utf8_lossy(body)
                .chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
                .collect()
        })
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_body_on_several_lines_is_compacted_and_one_line_is_kept_as_is() {
        assert_eq!(
            one_line(b"{\"a\": 1,\n \"b\": \"x\"}\r\n"),
            r#"{"a":1,"b":"x"}"#
        );
        assert_eq!(one_line(b"\xEF\xBB\xBF {\"a\": \"1\"} "), r#"{"a": "1"}"#);
    }
}
