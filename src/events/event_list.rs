use core::time::Duration;
use std::borrow::Cow;

use super::lenient::non_negative;
use super::{ApiError, Cause, DedupeKey, EventKind, Record, Source};
use crate::Interruption;

/// A page of DescribeLiveStreamEventList: the push sessions of a time range, with why each ended.
///
/// Deserializes from the cloud API's response, with or without its `{"Response": {...}}`
/// envelope. An error response (`{"Response": {"Error": {...}}}`) is a deserialization error that
/// carries the API's code and message.
///
/// # Example
/// ```
/// use tencent_css_errcode::{Category, events::EventListResponse};
///
/// let page: EventListResponse = serde_json::from_str(r#"{"Response": {
///     "EventList": [{"AppName": "live", "DomainName": "push.example.com", "StreamName": "room42",
///         "StreamStartTime": "2019-01-04T11:58:58Z", "StreamEndTime": "2019-01-04T11:59:58Z",
///         "StopReason": "推流链路网络异常(12)", "Duration": 60, "ClientIp": "-", "Resolution": "640*352"}],
///     "PageNum": 1, "PageSize": 100, "TotalNum": 1, "TotalPage": 1, "RequestId": "r-1"}}"#)?;
/// let record = &page.events()[0];
/// assert_eq!(record.interruption().unwrap().category(), Category::Network);
/// assert_eq!(record.client_address(), None);
/// assert_eq!(record.end_time_unix(), Ok(1_546_603_198));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, serde::Deserialize)]
#[serde(try_from = "RawResponse")]
#[non_exhaustive]
pub struct EventListResponse {
    /// `EventList`: the records of this page.
    pub event_list: Vec<StreamEventInfo>,
    /// `PageNum`, when given.
    pub page_num: Option<u64>,
    /// `PageSize`, when given.
    pub page_size: Option<u64>,
    /// `TotalNum`: records in all pages, when given.
    pub total_num: Option<u64>,
    /// `TotalPage`, when given.
    pub total_page: Option<u64>,
    /// `RequestId`, when given.
    pub request_id: Option<String>,
}

impl EventListResponse {
    /// The records of this page.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::EventListResponse;
    /// let page: EventListResponse = serde_json::from_str(r#"{"EventList": []}"#).unwrap();
    /// assert!(page.events().is_empty());
    /// ```
    pub fn events(&self) -> &[StreamEventInfo] {
        &self.event_list
    }

    /// A page that holds these records and nothing else.
    pub(crate) fn of(event_list: Vec<StreamEventInfo>) -> Self {
        EventListResponse {
            event_list,
            page_num: None,
            page_size: None,
            total_num: None,
            total_page: None,
            request_id: None,
        }
    }
}

/// One push session of DescribeLiveStreamEventList. The fields stay as the API gave them; the
/// methods, named apart from them, parse them (`elapsed`, `client_address`, `frame_size`,
/// `start_time_unix`, `end_time_unix`, `cause`).
#[derive(Clone, PartialEq, Eq, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct StreamEventInfo {
    /// `AppName` of the push URL.
    pub app_name: String,
    /// `DomainName`: the push domain.
    pub domain_name: String,
    /// `StreamName`.
    pub stream_name: String,
    /// `StreamStartTime`, UTC, as given (`2019-01-04T11:58:58Z`).
    pub stream_start_time: String,
    /// `StreamEndTime`, UTC, as given.
    pub stream_end_time: String,
    /// `StopReason`: free text, with the errcode in parentheses in older answers
    /// (`客户端主动断流(3)`) and without in newer ones (`客户端主动断流`); see [`cause`](StreamEventInfo::cause).
    pub stop_reason: String,
    /// `Duration` of the push, in seconds.
    #[serde(deserialize_with = "non_negative")]
    pub duration: u64,
    /// `ClientIp`: the pushing client's address, `-` for a private network.
    pub client_ip: String,
    /// `Resolution`, such as `640*352`.
    pub resolution: String,
}

/// A time that is not in the API's `YYYY-MM-DDTHH:MM:SSZ` form.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("`{value}` is not a UTC time of the form 2019-01-04T11:59:58Z")]
pub struct TimeError {
    /// The text that was given.
    pub value: String,
}

impl StreamEventInfo {
    /// The push's length: the `duration` field (seconds) as a `Duration`.
    ///
    /// # Example
    /// ```
    /// let record = tencent_css_errcode::events::StreamEventInfo::default();
    /// assert_eq!(record.elapsed().as_secs(), 0);
    /// ```
    pub fn elapsed(&self) -> Duration {
        Duration::from_secs(self.duration)
    }

    /// The client's IP address from the `client_ip` field; `None` for `-` (a private network)
    /// or an empty field.
    ///
    /// # Example
    /// ```
    /// let record = tencent_css_errcode::events::StreamEventInfo::default();
    /// assert_eq!(record.client_address(), None);
    /// ```
    pub fn client_address(&self) -> Option<&str> {
        match self.client_ip.trim() {
            "" | "-" => None,
            ip => Some(ip),
        }
    }

