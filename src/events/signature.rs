use super::{OtherCallback, StreamEvent};
use crate::digest::{constant_time_eq, md5_hex};

/// Why a callback's signature was refused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The event has no `sign` (or an empty one).
    #[error("the event carries no signature (`sign` is missing or empty)")]
    Missing,
    /// `sign` is not `md5(key + t)`: a wrong key, or a forged `sign` or `t`.
    #[error("the signature does not match: wrong callback key, or a forged sign or t")]
    Mismatch,
    /// The signature is authentic but its expiry `t` has passed.
    #[error("the signature expired at {t}, and it is now {now} (Unix seconds)")]
    Expired {
        /// The event's `t`: when its signature expires, in Unix seconds.
        t: i64,
        /// The time `verify` was given.
        now: i64,
    },
}

/// The signature Tencent puts on a callback: lowercase hex `MD5(key + t)`, `t` in decimal.
///
/// For tests, and for replaying recorded events to a staging receiver.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::sign;
/// // md5("key1700000000")
/// assert_eq!(sign("key", 1_700_000_000).len(), 32);
/// ```
pub fn sign(key: &str, t: i64) -> String {
    md5_hex(&[key.as_bytes(), t.to_string().as_bytes()])
}

impl StreamEvent {
    /// Checks the event's signature with your callback key, at time `now_unix`.
    ///
    /// What it proves, and what it does not: Tencent signs only the expiry, `sign =
    /// MD5(key + t)`, not the body. A matching `sign` shows that the sender knows the key, or
    /// holds a `(t, sign)` pair that Tencent issued; it does not show that the rest of the
    /// body is what Tencent sent. Anyone who captured one signed callback (on an
    /// unencrypted callback URL, in a log) can send any body with its `t` and `sign` until
    /// `t` passes (plus whatever skew the receiver allows). Use an HTTPS callback URL and keep
    /// callback bodies out of places others can read.
    ///
    /// `sign` must equal [`sign(key, t)`](sign) (compared in constant time, case-insensitively
    /// as hex), and the event is expired when `now_unix > t`. An authentic but expired event
    /// gives [`SignatureError::Expired`]; a wrong signature is [`SignatureError::Mismatch`]
    /// whatever the time.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{SignatureError, StreamEvent, sign};
    ///
    /// let body = format!(r#"{{"event_type":1,"t":1000,"sign":"{}","app":"d","appname":"live",
    ///     "stream_id":"s","sequence":"1","event_time":400}}"#, sign("k", 1000));
    /// let event: StreamEvent = serde_json::from_str(&body).unwrap();
    /// assert_eq!(event.verify("k", 999), Ok(()));
    /// assert_eq!(event.verify("other", 999), Err(SignatureError::Mismatch));
    /// assert_eq!(event.verify("k", 1001), Err(SignatureError::Expired { t: 1000, now: 1001 }));
    /// ```
    pub fn verify(&self, key: &str, now_unix: i64) -> Result<(), SignatureError> {
        check(key, self.t, self.sign.as_deref(), now_unix)
    }
}

impl OtherCallback {
    /// Checks the callback's signature, as [`StreamEvent::verify`] does.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{Callback, sign};
    /// let body = format!(r#"{{"event_type":100,"t":1000,"sign":"{}"}}"#, sign("k", 1000));
    /// let Ok(Callback::Other(other)) = Callback::parse(body.as_bytes()) else { panic!() };
    /// assert_eq!(other.verify("k", 999), Ok(()));
    /// ```
    pub fn verify(&self, key: &str, now_unix: i64) -> Result<(), SignatureError> {
        check(key, self.t, self.sign.as_deref(), now_unix)
    }
}

/// `sign` must be `sign(key, t)` (constant time, hex case-insensitive) and `now_unix` not past `t`.
fn check(key: &str, t: i64, given: Option<&str>, now_unix: i64) -> Result<(), SignatureError> {
    let given = match given {
        Some(given) if !given.is_empty() => given.to_ascii_lowercase(),
        _ => return Err(SignatureError::Missing),
    };
    if !constant_time_eq(given.as_bytes(), sign(key, t).as_bytes()) {
        return Err(SignatureError::Mismatch);
    }
    if now_unix > t {
        return Err(SignatureError::Expired { t, now: now_unix });
    }
    Ok(())
}
