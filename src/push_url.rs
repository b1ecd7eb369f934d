//! Push URLs: parse them, sign them, and predict the refusals CSS would answer them with.
//!
//! Needs the `push-url` feature.
//!
//! Most 18/3xx and 18/5xx interruptions can be seen coming from the push URL alone: an IP address
//! as host, a missing or expired `txTime`, a missing or wrong `txSecret`, characters CSS does not
//! accept in the AppName or StreamName. [`PushUrl::preflight`] finds them before the encoder
//! connects.
//!
//! # Example
//! ```
//! use tencent_css_errcode::Reason;
//! use tencent_css_errcode::push_url::PushUrl;
//!
//! let key = "e12c46f2612d5106e2034781ab261ca3";
//! let url: PushUrl = "rtmp://push.example.com/live/room42".parse()?;
//! let signed = url.sign(key, 1_700_086_400);
//! assert!(signed.preflight(Some(key), 1_700_000_000).is_empty());
//!
//! // The same URL a day later, or checked with another key:
//! let late = signed.preflight(Some(key), 1_700_090_000);
//! assert_eq!(late[0].reason(), Some(Reason::TxTimeExpired));
//! let wrong = signed.preflight(Some("another-key"), 1_700_000_000);
//! assert_eq!(wrong[0].reason(), Some(Reason::TxSecretMismatch));
//! # Ok::<(), tencent_css_errcode::push_url::PushUrlError>(())
//! ```

use core::fmt;
use core::str::FromStr;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::Reason;
use crate::digest::{constant_time_eq, md5_hex};

/// The protocol of a push URL.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Scheme {
    /// `rtmp://DOMAIN/AppName/StreamName?query`
    Rtmp,
    /// `webrtc://DOMAIN/AppName/StreamName?query`
    Webrtc,
    /// `srt://DOMAIN:PORT?streamid=#!::h=DOMAIN,r=AppName/StreamName,txSecret=…,txTime=…`
    Srt,
}

impl Scheme {
    /// The scheme as written before `://`.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::push_url::Scheme::Webrtc.as_str(), "webrtc");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Rtmp => "rtmp",
            Scheme::Webrtc => "webrtc",
            Scheme::Srt => "srt",
        }
    }
}

/// A parsed push URL. `Display` writes it back in full, its parameters in their original order.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PushUrl {
    scheme: Scheme,
    /// The URL's host, as written (with brackets for IPv6).
    host: String,
    port: Option<u16>,
    /// The push domain: the host, or for SRT the streamid's `h`.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, Scheme};
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099".parse().unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port()), (Scheme::Srt, "edge.example.com", Some(9000)));
    /// assert_eq!((url.domain(), url.app_name(), url.stream_name()), ("push.example.com", "live", "room42"));
    /// assert_eq!((url.tx_time(), url.tx_secret()), (Some("5C271099"), None));
    /// assert_eq!(url.params().len(), 1);
    /// ```
    domain: String,
    app_name: String,
    stream_name: String,
    /// The query parameters (rtmp, webrtc) or the streamid's other items (srt), in order.
    params: Vec<(String, String)>,
    /// SRT only: the query parameters besides `streamid`, in order.
    srt_query: Vec<(String, String)>,
}

/// Why a string is not a push URL. Each variant names the part that is wrong.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushUrlError {
    /// Not `rtmp://`, `webrtc://` or `srt://`.
    #[error("unsupported scheme in `{0}`: a push URL starts with rtmp://, webrtc:// or srt://")]
    Scheme(String),
    /// The host is missing or malformed, or the port is not a number.
    #[error("bad host: {0}")]
    Host(String),
    /// No AppName (the first path segment, or `r=AppName/…` in an SRT streamid).
    #[error("missing AppName: expected DOMAIN/AppName/StreamName")]
    MissingAppName,
    /// No StreamName (the second path segment).
    #[error("missing StreamName: expected DOMAIN/AppName/StreamName")]
    MissingStreamName,
    /// More path segments than AppName and StreamName.
    #[error("unexpected path `{0}` after AppName/StreamName")]
    Path(String),
    /// A query parameter or SRT streamid that cannot be read.
    #[error("malformed query: {0}")]
    Query(String),
}

