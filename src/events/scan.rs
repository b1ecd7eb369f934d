//! A fast reader for the plain callback lines that make up nearly every log: one flat JSON
//! object whose values are strings without escapes, integers or `null`.
//!
//! It fills the same `RawStreamEvent` that serde fills, exactly as serde would fill it, and
//! gives up (`None`) on anything else: escapes, floats, booleans, nested values, a duplicate
//! field, a number serde would read as a float, malformed JSON. The caller then asks serde, so
//! a line is accepted or refused, and its fields read, the same way whichever reader ran; the
//! tests compare the two on many lines.

use std::borrow::Cow;

use super::callback::{Checked, EventKind};

/// A value the scanner reads.
enum Value<'a> {
    Str(&'a str),
    Int(i128),
    Null,
}

/// Reads `bytes` (already trimmed) as a callback object and checks it as `Checked::try_from`
/// does, or gives `None` to leave it to serde (and to serde's error messages).
///
/// Three passes do the work per byte: UTF-8 validation, a vectorised check that the line has
/// no backslash and no control character (so every `"` delimits a string), and the search for
/// the quotes, 64 bytes at a time as the walk asks for them; the walk between them touches
/// only the punctuation and the numbers (read eight digits at a time). Each value is checked
/// as it is read, into the type its field ends up as.
pub(super) fn scan(bytes: &[u8]) -> Option<Checked<'_>> {
    // serde_json refuses invalid UTF-8 anywhere in a document, so checking the whole line once
    // is the same as checking each string; slicing at quotes (ASCII) then always succeeds.
    // simdutf8 answers as `str::from_utf8` does, with the vector instructions the processor
    // has (chosen when it runs).
    let text = simdutf8::basic::from_utf8(bytes).ok()?;
    if !plain(bytes) {
        return None;
    }
    let mut quotes = Quotes::new(bytes);
    let mut fields = Fields::default();
    // Fields seen, including as `null`: serde refuses a field given twice.
    let mut seen: u32 = 0;
    let (mut b, mut at) = token(bytes, 0)?;
    if b != b'{' {
        return None;
    }
    (b, at) = token(bytes, at + 1)?;
    if b != b'}' {
        loop {
            let (field, next) = key(bytes, at, &mut quotes)?;
            (b, at) = token(bytes, next)?;
            if b != b':' {
                return None;
            }
            (b, at) = token(bytes, at + 1)?;
            let (value, next) = value(text, b, at, &mut quotes)?;
            (b, at) = token(bytes, next)?;
            if let Some(field) = field {
                let bit = 1 << field as u32;
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                fields.assign(field, value)?;
            }
            match b {
                b',' => (_, at) = token(bytes, at + 1)?,
                b'}' => break,
                _ => return None,
            }
        }
    }
    if spaces(bytes, at + 1) != bytes.len() {
        return None;
    }
    fields.check()
}

