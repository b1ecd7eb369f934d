use super::query::{
    EventQuery, MAX_RECORDS_PER_QUERY, MAX_SPAN_SECONDS, Order, PAGE_SIZE, QueryError, bisect,
    split_span,
};
use crate::events::{Deduper, EventListResponse, StreamEventInfo};

/// One page to ask for: which window, which page, and the request body.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PageRequest {
    /// The window, Unix seconds, both ends included.
    pub window: (i64, i64),
    /// `PageNum`, from 1.
    pub page: u64,
    /// The JSON body to send.
    pub body: Vec<u8>,
}

/// Fetching every record of a query, without doing any I/O: ask [`next_request`] what to send,
/// send it however you like (the [`Client`](super::Client) does it with ureq), and hand the
/// answer to [`handle`]. It
///
/// - splits the query into windows of at most 30 days, and bisects a window whose `TotalNum`
///   passes the 10,000 records one query can reach, down to one second;
/// - pages through each window 100 records at a time;
/// - returns every record once, even when pages shift because records arrive while it pages:
///   records are told apart by [`StreamEventInfo::dedupe_key`].
///
/// [`next_request`]: Fetch::next_request
/// [`handle`]: Fetch::handle
///
/// # Example
/// ```
/// use tencent_css_errcode::api::{EventQuery, Fetch};
/// use tencent_css_errcode::events::EventListResponse;
///
/// let now = 1_700_000_000;
/// let mut fetch = Fetch::new(EventQuery::new(now - 3_600, now), now)?;
/// let request = fetch.next_request().expect("one window to ask for");
/// assert_eq!((request.window, request.page), ((now - 3_600, now), 1));
/// // The answer: one record, and nothing more to fetch.
/// let page: EventListResponse = serde_json::from_str(r#"{"EventList": [{"StreamName": "room42",
///     "StreamEndTime": "2023-11-14T22:00:00Z", "StopReason": "推流链路网络异常(12)"}],
///     "TotalNum": 1}"#)?;
/// let records = fetch.handle(&request, page);
/// assert_eq!(records[0].stream_name, "room42");
/// assert!(fetch.next_request().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Fetch {
    query: EventQuery,
    /// Windows still to fetch; the next is last.
    windows: Vec<(i64, i64)>,
    /// The window being paged through and its next page.
    current: Option<((i64, i64), u64)>,
    /// The same deduper as triage's: exact for millions of records, bounded past that.
    seen: Deduper,
    records: u64,
    requests: u64,
    truncated: Vec<(i64, i64)>,
    skipped: Vec<(i64, i64)>,
}

impl Fetch {
    /// Plans the fetch of `query` at `now`, refusing a window the API cannot serve.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, Fetch};
    /// assert!(Fetch::new(EventQuery::new(10, 20), 15).is_err()); // ends in the future
    /// ```
    pub fn new(query: EventQuery, now: i64) -> Result<Fetch, QueryError> {
        query.check(now)?;
        let mut windows = split_span(query.start, query.end, MAX_SPAN_SECONDS - 1);
        // The next window is popped from the end: put the first one wanted last.
        if query.order == Order::OldestFirst {
            windows.reverse();
        }
        Ok(Fetch {
            query,
            windows,
            current: None,
            seen: Deduper::new(),
            records: 0,
            requests: 0,
            truncated: Vec::new(),
            skipped: Vec::new(),
        })
    }

    /// The next page to ask for, or `None` when every record has been fetched.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, Fetch};
    /// let now = 100 * 86_400;
    /// let mut fetch = Fetch::new(EventQuery::new(now - 45 * 86_400, now), now)?;
    /// // 45 days: two windows of at most 30 days, the newest first.
    /// assert_eq!(fetch.next_request().unwrap().window.1, now);
    /// # Ok::<(), tencent_css_errcode::api::QueryError>(())
    /// ```
    pub fn next_request(&mut self) -> Option<PageRequest> {
        if self.current.is_none() {
            self.current = self.windows.pop().map(|window| (window, 1));
        }
        let (window, page) = self.current?;
        Some(PageRequest {
            window,
            page,
            body: self.query.body(window, page),
        })
    }

