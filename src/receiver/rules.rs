use core::fmt;

use super::Row;
use crate::events::{Callback, SignatureError};

/// Callback bodies are a few hundred bytes; a body larger than this is not one (`413`).
pub const BODY_LIMIT: usize = 64 * 1024;

/// How long after its `t` a callback is still accepted by default: 10 minutes.
const DEFAULT_SKEW: i64 = 600;

/// The answer rules of a receiver: its callback key, the path that takes callbacks, and how
/// late a signature may be.
///
/// `Debug` does not show the key.
///
/// # Example
/// ```
/// use tencent_css_errcode::receiver::{Decision, Request, Rules};
/// let rules = Rules::new("key", "/callback").max_skew(90);
/// let get = Request { method: "GET", path: "/callback", body: b"" };
/// let Decision::Answer(answer) = rules.decide(&get, 0) else { panic!() };
/// assert_eq!(answer.status, 405);
/// assert!(!format!("{rules:?}").contains("key\""));
/// ```
#[derive(Clone)]
pub struct Rules {
    key: String,
    path: String,
    max_skew: i64,
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules")
            .field("key", &"<hidden>")
            .field("path", &self.path)
            .field("max_skew", &self.max_skew)
            .finish()
    }
}

/// One HTTP request, as the rules need it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The path, without the query string.
    pub path: &'a str,
    /// The body (at most [`BODY_LIMIT`] bytes are needed to tell that it is too large).
    pub body: &'a [u8],
}

/// What to do with a request.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a callback to keep is the common case
pub enum Decision {
    /// Answer this; nothing is kept.
    Answer(Answer),
    /// Keep this callback, then answer what [`Keep::answer`] says of the store's result.
    Keep(Keep),
}

/// A callback to keep, and the answer that depends on keeping it.
#[derive(Debug)]
pub struct Keep {
    row: Row,
}

impl Keep {
    /// The row to store.
    pub fn row(&self) -> &Row {
        &self.row
    }

    /// The row to store, by value.
    pub fn into_row(self) -> Row {
        self.row
    }

    /// The answer once the store did what it could: `200` for a new or an already kept
    /// callback, `503` when it was not kept (with `Retry-After` when the store was busy).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::receiver::{Decision, Request, Rules, StoreError, Stored};
    /// # use tencent_css_errcode::events::sign;
    /// # let body = format!(r#"{{"t":9,"sign":"{}","event_type":1,"stream_id":"s","sequence":"1","event_time":1}}"#, sign("k", 9));
    /// let rules = Rules::new("k", "/callback");
    /// let request = Request { method: "POST", path: "/callback", body: body.as_bytes() };
    /// let Decision::Keep(keep) = rules.decide(&request, 0) else { panic!() };
    /// assert_eq!(keep.answer(Ok(Stored::Duplicate)).status, 200);
    /// let busy = keep.answer(Err(StoreError::Busy));
    /// assert_eq!((busy.status, busy.retry_after), (503, Some(1)));
    /// ```
    pub fn answer(&self, stored: Result<Stored, StoreError>) -> Answer {
        Answer::after_store(stored)
    }
}

/// What a store did with a row it was given.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Stored {
    /// Kept, and durable.
    New,
    /// Kept already (a redelivery): nothing written.
    Duplicate,
}

/// Why a store did not keep a row. The request gets `503`, and Tencent retries.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Its queue is full: try again in a second.
    #[error("the store is busy (its queue is full): retry later")]
    Busy,
    /// The write or its commit failed; nothing of it is kept.
    #[error("{0}")]
    Failed(String),
    /// The store has stopped.
    #[error("the store has stopped")]
    Closed,
}

