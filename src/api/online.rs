//! DescribeLiveStreamOnlineList: the streams on the air now, as Tencent's best practice for
//! "is this stream live?" polls it beside the callbacks (at most once a minute).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Error;
use crate::events::{ApiError, parse_utc_time};
use crate::sessions::{Online, Stream};

/// The action.
pub const ONLINE_ACTION: &str = "DescribeLiveStreamOnlineList";
/// The AppName the API lists when the query names none.
pub const DEFAULT_APP: &str = "live";
/// The smallest `PageSize` the API takes.
pub const MIN_ONLINE_PAGE_SIZE: u64 = 10;
/// The largest `PageSize` the API takes.
pub const MAX_ONLINE_PAGE_SIZE: u64 = 300_000;
/// The page size asked for by default: the API serves fewer than 20,000 online streams, and
/// Tencent advises a page larger than the number of streams, so that one request lists all.
pub const DEFAULT_ONLINE_PAGE_SIZE: u64 = 20_000;

/// A DescribeLiveStreamOnlineList query: a push domain (or every domain), one AppName (the
/// API's default is `live`: an account with several must ask for each), one stream or all.
///
/// # Example
/// ```
/// use tencent_css_errcode::api::OnlineQuery;
/// let query = OnlineQuery::new().domain("push.example.com").app("live");
/// assert_eq!(query.scope_app(), "live");
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OnlineQuery {
    domain: Option<String>,
    app: Option<String>,
    stream: Option<String>,
    page_size: u64,
}

impl Default for OnlineQuery {
    fn default() -> OnlineQuery {
        OnlineQuery::new()
    }
}

impl OnlineQuery {
    /// Every online stream of AppName `live`, on every domain.
    pub fn new() -> OnlineQuery {
        OnlineQuery {
            domain: None,
            app: None,
            stream: None,
            page_size: DEFAULT_ONLINE_PAGE_SIZE,
        }
    }

    /// The query of one scope that [`crate::sessions::scopes`] gives: a domain (or every
    /// domain) and an AppName.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::OnlineQuery;
    /// let query = OnlineQuery::scope(Some("push.example.com"), "edu");
    /// assert_eq!(query, OnlineQuery::new().domain("push.example.com").app("edu"));
    /// ```
    pub fn scope(domain: Option<&str>, app: &str) -> OnlineQuery {
        let query = OnlineQuery::new().app(app);
        match domain {
            Some(domain) => query.domain(domain),
            None => query,
        }
    }

    /// Only this push domain (`DomainName`).
    pub fn domain(mut self, domain: impl Into<String>) -> OnlineQuery {
        self.domain = Some(domain.into());
        self
    }

    /// This AppName (`AppName`) instead of `live`.
    pub fn app(mut self, app: impl Into<String>) -> OnlineQuery {
        self.app = Some(app.into());
        self
    }

    /// Only this stream (`StreamName`, an exact match).
    pub fn stream(mut self, stream: impl Into<String>) -> OnlineQuery {
        self.stream = Some(stream.into());
        self
    }

    /// Streams a page (`PageSize`), within the API's 10 to 300,000.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::OnlineQuery;
    /// assert_eq!(OnlineQuery::new().page_size(1).page_size_value(), 10);
    /// ```
    pub fn page_size(mut self, streams: u64) -> OnlineQuery {
        self.page_size = streams.clamp(MIN_ONLINE_PAGE_SIZE, MAX_ONLINE_PAGE_SIZE);
        self
    }

    /// The page size asked for.
    pub fn page_size_value(&self) -> u64 {
        self.page_size
    }

    /// The AppName the answer covers: the one asked for, or `live`.
    pub fn scope_app(&self) -> &str {
        self.app.as_deref().unwrap_or(DEFAULT_APP)
    }

    /// The JSON body of page `page` (from 1).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::OnlineQuery;
    /// let body = OnlineQuery::new().app("live").body(2);
    /// assert_eq!(body, br#"{"AppName":"live","PageNum":2,"PageSize":20000}"#);
    /// ```
    pub fn body(&self, page: u64) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        if let Some(domain) = &self.domain {
            body.insert("DomainName".into(), domain.as_str().into());
        }
        if let Some(app) = &self.app {
            body.insert("AppName".into(), app.as_str().into());
        }
        body.insert("PageNum".into(), page.into());
        body.insert("PageSize".into(), self.page_size.into());
        if let Some(stream) = &self.stream {
            body.insert("StreamName".into(), stream.as_str().into());
        }
        serde_json::Value::Object(body).to_string().into_bytes()
    }
}

/// One page of the answer.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
#[non_exhaustive]
pub struct OnlinePage {
    /// `OnlineInfo`: the streams of this page.
    #[serde(rename = "OnlineInfo", default)]
    pub online_info: Vec<StreamOnlineInfo>,
    /// `TotalNum`: online streams the query matches.
    #[serde(rename = "TotalNum", default)]
    pub total_num: u64,
    /// `TotalPage`.
    #[serde(rename = "TotalPage", default)]
    pub total_page: u64,
}

/// One online stream (`StreamOnlineInfo`).
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
#[non_exhaustive]
pub struct StreamOnlineInfo {
    /// `DomainName`.
    #[serde(rename = "DomainName", default)]
    pub domain_name: String,
    /// `AppName`.
    #[serde(rename = "AppName", default)]
    pub app_name: String,
    /// `StreamName`.
    #[serde(rename = "StreamName")]
    pub stream_name: String,
    /// `PublishTimeList`: one `PublishTime` an upstream (two with primary and backup).
    #[serde(rename = "PublishTimeList", default)]
    pub publish_time_list: Vec<PublishTime>,
}

