//! The request and the response, as pure functions over the `http` crate's types: what an
//! async client of your choice sends and reads.

use super::tc3::{SigningInput, sign};
use super::{Credentials, Error, PageRequest};
use crate::events::{ApiError, EventListResponse};

/// The action this client calls.
pub const ACTION: &str = "DescribeLiveStreamEventList";
/// Its API version.
pub const VERSION: &str = "2018-08-01";
/// The service name in the signature's scope.
pub const SERVICE: &str = "live";
/// Where the China site answers; the international site moved to
/// `https://live.intl.tencentcloudapi.com`.
pub const DEFAULT_ENDPOINT: &str = "https://live.tencentcloudapi.com";
/// The body's type, signed as sent.
const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The signed HTTP request for one page, at `now` (Unix seconds): `POST endpoint/` with the
/// JSON body, `Host`, `Content-Type`, the `X-TC-*` headers and `Authorization`. The signature
/// covers `content-type`, `host` and `x-tc-action`.
///
/// # Example
/// ```
/// use tencent_css_errcode::api::{Credentials, EventQuery, Fetch, signed_request};
/// let now = 1_700_000_000;
/// let page = Fetch::new(EventQuery::new(now - 60, now), now)?.next_request().unwrap();
/// let request = signed_request("https://live.tencentcloudapi.com", &Credentials::new("AKID", "key"), &page, now)?;
/// assert_eq!(request.uri(), "https://live.tencentcloudapi.com/");
/// assert_eq!(request.headers()["X-TC-Action"], "DescribeLiveStreamEventList");
/// assert!(request.headers()["Authorization"].to_str()?.starts_with("TC3-HMAC-SHA256 Credential=AKID/2023-11-14/live/tc3_request"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn signed_request(
    endpoint: &str,
    credentials: &Credentials,
    page: &PageRequest,
    now: i64,
) -> Result<http::Request<Vec<u8>>, Error> {
    signed_action_request(endpoint, credentials, ACTION, &page.body, now)
}

/// The signed HTTP request of any action of the live API (version 2018-08-01) with a JSON
/// `body`, at `now`: what [`signed_request`] makes for DescribeLiveStreamEventList, here for
/// another action such as [`ONLINE_ACTION`](super::ONLINE_ACTION).
///
/// # Example
/// ```
/// use tencent_css_errcode::api::{Credentials, ONLINE_ACTION, OnlineQuery, signed_action_request};
/// let body = OnlineQuery::new().body(1);
/// let request = signed_action_request("https://live.tencentcloudapi.com", &Credentials::new("AKID", "key"), ONLINE_ACTION, &body, 1_700_000_000)?;
/// assert_eq!(request.headers()["X-TC-Action"], "DescribeLiveStreamOnlineList");
/// # Ok::<(), tencent_css_errcode::api::Error>(())
/// ```
pub fn signed_action_request(
    endpoint: &str,
    credentials: &Credentials,
    action: &str,
    body: &[u8],
    now: i64,
) -> Result<http::Request<Vec<u8>>, Error> {
    let base = endpoint.trim_end_matches('/');
    let host = base
        .split_once("://")
        .map(|(_, rest)| rest)
        .filter(|host| !host.is_empty() && !host.contains('/'))
        .ok_or_else(|| Error::Endpoint(endpoint.to_owned()))?;
    let signature = sign(
        credentials.secret_id(),
        credentials.secret_key(),
        &SigningInput {
            method: "POST",
            query: "",
            headers: &[
                ("Content-Type", CONTENT_TYPE),
                ("Host", host),
                ("X-TC-Action", action),
            ],
            body,
            service: SERVICE,
            timestamp: now,
        },
    );
    let mut builder = http::Request::post(format!("{base}/"))
        .header("Content-Type", CONTENT_TYPE)
        .header("Host", host)
        .header("X-TC-Action", action)
        .header("X-TC-Version", VERSION)
        .header("X-TC-Timestamp", now.to_string())
        .header("Authorization", signature.authorization);
    if let Some(token) = credentials.token() {
        builder = builder.header("X-TC-Token", token);
    }
    builder
        .body(body.to_vec())
        .map_err(|e| Error::Endpoint(format!("{endpoint}: {e}")))
}