    /// `StreamStartTime` in Unix seconds.
    ///
    /// # Example
    /// ```
    /// let mut record = tencent_css_errcode::events::StreamEventInfo::default();
    /// record.stream_start_time = "1970-01-02T00:00:01Z".into();
    /// assert_eq!(record.start_time_unix(), Ok(86_401));
    /// ```
    pub fn start_time_unix(&self) -> Result<i64, TimeError> {
        parse_utc_time(&self.stream_start_time)
    }

    /// `StreamEndTime` in Unix seconds.
    ///
    /// # Example
    /// ```
    /// let mut record = tencent_css_errcode::events::StreamEventInfo::default();
    /// record.stream_end_time = "2019-01-04T11:59:58Z".into();
    /// assert_eq!(record.end_time_unix(), Ok(1_546_603_198));
    /// ```
    pub fn end_time_unix(&self) -> Result<i64, TimeError> {
        parse_utc_time(&self.stream_end_time)
    }

    /// The `resolution` field as (width, height), if it has the form `W*H`.
    ///
    /// # Example
    /// ```
    /// let mut record = tencent_css_errcode::events::StreamEventInfo::default();
    /// record.resolution = "640*352".into();
    /// assert_eq!(record.frame_size(), Some((640, 352)));
    /// ```
    pub fn frame_size(&self) -> Option<(u32, u32)> {
        let (w, h) = self.resolution.split_once('*')?;
        Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
    }

    /// Why the push ended, read from `StopReason` by the rules of [`Cause::from_stop_reason`]:
    /// only the texts Tencent documents. The text is kept.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Category, events::StreamEventInfo};
    /// let mut record = StreamEventInfo::default();
    /// record.stop_reason = "Client actively interrupts the push (3)".into();
    /// assert_eq!(record.cause().category(), Category::ClientClosed);
    /// ```
    pub fn cause(&self) -> Cause<'_> {
        Cause::from_stop_reason(&self.stop_reason)
    }

    /// The decoded interruption, when `StopReason` carries or determines an errcode; see
    /// [`cause`](StreamEventInfo::cause), which also gives a category when it does not.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Reason, events::StreamEventInfo};
    /// let mut record = StreamEventInfo::default();
    /// record.stop_reason = "账号欠费，您的直播服务已被暂时关停，请及时充值(18)".into();
    /// assert_eq!(record.interruption().unwrap().reason(), Some(Reason::AccountOverdue));
    /// record.stop_reason = "客户端主动断流".into(); // documented, but names no errcode
    /// assert_eq!(record.interruption(), None);
    /// ```
    pub fn interruption(&self) -> Option<Interruption> {
        self.cause().interruption()
    }

    /// The key shared by every copy of this record (pages that overlap, windows fetched twice):
    /// its domain, AppName, StreamName, start and end time.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::StreamEventInfo;
    /// let mut a = StreamEventInfo::default();
    /// a.stream_name = "room42".into();
    /// let mut b = a.clone();
    /// b.stop_reason = "text differs".into();
    /// assert_eq!(a.dedupe_key(), b.dedupe_key());
    /// b.stream_end_time = "2019-01-04T11:59:58Z".into();
    /// assert_ne!(a.dedupe_key(), b.dedupe_key());
    /// ```
    pub fn dedupe_key(&self) -> DedupeKey {
        DedupeKey::of(&[
            b"event_list",
            self.domain_name.as_bytes(),
            self.app_name.as_bytes(),
            self.stream_name.as_bytes(),
            self.stream_start_time.as_bytes(),
            self.stream_end_time.as_bytes(),
        ])
    }

    /// This record as a [`Record`] (a stream end at `StreamEndTime`), or the error of an end time
    /// that is not a UTC time.
    ///
    /// # Example
    /// ```
    /// let record = tencent_css_errcode::events::StreamEventInfo::default();
    /// assert!(record.record().is_err()); // no StreamEndTime
    /// ```
    pub fn record(&self) -> Result<Record<'_>, TimeError> {
        Ok(Record {
            kind: EventKind::StreamEnd,
            source: Source::EventList,
            domain: Cow::Borrowed(&self.domain_name),
            app: Cow::Borrowed(&self.app_name),
            stream: Cow::Borrowed(&self.stream_name),
            time: self.end_time_unix()?,
            cause: Some(self.cause()),
            key: self.dedupe_key(),
            sequence: None,
            client_ip: self.client_address().map(Cow::Borrowed),
            node: None,
            push_duration_ms: None,
        })
    }
}

