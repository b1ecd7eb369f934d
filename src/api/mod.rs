//! The interruption records of the cloud API: DescribeLiveStreamEventList, signed with
//! TC3-HMAC-SHA256, paged, split and retried, as the console's Stream Interruption Records page
//! lists them; and the streams on the air now, DescribeLiveStreamOnlineList
//! ([`Client::online`], [`OnlineFetch`]), which [`crate::sessions::Sessions::reconcile`] takes.
//!
//! Needs the `api` feature.
//!
//! The core does no I/O: [`Fetch`] plans the pages of a query and takes their answers,
//! [`signed_request`] makes the signed `http::Request` of a page and [`parse_response`] reads
//! the answer, so that any HTTP client can drive it. [`Client`] drives it with ureq (blocking,
//! rustls), pacing its requests and retrying what is worth retrying.
//!
//! # Example
//! ```no_run
//! use tencent_css_errcode::api::{Client, Credentials, EventQuery};
//!
//! let client = Client::new(Credentials::load()?);
//! let now = client.now();
//! for record in client.events(&EventQuery::new(now - 86_400, now).domain("push.example.com"))? {
//!     let record = record?;
//!     println!("{} {} {}", record.stream_name, record.stream_end_time, record.stop_reason);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With an async client, drive [`Fetch`] yourself:
//! ```
//! use tencent_css_errcode::api::{Credentials, EventQuery, Fetch, parse_response, signed_request};
//!
//! # fn send(request: http::Request<Vec<u8>>) -> (u16, Vec<u8>) {
//! #     (200, br#"{"Response":{"EventList":[],"TotalNum":0,"RequestId":"r"}}"#.to_vec())
//! # }
//! let credentials = Credentials::new("AKID…", "key");
//! let now = 1_700_000_000;
//! let mut fetch = Fetch::new(EventQuery::new(now - 3_600, now), now)?;
//! while let Some(page) = fetch.next_request() {
//!     let request = signed_request("https://live.tencentcloudapi.com", &credentials, &page, now)?;
//!     let (status, body) = send(request); // your client: `reqwest`, `hyper`, … (await here)
//!     for record in fetch.handle(&page, parse_response(status, &body)?) {
//!         println!("{}", record.stream_name);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod credentials;
mod fetch;
mod http;
mod online;
mod query;
pub mod tc3;

pub use client::{Client, Events, Retry};
pub use credentials::{Credentials, CredentialsError};
pub use fetch::{Fetch, PageRequest};
pub use http::{
    ACTION, DEFAULT_ENDPOINT, SERVICE, VERSION, parse_response, signed_action_request,
    signed_request,
};
pub use online::{
    DEFAULT_APP, DEFAULT_ONLINE_PAGE_SIZE, MAX_ONLINE_PAGE_SIZE, MIN_ONLINE_PAGE_SIZE,
    ONLINE_ACTION, OnlineFetch, OnlinePage, OnlineQuery, PublishTime, StreamOnlineInfo,
    parse_online_response,
};
pub use query::{
    EventQuery, HISTORY_SECONDS, MAX_RECORDS_PER_QUERY, MAX_SPAN_SECONDS, Order, PAGE_SIZE,
    QueryError, StreamMatch,
};

use crate::events::ApiError;

/// Why a request, or a whole fetch, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query is one the API cannot serve; nothing was sent.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// No credentials.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The API answered with an error: its `Code`, `Message` and `RequestId`.
    #[error("{error}{hint}", error = .0, hint = .0.hint().map(|h| format!(" ({h})")).unwrap_or_default())]
    Api(ApiError),
    /// An HTTP status other than 200 with no API error in the body (a gateway's error page).
    #[error("HTTP {status}: {body}")]
    Http {
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The connection failed or timed out.
    #[error("network: {0}")]
    Transport(String),
    /// A 200 answer that is not a DescribeLiveStreamEventList response.
    #[error("unreadable answer: {0}")]
    Response(String),
    /// The endpoint is not `scheme://host[:port]`.
    #[error(
        "bad endpoint `{0}`: expected scheme://host[:port], such as https://live.tencentcloudapi.com"
    )]
    Endpoint(String),
}

impl Error {
    /// Whether asking again may succeed: a retryable API error ([`ApiError::is_retryable`]),
    /// an HTTP 5xx or 429, or a network failure.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::api::Error;
    /// assert!(Error::Http { status: 502, body: String::new() }.is_retryable());
    /// assert!(!Error::Http { status: 404, body: String::new() }.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(error) => error.is_retryable(),
            Error::Http { status, .. } => *status >= 500 || *status == 429,
            Error::Transport(_) => true,
            _ => false,
        }
    }

    /// Whether the credentials were refused (`AuthFailure.*`): nothing else will work either.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{api::Error, events::ApiError};
    /// let error = Error::Api(ApiError { code: "AuthFailure.SignatureFailure".into(), message: String::new(), request_id: None });
    /// assert!(error.is_auth_failure());
    /// ```
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Error::Api(error) if error.code.starts_with("AuthFailure"))
    }
}
