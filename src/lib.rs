//! Typed Tencent Cloud CSS (Cloud Streaming Services) push interruption codes.
//!
//! When a live push stops, CSS reports why as `errcode` and `sub_errcode`. [`decode`] turns any
//! pair, listed or not, into an [`Interruption`] that keeps both numbers, with its [`Reason`]
//! when the pair is one of the 70 documented rows, and always a [`Category`] to match on. The
//! table lives in `data/codes.tsv`; `build.rs` validates it and generates [`Reason`] and the
//! lookup tables.
//!
//! ```
//! use tencent_css_errcode::{Category, Reason, decode};
//!
//! let interruption = decode(18, 503);
//! assert_eq!(interruption.reason(), Some(Reason::TxSecretMismatch));
//! assert_eq!(interruption.category(), Category::Auth);
//! assert!(!interruption.category().retryable());
//! ```
//!
//! # Features
//! - `std` (default): `std::error::Error` through the standard library; without it the crate is
//!   `no_std`, with the same types.
//! - `serde`: `Serialize`/`Deserialize` for the names and for [`Interruption`].
//! - `events`: the `events` module: stream callbacks and their signatures, DescribeLiveStreamEventList
//!   records, the normalised `Record`, `LineReader` and `Deduper`; and the `receiver` module's
//!   answer rules; the `sessions` module: pushes paired by `sequence`, and live streams.
//! - `push-url`: the `push_url` module: parse, sign and preflight push URLs.
//! - `api`: the `api` module: DescribeLiveStreamEventList and DescribeLiveStreamOnlineList,
//!   TC3-signed, paged and retried.
//! - `cli`: the `css-errcode` binary.
//! - `store`: the `store` module: the receiver's durable store of callbacks, in SQLite.
//! - `router`: `receiver::Receiver`, the receiver as two axum `Router`s (callbacks, admin) to
//!   serve or nest.
//! - `page`: the `page` module: the Stream Interruption Records page the admin router serves.
//! - `serve`: the binary's `serve` and `export` commands.
//!
//! The README has the command-line tool, the category table and the stability promises.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "api")]
pub mod api;
mod category;
#[cfg(any(feature = "events", feature = "push-url"))]
mod digest;
#[cfg(feature = "events")]
pub mod events;
mod interruption;
mod lang;
#[cfg(feature = "page")]
pub mod page;
mod parse_name_error;
#[cfg(feature = "push-url")]
pub mod push_url;
mod reason;
#[cfg(feature = "events")]
pub mod receiver;
#[cfg(feature = "events")]
pub mod sessions;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "events")]
pub mod triage;

/// The current Unix time in seconds (0 before 1970), for the API client's clock, the receiver
/// and its store.
#[cfg(any(feature = "api", feature = "store"))]
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub use category::Category;
pub use interruption::{Interruption, decode};
pub use lang::Lang;
pub use parse_name_error::ParseNameError;
pub use reason::{Basis, Reason};

/// The README's examples, run as doctests so that they stay true.
#[cfg(all(doctest, feature = "api", feature = "push-url"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