/// Why a request got its answer; the metrics count requests by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// A new stream callback, kept.
    Accepted,
    /// A redelivery of a kept callback.
    Duplicate,
    /// An authentic callback of another kind (recording, snapshot, …): acknowledged, not kept.
    Ignored,
    /// Missing or wrong `sign`.
    BadSignature,
    /// `t` is further in the past than the allowed skew.
    Expired,
    /// Not a callback.
    Malformed,
    /// A body over [`BODY_LIMIT`].
    TooLarge,
    /// Another path.
    NotFound,
    /// Another method on the callback path.
    MethodNotAllowed,
    /// The store's queue is full.
    Busy,
    /// The store failed to keep it.
    Unstored,
}

impl Outcome {
    /// Every outcome, in a fixed order.
    pub const ALL: &'static [Outcome] = &[
        Outcome::Accepted,
        Outcome::Duplicate,
        Outcome::Ignored,
        Outcome::BadSignature,
        Outcome::Expired,
        Outcome::Malformed,
        Outcome::TooLarge,
        Outcome::NotFound,
        Outcome::MethodNotAllowed,
        Outcome::Busy,
        Outcome::Unstored,
    ];

    /// The snake_case name metrics use.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::receiver::Outcome;
    /// assert_eq!(Outcome::BadSignature.name(), "bad_signature");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::BadSignature => "bad_signature",
            Outcome::Expired => "expired",
            Outcome::Malformed => "malformed",
            Outcome::TooLarge => "too_large",
            Outcome::NotFound => "not_found",
            Outcome::MethodNotAllowed => "method_not_allowed",
            Outcome::Busy => "busy",
            Outcome::Unstored => "unstored",
        }
    }
}

/// An HTTP answer: status, JSON body, and why.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body: `{"code":0}`, or `{"code":<status>,"error":"…"}`.
    pub body: String,
    /// Why.
    pub outcome: Outcome,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u32>,
}

impl Answer {
    /// The answer to a callback once a store did what it could with it (what
    /// [`Keep::answer`] gives, for a caller that handed the row over with [`Keep::into_row`]).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::receiver::{Answer, Outcome, StoreError};
    /// let failed = Answer::after_store(Err(StoreError::Failed("disk I/O error".into())));
    /// assert_eq!((failed.status, failed.outcome), (503, Outcome::Unstored));
    /// ```
    pub fn after_store(stored: Result<Stored, StoreError>) -> Answer {
        match stored {
            Ok(Stored::New) => Answer::ok(Outcome::Accepted),
            Ok(Stored::Duplicate) => Answer::ok(Outcome::Duplicate),
            Err(StoreError::Busy) => Answer {
                retry_after: Some(1),
                ..Answer::error(503, Outcome::Busy, StoreError::Busy.to_string())
            },
            Err(error) => Answer::error(
                503,
                Outcome::Unstored,
                format!("cannot store the callback: {error}"),
            ),
        }
    }

    fn ok(outcome: Outcome) -> Answer {
        Answer {
            status: 200,
            body: r#"{"code":0}"#.to_owned(),
            outcome,
            retry_after: None,
        }
    }

    fn error(status: u16, outcome: Outcome, error: String) -> Answer {
        Answer {
            status,
            body: serde_json::json!({"code": status, "error": error}).to_string(),
            outcome,
            retry_after: None,
        }
    }

    /// Whether the request was a problem of the sender's (a 4xx), worth a warning.
    pub fn is_refusal(&self) -> bool {
        (400..500).contains(&self.status)
    }
}

impl Rules {
    /// Rules for callbacks signed with `key`, POSTed to `path`, accepted up to 10 minutes
    /// after their `t`.
    pub fn new(key: impl Into<String>, path: impl Into<String>) -> Rules {
        Rules {
            key: key.into(),
            path: path.into(),
            max_skew: DEFAULT_SKEW,
        }
    }

    /// Accepts callbacks up to `seconds` after their `t` (Tencent's clock and ours differ, and
    /// a retry carries the first delivery's `t`).
    pub fn max_skew(mut self, seconds: i64) -> Rules {
        self.max_skew = seconds.max(0);
        self
    }