/// The part of a push URL a [`Finding`] is about.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Part {
    /// The host (for SRT, the streamid's `h`).
    Host,
    /// The AppName.
    AppName,
    /// The StreamName.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, Scheme};
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099".parse().unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port()), (Scheme::Srt, "edge.example.com", Some(9000)));
    /// assert_eq!((url.domain(), url.app_name(), url.stream_name()), ("push.example.com", "live", "room42"));
    /// assert_eq!((url.tx_time(), url.tx_secret()), (Some("5C271099"), None));
    /// assert_eq!(url.params().len(), 1);
    /// ```
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
    /// let url = "rtmp://push.example.com/live/s".parse::<PushUrl>().unwrap().sign("k", 1_000);
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
    /// Parses an `rtmp://`, `webrtc://` or `srt://` push URL.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, PushUrlError, Scheme};
    ///
    /// let url = PushUrl::parse("rtmp://push.example.com/live/room42?txSecret=abc&txTime=5C271099")?;
    /// assert_eq!((url.scheme(), url.domain(), url.app_name(), url.stream_name()),
    ///            (Scheme::Rtmp, "push.example.com", "live", "room42"));
    /// assert_eq!(url.tx_time(), Some("5C271099"));
    ///
    /// let srt = PushUrl::parse("srt://push.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txSecret=abc,txTime=5C271099")?;
    /// assert_eq!(srt.stream_name(), "room42");
    ///
    /// assert_eq!(PushUrl::parse("rtmp://push.example.com/live"), Err(PushUrlError::MissingStreamName));
    /// # Ok::<(), PushUrlError>(())
    /// ```
    pub fn parse(text: &str) -> Result<PushUrl, PushUrlError> {
        let (scheme, rest) = match text.split_once("://") {
            Some(("rtmp", rest)) => (Scheme::Rtmp, rest),
            Some(("webrtc", rest)) => (Scheme::Webrtc, rest),
            Some(("srt", rest)) => (Scheme::Srt, rest),
            _ => return Err(PushUrlError::Scheme(text.chars().take(60).collect())),
        };
        let (before_query, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.split_once('/') {
            Some((authority, path)) => (authority, path),
            None => (before_query, ""),
        };
        let (host, port) = split_host_port(authority)?;
        let pairs = match query {
            Some(query) => parse_query(query)?,
            None => Vec::new(),
        };

        if scheme == Scheme::Srt {
            if !path.is_empty() {
                return Err(PushUrlError::Path(path.to_owned()));
            }
            let mut srt_query = Vec::new();
            let mut stream_id = None;
            for (key, value) in pairs {
                if key == "streamid" && stream_id.is_none() {
                    stream_id = Some(value);
                } else {
                    srt_query.push((key, value));
                }
            }
            let stream_id = stream_id.ok_or_else(|| {
                PushUrlError::Query("an SRT push URL needs a streamid parameter".to_owned())
            })?;
            let (domain, resource, params) = parse_stream_id(&stream_id)?;
            let (app_name, stream_name) = split_resource(&resource)?;
            let domain = domain.filter(|d| !d.is_empty()).ok_or_else(|| {
                PushUrlError::Query("the SRT streamid has no h=DOMAIN".to_owned())
            })?;
            return Ok(PushUrl {
                scheme,
                host,
                port,
                domain,
                app_name,
                stream_name,
                params,
                srt_query,
            });
        }

        let (app_name, stream_name) = split_resource(path)?;
        Ok(PushUrl {
            scheme,
            domain: host.clone(),
            host,
            port,
            app_name,
            stream_name,
            params: pairs,
            srt_query: Vec::new(),
        })
    }

    /// The protocol.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, Scheme};
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099".parse().unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port()), (Scheme::Srt, "edge.example.com", Some(9000)));
    /// assert_eq!((url.domain(), url.app_name(), url.stream_name()), ("push.example.com", "live", "room42"));
    /// assert_eq!((url.tx_time(), url.tx_secret()), (Some("5C271099"), None));
    /// assert_eq!(url.params().len(), 1);
    /// ```
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The URL's host as written (for SRT, where the encoder connects).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, Scheme};
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099".parse().unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port()), (Scheme::Srt, "edge.example.com", Some(9000)));
    /// assert_eq!((url.domain(), url.app_name(), url.stream_name()), ("push.example.com", "live", "room42"));
    /// assert_eq!((url.tx_time(), url.tx_secret()), (Some("5C271099"), None));
    /// assert_eq!(url.params().len(), 1);
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, if the URL names one.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, Scheme};
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099".parse().unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port()), (Scheme::Srt, "edge.example.com", Some(9000)));
    /// assert_eq!((url.domain(), url.app_name(), url.stream_name()), ("push.example.com", "live", "room42"));
    /// assert_eq!((url.tx_time(), url.tx_secret()), (Some("5C271099"), None));
    /// assert_eq!(url.params().len(), 1);
    /// ```
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The push domain: the host, or for SRT the streamid's `h`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The AppName (the console's "path").
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, Scheme};
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099".parse().unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port()), (Scheme::Srt, "edge.example.com", Some(9000)));
    /// assert_eq!((url.domain(), url.app_name(), url.stream_name()), ("push.example.com", "live", "room42"));
    /// assert_eq!((url.tx_time(), url.tx_secret()), (Some("5C271099"), None));
    /// assert_eq!(url.params().len(), 1);
    /// ```
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// The StreamName.
    pub fn stream_name(&self) -> &str {
        &self.stream_name
    }

    /// The parameters besides the ones that name the stream, in order: the query (rtmp, webrtc)
    /// or the streamid's items after `h` and `r` (srt). `txSecret` and `txTime` are among them.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, Scheme};
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099".parse().unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port()), (Scheme::Srt, "edge.example.com", Some(9000)));
    /// assert_eq!((url.domain(), url.app_name(), url.stream_name()), ("push.example.com", "live", "room42"));
    /// assert_eq!((url.tx_time(), url.tx_secret()), (Some("5C271099"), None));
    /// assert_eq!(url.params().len(), 1);
    /// ```
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The value of a parameter, if present (the first, if repeated).
    ///
    /// # Example
    /// ```
    /// let url: tencent_css_errcode::push_url::PushUrl = "rtmp://d.example.com/live/s?a=1&b=2".parse().unwrap();
    /// assert_eq!(url.param("b"), Some("2"));
    /// ```
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `txTime` as written.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, Scheme};
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099".parse().unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port()), (Scheme::Srt, "edge.example.com", Some(9000)));
    /// assert_eq!((url.domain(), url.app_name(), url.stream_name()), ("push.example.com", "live", "room42"));
    /// assert_eq!((url.tx_time(), url.tx_secret()), (Some("5C271099"), None));
    /// assert_eq!(url.params().len(), 1);
    /// ```
    pub fn tx_time(&self) -> Option<&str> {
        self.param("txTime")
    }

    /// `txSecret` as written.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::{PushUrl, Scheme};
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099".parse().unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port()), (Scheme::Srt, "edge.example.com", Some(9000)));
    /// assert_eq!((url.domain(), url.app_name(), url.stream_name()), ("push.example.com", "live", "room42"));
    /// assert_eq!((url.tx_time(), url.tx_secret()), (Some("5C271099"), None));
    /// assert_eq!(url.params().len(), 1);
    /// ```
    pub fn tx_secret(&self) -> Option<&str> {
        self.param("txSecret")
    }

    /// `txTime` as Unix seconds. CSS writes it in hexadecimal (`5C271099`) and also accepts
    /// decimal; since a hexadecimal time of this era has 8 digits and a decimal one 10, a value
    /// of 10 or more decimal digits is read as decimal and anything else as hexadecimal.
    ///
    /// # Example
    /// ```
    /// let url: tencent_css_errcode::push_url::PushUrl =
    ///     "rtmp://d.example.com/live/s?txTime=5C271099".parse().unwrap();
    /// assert_eq!(url.expiry_unix(), Some(1_546_064_025));
    /// let url: tencent_css_errcode::push_url::PushUrl =
    ///     "rtmp://d.example.com/live/s?txTime=1546064025".parse().unwrap();
    /// assert_eq!(url.expiry_unix(), Some(1_546_064_025));
    /// ```
    pub fn expiry_unix(&self) -> Option<i64> {
        parse_tx_time(self.tx_time()?)
    }

    /// A copy signed with the push key, valid until `expiry_unix`: `txTime` becomes the expiry
    /// in uppercase hex and `txSecret` the lowercase hex `MD5(key + StreamName + txTime)`.
    /// Existing `txTime`/`txSecret` values are replaced where they stand; otherwise both are
    /// appended, `txSecret` first.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "rtmp://push.example.com/live/test".parse().unwrap();
    /// let signed = url.sign("e12c46f2612d5106e2034781ab261ca3", 0x5C27_1099);
    /// assert_eq!(
    ///     signed.to_string(),
    ///     "rtmp://push.example.com/live/test?txSecret=f85a2ab363fe4deaffef9754d79da6fe&txTime=5C271099"
    /// );
    /// ```
    pub fn sign(&self, key: &str, expiry_unix: u64) -> PushUrl {
        let tx_time = format!("{expiry_unix:X}");
        let tx_secret = secret(key, &self.stream_name, &tx_time);
        let mut signed = self.clone();
        signed.set_param("txSecret", tx_secret);
        signed.set_param("txTime", tx_time);
        signed
    }

    fn set_param(&mut self, name: &str, value: String) {
        match self.params.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }

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
                    format!("txTime expired {} ago.", span(now_unix - expiry)),
                    "sign the URL again with a future expiry.",
                ),
                Some(expiry) if expiry - now_unix < 3600 => add(
                    None,
                    Part::TxTime,
                    format!(
                        "txTime expires in {}: a push that connects after that is refused.",
                        span(expiry - now_unix)
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

impl FromStr for PushUrl {
    type Err = PushUrlError;

    fn from_str(text: &str) -> Result<Self, PushUrlError> {
        PushUrl::parse(text)
    }
}

impl fmt::Display for PushUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        let write_pairs =
            |f: &mut fmt::Formatter<'_>, pairs: &[(String, String)], sep: char, first: bool| {
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 || !first {
                        write!(f, "{sep}")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                Ok(())
            };
        match self.scheme {
            Scheme::Srt => {
                write!(
                    f,
                    "?streamid=#!::h={},r={}/{}",
                    self.domain, self.app_name, self.stream_name
                )?;
                write_pairs(f, &self.params, ',', false)?;
                write_pairs(f, &self.srt_query, '&', false)
            }
            Scheme::Rtmp | Scheme::Webrtc => {
                write!(f, "/{}/{}", self.app_name, self.stream_name)?;
                if !self.params.is_empty() {
                    f.write_str("?")?;
                    write_pairs(f, &self.params, '&', true)?;
                }
                Ok(())
            }
        }
    }
}