    /// Takes the answer to `request` and returns the records not returned before.
    ///
    /// On the first page of a window whose `TotalNum` passes 10,000, the window is split in two
    /// and this page's records are left for the halves. A one-second window that still holds
    /// more is fetched as far as the API allows, and listed in [`truncated`](Fetch::truncated).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, Fetch};
    /// use tencent_css_errcode::events::EventListResponse;
    /// let now = 1_700_000_000;
    /// let mut fetch = Fetch::new(EventQuery::new(now - 100, now), now)?;
    /// let request = fetch.next_request().unwrap();
    /// let crowded: EventListResponse = serde_json::from_str(r#"{"EventList": [], "TotalNum": 20000}"#)?;
    /// assert!(fetch.handle(&request, crowded).is_empty());
    /// assert_eq!(fetch.next_request().unwrap().window, (now - 49, now)); // the newer half first
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle(
        &mut self,
        request: &PageRequest,
        page: EventListResponse,
    ) -> Vec<StreamEventInfo> {
        self.requests += 1;
        if self.current != Some((request.window, request.page)) {
            // An answer to a request that is no longer wanted (a retry's late twin, say).
            return Vec::new();
        }
        let total = page.total_num.unwrap_or(0);
        if request.page == 1 && total > MAX_RECORDS_PER_QUERY {
            if let Some(halves) = bisect(request.window) {
                self.current = None;
                let [older, newer] = halves;
                match self.query.order {
                    Order::NewestFirst => self.windows.extend([older, newer]),
                    Order::OldestFirst => self.windows.extend([newer, older]),
                }
                return Vec::new();
            }
            self.truncated.push(request.window);
        }
        let received = page.event_list.len() as u64;
        let reachable = total.min(MAX_RECORDS_PER_QUERY);
        let more = received == PAGE_SIZE && request.page * PAGE_SIZE < reachable;
        self.current = more.then_some((request.window, request.page + 1));
        let fresh: Vec<StreamEventInfo> = page
            .event_list
            .into_iter()
            .filter(|record| {
                let time = record.end_time_unix().unwrap_or(request.window.1);
                self.seen.check(record.dedupe_key(), time).is_new()
            })
            .collect();
        self.records += fresh.len() as u64;
        fresh
    }

    /// Gives up on the window of `request` (after its retries failed), so that the fetch goes
    /// on with the next one.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, Fetch};
    /// let now = 1_700_000_000;
    /// let mut fetch = Fetch::new(EventQuery::new(now - 100, now), now)?;
    /// let request = fetch.next_request().unwrap();
    /// fetch.skip(&request);
    /// assert!(fetch.next_request().is_none());
    /// # Ok::<(), tencent_css_errcode::api::QueryError>(())
    /// ```
    pub fn skip(&mut self, request: &PageRequest) {
        if self.current.map(|(window, _)| window) == Some(request.window) {
            self.current = None;
            self.skipped.push(request.window);
        }
    }

    /// Windows given up on with [`skip`](Fetch::skip): their records are missing, from the
    /// page that failed on.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, Fetch};
    /// assert!(Fetch::new(EventQuery::new(0, 10), 20)?.skipped().is_empty());
    /// # Ok::<(), tencent_css_errcode::api::QueryError>(())
    /// ```
    pub fn skipped(&self) -> &[(i64, i64)] {
        &self.skipped
    }

    /// Requests answered so far.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, Fetch};
    /// assert_eq!(Fetch::new(EventQuery::new(0, 10), 20)?.requests(), 0);
    /// # Ok::<(), tencent_css_errcode::api::QueryError>(())
    /// ```
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Distinct records returned so far.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, Fetch};
    /// assert_eq!(Fetch::new(EventQuery::new(0, 10), 20)?.records(), 0);
    /// # Ok::<(), tencent_css_errcode::api::QueryError>(())
    /// ```
    pub fn records(&self) -> u64 {
        self.records
    }

    /// One-second windows that held more records than one query can reach (10,000): only
    /// that many of each were fetched.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::{EventQuery, Fetch};
    /// assert!(Fetch::new(EventQuery::new(0, 10), 20)?.truncated().is_empty());
    /// # Ok::<(), tencent_css_errcode::api::QueryError>(())
    /// ```
    pub fn truncated(&self) -> &[(i64, i64)] {
        &self.truncated
    }
}

#[cfg(test)]
mod tests {
    use super::Fetch;
    use crate::api::EventQuery;

    #[test]
    fn debug_says_what_it_holds_not_its_deduper_table() {
        // Derived over the deduper's slots, it was a 50 MB string.
        let now = 1_700_003_600;
        let fetch = Fetch::new(EventQuery::new(now - 3_600, now), now).unwrap();
        let text = format!("{fetch:?}");
        assert!(text.len() < 1_000, "{} bytes: {text}", text.len());
    }
}
