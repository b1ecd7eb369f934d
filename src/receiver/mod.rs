//! Receiving Tencent's callbacks: which answer each request gets, and what of it is kept.
//!
//! Needs the `events` feature. The decision is a pure function of the request and the time
//! ([`Rules::decide`]): no I/O, so that any HTTP server can drive it and tests can call it
//! directly. A request is either answered at once ([`Decision::Answer`]) or carries a callback
//! to keep ([`Decision::Keep`]); then the answer follows what the store did with it
//! ([`Keep::answer`]): `200` only once it is durable, or was already there; `503` when the
//! store could not take it, so that Tencent retries.
//!
//! With the `store` feature, `store::Store` keeps the [`Row`]s in SQLite; with
//! the `router` feature, `Receiver` wires rules, store and metrics into an axum `Router`.
//!
//! # Example
//! ```
//! use tencent_css_errcode::events::sign;
//! use tencent_css_errcode::receiver::{Decision, Outcome, Request, Rules, Stored};
//!
//! let rules = Rules::new("callback-key", "/callback");
//! let now = 1_700_000_000;
//! let body = format!(
//!     r#"{{"t":{t},"sign":"{s}","event_type":0,"app":"push.example.com","appname":"live",
//!         "stream_id":"room42","event_time":{now},"sequence":"66","errcode":18}}"#,
//!     t = now + 600, s = sign("callback-key", now + 600),
//! );
//! let request = Request { method: "POST", path: "/callback", body: body.as_bytes() };
//! let Decision::Keep(keep) = rules.decide(&request, now) else { panic!("a callback to keep") };
//! assert_eq!(keep.row().stream, "room42");
//! // Once the store has it (or had it), the answer is 200.
//! let answer = keep.answer(Ok(Stored::New));
//! assert_eq!((answer.status, answer.outcome), (200, Outcome::Accepted));
//! ```

mod row;
mod rules;

#[cfg(feature = "router")]
mod admin;
#[cfg(feature = "router")]
mod metrics;
#[cfg(feature = "router")]
mod router;

pub use row::Row;
pub use rules::{Answer, BODY_LIMIT, Decision, Keep, Outcome, Request, Rules, StoreError, Stored};

#[cfg(feature = "router")]
pub use router::Receiver;
#[cfg(all(feature = "router", feature = "api"))]
pub use router::ReconcileError;

#[cfg(feature = "store")]
pub(crate) use crate::unix_now;