fn secret(key: &str, stream_name: &str, tx_time: &str) -> String {
    md5_hex(&[key.as_bytes(), stream_name.as_bytes(), tx_time.as_bytes()])
}

fn parse_tx_time(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 16 {
        return None;
    }
    if text.len() >= 10 && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    i64::from_str_radix(text, 16).ok()
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

fn describe(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else {
        format!("{c:?} (U+{:04X})", u32::from(c))
    }
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), PushUrlError> {
    if authority.is_empty() {
        return Err(PushUrlError::Host("the URL has no host".to_owned()));
    }
    if authority.contains('@') {
        return Err(PushUrlError::Host(format!(
            "`{authority}` carries user information, which push URLs do not use"
        )));
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| PushUrlError::Host(format!("unclosed `[` in `{authority}`")))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                PushUrlError::Host(format!("unexpected `{after}` after `[{inside}]`"))
            })?),
        };
        (format!("[{inside}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(PushUrlError::Host("the URL has no host".to_owned()));
    }
    if let Some(bad) = host
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '#' | '%' | '\\'))
    {
        return Err(PushUrlError::Host(format!(
            "`{host}` contains {}",
            describe(bad)
        )));
    }
    let port = match port {
        None => None,
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    PushUrlError::Host(format!("port `{port}` is not a number from 1 to 65535"))
                })?,
        ),
    };
    Ok((host, port))
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>, PushUrlError> {
    query
        .split('&')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if key.is_empty() {
                return Err(PushUrlError::Query(format!(
                    "parameter `{pair}` has no name"
                )));
            }
            Ok((key.to_owned(), value.to_owned()))
        })
        .collect()
}

