use std::io;

use super::callback::Checked;
use super::event_list::{ApiResponse, parse_api_response};
use super::scan;
use super::{EventListResponse, Record, StreamEvent, StreamEventInfo};

/// One line of a JSON-lines event log, told apart by its content.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::Line;
///
/// let line = Line::parse(br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r-1"}}"#)?;
/// let Some(Line::ApiError(error)) = line else { panic!("an API error") };
/// assert_eq!(error.code, "AuthFailure.SignatureFailure");
/// assert_eq!(Line::parse(b"  \r\n")?, None);
/// # Ok::<(), tencent_css_errcode::events::LineError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
// Most lines are callbacks: boxing the large variant would cost an allocation on every line.
#[allow(clippy::large_enum_variant)]
pub enum Line {
    /// A stream callback body.
    Callback(StreamEvent),
    /// A DescribeLiveStreamEventList response page, or one of its records alone on the line
    /// (as a page of one).
    Page(EventListResponse),
    /// A cloud API error response: data, not a malformed line; the records it would have held are missing.
    ApiError(ApiError),
}

/// An error answer of the cloud API: `{"Response":{"Error":{"Code":…,"Message":…},"RequestId":…}}`.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::ApiError;
/// let error = ApiError { code: "InternalError".into(), message: "busy".into(), request_id: None };
/// assert_eq!(error.to_string(), "the API answered InternalError: busy");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[error("the API answered {code}: {message}{}", request_id.as_deref().map(|r| format!(" (RequestId {r})")).unwrap_or_default())]
pub struct ApiError {
    /// `Code`, such as `AuthFailure.SignatureFailure`.
    pub code: String,
    /// `Message`: free text, which Tencent says may change.
    pub message: String,
    /// `RequestId`, when the answer has one.
    pub request_id: Option<String>,
}

/// Why a line is not a callback, a response page or an API error.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Longer than the reader's limit; its bytes were skipped, not kept.
    #[error("line too long: {len} bytes, more than the limit of {limit}")]
    TooLong {
        /// The line's length in bytes, without its newline.
        len: u64,
        /// The limit it passed.
        limit: usize,
    },
    /// Not JSON, or JSON that is neither a callback nor a cloud API response. The text is the
    /// parser's, without its position inside the one-line document, plus the column.
    #[error("{0}")]
    Invalid(String),
}

impl Line {
    /// Parses one line (its newline, a trailing `\r`, surrounding white space and a leading
    /// UTF-8 byte order mark are ignored). `Ok(None)` for a blank line.
    ///
    /// A line with `Response`, `EventList` or `Error` at the top level is read as a cloud API
    /// response, anything else as a callback, whose error is reported.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::Line;
    /// let bom = b"\xEF\xBB\xBF{\"event_type\":1,\"t\":1,\"stream_id\":\"s\",\"sequence\":\"1\",\"event_time\":1}";
    /// assert!(matches!(Line::parse(bom), Ok(Some(Line::Callback(_)))));
    /// let err = Line::parse(b"{\"event_type\":0}").unwrap_err();
    /// assert_eq!(err.to_string(), "missing field `errcode`");
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Option<Line>, LineError> {
        Ok(
            classify(bytes, Checked::into_event)?.map(|line| match line {
                Classified::Callback(event) => Line::Callback(event),
                Classified::Page(page) => Line::Page(page),
                Classified::ApiError(error) => Line::ApiError(error),
            }),
        )
    }
}

/// A log line as [`Record`]s, its text borrowed from the line: the view for counting many lines
/// fast. It accepts and refuses exactly the lines [`Line::parse`] does, with the same errors;
/// [`Line`] keeps a callback's whole payload (to verify its signature, say), this keeps only
/// what a record holds.
///
/// # Example
/// ```
/// use std::borrow::Cow;
/// use tencent_css_errcode::events::RecordLine;
///
/// let line = br#"{"event_type":0,"t":1,"app":"d.example.com","appname":"live","stream_id":"s","sequence":"9","event_time":5,"errcode":12}"#;
/// let Ok(Some(RecordLine::Callback(record))) = RecordLine::parse(line) else { panic!() };
/// assert!(matches!(record.domain, Cow::Borrowed("d.example.com")));
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum RecordLine<'a> {
    /// A stream callback, as its record.
    Callback(Record<'a>),
    /// A DescribeLiveStreamEventList response page, or one of its records alone on the line;
    /// each event gives a record.
    Page(EventListResponse),
    /// A cloud API error response.
    ApiError(ApiError),
}

