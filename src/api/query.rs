use crate::events::format_utc_time;

/// How far back DescribeLiveStreamEventList serves records: 60 days (the English page; the
/// Chinese says two months).
pub const HISTORY_SECONDS: i64 = 60 * 86_400;
/// The longest window one request may ask for: 30 days (the English page; the Chinese says one
/// month).
pub const MAX_SPAN_SECONDS: i64 = 30 * 86_400;
/// Records one query can reach: `PageNum × PageSize ≤ 10,000`.
pub const MAX_RECORDS_PER_QUERY: u64 = 10_000;
/// The largest page.
pub const PAGE_SIZE: u64 = 100;

/// How `StreamName` matches.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum StreamMatch {
    /// Records whose stream name contains the text (the API's default, `IsStrict=0`).
    Fuzzy,
    /// Records of exactly this stream (`IsStrict=1`).
    Exact,
}

/// The order records come in, by end time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[non_exhaustive]
pub enum Order {
    /// Latest first (the API's default, `IsAsc=0`).
    #[default]
    NewestFirst,
    /// Earliest first (`IsAsc=1`).
    OldestFirst,
}

/// A DescribeLiveStreamEventList query: the push sessions that ended in a time window, as the
/// console's Stream Interruption Records page lists them.
///
/// # Example
/// ```
/// use tencent_css_errcode::api::{EventQuery, StreamMatch};
/// let query = EventQuery::new(1_700_000_000, 1_700_086_400)
///     .domain("push.example.com")
///     .stream("room42", StreamMatch::Exact);
/// assert!(query.check(1_700_100_000).is_ok());
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EventQuery {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) domain: Option<String>,
    pub(crate) app: Option<String>,
    pub(crate) stream: Option<(String, StreamMatch)>,
    pub(crate) only_successful: bool,
    pub(crate) order: Order,
}

/// A query the API cannot serve, refused before any request.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The window ends before it starts.
    #[error("the window ends ({end}) before it starts ({start})")]
    Reversed {
        /// Start, Unix seconds.
        start: i64,
        /// End, Unix seconds.
        end: i64,
    },
    /// The window ends in the future.
    #[error("the window ends at {end}, after now ({now}): the API refuses an end in the future")]
    EndsInTheFuture {
        /// End, Unix seconds.
        end: i64,
        /// Now, Unix seconds.
        now: i64,
    },
    /// The window starts more than 60 days ago.
    #[error(
        "the window starts at {start}, more than 60 days before now ({now}): the API keeps 60 days"
    )]
    TooOld {
        /// Start, Unix seconds.
        start: i64,
        /// Now, Unix seconds.
        now: i64,
    },
}

impl EventQuery {
    /// The sessions that ended from `start` to `end`, Unix seconds, both included.
    ///
    /// # Example
    /// ```
    /// let query = tencent_css_errcode::api::EventQuery::new(0, 59);
    /// assert_eq!(query.window(), (0, 59));
    /// ```
    pub fn new(start: i64, end: i64) -> Self {
        EventQuery {
            start,
            end,
            domain: None,
            app: None,
            stream: None,
            only_successful: false,
            order: Order::default(),
        }
    }

    /// Only this push domain (`DomainName`).
    ///
    /// # Example
    /// ```
    /// let query = tencent_css_errcode::api::EventQuery::new(0, 1).domain("push.example.com");
    /// # let _ = query;
    /// ```
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Only this AppName, the console's "path" (`AppName`).
    ///
    /// # Example
    /// ```
    /// let query = tencent_css_errcode::api::EventQuery::new(0, 1).app("live");
    /// # let _ = query;
    /// ```
    pub fn app(mut self, app: impl Into<String>) -> Self {
        self.app = Some(app.into());
        self
    }

    /// Only streams of this name (`StreamName`, `IsStrict`). The API takes no wildcards.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, StreamMatch};
    /// let query = EventQuery::new(0, 1).stream("room", StreamMatch::Fuzzy);
    /// # let _ = query;
    /// ```
    pub fn stream(mut self, name: impl Into<String>, how: StreamMatch) -> Self {
        self.stream = Some((name.into(), how));
        self
    }

    /// Only pushes that started successfully (`IsFilter=1`).
    ///
    /// # Example
    /// ```
    /// let query = tencent_css_errcode::api::EventQuery::new(0, 1).only_successful();
    /// # let _ = query;
    /// ```
    pub fn only_successful(mut self) -> Self {
        self.only_successful = true;
        self
    }

    /// The order records come in (`IsAsc`).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, Order};
    /// let query = EventQuery::new(0, 1).order(Order::OldestFirst);
    /// # let _ = query;
    /// ```
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// The window, Unix seconds, both ends included.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::api::EventQuery::new(5, 9).window(), (5, 9));
    /// ```
    pub fn window(&self) -> (i64, i64) {
        (self.start, self.end)
    }