/// `#!::h=DOMAIN,r=App/Stream,k=v,…` into (h, r, the other items in order).
#[allow(clippy::type_complexity)]
fn parse_stream_id(
    stream_id: &str,
) -> Result<(Option<String>, String, Vec<(String, String)>), PushUrlError> {
    let items = stream_id.strip_prefix("#!::").ok_or_else(|| {
        PushUrlError::Query(format!("streamid `{stream_id}` does not start with `#!::`"))
    })?;
    let mut domain = None;
    let mut resource = None;
    let mut params = Vec::new();
    for item in items.split(',') {
        let (key, value) = item.split_once('=').ok_or_else(|| {
            PushUrlError::Query(format!("streamid item `{item}` is not key=value"))
        })?;
        match key {
            "h" if domain.is_none() => domain = Some(value.to_owned()),
            "r" if resource.is_none() => resource = Some(value.to_owned()),
            "" => {
                return Err(PushUrlError::Query(format!(
                    "streamid item `{item}` has no name"
                )));
            }
            _ => params.push((key.to_owned(), value.to_owned())),
        }
    }
    let resource = resource.ok_or(PushUrlError::MissingAppName)?;
    Ok((domain, resource, params))
}

fn split_resource(path: &str) -> Result<(String, String), PushUrlError> {
    let mut segments = path.splitn(3, '/');
    let app_name = segments.next().unwrap_or_default();
    if app_name.is_empty() {
        return Err(PushUrlError::MissingAppName);
    }
    let stream_name = segments.next().unwrap_or_default();
    if stream_name.is_empty() {
        return Err(PushUrlError::MissingStreamName);
    }
    if let Some(rest) = segments.next() {
        return Err(PushUrlError::Path(rest.to_owned()));
    }
    Ok((app_name.to_owned(), stream_name.to_owned()))
}
