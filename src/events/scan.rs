//! A fast reader for the plain callback lines that make up nearly every log: one flat JSON
//! object whose values are strings without escapes, integers or `null`.
//!
//! It fills the same `RawStreamEvent` that serde fills, exactly as serde would fill it, and
//! gives up (`None`) on anything else: escapes, floats, booleans, nested values, a duplicate
//! field, a number serde would read as a float, malformed JSON. The caller then asks serde, so
//! a line is accepted or refused, and its fields read, the same way whichever reader ran; the
//! tests compare the two on many lines.

use std::borrow::Cow;

use super::callback::{RawStreamEvent, Text};
use super::lenient::{Lenient, Str};

/// A value the scanner reads.
enum Value<'a> {
    Str(&'a str),
    Int(i128),
    Null,
}

/// Reads `bytes` (already trimmed) as a callback object, or `None` to leave it to serde.
///
/// Three vectorised passes do the work per byte: UTF-8 validation, a check that the line has
/// no backslash and no control character (so every `"` delimits a string), and the search for
/// the quotes; the walk between them touches only the punctuation and the numbers.
pub(super) fn scan(bytes: &[u8]) -> Option<RawStreamEvent<'_>> {
    // serde_json refuses invalid UTF-8 anywhere in a document, so checking the whole line once
    // is the same as checking each string; slicing at quotes (ASCII) then always succeeds.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut positions = [0u32; MAX_QUOTES];
    let count = quote_positions(bytes, &mut positions)?;
    let mut quotes = positions[..count].iter().map(|&p| p as usize);
    let mut raw = RawStreamEvent::default();
    // Fields seen, including as `null`: serde refuses a field given twice.
    let mut seen: u32 = 0;
    let mut at = whitespace(bytes, 0);
    if *bytes.get(at)? != b'{' {
        return None;
    }
    at = whitespace(bytes, at + 1);
    if *bytes.get(at)? == b'}' {
        at += 1;
    } else {
        loop {
            let (key, next) = string(text, at, &mut quotes)?;
            at = whitespace(bytes, next);
            if *bytes.get(at)? != b':' {
                return None;
            }
            at = whitespace(bytes, at + 1);
            let (value, next) = value(text, at, &mut quotes)?;
            at = whitespace(bytes, next);
            if let Some(field) = field(key) {
                let bit = 1 << field as u32;
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                assign(&mut raw, field, value)?;
            }
            match *bytes.get(at)? {
                b',' => at = whitespace(bytes, at + 1),
                b'}' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (whitespace(bytes, at) == bytes.len()).then_some(raw)
}

/// Quotes a callback line may have: two per key and per string value, with room to spare.
const MAX_QUOTES: usize = 128;

/// The positions of the quotes in `bytes`, or `None` if there are more than `MAX_QUOTES`, the
/// line is longer than `u32` positions, or it has a backslash or a control character: then a
/// quote may not delimit a string (and a control character is legal only as white space
/// between tokens, which callbacks do not have), so serde reads the line.
///
/// Eight bytes at a time: a byte equal to `c` is a zero byte of `word ^ [c; 8]`, a byte below
/// 0x20 a zero byte of `word & [0xE0; 8]`, and the exact zero-byte test marks them.
fn quote_positions(bytes: &[u8], out: &mut [u32; MAX_QUOTES]) -> Option<usize> {
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    const HIGH3: u64 = u64::from_ne_bytes([0xE0; 8]);
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // High bit of each byte set exactly where that byte of `x` is zero.
    let zero_bytes = |x: u64| !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7);
    u32::try_from(bytes.len()).ok()?;
    let mut count = 0;
    let mut record = |base: usize, word: u64, valid: u64| -> Option<()> {
        if (zero_bytes(word ^ BACKSLASHES) | zero_bytes(word & HIGH3)) & valid != 0 {
            return None;
        }
        let mut zero = zero_bytes(word ^ QUOTES);
        while zero != 0 {
            *out.get_mut(count)? = (base + zero.trailing_zeros() as usize / 8) as u32;
            count += 1;
            zero &= zero - 1;
        }
        Some(())
    };
    let mut chunks = bytes.chunks_exact(8);
    for (i, chunk) in (&mut chunks).enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        record(i * 8, word, u64::MAX)?;
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    // Only the bytes of `rest` count: the padding's zeros are not control characters.
    let valid = u64::MAX
        .checked_shr(64 - 8 * rest.len() as u32)
        .unwrap_or(0);
    record(bytes.len() - rest.len(), u64::from_le_bytes(last), valid)?;
    Some(count)
}

/// The callback fields, numbered for the bit set of fields seen.
#[derive(Clone, Copy)]
enum Field {
    EventType,
    T,
    Sign,
    Appid,
    App,
    Appname,
    StreamId,
    ChannelId,
    EventTime,
    Sequence,
    Node,
    UserIp,
    StreamParam,
    PushDuration,
    Errcode,
    Errmsg,
    SetId,
    Width,
    Height,
    IdcId,
}

/// A key's field (a `match` on strings compiles to a comparison by length, then bytes).
fn field(key: &str) -> Option<Field> {
    Some(match key {
        "event_type" => Field::EventType,
        "t" => Field::T,
        "sign" => Field::Sign,
        "appid" => Field::Appid,
        "app" => Field::App,
        "appname" => Field::Appname,
        "stream_id" => Field::StreamId,
        "channel_id" => Field::ChannelId,
        "event_time" => Field::EventTime,
        "sequence" => Field::Sequence,
        "node" => Field::Node,
        "user_ip" => Field::UserIp,
        "stream_param" => Field::StreamParam,
        "push_duration" => Field::PushDuration,
        "errcode" => Field::Errcode,
        "errmsg" => Field::Errmsg,
        "set_id" => Field::SetId,
        "width" => Field::Width,
        "height" => Field::Height,
        "idc_id" => Field::IdcId,
        _ => return None,
    })
}

fn lenient(value: Value<'_>) -> Option<Lenient<'_>> {
    match value {
        Value::Int(v) => Some(Lenient::Int(v)),
        Value::Str(s) => Some(Lenient::Text(Cow::Borrowed(s))),
        Value::Null => None,
    }
}

fn text(value: Value<'_>) -> Option<Text<'_>> {
    match value {
        Value::Int(v) => Some(Text(Cow::Owned(v.to_string()))),
        Value::Str(s) => Some(Text(Cow::Borrowed(s))),
        Value::Null => None,
    }
}

/// A string field; `Err` for a number, which serde refuses (the caller gives up).
fn str_field(value: Value<'_>) -> Result<Option<Str<'_>>, ()> {
    match value {
        Value::Str(s) => Ok(Some(Str(Cow::Borrowed(s)))),
        Value::Null => Ok(None),
        Value::Int(_) => Err(()),
    }
}

fn assign<'a>(raw: &mut RawStreamEvent<'a>, field: Field, value: Value<'a>) -> Option<()> {
    match field {
        Field::EventType => raw.event_type = lenient(value),
        Field::T => raw.t = lenient(value),
        Field::Appid => raw.appid = lenient(value),
        Field::EventTime => raw.event_time = lenient(value),
        Field::PushDuration => raw.push_duration = lenient(value),
        Field::Errcode => raw.errcode = lenient(value),
        Field::SetId => raw.set_id = lenient(value),
        Field::Width => raw.width = lenient(value),
        Field::Height => raw.height = lenient(value),
        Field::IdcId => raw.idc_id = lenient(value),
        Field::StreamId => raw.stream_id = text(value),
        Field::ChannelId => raw.channel_id = text(value),
        Field::Sequence => raw.sequence = text(value),
        Field::Sign => raw.sign = str_field(value).ok()?,
        Field::App => raw.app = str_field(value).ok()?,
        Field::Appname => raw.appname = str_field(value).ok()?,
        Field::Node => raw.node = str_field(value).ok()?,
        Field::UserIp => raw.user_ip = str_field(value).ok()?,
        Field::StreamParam => raw.stream_param = str_field(value).ok()?,
        Field::Errmsg => raw.errmsg = str_field(value).ok()?,
    }
    Some(())
}

/// The index of the first byte at or after `at` that is not JSON white space.
fn whitespace(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The string whose opening quote is at `at`, and the index after its closing quote. With no
/// backslash in the line, the next two quotes are its delimiters.
#[inline(always)]
fn string<'a>(
    text: &'a str,
    at: usize,
    quotes: &mut impl Iterator<Item = usize>,
) -> Option<(&'a str, usize)> {
    if quotes.next()? != at {
        return None;
    }
    let end = quotes.next()?;
    Some((text.get(at + 1..end)?, end + 1))
}

/// A value at `at`: a plain string, an integer serde reads as one, or `null`.
#[inline(always)]
fn value<'a>(
    text: &'a str,
    at: usize,
    quotes: &mut impl Iterator<Item = usize>,
) -> Option<(Value<'a>, usize)> {
    let bytes = text.as_bytes();
    match *bytes.get(at)? {
        b'"' => string(text, at, quotes).map(|(s, next)| (Value::Str(s), next)),
        b'n' => (bytes.get(at..at + 4)? == b"null").then_some((Value::Null, at + 4)),
        b'-' | b'0'..=b'9' => integer(bytes, at),
        _ => None,
    }
}

/// An integer as serde_json reads one: `-?(0|[1-9][0-9]*)` with no fraction or exponent, that
/// fits in `u64` (or `i64` when negative); anything else serde reads as a float, or refuses.
#[inline(always)]
fn integer(bytes: &[u8], at: usize) -> Option<(Value<'_>, usize)> {
    let negative = bytes[at] == b'-';
    let digits_start = at + usize::from(negative);
    let mut end = digits_start;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    let digits = &bytes[digits_start..end];
    if digits.is_empty() || (digits[0] == b'0' && digits.len() > 1) || digits.len() > 20 {
        return None;
    }
    if matches!(bytes.get(end), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    // Up to 19 digits cannot overflow a u64; only the 20-digit case needs checking.
    let magnitude = if digits.len() < 20 {
        digits
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'))
    } else {
        digits.iter().try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })?
    };
    let value = if negative {
        // serde_json reads `-0`, and what overflows `i64`, as floats.
        if magnitude == 0 || magnitude > i64::MAX as u64 + 1 {
            return None;
        }
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    Some((Value::Int(value), end))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::scan;
    use crate::events::StreamEvent;
    use crate::events::callback::Checked;

    #[test]
    fn a_plain_callback_is_scanned() {
        let line = br#"{"t":1700000603,"sign":"57ef","event_type":1,"appid":1250000000,"app":"push7.example.com","appname":"game","stream_id":"room1872","channel_id":"room1872","event_time":1700000003,"sequence":"1910607418205583989","node":"203.0.113.175","set_id":3,"width":1920,"height":1080,"idc_id":45}"#;
        assert!(scan(line).is_some());
    }

    /// What serde makes of a line, and what the scanner makes of it when it reads it at all.
    fn both(
        line: &str,
    ) -> (
        Result<StreamEvent, String>,
        Option<Result<StreamEvent, String>>,
    ) {
        let serde = serde_json::from_str::<StreamEvent>(line).map_err(|e| e.to_string());
        let scanned = scan(line.as_bytes()).map(|raw| {
            Checked::try_from(raw)
                .map(Checked::into_event)
                .map_err(|e| e.to_string())
        });
        (serde, scanned)
    }

    #[test]
    fn edge_cases_read_alike_or_go_to_serde() {
        for line in [
            r#"{}"#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":-0}"#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":18446744073709551615}"#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":18446744073709551616}"#,
            r#"{"event_type":0,"t":-9223372036854775808,"stream_id":"s","sequence":1,"event_time":1,"errcode":1}"#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":1,"errcode":2}"#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":null,"errcode":2}"#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":1,"x":1,"x":2}"#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":1,"app":5}"#,
            r#"{"event_type":0,"t":1,"stream_id":"sA","sequence":"1","event_time":1,"errcode":1}"#,
            r#"{"event_type":0,"t":1,"stream_id":"直播","sequence":"1","event_time":1,"errcode":01}"#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":1.0}"#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":1,}"#,
            r#" { "event_type" : 0 , "t" : 1 , "stream_id" : "s" , "sequence" : "1" , "event_time" : 1 , "errcode" : 1 } "#,
            r#"{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":1} x"#,
            r#"{"event_type":"1","t":"1","stream_id":7,"sequence":"1","event_time":"  5 ","push_duration":"61000"}"#,
        ] {
            let (serde, scanned) = both(line);
            if let Some(Ok(scanned)) = scanned {
                assert_eq!(serde, Ok(scanned), "{line}");
            }
        }
    }

    /// A callback-like line from parts: each field present or not, in any order, with a value
    /// from a small grammar of what could confuse a reader.
    fn line() -> impl Strategy<Value = String> {
        let keys = prop::sample::select(vec![
            "event_type",
            "t",
            "sign",
            "appid",
            "app",
            "appname",
            "stream_id",
            "channel_id",
            "event_time",
            "sequence",
            "node",
            "user_ip",
            "stream_param",
            "push_duration",
            "errcode",
            "errmsg",
            "set_id",
            "width",
            "height",
            "idc_id",
            "unknown",
            "Errcode",
        ]);
        let values = prop::sample::select(VALUES.to_vec());
        let spaces = prop::sample::select(vec!["", " ", "  "]);
        prop::collection::vec((keys, values, spaces), 0..6).prop_map(|fields| {
            let body: Vec<String> = fields
                .iter()
                .map(|(k, v, s)| format!("{s}\"{k}\"{s}:{s}{v}{s}"))
                .collect();
            format!("{{{}}}", body.join(","))
        })
    }

    /// The values of `line()`'s grammar.
    const VALUES: [&str; 25] = [
        "0",
        "1",
        "7",
        "-1",
        "-0",
        "18",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1.5",
        "1e3",
        "01",
        "null",
        "true",
        "\"\"",
        "\"12\"",
        "\" 12 \"",
        "\"x\"",
        "\"a\\u0041\"",
        "\"直播\"",
        "[]",
        "{}",
        "\"-3\"",
    ];

    /// Every field a stream end needs, each with a value of the grammar (often valid), then the
    /// fields of `line()` (an `extra` of `{}` adds none).
    fn mostly_valid() -> impl Strategy<Value = String> {
        let value = || prop::sample::select(VALUES.to_vec());
        let event_type = prop::sample::select(vec!["0", "1", "\"0\"", "2"]);
        (event_type, value(), value(), value(), value(), value(), line()).prop_map(
            |(kind, t, stream, time, sequence, errcode, extra)| {
                let base = format!(
                    r#""event_type":{kind},"t":{t},"stream_id":{stream},"event_time":{time},"sequence":{sequence},"errcode":{errcode}"#
                );
                match extra.as_str() {
                    "{}" => format!("{{{base}}}"),
                    _ => format!("{{{base},{}", &extra[1..]),
                }
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn scan_reads_what_serde_reads(line in prop_oneof![line(), mostly_valid()]) {
            let (serde, scanned) = both(&line);
            match scanned {
                // Read and accepted: serde must accept it with the same values.
                Some(Ok(scanned)) => prop_assert_eq!(serde, Ok(scanned), "{}", line),
                // Read but refused by the shared checks: serde must refuse it too.
                Some(Err(_)) => prop_assert!(serde.is_err(), "{}", line),
                None => {}
            }
        }
    }

    #[test]
    fn plain_lines_are_read_by_the_scanner() {
        // Most generated lines must not fall back to serde, or the fast path is not used.
        let line = r#"{"event_type":0,"t":1700000700,"app":"d.example.com","appname":"live","stream_id":"room1","sequence":"100","event_time":1700000100,"push_duration":"61000","errcode":12,"errmsg":"x"}"#;
        let (serde, scanned) = both(line);
        assert_eq!(Some(serde), scanned);
    }
}