/// When an upstream started (`{"PublishTime": "2017-10-24T12:00:00Z"}`).
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
#[non_exhaustive]
pub struct PublishTime {
    /// `PublishTime`, UTC.
    #[serde(rename = "PublishTime")]
    pub publish_time: String,
}

/// Listing the online streams of a query, without doing any I/O: ask
/// [`next_request`](OnlineFetch::next_request) for the body of the next page, send it (the
/// [`Client`](super::Client) does with ureq), hand the answer to
/// [`handle`](OnlineFetch::handle), and take the [`Online`] poll at the end. A stream listed on
/// two pages (pages shift while streams start and stop) is kept once. A query whose pages did
/// not all arrive is no poll: drop the fetch, as Tencent advises counting a failed query as
/// "nothing known" rather than "offline".
///
/// # Example
/// ```
/// use tencent_css_errcode::api::{OnlineFetch, OnlineQuery, parse_online_response};
/// let mut fetch = OnlineFetch::new(OnlineQuery::new(), 1_700_000_000);
/// let (page, _body) = fetch.next_request().unwrap();
/// let answer = parse_online_response(200, br#"{"Response":{"OnlineInfo":[{"StreamName":"room42",
///     "AppName":"live","DomainName":"push.example.com","PublishTimeList":[{"PublishTime":"2023-11-14T22:00:00Z"}]}],
///     "TotalNum":1,"TotalPage":1,"PageNum":1,"PageSize":20000,"RequestId":"r"}}"#)?;
/// fetch.handle(page, answer);
/// assert!(fetch.next_request().is_none());
/// let poll = fetch.finish();
/// assert_eq!(poll.streams[0].0.stream, "room42");
/// assert_eq!(poll.streams[0].1, 1_699_999_200); // 2023-11-14T22:00:00Z, its publish time
/// # Ok::<(), tencent_css_errcode::api::Error>(())
/// ```
#[derive(Debug)]
pub struct OnlineFetch {
    query: OnlineQuery,
    at: i64,
    next: Option<u64>,
    streams: BTreeMap<Stream, i64>,
    requests: u64,
}

impl OnlineFetch {
    /// Plans the listing of `query`, taken at `now` (Unix seconds).
    pub fn new(query: OnlineQuery, now: i64) -> OnlineFetch {
        OnlineFetch {
            query,
            at: now,
            next: Some(1),
            streams: BTreeMap::new(),
            requests: 0,
        }
    }

    /// The next page to ask for and its body, or `None` when the listing is whole.
    pub fn next_request(&self) -> Option<(u64, Vec<u8>)> {
        self.next.map(|page| (page, self.query.body(page)))
    }

    /// Takes the answer to page `page`.
    pub fn handle(&mut self, page: u64, answer: OnlinePage) {
        self.requests += 1;
        if self.next != Some(page) {
            return;
        }
        let received = answer.online_info.len() as u64;
        for info in answer.online_info {
            let stream = Stream::new(info.domain_name, info.app_name, info.stream_name);
            let since = info
                .publish_time_list
                .iter()
                .filter_map(|p| parse_utc_time(&p.publish_time).ok())
                .min()
                .unwrap_or(self.at);
            let slot = self.streams.entry(stream).or_insert(since);
            *slot = (*slot).min(since);
        }
        let more = received == self.query.page_size
            && page.saturating_mul(self.query.page_size) < answer.total_num;
        self.next = more.then_some(page + 1);
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The poll: every stream listed, with the query's scope, at the time the fetch began.
    pub fn finish(self) -> Online {
        let mut online = Online::new(
            self.at,
            self.query.domain.as_deref(),
            self.query.scope_app(),
        );
        online.stream = self.query.stream.clone();
        for (stream, since) in self.streams {
            online = online.stream(stream, [since]);
        }
        online
    }
}

/// Reads the answer to a DescribeLiveStreamOnlineList request: the page, the API's error (which
/// comes with HTTP status 200), or an HTTP error.
///
/// # Example
/// ```
/// use tencent_css_errcode::api::{Error, parse_online_response};
/// let body = br#"{"Response":{"Error":{"Code":"InternalError","Message":"busy"},"RequestId":"r-1"}}"#;
/// assert!(matches!(parse_online_response(200, body), Err(Error::Api(e)) if e.is_retryable()));
/// assert!(matches!(parse_online_response(502, b"<html>"), Err(Error::Http { status: 502, .. })));
/// ```
pub fn parse_online_response(status: u16, body: &[u8]) -> Result<OnlinePage, Error> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "Response")]
        response: serde_json::Value,
    }
    #[derive(Deserialize)]
    struct Failure {
        #[serde(rename = "Code")]
        code: String,
        #[serde(rename = "Message", default)]
        message: String,
    }
    let excerpt = || String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    let envelope: Option<Envelope> = serde_json::from_slice(body).ok();
    if let Some(response) = envelope.map(|e| e.response) {
        if let Some(error) = response.get("Error") {
            if let Ok(failure) = Failure::deserialize(error) {
                return Err(Error::Api(ApiError {
                    code: failure.code,
                    message: failure.message,
                    request_id: response
                        .get("RequestId")
                        .and_then(|r| r.as_str())
                        .map(str::to_owned),
                }));
            }
        }
        if status == 200 {
            return OnlinePage::deserialize(&response).map_err(|e| {
                Error::Response(format!("not a {ONLINE_ACTION} answer ({e}): {}", excerpt()))
            });
        }
    }
    if status != 200 {
        return Err(Error::Http {
            status,
            body: excerpt(),
        });
    }
    Err(Error::Response(format!(
        "not a {ONLINE_ACTION} answer: {}",
        excerpt()
    )))
}