/// The callback fields read so far, each already of its final type. Text that serde would
/// copy (a number in a text field) is the only owned value.
#[derive(Default)]
struct Fields<'a> {
    event_type: Option<i128>,
    t: Option<i64>,
    appid: Option<u64>,
    event_time: Option<i64>,
    push_duration: Option<u64>,
    errcode: Option<u32>,
    set_id: Option<u32>,
    width: Option<u32>,
    height: Option<u32>,
    idc_id: Option<u64>,
    stream_id: Option<Cow<'a, str>>,
    channel_id: Option<Cow<'a, str>>,
    sequence: Option<Cow<'a, str>>,
    sign: Option<&'a str>,
    app: Option<&'a str>,
    appname: Option<&'a str>,
    node: Option<&'a str>,
    user_ip: Option<&'a str>,
    stream_param: Option<&'a str>,
    errmsg: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// Takes one value; `None` where serde would refuse it, or where only serde's reading
    /// (of a number written as a string with signs or spaces, say) can tell.
    fn assign(&mut self, field: Field, value: Value<'a>) -> Option<()> {
        match field {
            Field::EventType => self.event_type = number(value)?,
            Field::T => self.t = within(number(value)?)?,
            Field::Appid => self.appid = within(number(value)?)?,
            Field::EventTime => self.event_time = within(number(value)?)?,
            Field::PushDuration => self.push_duration = within(number(value)?)?,
            Field::Errcode => self.errcode = within(number(value)?)?,
            Field::SetId => self.set_id = within(number(value)?)?,
            Field::Width => self.width = within(number(value)?)?,
            Field::Height => self.height = within(number(value)?)?,
            Field::IdcId => self.idc_id = within(number(value)?)?,
            Field::StreamId => self.stream_id = text(value),
            Field::ChannelId => self.channel_id = text(value),
            Field::Sequence => self.sequence = text(value),
            Field::Sign => self.sign = str_field(value)?,
            Field::App => self.app = str_field(value)?,
            Field::Appname => self.appname = str_field(value)?,
            Field::Node => self.node = str_field(value)?,
            Field::UserIp => self.user_ip = str_field(value)?,
            Field::StreamParam => self.stream_param = str_field(value)?,
            Field::Errmsg => self.errmsg = str_field(value)?,
        }
        Some(())
    }

    /// The checks of `Checked::try_from` that concern the whole event: a known `event_type`,
    /// the required fields, an `errcode` on a stream end.
    /// (By reference, taking the text it owns: the fields are not copied to be checked.)
    #[inline]
    fn check(&mut self) -> Option<Checked<'a>> {
        let kind = match self.event_type? {
            0 => EventKind::StreamEnd,
            1 => EventKind::PushStart,
            _ => return None,
        };
        if kind == EventKind::StreamEnd && self.errcode.is_none() {
            return None;
        }
        Some(Checked {
            kind,
            t: self.t?,
            sign: self.sign.map(Cow::Borrowed),
            appid: self.appid,
            app: self.app.map(Cow::Borrowed),
            appname: self.appname.map(Cow::Borrowed),
            stream_id: self.stream_id.take()?,
            channel_id: self.channel_id.take(),
            event_time: self.event_time?,
            sequence: self.sequence.take()?,
            node: self.node.map(Cow::Borrowed),
            user_ip: self.user_ip.map(Cow::Borrowed),
            stream_param: self.stream_param.map(Cow::Borrowed),
            push_duration_ms: self.push_duration,
            errcode: self.errcode,
            errmsg: self.errmsg.map(Cow::Borrowed),
            set_id: self.set_id,
            width: self.width,
            height: self.height,
            idc_id: self.idc_id,
        })
    }
}

/// Whether `bytes` has no backslash and no control character. Otherwise a quote may not
/// delimit a string (and a control character is legal only as white space between tokens,
/// which callbacks do not have), so serde reads the line.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn plain(bytes: &[u8]) -> bool {
    portable::plain(bytes)
}

/// Bit `i` set when `chunk[i]` is a quote.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn quote_mask(chunk: &[u8; 64]) -> u64 {
    portable::quote_mask(chunk)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use sse2::{plain, quote_mask};

/// The byte classes with SSE2, which every x86-64 processor has, through safe_arch: 16 bytes
/// compared at once and the answers taken as a bit mask (`pmovmskb`), which no portable code
/// compiles to.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, m128i, min_u8_m128i,
        move_mask_i8_m128i, set_splat_i8_m128i,
    };

    /// The bytes of `v` that are a backslash or a control character.
    #[inline(always)]
    fn not_plain(v: m128i) -> m128i {
        // Below 0x20 exactly when the unsigned minimum with 0x1F is the byte itself.
        let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, set_splat_i8_m128i(0x1F)), v);
        bitor_m128i(
            control,
            cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'\\' as i8)),
        )
    }

    /// See `scan::plain`.
    pub(super) fn plain(bytes: &[u8]) -> bool {
        let mut chunks = bytes.chunks_exact(16);
        let mut found = set_splat_i8_m128i(0);
        for chunk in &mut chunks {
            let chunk: &[u8; 16] = chunk.try_into().expect("16 bytes");
            found = bitor_m128i(found, not_plain(load_unaligned_m128i(chunk)));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The last 16 bytes again, overlapping what was checked (a line that short: padded).
            let last = match bytes.len().checked_sub(16) {
                Some(start) => bytes[start..].try_into().expect("16 bytes"),
                None => {
                    let mut padded = [b' '; 16];
                    padded[..rest.len()].copy_from_slice(rest);
                    padded
                }
            };
            found = bitor_m128i(found, not_plain(load_unaligned_m128i(&last)));
        }
        move_mask_i8_m128i(found) == 0
    }

    /// See `scan::quote_mask`.
    #[inline(always)]
    pub(super) fn quote_mask(chunk: &[u8; 64]) -> u64 {
        let quote = set_splat_i8_m128i(b'"' as i8);
        let mut mask = 0;
        for (i, sixteen) in chunk.chunks_exact(16).enumerate() {
            let sixteen: &[u8; 16] = sixteen.try_into().expect("16 bytes");
            let found = cmp_eq_mask_i8_m128i(load_unaligned_m128i(sixteen), quote);
            mask |= u64::from(move_mask_i8_m128i(found) as u16) << (16 * i);
        }
        mask
    }
}

