//! A local fake of DescribeLiveStreamEventList and DescribeLiveStreamOnlineList for the tests, on 127.0.0.1. It checks every
//! request as strictly as the documentation describes: the TC3 signature (recomputed here,
//! independently of the crate's signer), the timestamp within five minutes of its clock, the
//! headers, and every parameter and limit; it serves records in pages and injects rate
//! limiting, a 502, a slow answer, and records that arrive while a client pages.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tencent_css_errcode::events::{format_utc_time, parse_utc_time};

/// The current Unix time in seconds, as the fake and the command under test see it.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The secret id and key the fake knows.
pub const SECRET_ID: &str = "AKIDFAKE0000000000000000000000000000";
pub const SECRET_KEY: &str = "fake-secret-key";

/// Something to do to one request instead of answering it.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// This API error code instead of an answer.
    Api(&'static str),
    RateLimited,
    BadGateway,
    /// Answer after this long (past the client's timeout).
    Slow(Duration),
}

/// Records to add once this many requests have been answered.
pub type Arrivals = Option<(u64, Vec<(i64, Value)>)>;

pub struct Fake {
    /// The fake's clock: requests must be timestamped within five minutes of it.
    pub now: i64,
    /// (end time, record) for every record the fake holds.
    pub records: Mutex<Vec<(i64, Value)>>,
    /// Faults for the coming requests, by request number (from 1).
    pub faults: Mutex<BTreeMap<u64, Fault>>,
    pub arrivals: Mutex<Arrivals>,
    pub requests: AtomicU64,
    /// The streams DescribeLiveStreamOnlineList lists (StreamOnlineInfo objects).
    pub online: Mutex<Vec<Value>>,
    /// DescribeLiveStreamOnlineList requests answered.
    pub online_requests: AtomicU64,
    /// Every rejection the fake gave for a malformed request: a correct client causes none.
    pub rejections: Mutex<Vec<String>>,
}

pub fn record(n: u64, end: i64) -> (i64, Value) {
    (
        end,
        json!({
            "AppName": "live", "DomainName": format!("push{}.example.com", n % 3),
            "StreamName": format!("room{n}"), "StreamStartTime": format_utc_time(end - 60),
            "StreamEndTime": format_utc_time(end), "StopReason": "推流链路网络异常(12)",
            "Duration": 60, "ClientIp": if n % 5 == 0 { "-" } else { "198.51.100.7" },
            "Resolution": "1280*720", "Url": "rtmp://extra.field/is/ignored"
        }),
    )
}

/// `count` records spread evenly over `[start, end]`.
pub fn spread(first: u64, count: u64, start: i64, end: i64) -> Vec<(i64, Value)> {
    (0..count)
        .map(|i| {
            record(
                first + i,
                start + ((end - start) as u64 * i / count.max(1)) as i64,
            )
        })
        .collect()
}

impl Fake {
    pub fn new(now: i64, records: Vec<(i64, Value)>) -> Arc<Fake> {
        Arc::new(Fake {
            now,
            records: Mutex::new(records),
            faults: Mutex::default(),
            arrivals: Mutex::default(),
            requests: AtomicU64::new(0),
            online: Mutex::default(),
            online_requests: AtomicU64::new(0),
            rejections: Mutex::default(),
        })
    }
}