impl<'a> RecordLine<'a> {
    /// Parses one line as [`Line::parse`] does. `Ok(None)` for a blank line.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::RecordLine;
    /// assert_eq!(RecordLine::parse(b"\n"), Ok(None));
    /// assert!(RecordLine::parse(b"{}").is_err());
    /// ```
    pub fn parse(bytes: &'a [u8]) -> Result<Option<RecordLine<'a>>, LineError> {
        Ok(
            classify(bytes, Checked::into_record)?.map(|line| match line {
                Classified::Callback(record) => RecordLine::Callback(record),
                Classified::Page(page) => RecordLine::Page(page),
                Classified::ApiError(error) => RecordLine::ApiError(error),
            }),
        )
    }
}

/// What a line is: the one classifier behind [`Line`] and [`RecordLine`], which turn a checked
/// callback into what they hold (`T`) as soon as it is read, so that it is not moved around.
// As for `Line`: callbacks are the common case, and are not boxed.
#[allow(clippy::large_enum_variant)]
enum Classified<T> {
    Callback(T),
    Page(EventListResponse),
    ApiError(ApiError),
}

fn classify<'a, T>(
    bytes: &'a [u8],
    callback: impl FnOnce(Checked<'a>) -> T,
) -> Result<Option<Classified<T>>, LineError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let bytes = bytes.trim_ascii();
    if bytes.is_empty() {
        return Ok(None);
    }
    // The plain lines that make up nearly every log are read by `scan`; anything it does not
    // read, or that fails a check (for the error's wording and position), goes to serde.
    if let Some(event) = scan::scan(bytes) {
        return Ok(Some(Classified::Callback(callback(event))));
    }
    match serde_json::from_slice::<Checked<'_>>(bytes) {
        Ok(event) => Ok(Some(Classified::Callback(callback(event)))),
        Err(callback_error) => {
            if !mentions_api_field(bytes) {
                if !mentions(bytes, b"\"StreamEndTime\"") {
                    return Err(LineError::Invalid(clean(&callback_error)));
                }
                // One DescribeLiveStreamEventList record alone on its line (what
                // `css-errcode records --format jsonl` writes): a page of one.
                return match serde_json::from_slice::<StreamEventInfo>(bytes) {
                    Ok(record) => Ok(Some(Classified::Page(EventListResponse::of(vec![record])))),
                    Err(error) => Err(LineError::Invalid(clean(&error))),
                };
            }
            match parse_api_response(bytes) {
                Ok(ApiResponse::Page(page)) => Ok(Some(Classified::Page(page))),
                Ok(ApiResponse::Error(error)) => Ok(Some(Classified::ApiError(error))),
                Err(error) => Err(LineError::Invalid(clean(&error))),
            }
        }
    }
}

fn mentions_api_field(bytes: &[u8]) -> bool {
    [&b"\"Response\""[..], b"\"EventList\"", b"\"Error\""]
        .iter()
        .any(|needle| mentions(bytes, needle))
}

fn mentions(bytes: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(bytes, needle).is_some()
}

/// serde_json's message without its position inside the one-line document.
pub(super) fn clean(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) if error.column() > 0 => format!("{} (column {})", &text[..i], error.column()),
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// A line read by [`LineReader`]: its 1-based number and what it holds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NumberedLine {
    /// The line's number in its input, counting blank lines.
    pub number: u64,
    /// What the line holds, or why it is malformed.
    pub line: Result<Line, LineError>,
}

/// The longest line the readers accept by default: 1 MiB. A callback body is well under a
/// kilobyte, and a page of 100 API records about 40 KiB.
pub const DEFAULT_LINE_LIMIT: usize = 1 << 20;

/// A run of whole lines, or one line too long to keep: what [`BlockReader`] yields.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Block {
    /// Whole lines, each ending in `\n` but perhaps the input's last.
    Lines(Vec<u8>),
    /// One line longer than the limit, whose bytes were skipped as they were read.
    TooLong {
        /// The line's length in bytes, without its newline.
        len: u64,
    },
}