/// The byte classes in portable code: what other processors use, and what the tests hold the
/// SSE2 code to.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
mod portable {
    /// See `scan::plain`.
    pub(super) fn plain(bytes: &[u8]) -> bool {
        // A fold with no early exit, which the compiler turns into vector compares.
        !bytes
            .iter()
            .fold(false, |any, &b| any | (b == b'\\') | (b < 0x20))
    }

    /// See `scan::quote_mask`.
    #[inline(always)]
    pub(super) fn quote_mask(chunk: &[u8; 64]) -> u64 {
        let mut flags = [0u8; 64];
        for (flag, &b) in flags.iter_mut().zip(chunk) {
            *flag = u8::from(b == b'"');
        }
        // Eight flags of 0 or 1, the first lowest, times this constant put flag `i` at bit
        // `56 + i` with no two partial products on one bit (so no carries).
        const PACK: u64 = 0x0102_0408_1020_4080;
        let mut mask = 0;
        for (i, eight) in flags.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
            mask |= (word.wrapping_mul(PACK) >> 56) << (8 * i);
        }
        mask
    }
}

/// The positions of the quotes of a line, in order, found 64 bytes at a time as they are
/// asked for: a chunk's bytes are compared with `"` all at once and the 64 answers taken as
/// one bit mask (`quote_mask`).
struct Quotes<'a> {
    bytes: &'a [u8],
    /// Where the current chunk starts.
    base: usize,
    /// The quotes of the current chunk not yet given, one bit a byte.
    found: u64,
}

impl<'a> Quotes<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Quotes {
            bytes,
            base: 0,
            found: chunk_quotes(bytes, 0),
        }
    }
}

/// The quote mask of the 64 bytes at `base` (none past the end).
#[inline(always)]
fn chunk_quotes(bytes: &[u8], base: usize) -> u64 {
    match bytes.get(base..base + 64) {
        Some(chunk) => quote_mask(chunk.try_into().expect("64 bytes")),
        // The chunk that runs past the end of a line of 64 bytes or more: the mask of the
        // line's last 64 bytes, moved down so that its first bit is `base` (no copy).
        None => match bytes.len().checked_sub(64) {
            Some(start) if start < base => match bytes.get(start..) {
                Some(last) => quote_mask(last.try_into().expect("64 bytes")) >> (base - start),
                None => 0,
            },
            _ => {
                let rest = bytes.get(base..).unwrap_or_default();
                let mut last = [b' '; 64];
                last[..rest.len()].copy_from_slice(rest);
                quote_mask(&last)
            }
        },
    }
}

impl Iterator for Quotes<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.found == 0 {
            self.base += 64;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.found = chunk_quotes(self.bytes, self.base);
        }
        let at = self.base + self.found.trailing_zeros() as usize;
        self.found &= self.found - 1;
        Some(at)
    }
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

/// Each field's name in callbacks.
const FIELDS: [(&[u8], Field); 20] = [
    (b"event_type", Field::EventType),
    (b"t", Field::T),
    (b"sign", Field::Sign),
    (b"appid", Field::Appid),
    (b"app", Field::App),
    (b"appname", Field::Appname),
    (b"stream_id", Field::StreamId),
    (b"channel_id", Field::ChannelId),
    (b"event_time", Field::EventTime),
    (b"sequence", Field::Sequence),
    (b"node", Field::Node),
    (b"user_ip", Field::UserIp),
    (b"stream_param", Field::StreamParam),
    (b"push_duration", Field::PushDuration),
    (b"errcode", Field::Errcode),
    (b"errmsg", Field::Errmsg),
    (b"set_id", Field::SetId),
    (b"width", Field::Width),
    (b"height", Field::Height),
    (b"idc_id", Field::IdcId),
];

/// The longest name, `push_duration`.
const LONGEST_NAME: usize = 13;

/// A key of at most 16 bytes as one number: its bytes, the first lowest. Keys of different
/// lengths differ, since a key has no zero byte.
const fn name(key: &[u8]) -> u128 {
    let mut value = 0;
    let mut i = 0;
    while i < key.len() {
        value |= (key[i] as u128) << (8 * i);
        i += 1;
    }
    value
}