    /// The path that takes callbacks.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The answer to `request` at Unix time `now`, or the callback to keep first.
    ///
    /// - another path: `404`; another method: `405`; a body over [`BODY_LIMIT`]: `413`;
    /// - not a callback: `400` with the reason;
    /// - missing or wrong `sign`, or `t` more than the skew in the past: `401`;
    /// - an authentic callback of another kind: `200`, nothing kept;
    /// - an authentic stream callback: [`Decision::Keep`].
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::receiver::{Decision, Outcome, Request, Rules};
    /// # use tencent_css_errcode::events::sign;
    /// let rules = Rules::new("k", "/callback");
    /// let late = format!(r#"{{"t":100,"sign":"{}","event_type":1,"stream_id":"s","sequence":"1","event_time":1}}"#, sign("k", 100));
    /// let request = Request { method: "POST", path: "/callback", body: late.as_bytes() };
    /// let Decision::Answer(answer) = rules.decide(&request, 100 + 601) else { panic!() };
    /// assert_eq!((answer.status, answer.outcome), (401, Outcome::Expired));
    /// assert!(answer.body.contains("it is now 701"), "{}", answer.body);
    /// ```
    pub fn decide(&self, request: &Request<'_>, now: i64) -> Decision {
        if let Some(answer) = self.route(request.method, request.path) {
            return Decision::Answer(answer);
        }
        if request.body.len() > BODY_LIMIT {
            return Decision::Answer(self.too_large());
        }
        // A callback whose `t` is up to `max_skew` in the past is still accepted.
        let deadline = now.saturating_sub(self.max_skew);
        let event = match Callback::parse(request.body) {
            Err(error) => {
                return Decision::Answer(Answer::error(
                    400,
                    Outcome::Malformed,
                    format!("not a callback: {error}"),
                ));
            }
            Ok(Callback::Other(other)) => {
                return Decision::Answer(match other.verify(&self.key, deadline) {
                    Ok(()) => Answer::ok(Outcome::Ignored),
                    Err(error) => self.refused(error, now),
                });
            }
            Ok(Callback::Stream(event)) => event,
        };
        if let Err(error) = event.verify(&self.key, deadline) {
            return Decision::Answer(self.refused(error, now));
        }
        Decision::Keep(Keep {
            row: Row::new(&event, request.body, now),
        })
    }

    /// The answer to a request whose body is known to be over [`BODY_LIMIT`] without reading
    /// it all (a server that stops reading at the limit): what [`decide`](Rules::decide)
    /// would answer to the whole body.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::receiver::Rules;
    /// let rules = Rules::new("k", "/callback");
    /// assert_eq!(rules.decide_oversize("POST", "/callback").status, 413);
    /// assert_eq!(rules.decide_oversize("POST", "/elsewhere").status, 404);
    /// ```
    pub fn decide_oversize(&self, method: &str, path: &str) -> Answer {
        self.route(method, path).unwrap_or_else(|| self.too_large())
    }

    /// `404` for another path, `405` for another method.
    fn route(&self, method: &str, path: &str) -> Option<Answer> {
        if path != self.path {
            return Some(Answer::error(404, Outcome::NotFound, "not found".into()));
        }
        if !method.eq_ignore_ascii_case("POST") {
            return Some(Answer::error(
                405,
                Outcome::MethodNotAllowed,
                format!("{} takes POST only", self.path),
            ));
        }
        None
    }

    fn too_large(&self) -> Answer {
        Answer::error(
            413,
            Outcome::TooLarge,
            format!("a callback is at most {BODY_LIMIT} bytes"),
        )
    }

    fn refused(&self, error: SignatureError, now: i64) -> Answer {
        match error {
            // The check ran at `now - max_skew`; say what the sender can compare with.
            SignatureError::Expired { t, .. } => Answer::error(
                401,
                Outcome::Expired,
                format!(
                    "the signature expired at {t}, and it is now {now} (Unix seconds): more than the {} s allowed",
                    self.max_skew
                ),
            ),
            other => Answer::error(401, Outcome::BadSignature, other.to_string()),
        }
    }
}