fn api_error(code: &str, message: &str) -> Response {
    let body = json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "fake-request"}});
    (StatusCode::OK, body.to_string()).into_response()
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request as the documentation requires it, or the API error it would get.
fn check(fake: &Fake, headers: &HeaderMap, body: &[u8]) -> Result<Value, Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let action = header("x-tc-action").unwrap_or_default();
    if ![
        "DescribeLiveStreamEventList",
        "DescribeLiveStreamOnlineList",
    ]
    .contains(&action)
    {
        return Err(api_error("InvalidAction", "unknown action"));
    }
    if header("x-tc-version") != Some("2018-08-01") {
        return Err(api_error("NoSuchVersion", "unknown version"));
    }
    let timestamp: i64 = header("x-tc-timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| api_error("MissingParameter", "X-TC-Timestamp"))?;
    if (timestamp - fake.now).abs() > 300 {
        return Err(api_error(
            "AuthFailure.SignatureExpire",
            "signature expired",
        ));
    }
    let authorization = header("authorization").unwrap_or_default();
    let rest = authorization
        .strip_prefix("TC3-HMAC-SHA256 Credential=")
        .ok_or_else(|| api_error("AuthFailure.InvalidAuthorization", "not TC3"))?;
    let parts: Vec<&str> = rest.split(", ").collect();
    let [credential, signed_headers, signature] = parts[..] else {
        return Err(api_error("AuthFailure.InvalidAuthorization", "shape"));
    };
    let signed_headers = signed_headers.strip_prefix("SignedHeaders=").unwrap_or("");
    let signature = signature.strip_prefix("Signature=").unwrap_or("");
    let scope: Vec<&str> = credential.split('/').collect();
    let [id, date, service, terminator] = scope[..] else {
        return Err(api_error("AuthFailure.InvalidAuthorization", "scope"));
    };
    if id != SECRET_ID {
        return Err(api_error("AuthFailure.SecretIdNotFound", "unknown id"));
    }
    if date != &format_utc_time(timestamp)[..10] || service != "live" || terminator != "tc3_request"
    {
        return Err(api_error("AuthFailure.SignatureFailure", "scope mismatch"));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"content-type") || !names.contains(&"host") {
        return Err(api_error(
            "AuthFailure.SignatureFailure",
            "content-type and host must be signed",
        ));
    }
    // Recompute from what was received, as the service does.
    let mut canonical_headers = String::new();
    for name in &names {
        let value = header(name).unwrap_or_default().trim().to_ascii_lowercase();
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let canonical = format!(
        "POST\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
        hex(&Sha256::digest(body))
    );
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/live/tc3_request\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = hmac(
        &hmac(
            &hmac(format!("TC3{SECRET_KEY}").as_bytes(), date.as_bytes()),
            b"live",
        ),
        b"tc3_request",
    );
    if hex(&hmac(&key, to_sign.as_bytes())) != signature {
        return Err(api_error(
            "AuthFailure.SignatureFailure",
            "signature mismatch",
        ));
    }

    // The parameters and their documented limits.
    let params: Value = serde_json::from_slice(body)
        .map_err(|_| api_error("InvalidParameter", "body is not JSON"))?;
    if action == "DescribeLiveStreamOnlineList" {
        return check_online(fake, params);
    }
    let known = [
        "StartTime",
        "EndTime",
        "AppName",
        "DomainName",
        "StreamName",
        "PageNum",
        "PageSize",
        "IsFilter",
        "IsStrict",
        "IsAsc",
    ];
    if let Some(unknown) = params
        .as_object()
        .unwrap()
        .keys()
        .find(|k| !known.contains(&k.as_str()))
    {
        fake.rejections
            .lock()
            .unwrap()
            .push(format!("unknown parameter {unknown}"));
        return Err(api_error("UnknownParameter", unknown));
    }
    let time = |name: &str| -> Result<i64, Response> {
        let text = params[name]
            .as_str()
            .ok_or_else(|| api_error("MissingParameter", name))?;
        parse_utc_time(text).map_err(|_| api_error("InvalidParameterValue", name))
    };
    let (start, end) = (time("StartTime")?, time("EndTime")?);
    let page_num = params["PageNum"].as_u64().unwrap_or(1);
    let page_size = params["PageSize"].as_u64().unwrap_or(10);
    let problem = if end < start {
        Some("EndTime before StartTime")
    } else if end - start > 30 * 86_400 {
        Some("span over 30 days")
    } else if start < fake.now - 60 * 86_400 {
        Some("older than 60 days")
    } else if end > fake.now {
        Some("EndTime in the future")
    } else if !(1..=100).contains(&page_size) || page_num < 1 {
        Some("PageSize or PageNum out of range")
    } else if page_num * page_size > 10_000 {
        Some("past 10000 records")
    } else {
        None
    };
    if let Some(problem) = problem {
        fake.rejections.lock().unwrap().push(problem.to_owned());
        return Err(api_error("InvalidParameterValue", problem));
    }
    Ok(params)
}

/// DescribeLiveStreamOnlineList's parameters: DomainName, AppName, PageNum, PageSize (10 to
/// 300,000; the China site's page) and StreamName, all optional.
fn check_online(fake: &Fake, params: Value) -> Result<Value, Response> {
    let known = ["DomainName", "AppName", "PageNum", "PageSize", "StreamName"];
    let reject = |problem: String| {
        fake.rejections.lock().unwrap().push(problem.clone());
        api_error("InvalidParameterValue", &problem)
    };
    for (name, value) in params.as_object().unwrap() {
        if !known.contains(&name.as_str()) {
            fake.rejections
                .lock()
                .unwrap()
                .push(format!("unknown parameter {name}"));
            return Err(api_error("UnknownParameter", name));
        }
        let ok = match name.as_str() {
            "PageNum" => value.as_u64().is_some_and(|n| n >= 1),
            "PageSize" => value.as_u64().is_some_and(|n| (10..=300_000).contains(&n)),
            _ => value.as_str().is_some_and(|s| !s.is_empty()),
        };
        if !ok {
            return Err(reject(format!("{name} out of range: {value}")));
        }
    }
    Ok(params)
}

/// The fake's answer to DescribeLiveStreamOnlineList, from `fake.online`.
fn serve_online(fake: &Fake, params: &Value, number: u64) -> Response {
    let app = params["AppName"].as_str().unwrap_or("live");
    let selected: Vec<Value> = fake
        .online
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s["AppName"] == app)
        .filter(|s| {
            params
                .get("DomainName")
                .is_none_or(|d| s["DomainName"] == *d)
        })
        .filter(|s| {
            params
                .get("StreamName")
                .is_none_or(|n| s["StreamName"] == *n)
        })
        .cloned()
        .collect();
    let page_num = params["PageNum"].as_u64().unwrap_or(1);
    let page_size = params["PageSize"].as_u64().unwrap_or(10);
    let total = selected.len() as u64;
    let page: Vec<Value> = selected
        .into_iter()
        .skip(((page_num - 1) * page_size) as usize)
        .take(page_size as usize)
        .collect();
    let body = json!({"Response": {
        "OnlineInfo": page, "PageNum": page_num, "PageSize": page_size, "TotalNum": total,
        "TotalPage": total.div_ceil(page_size), "RequestId": format!("fake-{number}")
    }});
    (StatusCode::OK, body.to_string()).into_response()
}

