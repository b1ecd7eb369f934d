//! Predicting the refusals a push URL will meet: the checks of [`PushUrl::preflight`].

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{PushUrl, describe, parse_tx_time, secret};
use crate::Reason;
use crate::digest::constant_time_eq;

/// The part of a push URL a [`Finding`] is about.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Part {
    /// The host (for SRT, the streamid's `h`).
    Host,
    /// The AppName.
    AppName,
    /// The StreamName.
    StreamName,
    /// The `txTime` parameter.
    TxTime,
    /// The `txSecret` parameter.
    TxSecret,
}

impl Part {
    /// How the part is called in the URL.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::push_url::Part::TxTime.name(), "txTime");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Part::Host => "host",
            Part::AppName => "AppName",
            Part::StreamName => "StreamName",
            Part::TxTime => "txTime",
            Part::TxSecret => "txSecret",
        }
    }
}

/// One predicted problem of a push URL: the refusal it predicts (or `None` for a warning), the
/// part at fault, what is wrong and a one-line fix.
///
/// Displays as `18/501 tx_time_expired (txTime): … Fix: …`, or `warning (txTime): …`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Finding {
    reason: Option<Reason>,
    part: Part,
    problem: String,
    fix: String,
}

impl Finding {
    /// The interruption this predicts; `None` for a warning that does not stop the push yet.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Reason, push_url::PushUrl};
    /// let url: PushUrl = "rtmp://push.example.com/live/s?txSecret=x".parse().unwrap();
    /// assert_eq!(url.preflight(None, 0)[0].reason(), Some(Reason::TxTimeMissing));
    /// ```
    pub fn reason(&self) -> Option<Reason> {
        self.reason
    }

    /// The part of the URL at fault.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{Part, PushUrl};
    /// let url: PushUrl = "rtmp://push.example.com/live/s?txSecret=x".parse().unwrap();
    /// assert_eq!(url.preflight(None, 0)[0].part(), Part::TxTime);
    /// ```
    pub fn part(&self) -> Part {
        self.part
    }

    /// What is wrong.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "rtmp://push.example.com/live/s?txSecret=x".parse().unwrap();
    /// assert_eq!(url.preflight(None, 0)[0].problem(), "the URL has no txTime.");
    /// ```
    pub fn problem(&self) -> &str {
        &self.problem
    }

    /// How to fix it, in one line.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "rtmp://push.example.com/live/s?txSecret=x".parse().unwrap();
    /// assert!(url.preflight(None, 0)[0].fix().starts_with("sign the URL"));
    /// ```
    pub fn fix(&self) -> &str {
        &self.fix
    }

    /// Whether this is only a warning.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url = "rtmp://push.example.com/live/s".parse::<PushUrl>().unwrap().sign("k", 1_000).unwrap();
    /// assert!(url.preflight(Some("k"), 900)[0].is_warning()); // expires within the hour
    /// ```
    pub fn is_warning(&self) -> bool {
        self.reason.is_none()
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            Some(r) => write!(f, "{}/{} {}", r.errcode(), r.sub_errcode(), r.name())?,
            None => f.write_str("warning")?,
        }
        write!(
            f,
            " ({}): {} Fix: {}",
            self.part.name(),
            self.problem,
            self.fix
        )
    }
}

impl PushUrl {
    /// Predicts the refusals CSS would answer this URL with at `now_unix`, without connecting.
    ///
    /// | finding | when |
    /// |---|---|
    /// | 18/300 | the host (SRT: `h`) is an IP address |
    /// | 18/309 | the AppName has a character outside `A-Z a-z 0-9 - _ . ~` |
    /// | 18/308 | the StreamName has a character outside `A-Z a-z 0-9 - _ . ~` |
    /// | 18/500 | no `txTime` |
    /// | 18/501 | `txTime` is in the past (the finding says how long ago), or is not a time |
    /// | 18/502 | no `txSecret` |
    /// | 18/503 | a key is given and `txSecret` is not `MD5(key + StreamName + txTime)` |
    /// | warning | `txTime` passes within the next hour |
    ///
    /// The character rule: CSS documents no character set, only "letters, digits and symbols".
    /// The check allows RFC 3986's unreserved characters, the only ones every encoder, proxy and
    /// URL library passes through unescaped and unchanged, so a name made of them reaches CSS as
    /// written and signs as written. Anything else may be escaped, split or dropped on the way,
    /// and is reported.
    ///
    /// An empty list means no refusal is predicted. Refusals that depend on the account or the
    /// console's settings (18/2xx, 18/301-307, 18/4xx, 18/6xx) cannot be seen from the URL.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Reason;
    /// use tencent_css_errcode::push_url::{Part, PushUrl};
    ///
    /// let url: PushUrl = "rtmp://203.0.113.7/live/room42".parse().unwrap();
    /// let findings = url.preflight(None, 1_700_000_000);
    /// let reasons: Vec<_> = findings.iter().map(|f| f.reason()).collect();
    /// assert_eq!(reasons, [Some(Reason::IpAddressHost), Some(Reason::TxTimeMissing), Some(Reason::TxSecretMissing)]);
    /// assert_eq!(findings[0].part(), Part::Host);
    /// ```
    pub fn preflight(&self, key: Option<&str>, now_unix: i64) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut add = |reason: Option<Reason>, part: Part, problem: String, fix: &str| {
            findings.push(Finding {
                reason,
                part,
                problem,
                fix: fix.to_owned(),
            });
        };