impl Block {
    /// The block's lines, in order, each as [`Line::parse`] or [`RecordLine::parse`] takes it,
    /// or the error of a line over `limit` bytes. Every line counts, blank ones included, so
    /// that line numbers add up.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{Block, LineError};
    /// let block = Block::Lines(b"a\n\nbcdef\n".to_vec());
    /// let lines: Vec<_> = block.lines(3).collect();
    /// assert_eq!(lines[0], Ok(&b"a"[..]));
    /// assert_eq!(lines[1], Ok(&b""[..]));
    /// assert_eq!(lines[2], Err(LineError::TooLong { len: 5, limit: 3 }));
    /// ```
    pub fn lines(&self, limit: usize) -> BlockLines<'_> {
        match self {
            Block::Lines(bytes) => BlockLines {
                rest: Some(bytes.strip_suffix(b"\n").unwrap_or(bytes)),
                too_long: None,
                limit,
            },
            Block::TooLong { len } => BlockLines {
                rest: None,
                too_long: Some(*len),
                limit,
            },
        }
    }
}

/// The lines of a [`Block`]: see [`Block::lines`].
#[derive(Clone, Debug)]
pub struct BlockLines<'a> {
    rest: Option<&'a [u8]>,
    too_long: Option<u64>,
    limit: usize,
}

impl<'a> Iterator for BlockLines<'a> {
    type Item = Result<&'a [u8], LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let limit = self.limit;
        if let Some(len) = self.too_long.take() {
            return Some(Err(LineError::TooLong { len, limit }));
        }
        let rest = self.rest?;
        let (line, consumed) = first_line(rest);
        // A newline is always followed by one more line, perhaps empty.
        self.rest = (consumed > line.len()).then(|| &rest[consumed..]);
        Some(within(line, limit))
    }
}

/// The first line of `bytes` and how many bytes it takes with its newline.
fn first_line(bytes: &[u8]) -> (&[u8], usize) {
    match memchr::memchr(b'\n', bytes) {
        Some(i) => (&bytes[..i], i + 1),
        None => (bytes, bytes.len()),
    }
}

/// The line, or the error of a line over the limit.
fn within(line: &[u8], limit: usize) -> Result<&[u8], LineError> {
    if line.len() > limit {
        Err(LineError::TooLong {
            len: line.len() as u64,
            limit,
        })
    } else {
        Ok(line)
    }
}

/// Reads a JSON-lines log in blocks of whole lines, for parsing them on several threads, in
/// bounded memory: a line longer than the limit is skipped as it is read and yields
/// [`Block::TooLong`]. An I/O error ends the iteration after it is returned.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::{Block, BlockReader};
/// let blocks: Vec<Block> = BlockReader::new(&b"one\ntwo\nthree"[..], 8, 6).collect::<Result<_, _>>()?;
/// assert_eq!(blocks, [Block::Lines(b"one\ntwo\n".to_vec()), Block::Lines(b"three".to_vec())]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct BlockReader<R> {
    inner: R,
    block_size: usize,
    limit: usize,
    /// The start of the next block: a partial line, never longer than the limit.
    carry: Vec<u8>,
    /// A too-long line met after a block's lines, to yield next.
    pending: Option<Block>,
    /// Buffers given back by `recycle`.
    spare: Vec<Vec<u8>>,
    done: bool,
}