/// Where a name's number goes in `TABLE`: a multiplicative hash, with a multiplier chosen so
/// that no two field names share a slot (which building `TABLE` checks).
const fn slot(key: u128) -> usize {
    const MULTIPLIER: u64 = 0x63db_01fc_aa7c_314b;
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(32);
    (folded.wrapping_mul(MULTIPLIER) >> (64 - 5)) as usize
}

/// Every field by the slot of its name.
const TABLE: [(u128, Option<Field>); 32] = {
    let mut table = [(0u128, None); 32];
    let mut i = 0;
    while i < FIELDS.len() {
        let key = name(FIELDS[i].0);
        let at = slot(key);
        assert!(
            table[at].1.is_none(),
            "two field names share a slot: choose another multiplier"
        );
        table[at] = (key, Some(FIELDS[i].1));
        i += 1;
    }
    table
};

/// `KEEP[len]` keeps a key's first `len` bytes of the 16 read (a constant, not a shift of a
/// 128-bit number by a variable amount).
const KEEP: [u128; LONGEST_NAME + 1] = {
    let mut keep = [0u128; LONGEST_NAME + 1];
    let mut len = 0;
    while len <= LONGEST_NAME {
        keep[len] = (1u128 << (8 * len)) - 1;
        len += 1;
    }
    keep
};

/// The field named `bytes[start..end]`, if any: one hash, one comparison.
#[inline(always)]
fn field(bytes: &[u8], start: usize, end: usize) -> Option<Field> {
    let len = end.checked_sub(start).filter(|&len| len <= LONGEST_NAME)?;
    let word = match bytes.get(start..start + 16) {
        Some(chunk) => u128::from_le_bytes(chunk.try_into().expect("16 bytes")),
        // A key near the end of the line: its last 16 bytes, moved down to start at the key
        // (no copy); a line shorter than that is copied.
        None => match bytes.len().checked_sub(16) {
            Some(last) if last < start => match bytes.get(last..) {
                Some(chunk) => {
                    u128::from_le_bytes(chunk.try_into().expect("16 bytes")) >> (8 * (start - last))
                }
                None => return None,
            },
            _ => {
                let mut padded = [0u8; 16];
                padded[..len].copy_from_slice(bytes.get(start..end)?);
                u128::from_le_bytes(padded)
            }
        },
    };
    let key = word & KEEP[len];
    match TABLE[slot(key)] {
        (name, field) if name == key => field,
        _ => None,
    }
}

/// A numeric field's value as `Lenient::integer` reads it: `Some(None)` for `null`. A string
/// is read here only when it is plain digits (as `push_duration` always is); anything else in
/// a string gives `None`, for serde's reading.
fn number(value: Value<'_>) -> Option<Option<i128>> {
    match value {
        Value::Int(v) => Some(Some(v)),
        Value::Null => Some(None),
        Value::Str(s) => {
            // At most 18 digits: the value fits in an i64 with no check.
            if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let v = s
                .bytes()
                .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
            Some(Some(i128::from(v)))
        }
    }
}

/// The value in the field's type, or `None` when it does not fit (serde's error then).
fn within<T: TryFrom<i128>>(value: Option<i128>) -> Option<Option<T>> {
    match value {
        None => Some(None),
        Some(v) => T::try_from(v).ok().map(Some),
    }
}

/// A field serde reads as text even from a number (`sequence`, `stream_id`, `channel_id`).
#[inline(always)]
fn text(value: Value<'_>) -> Option<Cow<'_, str>> {
    match value {
        Value::Int(v) => Some(Cow::Owned(digits(v))),
        Value::Str(s) => Some(Cow::Borrowed(s)),
        Value::Null => None,
    }
}

/// A number's digits, for the rare text field written as a number (kept out of the walk).
#[cold]
#[inline(never)]
fn digits(v: i128) -> String {
    v.to_string()
}

/// A string field; `None` for a number, which serde refuses.
fn str_field(value: Value<'_>) -> Option<Option<&str>> {
    match value {
        Value::Str(s) => Some(Some(s)),
        Value::Null => Some(None),
        Value::Int(_) => None,
    }
}

/// The first byte at or after `at` that is not white space, and its index; `None` at the end.
///
/// The only white space `scan` meets is the space: `plain` let no other control character
/// through. A callback has none between its tokens, so the common case is one comparison.
#[inline(always)]
fn token(bytes: &[u8], at: usize) -> Option<(u8, usize)> {
    match *bytes.get(at)? {
        b' ' => {
            let at = spaces(bytes, at);
            Some((*bytes.get(at)?, at))
        }
        b => Some((b, at)),
    }
}

/// The index of the first byte at or after `at` that is not a space.
fn spaces(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at) == Some(&b' ') {
        at += 1;
    }
    at
}