/// A stream on the air, as the API lists it.
pub fn online(domain: &str, app: &str, stream: &str, published: &[i64]) -> Value {
    let times: Vec<Value> = published
        .iter()
        .map(|t| json!({"PublishTime": format_utc_time(*t)}))
        .collect();
    json!({"StreamName": stream, "AppName": app, "DomainName": domain,
           "PublishTimeList": times, "PushToDelay": 0})
}

async fn serve(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    let number = fake.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let fault = fake.faults.lock().unwrap().remove(&number);
    match fault {
        Some(Fault::Api(code)) => return api_error(code, "injected"),
        Some(Fault::RateLimited) => {
            return api_error("RequestLimitExceeded", "too many requests");
        }
        Some(Fault::BadGateway) => {
            return (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response();
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let params = match check(&fake, &headers, &body) {
        Ok(params) => params,
        Err(response) => return response,
    };
    if headers["x-tc-action"] == "DescribeLiveStreamOnlineList" {
        fake.online_requests.fetch_add(1, Ordering::SeqCst);
        return serve_online(&fake, &params, number);
    }
    let (start, end) = (
        parse_utc_time(params["StartTime"].as_str().unwrap()).unwrap(),
        parse_utc_time(params["EndTime"].as_str().unwrap()).unwrap(),
    );
    let mut selected: Vec<(i64, Value)> = fake
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| (start..=end).contains(t))
        .filter(|(_, r)| {
            params
                .get("DomainName")
                .is_none_or(|d| r["DomainName"] == *d)
        })
        .filter(
            |(_, r)| match params.get("StreamName").and_then(Value::as_str) {
                None => true,
                Some(name) if params["IsStrict"] == 1 => r["StreamName"] == name,
                Some(name) => r["StreamName"].as_str().unwrap().contains(name),
            },
        )
        .cloned()
        .collect();
    selected.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1["StreamName"].as_str().cmp(&b.1["StreamName"].as_str()))
    });
    if params["IsAsc"] != 1 {
        selected.reverse();
    }
    let (page_num, page_size) = (
        params["PageNum"].as_u64().unwrap(),
        params["PageSize"].as_u64().unwrap(),
    );
    let total = selected.len() as u64;
    let page: Vec<Value> = selected
        .into_iter()
        .skip(((page_num - 1) * page_size) as usize)
        .take(page_size as usize)
        .map(|(_, r)| r)
        .collect();
    // Records that arrive while the client pages.
    let mut arrivals = fake.arrivals.lock().unwrap();
    if arrivals.as_ref().is_some_and(|(after, _)| number >= *after) {
        let (_, new) = arrivals.take().unwrap();
        fake.records.lock().unwrap().extend(new);
    }
    let body = json!({"Response": {
        "EventList": page, "PageNum": page_num, "PageSize": page_size, "TotalNum": total,
        "TotalPage": total.div_ceil(page_size), "RequestId": format!("fake-{number}")
    }});
    (StatusCode::OK, body.to_string()).into_response()
}

/// Starts the fake on 127.0.0.1 and returns its endpoint; it stops with the test's runtime.
pub async fn start(fake: Arc<Fake>) -> String {
    let app = Router::new().route("/", post(serve)).with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}