impl<R: io::Read> BlockReader<R> {
    /// A reader of blocks of about `block_size` bytes (more than the limit), that reports lines
    /// over `limit` bytes.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{Block, BlockReader};
    /// let mut reader = BlockReader::new(&b"0123456789\nok\n"[..], 4, 4);
    /// assert_eq!(reader.next().unwrap()?, Block::TooLong { len: 10 });
    /// assert_eq!(reader.next().unwrap()?, Block::Lines(b"ok\n".to_vec()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: R, block_size: usize, limit: usize) -> Self {
        BlockReader {
            inner,
            block_size: block_size.max(limit.saturating_add(1)),
            limit,
            carry: Vec::new(),
            pending: None,
            spare: Vec::new(),
            done: false,
        }
    }

    /// Reads into `buffer[filled..]` until it is full or the input ends; returns how much of
    /// `buffer` now holds input.
    fn fill(&mut self, buffer: &mut [u8], mut filled: usize) -> io::Result<usize> {
        while filled < buffer.len() {
            match self.inner.read(&mut buffer[filled..]) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }

    /// Gives a block's buffer back, to be filled again: a reader that gets its blocks back
    /// allocates (and zeroes) no new buffer per block.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::BlockReader;
    /// let mut reader = BlockReader::new(&b"a\nb\n"[..], 2, 1);
    /// let first = reader.next().unwrap()?;
    /// reader.recycle(first);
    /// assert!(reader.next().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recycle(&mut self, block: Block) {
        const KEPT: usize = 16;
        if let Block::Lines(buffer) = block {
            if self.spare.len() < KEPT {
                self.spare.push(buffer);
            }
        }
    }

    /// Reads past the rest of a too-long line of which `len` bytes are already gone, keeping
    /// what follows its newline; returns the line's length.
    fn skip_line(&mut self, mut len: u64) -> io::Result<u64> {
        let mut scratch = vec![0u8; 64 * 1024];
        loop {
            let n = match self.inner.read(&mut scratch) {
                Ok(0) => {
                    self.done = true;
                    return Ok(len);
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Some(i) = memchr::memchr(b'\n', &scratch[..n]) {
                self.carry.extend_from_slice(&scratch[i + 1..n]);
                return Ok(len + i as u64);
            }
            len += n as u64;
        }
    }

    fn next_block(&mut self) -> io::Result<Option<Block>> {
        if let Some(block) = self.pending.take() {
            return Ok(Some(block));
        }
        // A recycled buffer keeps its length, so that only what it lacks is zeroed.
        let mut buffer = self.spare.pop().unwrap_or_default();
        // What `skip_line` read past a long line may exceed a block: the block grows to hold it.
        let carried = self.carry.len();
        let size = self.block_size.max(carried);
        if buffer.len() < size {
            buffer.resize(size, 0);
        }
        buffer[..carried].copy_from_slice(&self.carry);
        self.carry.clear();
        let filled = if self.done {
            carried
        } else {
            self.fill(&mut buffer, carried)?
        };
        buffer.truncate(filled);
        if buffer.is_empty() {
            return Ok(None);
        }
        match memchr::memrchr(b'\n', &buffer) {
            Some(last) => {
                let tail_len = buffer.len() - last - 1;
                if tail_len > self.limit {
                    // The partial line after the last newline is already too long: skip it
                    // without holding it, and yield it after this block's lines.
                    buffer.truncate(last + 1);
                    let len = if self.done {
                        tail_len as u64
                    } else {
                        self.skip_line(tail_len as u64)?
                    };
                    self.pending = Some(Block::TooLong { len });
                } else if !self.done {
                    self.carry.extend_from_slice(&buffer[last + 1..]);
                    buffer.truncate(last + 1);
                }
                Ok(Some(Block::Lines(buffer)))
            }
            None if buffer.len() > self.limit => {
                let len = buffer.len() as u64;
                let len = if self.done { len } else { self.skip_line(len)? };
                Ok(Some(Block::TooLong { len }))
            }
            // The input's last line, without a newline: the buffer is short only at the end.
            None => Ok(Some(Block::Lines(buffer))),
        }
    }
}

impl<R: io::Read> Iterator for BlockReader<R> {
    type Item = io::Result<Block>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_block() {
            Ok(block) => block.map(Ok),
            Err(e) => {
                // Fused: what was read before the error has been yielded.
                self.done = true;
                self.carry.clear();
                self.pending = None;
                Some(Err(e))
            }
        }
    }
}

/// Reads a JSON-lines log line by line in bounded memory, with [`BlockReader`] underneath: a
/// line longer than the limit is skipped as it is read and reported as [`LineError::TooLong`].
/// Blank lines are counted but not returned. An I/O error ends the iteration after it is
/// returned, so that what was read before it still counts.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::{Line, LineError, LineReader};
///
/// let log = "{\"event_type\":1,\"t\":1,\"stream_id\":\"s\",\"sequence\":\"1\",\"event_time\":1}\n\nnot json\n";
/// let lines: Vec<_> = LineReader::new(log.as_bytes()).collect::<Result<_, _>>()?;
/// assert_eq!(lines.len(), 2);
/// assert!(matches!(lines[0].line, Ok(Line::Callback(_))));
/// assert_eq!(lines[1].number, 3);
/// assert!(matches!(lines[1].line, Err(LineError::Invalid(_))));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct LineReader<R> {
    blocks: BlockReader<R>,
    block: Option<Block>,
    /// Where the next line starts in `block`, or that the block's too-long line is next.
    offset: usize,
    number: u64,
    limit: usize,
}

impl<R: io::Read> LineReader<R> {
    /// A reader with the default line limit, [`DEFAULT_LINE_LIMIT`].
    ///
    /// # Example
    /// ```
    /// let mut reader = tencent_css_errcode::events::LineReader::new(&b""[..]);
    /// assert!(reader.next().is_none());
    /// ```
    pub fn new(inner: R) -> Self {
        LineReader::with_limit(inner, DEFAULT_LINE_LIMIT)
    }