/// The field named by the key whose opening quote is at `at` (`None` for a key of no field,
/// which is skipped; the whole line was checked as UTF-8), and the index after its closing
/// quote.
#[inline(always)]
fn key(
    bytes: &[u8],
    at: usize,
    quotes: &mut impl Iterator<Item = usize>,
) -> Option<(Option<Field>, usize)> {
    if quotes.next()? != at {
        return None;
    }
    let end = quotes.next()?;
    Some((field(bytes, at + 1, end), end + 1))
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
    // (Splits, which the compiler inlines, where `str::get` stays a call.)
    let (_, string) = text.split_at_checked(end)?.0.split_at_checked(at + 1)?;
    Some((string, end + 1))
}

/// A value at `at`, whose first byte is `first`: a plain string, an integer serde reads as
/// one, or `null`.
#[inline(always)]
fn value<'a>(
    text: &'a str,
    first: u8,
    at: usize,
    quotes: &mut impl Iterator<Item = usize>,
) -> Option<(Value<'a>, usize)> {
    let bytes = text.as_bytes();
    match first {
        b'"' => string(text, at, quotes).map(|(s, next)| (Value::Str(s), next)),
        b'n' => (bytes.get(at..at + 4)? == b"null").then_some((Value::Null, at + 4)),
        b'-' | b'0'..=b'9' => integer(bytes, at),
        _ => None,
    }
}

/// An integer as serde_json reads one: `-?(0|[1-9][0-9]*)` with no fraction or exponent, that
/// fits in `u64` (or `i64` when negative); anything else serde reads as a float, or refuses.
///
/// Up to 16 digits (every number of a callback) are found and read eight at a time;
/// longer ones one digit at a time.
#[inline(always)]
fn integer(bytes: &[u8], at: usize) -> Option<(Value<'_>, usize)> {
    let negative = bytes[at] == b'-';
    let start = at + usize::from(negative);
    let first = word_at(bytes, start);
    let n = digit_run(first);
    let (magnitude, end) = if n < 8 {
        (leading_digits(first, n), start + n)
    } else {
        let second = word_at(bytes, start + 8);
        let m = digit_run(second);
        if m == 8 {
            return long_integer(bytes, at);
        }
        let high = leading_digits(first, 8);
        (
            high * POWERS_OF_TEN[m] + leading_digits(second, m),
            start + 8 + m,
        )
    };
    let len = end - start;
    if len == 0 || (bytes[start] == b'0' && len > 1) {
        return None;
    }
    if matches!(bytes.get(end), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    signed(negative, magnitude).map(|value| (value, end))
}

/// `10^n` for the digits of a second word (`10u64.pow` is a loop).
const POWERS_OF_TEN: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// The eight bytes at `at`, as a little-endian word; zero bytes (not digits) stand in past
/// the end.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(chunk) => u64::from_le_bytes(chunk.try_into().expect("8 bytes")),
        // Near the end of the line: its last eight bytes, moved down to start at `at` (no
        // copy); a line shorter than that is copied.
        None => match bytes.len().checked_sub(8) {
            Some(last) if last < at => match bytes.get(last..) {
                Some(chunk) if at - last < 8 => {
                    u64::from_le_bytes(chunk.try_into().expect("8 bytes")) >> (8 * (at - last))
                }
                _ => 0,
            },
            _ => {
                let rest = bytes.get(at..).unwrap_or_default();
                let mut last = [0; 8];
                last[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(last)
            }
        },
    }
}

const ZEROS: u64 = u64::from_ne_bytes([b'0'; 8]);

/// How many of the word's bytes, from its first, are ASCII digits (0 to 8).
///
/// A byte is a digit when its high nibble is 3, and still is after adding 6 (which carries
/// `:` to `?` into 4). The word comes from valid UTF-8, which has no byte above 0xF4, so no
/// addition carries out of a byte.
#[inline(always)]
fn digit_run(word: u64) -> usize {
    const HIGH_NIBBLES: u64 = u64::from_ne_bytes([0xF0; 8]);
    const THREES: u64 = u64::from_ne_bytes([0x30; 8]);
    const SIXES: u64 = u64::from_ne_bytes([0x06; 8]);
    const LOW7: u64 = u64::from_ne_bytes([0x7F; 8]);
    let off =
        ((word & HIGH_NIBBLES) ^ THREES) | ((word.wrapping_add(SIXES) & HIGH_NIBBLES) ^ THREES);
    // The high bit of each byte of `off` that is not zero.
    let not_digits = (((off & LOW7).wrapping_add(LOW7)) | off) & !LOW7;
    not_digits.trailing_zeros() as usize / 8
}

