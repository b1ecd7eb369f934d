use std::io::{self, BufRead};

use super::event_list::{ApiResponse, parse_api_response};
use super::{EventListResponse, StreamEvent};

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
    /// A DescribeLiveStreamEventList response page.
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
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let bytes = bytes.trim_ascii();
        if bytes.is_empty() {
            return Ok(None);
        }
        match serde_json::from_slice::<StreamEvent>(bytes) {
            Ok(event) => Ok(Some(Line::Callback(event))),
            Err(callback_error) => {
                if !mentions_api_field(bytes) {
                    return Err(LineError::Invalid(clean(&callback_error)));
                }
                match parse_api_response(bytes) {
                    Ok(ApiResponse::Page(page)) => Ok(Some(Line::Page(page))),
                    Ok(ApiResponse::Error(error)) => Ok(Some(Line::ApiError(error))),
                    Err(error) => Err(LineError::Invalid(clean(&error))),
                }
            }
        }
    }
}

fn mentions_api_field(bytes: &[u8]) -> bool {
    [&b"\"Response\""[..], b"\"EventList\"", b"\"Error\""]
        .iter()
        .any(|needle| bytes.windows(needle.len()).any(|w| w == *needle))
}

/// serde_json's message without its position inside the one-line document.
fn clean(error: &serde_json::Error) -> String {
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

/// Reads a JSON-lines log line by line in bounded memory: a line longer than the limit is
/// skipped as it is read and reported as [`LineError::TooLong`]. Blank lines are counted but not
/// returned. An I/O error ends the iteration after it is returned, so that what was read before
/// it still counts.
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
    inner: R,
    buffer: Vec<u8>,
    number: u64,
    limit: usize,
    done: bool,
}

impl<R: BufRead> LineReader<R> {
    /// The longest line [`new`](LineReader::new) accepts: 1 MiB. A callback body is well under
    /// a kilobyte, and a page of 100 API records about 40 KiB.
    pub const DEFAULT_LIMIT: usize = 1 << 20;

    /// A reader with the default line limit.
    ///
    /// # Example
    /// ```
    /// let mut reader = tencent_css_errcode::events::LineReader::new(&b""[..]);
    /// assert!(reader.next().is_none());
    /// ```
    pub fn new(inner: R) -> Self {
        LineReader::with_limit(inner, Self::DEFAULT_LIMIT)
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
            inner,
            buffer: Vec::new(),
            number: 0,
            limit,
            done: false,
        }
    }

    /// Reads the next line's bytes into `buffer`; `Ok(None)` at the end of the input, else the
    /// line's full length (which may exceed what the buffer kept).
    fn read_raw(&mut self) -> io::Result<Option<u64>> {
        self.buffer.clear();
        let mut len: u64 = 0;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(any.then_some(len));
            }
            any = true;
            let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], true),
                None => (available, false),
            };
            len += chunk.len() as u64;
            if len <= self.limit as u64 {
                self.buffer.extend_from_slice(chunk);
            }
            let consumed = chunk.len() + usize::from(found);
            self.inner.consume(consumed);
            if found {
                return Ok(Some(len));
            }
        }
    }
}

impl<R: BufRead> Iterator for LineReader<R> {
    type Item = io::Result<NumberedLine>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let len = match self.read_raw() {
                Ok(Some(len)) => len,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.number += 1;
            let line = if len > self.limit as u64 {
                Err(LineError::TooLong {
                    len,
                    limit: self.limit,
                })
            } else {
                match Line::parse(&self.buffer) {
                    Ok(None) => continue,
                    Ok(Some(line)) => Ok(line),
                    Err(e) => Err(e),
                }
            };
            return Some(Ok(NumberedLine {
                number: self.number,
                line,
            }));
        }
        None
    }
}