    /// A reader that reports lines longer than `limit` bytes as [`LineError::TooLong`].
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{LineError, LineReader};
    /// let mut reader = LineReader::with_limit(&b"0123456789\n"[..], 4);
    /// let line = reader.next().unwrap()?;
    /// assert_eq!(line.line, Err(LineError::TooLong { len: 10, limit: 4 }));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_limit(inner: R, limit: usize) -> Self {
        LineReader {
            blocks: BlockReader::new(inner, 256 * 1024, limit),
            block: None,
            offset: 0,
            number: 0,
            limit,
        }
    }
}

impl<R: io::Read> Iterator for LineReader<R> {
    type Item = io::Result<NumberedLine>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let block = match &self.block {
                Some(block) => block,
                None => match self.blocks.next()? {
                    Ok(block) => {
                        self.offset = 0;
                        self.block.insert(block)
                    }
                    Err(e) => return Some(Err(e)),
                },
            };
            let (line, consumed) = match block {
                Block::Lines(bytes) if self.offset < bytes.len() => {
                    let (line, consumed) = first_line(&bytes[self.offset..]);
                    (Some(line), consumed)
                }
                Block::TooLong { len } if self.offset == 0 => {
                    self.number += 1;
                    self.offset = 1;
                    return Some(Ok(NumberedLine {
                        number: self.number,
                        line: Err(LineError::TooLong {
                            len: *len,
                            limit: self.limit,
                        }),
                    }));
                }
                _ => (None, 0),
            };
            let Some(line) = line else {
                if let Some(done) = self.block.take() {
                    self.blocks.recycle(done);
                }
                continue;
            };
            self.offset += consumed;
            self.number += 1;
            let parsed = match within(line, self.limit).and_then(Line::parse) {
                Ok(None) => continue,
                Ok(Some(line)) => Ok(line),
                Err(e) => Err(e),
            };
            return Some(Ok(NumberedLine {
                number: self.number,
                line: parsed,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `input`, read through blocks of `block_size`, as text or `TooLong(len)`.
    fn through_blocks(input: &[u8], block_size: usize, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        for block in BlockReader::new(input, block_size, limit) {
            for line in block.unwrap().lines(limit) {
                out.push(match line {
                    Ok(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                    Err(LineError::TooLong { len, .. }) => format!("TooLong({len})"),
                    Err(e) => panic!("{e}"),
                });
            }
        }
        out
    }

    /// The same, split by hand.
    fn expected(input: &[u8], limit: usize) -> Vec<String> {
        if input.is_empty() {
            return Vec::new();
        }
        let body = input.strip_suffix(b"\n").unwrap_or(input);
        body.split(|&b| b == b'\n')
            .map(|line| {
                if line.len() > limit {
                    format!("TooLong({})", line.len())
                } else {
                    String::from_utf8(line.to_vec()).unwrap()
                }
            })
            .collect()
    }

    #[test]
    fn blocks_keep_every_line_whatever_the_block_size() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"\n",
            b"a\n\n",
            b"a\nbb\nccc",
            b"0123456789\nok\n",
            b"ok\n0123456789",
            b"ok\n0123456789\n\nx\n",
            b"0123456789012345678901234567890123456789\n1\n22\n333\n4444\n55555\n",
        ];
        for input in inputs {
            for block_size in 1..12 {
                for limit in [0, 1, 3, 4, 6, 100] {
                    assert_eq!(
                        through_blocks(input, block_size, limit),
                        expected(input, limit),
                        "{input:?} block {block_size} limit {limit}"
                    );
                }
            }
        }
    }

    #[test]
    fn line_reader_numbers_lines_across_blocks() {
        let log =
            b"{\"event_type\":1,\"t\":1,\"stream_id\":\"s\",\"sequence\":\"1\",\"event_time\":1}\n";
        let mut input = Vec::new();
        for _ in 0..5000 {
            input.extend_from_slice(log);
            input.extend_from_slice(b"\n");
        }
        let lines: Vec<NumberedLine> = LineReader::new(&input[..]).map(Result::unwrap).collect();
        assert_eq!(lines.len(), 5000);
        assert_eq!(lines[4999].number, 9999);
        assert!(lines.iter().all(|l| l.line.is_ok()));
    }
}