/// The value of the first `n` bytes of `word`, all digits.
#[inline(always)]
fn leading_digits(word: u64, n: usize) -> u64 {
    if n == 0 {
        return 0;
    }
    // Digit values, moved to the top so that the bytes below are leading zeros; the bytes
    // after the digits (and any borrow into them) are shifted out.
    let mut v = word.wrapping_sub(ZEROS) << (8 * (8 - n));
    // Pairs, then fours, then all eight: the first digit is the lowest byte.
    v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    (v.wrapping_mul(10_000) + (v >> 32)) & 0xFFFF_FFFF
}

/// The value with its sign, as serde_json reads it: `-0`, and what overflows `i64`, are
/// floats there.
fn signed(negative: bool, magnitude: u64) -> Option<Value<'static>> {
    if !negative {
        return Some(Value::Int(i128::from(magnitude)));
    }
    if magnitude == 0 || magnitude > i64::MAX as u64 + 1 {
        return None;
    }
    Some(Value::Int(-i128::from(magnitude)))
}

/// `integer` for more than 16 digits.
fn long_integer(bytes: &[u8], at: usize) -> Option<(Value<'_>, usize)> {
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
    signed(negative, magnitude).map(|value| (value, end))
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
    /// The scanner only takes lines it reads exactly as serde does (it refuses nothing: what
    /// it does not take goes to serde).
    fn both(line: &str) -> (Result<StreamEvent, String>, Option<StreamEvent>) {
        let serde = serde_json::from_str::<StreamEvent>(line).map_err(|e| e.to_string());
        let scanned = scan(line.as_bytes()).map(Checked::into_event);
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
            if let Some(scanned) = scanned {
                assert_eq!(serde, Ok(scanned), "{line}");
            }
        }
    }

    /// The names of the fields serde reads into `RawStreamEvent`, as its derive hands them to
    /// `deserialize_struct`.
    fn serde_field_names() -> &'static [&'static str] {
        use serde::de::{Error as _, Visitor, value::Error};
        struct Capture(Option<&'static [&'static str]>);
        impl<'de> serde::Deserializer<'de> for &mut Capture {
            type Error = Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
                Err(Error::custom("only a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Error> {
                self.0 = Some(fields);
                Err(Error::custom("captured"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
                identifier ignored_any
            }
        }
        let mut capture = Capture(None);
        let _ = <super::super::callback::RawStreamEvent<'_> as serde::Deserialize>::deserialize(
            &mut capture,
        );
        capture.0.expect("RawStreamEvent deserializes as a struct")
    }

    #[test]
    fn quotes_are_found_at_every_position_of_every_chunk() {
        // Lines of every length around the 64-byte chunks, with quotes at chosen places
        // (first and last byte of a chunk, two in a row, none at all).
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for len in 0..300 {
            for _ in 0..20 {
                let line: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        if state % 5 == 0 {
                            b'"'
                        } else {
                            b'a' + (state % 26) as u8
                        }
                    })
                    .collect();
                let expected: Vec<usize> = (0..len).filter(|&i| line[i] == b'"').collect();
                assert_eq!(
                    super::Quotes::new(&line).collect::<Vec<_>>(),
                    expected,
                    "{line:?}"
                );
            }
            let all = vec![b'"'; len];
            assert_eq!(super::Quotes::new(&all).count(), len);
        }
    }

    #[test]
    fn the_scanner_knows_exactly_the_fields_serde_reads() {
        let mut scanned: Vec<&str> = super::FIELDS
            .iter()
            .map(|(name, _)| std::str::from_utf8(name).unwrap())
            .collect();
        let mut read: Vec<&str> = serde_field_names().to_vec();
        scanned.sort_unstable();
        read.sort_unstable();
        assert_eq!(
            scanned, read,
            "scan.rs FIELDS and callback.rs RawStreamEvent drifted"
        );
        let longest = super::FIELDS.iter().map(|(name, _)| name.len()).max();
        assert_eq!(longest, Some(super::LONGEST_NAME));
    }

    /// A callback-like line from parts: each field present or not, in any order, with a value
    /// from a small grammar of what could confuse a reader. The keys are the scanner's own
    /// (which the test above holds to serde's), and two it must not take for one of them.
    fn line() -> impl Strategy<Value = String> {
        let mut names: Vec<&'static str> = super::FIELDS
            .iter()
            .map(|(name, _)| std::str::from_utf8(name).unwrap())
            .collect();
        names.extend(["unknown", "Errcode"]);
        let keys = prop::sample::select(names);
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

    /// Bytes that the byte classes tell apart, and others: quotes, backslashes, control
    /// characters, the bytes at the edges of each class, and bytes past ASCII.
    fn class_bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            Just(b'"'),
            Just(b'\\'),
            Just(0x1F_u8),
            Just(0x20_u8),
            Just(b'a'),
            0u8..0x20,
            0x80u8..=0xFF,
            any::<u8>(),
        ];
        proptest::collection::vec(byte, len)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]
        // The processor's byte classes (SSE2 on x86-64) answer as the portable code does;
        // shown to fail with the control-character bound off by one, and with the masks of a
        // chunk put together in the wrong order.
        #[test]
        fn the_byte_classes_agree_with_the_portable_code(bytes in class_bytes(0..200)) {
            prop_assert_eq!(super::plain(&bytes), super::portable::plain(&bytes));
            let mut chunk = [b' '; 64];
            let n = bytes.len().min(64);
            chunk[..n].copy_from_slice(&bytes[..n]);
            prop_assert_eq!(super::quote_mask(&chunk), super::portable::quote_mask(&chunk));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn scan_reads_what_serde_reads(line in prop_oneof![line(), mostly_valid()]) {
            let (serde, scanned) = both(&line);
            // A receiver's `Callback::parse` (scanner first) reads every valid event as serde does.
            if let Ok(event) = &serde {
                prop_assert_eq!(
                    crate::events::Callback::parse(line.as_bytes()),
                    Ok(crate::events::Callback::Stream(event.clone())),
                    "{}",
                    line
                );
            }
            // And whatever stream event it reads, serde reads (the fuzz target's other half).
            if let Ok(crate::events::Callback::Stream(event)) =
                crate::events::Callback::parse(line.as_bytes())
            {
                prop_assert_eq!(&serde, &Ok(event), "{}", line);
            }
            // Taken by the scanner: serde must accept it with the same values.
            if let Some(scanned) = scanned {
                prop_assert_eq!(serde, Ok(scanned), "{}", line);
            }
        }
    }

    #[test]
    fn every_field_is_found_by_its_name_and_only_by_it() {
        use super::{FIELDS, field};
        for (name, expected) in FIELDS {
            let line = [b"\"", name, b"\":1"].concat();
            assert_eq!(
                field(&line, 1, 1 + name.len()).map(|f| f as u32),
                Some(expected as u32),
                "{}",
                String::from_utf8_lossy(name)
            );
            // At the very end of a line, and followed by more text.
            assert!(field(name, 0, name.len()).is_some());
            for other in [&name[..name.len() - 1], &[name, b"x"].concat()[..]] {
                if !FIELDS.iter().any(|(n, _)| *n == other) {
                    let padded = [other, b"\":\"long enough to read past\""].concat();
                    assert!(field(&padded, 0, other.len()).is_none());
                }
            }
        }
        assert!(field(b"Errcode", 0, 7).is_none());
        assert!(field(b"", 0, 0).is_none());
    }

    #[test]
    fn integers_of_every_length_read_as_serde_reads_them() {
        let mut texts = vec![
            "0".to_owned(),
            "-0".to_owned(),
            "00".to_owned(),
            "-".to_owned(),
            "1.5".to_owned(),
            "2e3".to_owned(),
            "18446744073709551615".to_owned(),
            "18446744073709551616".to_owned(),
            "-9223372036854775808".to_owned(),
            "-9223372036854775809".to_owned(),
            "123456789012345678901".to_owned(),
        ];
        for len in 1..=20 {
            let digits: String = "98765432109876543210".chars().take(len).collect();
            texts.push(format!("-{digits}"));
            texts.push(digits.clone());
            texts.push(digits.replace('9', "1"));
        }
        for text in &texts {
            // The number last on the line (no bytes after it to read past) and in the middle.
            for line in [
                format!(
                    r#"{{"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":1,"idc_id":{text}}}"#
                ),
                format!(
                    r#"{{"idc_id":{text},"event_type":0,"t":1,"stream_id":"s","sequence":"1","event_time":1,"errcode":1}}"#
                ),
            ] {
                let expected: Option<serde_json::Value> = serde_json::from_str(&line)
                    .ok()
                    .and_then(|v: serde_json::Value| v.get("idc_id").cloned())
                    .filter(|v| v.is_i64() || v.is_u64());
                let at = line.find(r#""idc_id":"#).unwrap() + r#""idc_id":"#.len();
                let read = super::integer(line.as_bytes(), at);
                let read = read.map(|(value, _)| match value {
                    super::Value::Int(v) => v,
                    _ => unreachable!(),
                });
                let expected = expected.map(|v| {
                    v.as_i64()
                        .map(i128::from)
                        .or(v.as_u64().map(i128::from))
                        .unwrap()
                });
                assert_eq!(read, expected, "{line}");
            }
        }
    }

    #[test]
    fn what_the_scanner_reads_and_what_it_leaves_to_serde() {
        let line = |extra: &str| {
            format!(
                r#"{{"event_type":0,"t":1700000700,"stream_id":"room1","event_time":1700000100,"errcode":12,{extra}}}"#
            )
        };
        // Read by the scanner, exactly as serde reads them.
        for extra in [
            r#""sequence":"100""#,
            r#""sequence":100,"push_duration":"61000""#,
            r#""sequence":"1","errmsg":"推流中断","app":"d.example.com","appname":"live""#,
            r#""sequence":"1","width":null,"height":0,"appid":1250000000,"idc_id":45"#,
            r#""sequence":"1","node":"203.0.113.1","user_ip":"198.51.100.2","sign":"ab""#,
            r#""sequence":"1","set_id":"3","stream_param":"txSecret=x&txTime=6553F100""#,
            r#""sequence":"1","future_field":"x","push_duration":"000""#,
        ] {
            let line = line(extra);
            let (serde, scanned) = both(&line);
            assert!(scanned.is_some(), "{line}");
            assert_eq!(serde.ok(), scanned, "{line}");
        }
        // Left to serde: what needs its reading, and what it refuses.
        for extra in [
            r#""sequence":"1","push_duration":" 61000""#,
            r#""sequence":"1","push_duration":"+61000""#,
            r#""sequence":"1","push_duration":"1234567890123456789""#,
            r#""sequence":"1","errmsg":"a"b""#,
            r#""sequence":"1","width":1.0"#,
            r#""sequence":"1","errcode":13"#,
            r#""sequence":"1","t":"soon""#,
            r#""sequence":"1","app":5"#,
            r#""sequence":"1","set_id":-1"#,
            r#""sequence":null"#,
            r#""sequence":"1","unknown":[1]"#,
        ] {
            let line = line(extra);
            assert!(scan(line.as_bytes()).is_none(), "{line}");
        }
    }

    #[test]
    fn invalid_utf8_goes_to_serde_which_refuses_it() {
        let line = |text: &[u8]| {
            [
                &br#"{"event_type":0,"t":1,"stream_id":""#[..],
                text,
                br#"","sequence":"1","event_time":1,"errcode":1}"#,
            ]
            .concat()
        };
        // A lone continuation byte, an overlong NUL, a surrogate, a character cut short, a
        // byte never valid; then a line long enough for the vector path, with one at its end.
        let long_tail = [&[b'a'; 200][..], b"\xe6\x97"].concat();
        for bad in [
            &b"\x80"[..],
            b"\xc0\x80",
            b"\xed\xa0\x80",
            b"\xe6\x97",
            b"\xff",
            &long_tail,
        ] {
            let bytes = line(bad);
            assert!(scan(&bytes).is_none(), "{bytes:?}");
            assert!(serde_json::from_slice::<StreamEvent>(&bytes).is_err());
        }
        let good = line("直播".as_bytes());
        assert_eq!(
            scan(&good).map(Checked::into_event),
            serde_json::from_slice::<StreamEvent>(&good).ok()
        );
    }

    #[test]
    fn plain_lines_are_read_by_the_scanner() {
        // Most generated lines must not fall back to serde, or the fast path is not used.
        let line = r#"{"event_type":0,"t":1700000700,"app":"d.example.com","appname":"live","stream_id":"room1","sequence":"100","event_time":1700000100,"push_duration":"61000","errcode":12,"errmsg":"x"}"#;
        let (serde, scanned) = both(line);
        assert!(scanned.is_some());
        assert_eq!(serde.ok(), scanned);
    }
}