    /// Refuses a window the API cannot serve at `now`: reversed, ending in the future, or
    /// starting more than 60 days ago. A window longer than 30 days is fine: the client
    /// splits it.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, QueryError};
    /// let now = 1_700_000_000;
    /// assert!(matches!(EventQuery::new(now - 10, now + 10).check(now), Err(QueryError::EndsInTheFuture { .. })));
    /// assert!(matches!(EventQuery::new(now - 61 * 86_400, now).check(now), Err(QueryError::TooOld { .. })));
    /// ```
    pub fn check(&self, now: i64) -> Result<(), QueryError> {
        let (start, end) = (self.start, self.end);
        if end < start {
            return Err(QueryError::Reversed { start, end });
        }
        if end > now {
            return Err(QueryError::EndsInTheFuture { end, now });
        }
        if start < now.saturating_sub(HISTORY_SECONDS) {
            return Err(QueryError::TooOld { start, now });
        }
        Ok(())
    }

    /// The JSON body of one page of one window.
    pub(crate) fn body(&self, window: (i64, i64), page: u64) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        let mut put = |key: &str, value: serde_json::Value| {
            body.insert(key.to_owned(), value);
        };
        put("StartTime", format_utc_time(window.0).into());
        put("EndTime", format_utc_time(window.1).into());
        put("PageNum", page.into());
        put("PageSize", PAGE_SIZE.into());
        if let Some(domain) = &self.domain {
            put("DomainName", domain.as_str().into());
        }
        if let Some(app) = &self.app {
            put("AppName", app.as_str().into());
        }
        if let Some((name, how)) = &self.stream {
            put("StreamName", name.as_str().into());
            put("IsStrict", u8::from(*how == StreamMatch::Exact).into());
        }
        if self.only_successful {
            put("IsFilter", 1.into());
        }
        put("IsAsc", u8::from(self.order == Order::OldestFirst).into());
        serde_json::to_vec(&body).expect("a map of strings and numbers serializes")
    }
}

/// Splits `[start, end]` (seconds, both included) into consecutive windows of at most
/// `max_span` seconds from first to last second, covering every second once.
pub(crate) fn split_span(start: i64, end: i64, max_span: i64) -> Vec<(i64, i64)> {
    let mut windows = Vec::new();
    let mut from = start;
    while from <= end {
        let to = from.saturating_add(max_span).min(end);
        windows.push((from, to));
        if to == end {
            break;
        }
        from = to + 1;
    }
    windows
}

/// Splits a window in two halves that cover it once, or `None` for a window of one second.
pub(crate) fn bisect(window: (i64, i64)) -> Option<[(i64, i64); 2]> {
    let (start, end) = window;
    if end <= start {
        return None;
    }
    let middle = start + (end - start) / 2;
    Some([(start, middle), (middle + 1, end)])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every second of `[start, end]` in exactly one window, windows in order.
    fn covers_once(windows: &[(i64, i64)], start: i64, end: i64) -> bool {
        let mut next = start;
        for &(from, to) in windows {
            if from != next || to < from {
                return false;
            }
            next = to + 1;
        }
        next == end + 1
    }

    proptest! {
        #[test]
        fn spans_split_into_windows_that_cover_every_second_once(
            start in -1_000_000_000i64..2_000_000_000,
            length in 0i64..200 * 86_400,
            max in 1i64..40 * 86_400,
        ) {
            let end = start + length;
            let windows = split_span(start, end, max);
            prop_assert!(covers_once(&windows, start, end));
            prop_assert!(windows.iter().all(|(from, to)| to - from <= max));
        }

        #[test]
        fn bisection_covers_every_second_once(start in -1_000_000_000i64..2_000_000_000, length in 0i64..100 * 86_400) {
            let end = start + length;
            match bisect((start, end)) {
                Some(halves) => {
                    prop_assert!(covers_once(&halves, start, end));
                    prop_assert!(halves.iter().all(|(from, to)| to - from < end - start || length == 1));
                }
                None => prop_assert_eq!(length, 0),
            }
        }
    }

    #[test]
    fn the_body_carries_every_filter() {
        let query = EventQuery::new(1_546_603_200, 1_546_632_000)
            .domain("push.example.com")
            .app("live")
            .stream("room", StreamMatch::Exact)
            .only_successful()
            .order(Order::OldestFirst);
        let body: serde_json::Value =
            serde_json::from_slice(&query.body((1_546_603_200, 1_546_632_000), 3)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "StartTime": "2019-01-04T12:00:00Z", "EndTime": "2019-01-04T20:00:00Z",
                "PageNum": 3, "PageSize": 100, "DomainName": "push.example.com", "AppName": "live",
                "StreamName": "room", "IsStrict": 1, "IsFilter": 1, "IsAsc": 1
            })
        );
    }
}
