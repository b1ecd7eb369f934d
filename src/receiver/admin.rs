//! The admin side of the receiver: the bearer-token guard, the page's handlers, and the
//! answers to what it does not serve.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
#[cfg(feature = "page")]
use axum::response::IntoResponse;
use axum::response::Response;
use subtle::ConstantTimeEq;

#[cfg(feature = "page")]
use super::Receiver;
use super::router::api_error;

/// The longest query string an admin route takes (the page's and the API's alike).
const MAX_QUERY_BYTES: usize = 2_048;

/// Query parameters that look like a credential: refused, so that a token never travels in a
/// URL (which proxies, browsers and access logs keep).
const CREDENTIAL_PARAMETERS: [&str; 5] =
    ["token", "access_token", "auth", "authorization", "bearer"];

/// What every admin request must show.
pub(super) struct Guard {
    token: Option<Vec<u8>>,
}

impl Guard {
    pub(super) fn new(token: Option<String>) -> Guard {
        Guard {
            token: token.filter(|t| !t.is_empty()).map(String::into_bytes),
        }
    }

    /// Whether `headers` carry `Authorization: Bearer <token>`, compared in constant time.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        else {
            return false;
        };
        bool::from(given.ct_eq(token))
    }
}

fn unauthorized(reason: &str) -> Response {
    let mut response = api_error(StatusCode::UNAUTHORIZED, reason);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Refuses what no admin route may see: an oversize query string, a credential in the query
/// string, a missing or wrong token (all but `/healthz`).
pub(super) async fn guard(
    State(guard): State<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    let query = request.uri().query().unwrap_or("");
    if query.len() > MAX_QUERY_BYTES {
        return api_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "the query string is {} bytes, over the {MAX_QUERY_BYTES} taken",
                query.len()
            ),
        );
    }
    let credential_in_query = query.split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or("");
        CREDENTIAL_PARAMETERS
            .iter()
            .any(|c| name.eq_ignore_ascii_case(c))
    });
    if credential_in_query {
        return unauthorized(
            "a credential in the query string is refused: send the token as `Authorization: Bearer <token>`",
        );
    }
    if request.uri().path() != "/healthz" && !guard.admits(request.headers()) {
        return unauthorized("this needs `Authorization: Bearer <token>` with the admin token");
    }
    next.run(request).await
}

pub(super) async fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "not found")
}

#[cfg(feature = "page")]
fn pairs(uri: &axum::http::Uri) -> Result<Vec<(String, String)>, String> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| format!("the query string cannot be read: {e}"))
}

#[cfg(feature = "page")]
fn html_error(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    html(
        status,
        format!(
            "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>{}</title><p>{escaped}</p></html>",
            status.as_u16()
        ),
    )
}

/// An HTML answer that may load nothing from anywhere (the page needs no script, no font, no
/// image of another host).
#[cfg(feature = "page")]
fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

#[cfg(feature = "page")]
fn accept_language(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(feature = "page")]
pub(super) async fn overview_page(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let query = match pairs(&uri)
        .and_then(|pairs| crate::page::PageQuery::parse(&pairs).map_err(|e| e.to_string()))
    {
        Ok(query) => query,
        Err(reason) => return html_error(StatusCode::BAD_REQUEST, &reason),
    };
    let lang = crate::page::language(query.lang, accept_language(&headers).as_deref());
    let now = crate::receiver::unix_now();
    match super::router::read(&receiver, move |reader| {
        crate::page::overview(reader, &query, lang, now)
    })
    .await
    {
        Ok(body) => html(StatusCode::OK, body),
        Err(error) => html_error(StatusCode::SERVICE_UNAVAILABLE, &error),
    }
}

#[cfg(feature = "page")]
pub(super) async fn stream_page(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    axum::extract::Path((domain, app, stream)): axum::extract::Path<(String, String, String)>,
) -> Response {
    let pairs = match pairs(&uri) {
        Ok(pairs) => pairs,
        Err(reason) => return html_error(StatusCode::BAD_REQUEST, &reason),
    };
    let mut lang = None;
    for (name, value) in &pairs {
        match (name.as_str(), value.parse::<crate::Lang>()) {
            ("lang", Ok(l)) if lang.is_none() => lang = Some(l),
            _ => {
                return html_error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "parameter `{name}`: a stream's page takes only lang (en, zh or ko), once"
                    ),
                );
            }
        }
    }
    let lang = crate::page::language(lang, accept_language(&headers).as_deref());
    let stream = crate::sessions::Stream::new(domain, app, stream);
    let now = crate::receiver::unix_now();
    match super::router::read(&receiver, move |reader| {
        crate::page::stream(reader, &stream, lang, now)
    })
    .await
    {
        Ok(body) => html(StatusCode::OK, body),
        Err(error) => html_error(StatusCode::SERVICE_UNAVAILABLE, &error),
    }
}
