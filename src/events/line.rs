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
        classify(bytes)
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
        classify(bytes)
    }
}

/// What a line is read into, [`Line`] or [`RecordLine`]: each kind of line made straight into
/// its variant by the one classifier, so that a callback is not moved around.
trait FromLine<'a> {
    fn callback(event: Checked<'a>) -> Self;
    fn page(page: EventListResponse) -> Self;
    fn api_error(error: ApiError) -> Self;
}

impl<'a> FromLine<'a> for Line {
    fn callback(event: Checked<'a>) -> Self {
        Line::Callback(event.into_event())
    }
    fn page(page: EventListResponse) -> Self {
        Line::Page(page)
    }
    fn api_error(error: ApiError) -> Self {
        Line::ApiError(error)
    }
}

impl<'a> FromLine<'a> for RecordLine<'a> {
    fn callback(event: Checked<'a>) -> Self {
        RecordLine::Callback(event.into_record())
    }
    fn page(page: EventListResponse) -> Self {
        RecordLine::Page(page)
    }
    fn api_error(error: ApiError) -> Self {
        RecordLine::ApiError(error)
    }
}

/// `bytes` without a UTF-8 byte order mark and the ASCII white space around it: how every
/// body and line is read.
pub(crate) fn trimmed(bytes: &[u8]) -> &[u8] {
    bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .trim_ascii()
}

/// What a line is: a callback, a page of API records (or one record alone), an API error.
fn classify<'a, T: FromLine<'a>>(bytes: &'a [u8]) -> Result<Option<T>, LineError> {
    let bytes = trimmed(bytes);
    if bytes.is_empty() {
        return Ok(None);
    }
    // The plain lines that make up nearly every log are read by `scan`; anything it does not
    // read, or that fails a check (for the error's wording and position), goes to serde.
    if let Some(event) = scan::scan(bytes) {
        return Ok(Some(T::callback(event)));
    }
    match serde_json::from_slice::<Checked<'_>>(bytes) {
        Ok(event) => Ok(Some(T::callback(event))),
        Err(callback_error) => {
            if !mentions_api_field(bytes) {
                if !mentions(bytes, b"\"StreamEndTime\"") {
                    return Err(LineError::Invalid(clean(&callback_error)));
                }
                // One DescribeLiveStreamEventList record alone on its line (what
                // `css-errcode records --format jsonl` writes): a page of one.
                return match serde_json::from_slice::<StreamEventInfo>(bytes) {
                    Ok(record) => Ok(Some(T::page(EventListResponse::of(vec![record])))),
                    Err(error) => Err(LineError::Invalid(clean(&error))),
                };
            }
            match parse_api_response(bytes) {
                Ok(ApiResponse::Page(page)) => Ok(Some(T::page(page))),
                Ok(ApiResponse::Error(error)) => Ok(Some(T::api_error(error))),
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