/// Parses a time as the cloud API writes it, `YYYY-MM-DDTHH:MM:SSZ` (UTC), into Unix seconds.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::parse_utc_time;
/// assert_eq!(parse_utc_time("2019-01-04T11:59:58Z"), Ok(1_546_603_198));
/// assert!(parse_utc_time("2019-01-04 11:59:58").is_err());
/// ```
pub fn parse_utc_time(text: &str) -> Result<i64, TimeError> {
    let fail = || TimeError {
        value: text.to_owned(),
    };
    let b = text.as_bytes();
    let shape_ok = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape_ok {
        return Err(fail());
    }
    let number = |range: core::ops::Range<usize>| -> Result<i64, TimeError> {
        let part = &text[range];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| fail())
        } else {
            Err(fail())
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month[(month - 1) as usize]
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(fail());
    }
    // Days from 1970-01-01 to the date (proleptic Gregorian), by the usual era arithmetic.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = (month + 9) % 12;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Ok(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Writes Unix seconds as the cloud API writes times, `YYYY-MM-DDTHH:MM:SSZ` (UTC), for years
/// 0 to 9999; other times are clamped to that range.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::{format_utc_time, parse_utc_time};
/// assert_eq!(format_utc_time(1_546_603_198), "2019-01-04T11:59:58Z");
/// assert_eq!(parse_utc_time(&format_utc_time(951_868_799)), Ok(951_868_799));
/// ```
pub fn format_utc_time(unix: i64) -> String {
    // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    let unix = unix.clamp(-62_167_219_200, 253_402_300_799);
    let (days, seconds) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // The civil date of a day count (proleptic Gregorian), by the usual era arithmetic.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let m = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * m + 2) / 5 + 1;
    let month = if m < 10 { m + 3 } else { m - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3_600,
        seconds % 3_600 / 60,
        seconds % 60
    )
}

/// The response as received, with or without the envelope.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawResponse {
    response: Option<RawBody>,
    #[serde(flatten)]
    bare: RawBody,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawBody {
    event_list: Option<Vec<StreamEventInfo>>,
    page_num: Option<u64>,
    page_size: Option<u64>,
    total_num: Option<u64>,
    total_page: Option<u64>,
    request_id: Option<String>,
    error: Option<RawApiError>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawApiError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// What a cloud API answer holds: a page, or an error.
pub(crate) enum ApiResponse {
    Page(EventListResponse),
    Error(ApiError),
}

/// Why a JSON object is not an event list.
#[derive(Debug, thiserror::Error)]
enum ResponseError {
    #[error(transparent)]
    Api(ApiError),
    #[error("no `EventList`, in a `Response` envelope or at the top level")]
    NoEventList,
}

impl RawResponse {
    fn into_response(self) -> Result<ApiResponse, ResponseError> {
        let body = self.response.unwrap_or(self.bare);
        if let Some(error) = body.error {
            return Ok(ApiResponse::Error(ApiError {
                code: error.code,
                message: error.message,
                request_id: body.request_id,
            }));
        }
        Ok(ApiResponse::Page(EventListResponse {
            event_list: body.event_list.ok_or(ResponseError::NoEventList)?,
            page_num: body.page_num,
            page_size: body.page_size,
            total_num: body.total_num,
            total_page: body.total_page,
            request_id: body.request_id,
        }))
    }
}

/// Parses a cloud API answer into a page or an API error.
pub(crate) fn parse_api_response(bytes: &[u8]) -> Result<ApiResponse, serde_json::Error> {
    let raw: RawResponse = serde_json::from_slice(bytes)?;
    raw.into_response()
        .map_err(<serde_json::Error as serde::de::Error>::custom)
}

impl TryFrom<RawResponse> for EventListResponse {
    type Error = ResponseError;

    fn try_from(raw: RawResponse) -> Result<Self, ResponseError> {
        match raw.into_response()? {
            ApiResponse::Page(page) => Ok(page),
            ApiResponse::Error(error) => Err(ResponseError::Api(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_utc_time as parse_utc;

    #[test]
    fn format_and_parse_are_inverse() {
        use super::format_utc_time;
        for t in [
            0,
            59,
            86_399,
            86_400,
            951_868_799,
            951_868_800,
            1_546_603_198,
            4_102_444_800,
        ]
        .into_iter()
        .chain((-800..800).map(|d: i64| d * 86_400 * 37 + 12_345))
        {
            assert_eq!(parse_utc(&format_utc_time(t)), Ok(t), "{t}");
        }
        assert_eq!(format_utc_time(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(format_utc_time(i64::MIN), "0000-01-01T00:00:00Z");
    }

    #[test]
    fn times_match_known_unix_seconds() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_utc("2019-01-04T11:59:58Z"), Ok(1_546_603_198));
        assert_eq!(parse_utc("2000-02-29T23:59:59Z"), Ok(951_868_799));
        assert_eq!(parse_utc("2024-12-31T23:59:59Z"), Ok(1_735_689_599));
        for bad in [
            "2019-01-04 11:59:58Z",
            "2019-02-29T00:00:00Z",
            "2019-13-01T00:00:00Z",
            "2019-01-04T24:00:00Z",
            "2019-01-04T11:59:58",
            "+019-01-04T11:59:58Z",
            "",
        ] {
            assert!(parse_utc(bad).is_err(), "{bad}");
        }
    }
}