/// Reads the answer to a page request: the page, or the API's error (which comes with HTTP
/// status 200), or an HTTP error (a gateway's 502 page, say).
///
/// # Example
/// ```
/// use tencent_css_errcode::api::{Error, parse_response};
/// let body = br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"expired"},"RequestId":"r-1"}}"#;
/// let Err(Error::Api(error)) = parse_response(200, body) else { panic!() };
/// assert_eq!(error.code, "AuthFailure.SignatureExpire");
/// assert!(!error.is_retryable());
/// assert!(matches!(parse_response(502, b"<html>Bad Gateway</html>"), Err(Error::Http { status: 502, .. })));
/// ```
pub fn parse_response(status: u16, body: &[u8]) -> Result<EventListResponse, Error> {
    use super::super::events::Line;
    let excerpt = || String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    match Line::parse(body) {
        Ok(Some(Line::Page(page))) if status == 200 => Ok(page),
        Ok(Some(Line::ApiError(error))) => Err(Error::Api(error)),
        _ if status != 200 => Err(Error::Http {
            status,
            body: excerpt(),
        }),
        Ok(_) => Err(Error::Response(format!(
            "not a DescribeLiveStreamEventList answer: {}",
            excerpt()
        ))),
        Err(e) => Err(Error::Response(format!("{e}: {}", excerpt()))),
    }
}

impl ApiError {
    /// Whether asking again later may succeed: rate limiting (`RequestLimitExceeded*`) and
    /// failures inside the service (`InternalError`, `ServiceUnavailable`,
    /// `FailedOperation.CallOtherSvrFailed`). Never authentication, parameter or account
    /// errors.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::ApiError;
    /// let error = |code: &str| ApiError { code: code.into(), message: String::new(), request_id: None };
    /// assert!(error("RequestLimitExceeded.UinLimitExceeded").is_retryable());
    /// assert!(!error("AuthFailure.SignatureFailure").is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        let code = self.code.as_str();
        code == "RequestLimitExceeded"
            || code.starts_with("RequestLimitExceeded.")
            || matches!(
                code,
                "InternalError" | "ServiceUnavailable" | "FailedOperation.CallOtherSvrFailed"
            )
    }

    /// What to do about the common errors, in one line.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::ApiError;
    /// let error = ApiError { code: "AuthFailure.SignatureExpire".into(), message: String::new(), request_id: None };
    /// assert!(error.hint().unwrap().contains("clock"));
    /// ```
    pub fn hint(&self) -> Option<&'static str> {
        let code = self.code.as_str();
        Some(match code {
            "AuthFailure.SignatureExpire" => {
                "the request's time is more than 5 minutes off the server's: fix this machine's clock (NTP)"
            }
            "AuthFailure.SignatureFailure" => {
                "the signature does not match: check TENCENTCLOUD_SECRET_KEY (a wrong or mistyped key)"
            }
            "AuthFailure.SecretIdNotFound" | "AuthFailure.InvalidSecretId" => {
                "the secret id is unknown, disabled or deleted: check TENCENTCLOUD_SECRET_ID (no spaces around it)"
            }
            "AuthFailure.TokenFailure" => {
                "the temporary credentials' token is wrong or expired: get new ones"
            }
            "AuthFailure.UnauthorizedOperation" | "UnauthorizedOperation" => {
                "the key's account or sub-account may not call DescribeLiveStreamEventList: grant it in CAM"
            }
            "ResourceNotFound.FreezeService" | "ResourceNotFound.StopService" => {
                "the account's CSS service is frozen or stopped, usually for arrears: top up in the console"
            }
            "ResourceNotFound.UserNotExist" | "ResourceNotFound.UserDisableService" => {
                "the account has not activated CSS, or turned it off"
            }
            "InvalidParameterValue" | "InvalidParameter" => {
                "a parameter is out of range: the window must end by now, start within 60 days and span at most 30"
            }
            _ if code == "RequestLimitExceeded" || code.starts_with("RequestLimitExceeded.") => {
                "too many requests: lower the request rate (retried with backoff)"
            }
            _ => return None,
        })
    }
}
