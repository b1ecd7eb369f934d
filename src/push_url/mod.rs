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
//! let signed = url.sign(key, 1_700_086_400)?;
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

use crate::digest::md5_hex;

mod preflight;

pub use preflight::{Finding, Part};

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
    /// An expiry to sign with that is before 1970: `txTime` is a non-negative Unix time.
    #[error("expiry {0} is before 1970: txTime is a non-negative Unix time")]
    Expiry(i64),
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
        // Schemes are case-insensitive (RFC 3986, 3.1); `Display` writes them in lowercase.
        let scheme = text
            .split_once("://")
            .map(|(scheme, rest)| (scheme.to_ascii_lowercase(), rest));
        let (scheme, rest) = match scheme.as_ref().map(|(s, rest)| (s.as_str(), *rest)) {
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
    /// let url: PushUrl = "RTMP://push.example.com/live/room42".parse().unwrap();
    /// assert_eq!(url.scheme(), Scheme::Rtmp); // schemes are case-insensitive
    /// ```
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The URL's host as written (for SRT, where the encoder connects).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42".parse().unwrap();
    /// assert_eq!(url.host(), "edge.example.com"); // where the encoder connects
    /// assert_eq!(url.domain(), "push.example.com"); // the push domain CSS checks
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, if the URL names one.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "rtmp://[2001:db8::1]:1935/live/room42".parse().unwrap();
    /// assert_eq!((url.host(), url.port()), ("[2001:db8::1]", Some(1935)));
    /// ```
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The push domain: the host, or for SRT the streamid's `h`.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "rtmp://push.example.com/live/room42".parse().unwrap();
    /// assert_eq!(url.domain(), "push.example.com");
    /// ```
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The AppName (the console's "path").
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "webrtc://push.example.com/live/room42".parse().unwrap();
    /// assert_eq!(url.app_name(), "live");
    /// ```
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// The StreamName, the last part of the path (for SRT, of `r=`).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "rtmp://push.example.com/live/room42?txTime=5C271099".parse().unwrap();
    /// assert_eq!(url.stream_name(), "room42");
    /// ```
    pub fn stream_name(&self) -> &str {
        &self.stream_name
    }

    /// The parameters besides the ones that name the stream, in order: the query (rtmp, webrtc)
    /// or the streamid's items after `h` and `r` (srt). `txSecret` and `txTime` are among them.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// // For SRT, the streamid's items after h and r, then nothing of the outer query.
    /// let url: PushUrl = "srt://push.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,txTime=5C271099&latency=200".parse().unwrap();
    /// assert_eq!(url.params(), [("txTime".to_owned(), "5C271099".to_owned())]);
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
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "rtmp://push.example.com/live/s?txTime=5C271099".parse().unwrap();
    /// assert_eq!(url.tx_time(), Some("5C271099"));
    /// ```
    pub fn tx_time(&self) -> Option<&str> {
        self.param("txTime")
    }

    /// `txSecret` as written.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::push_url::PushUrl;
    /// let url: PushUrl = "rtmp://push.example.com/live/s?txSecret=f85a2ab363fe4deaffef9754d79da6fe".parse().unwrap();
    /// assert_eq!(url.tx_secret(), Some("f85a2ab363fe4deaffef9754d79da6fe"));
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
    /// let signed = url.sign("e12c46f2612d5106e2034781ab261ca3", 0x5C27_1099)?;
    /// assert_eq!(
    ///     signed.to_string(),
    ///     "rtmp://push.example.com/live/test?txSecret=f85a2ab363fe4deaffef9754d79da6fe&txTime=5C271099"
    /// );
    /// // txTime is a Unix time in hexadecimal: it cannot be before 1970.
    /// assert!(url.sign("key", -1).is_err());
    /// # Ok::<(), tencent_css_errcode::push_url::PushUrlError>(())
    /// ```
    pub fn sign(&self, key: &str, expiry_unix: i64) -> Result<PushUrl, PushUrlError> {
        if expiry_unix < 0 {
            return Err(PushUrlError::Expiry(expiry_unix));
        }
        let tx_time = format!("{expiry_unix:X}");
        let tx_secret = secret(key, &self.stream_name, &tx_time);
        let mut signed = self.clone();
        signed.set_param("txSecret", tx_secret);
        signed.set_param("txTime", tx_time);
        Ok(signed)
    }

    fn set_param(&mut self, name: &str, value: String) {
        match self.params.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.params.push((name.to_owned(), value)),
        }
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

pub(super) fn secret(key: &str, stream_name: &str, tx_time: &str) -> String {
    md5_hex(&[key.as_bytes(), stream_name.as_bytes(), tx_time.as_bytes()])
}

pub(super) fn parse_tx_time(text: &str) -> Option<i64> {
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

pub(super) fn describe(c: char) -> String {
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
    } else if authority.matches(':').count() > 1 {
        return Err(PushUrlError::Host(format!(
            "`{authority}` looks like an IPv6 address: write it in brackets, as [2001:db8::1]:1935"
        )));
    } else {
        match authority.split_once(':') {
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