        if is_ip_address(&self.domain) {
            add(
                Some(Reason::IpAddressHost),
                Part::Host,
                format!("the push domain `{}` is an IP address.", self.domain),
                "push to the push domain configured in the CSS console, not to an IP address.",
            );
        }
        if let Some(bad) = first_unsafe_char(&self.app_name) {
            add(
                Some(Reason::AppNameInvalidChars),
                Part::AppName,
                format!("AppName `{}` contains {}.", self.app_name, describe(bad)),
                "use only letters, digits, `-`, `_`, `.` and `~` in the AppName.",
            );
        }
        if let Some(bad) = first_unsafe_char(&self.stream_name) {
            add(
                Some(Reason::StreamNameInvalidChars),
                Part::StreamName,
                format!(
                    "StreamName `{}` contains {}.",
                    self.stream_name,
                    describe(bad)
                ),
                "use only letters, digits, `-`, `_`, `.` and `~` in the StreamName.",
            );
        }
        match self.tx_time() {
            None => add(
                Some(Reason::TxTimeMissing),
                Part::TxTime,
                "the URL has no txTime.".to_owned(),
                "sign the URL: add txTime (expiry, hex Unix time) and txSecret.",
            ),
            Some(tx_time) => match parse_tx_time(tx_time) {
                None => add(
                    Some(Reason::TxTimeExpired),
                    Part::TxTime,
                    format!("txTime `{tx_time}` is not a time (hexadecimal Unix seconds)."),
                    "sign the URL again with a future expiry.",
                ),
                Some(expiry) if expiry < now_unix => add(
                    Some(Reason::TxTimeExpired),
                    Part::TxTime,
                    format!(
                        "txTime expired {} ago.",
                        span(now_unix.saturating_sub(expiry))
                    ),
                    "sign the URL again with a future expiry.",
                ),
                Some(expiry) if expiry.saturating_sub(now_unix) < 3600 => add(
                    None,
                    Part::TxTime,
                    format!(
                        "txTime expires in {}: a push that connects after that is refused.",
                        span(expiry.saturating_sub(now_unix))
                    ),
                    "sign the URL with a later expiry if the push may (re)connect after then.",
                ),
                Some(_) => {}
            },
        }
        match self.tx_secret() {
            None => add(
                Some(Reason::TxSecretMissing),
                Part::TxSecret,
                "the URL has no txSecret.".to_owned(),
                "sign the URL: add txSecret = md5(key + StreamName + txTime).",
            ),
            Some(given) => {
                if let (Some(key), Some(tx_time)) = (key, self.tx_time()) {
                    let expected = secret(key, &self.stream_name, tx_time);
                    if !constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes())
                    {
                        add(
                            Some(Reason::TxSecretMismatch),
                            Part::TxSecret,
                            "txSecret is not md5(key + StreamName + txTime) for this key."
                                .to_owned(),
                            "sign the URL again with the domain's current push key.",
                        );
                    }
                }
            }
        }
        findings
    }
}

/// `3h 12m`, `5m 3s`, `2d 4h`: the two largest units.
fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

fn is_ip_address(host: &str) -> bool {
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    unbracketed.parse::<Ipv4Addr>().is_ok() || unbracketed.parse::<Ipv6Addr>().is_ok()
}

fn first_unsafe_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
}
