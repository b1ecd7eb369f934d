//! Stream callbacks and event-list records (needs `--features events`).
#![cfg(feature = "events")]

use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;
use tencent_css_errcode::events::{
    EventKind, EventListResponse, SignatureError, StreamEvent, StreamEventInfo, sign,
};
use tencent_css_errcode::{Category, Lang, Reason, decode};

const KEY: &str = "e12c46f2612d5106e2034781ab261ca3";

/// A stream-end body in the documented format, every documented field plus `idc_id`.
fn end_event(t: i64) -> serde_json::Value {
    json!({
        "t": t, "sign": sign(KEY, t), "event_type": 0, "appid": 1_250_000_000u64,
        "app": "push.example.com", "appname": "live", "stream_id": "room42", "channel_id": "room42",
        "event_time": 1_700_000_000, "sequence": "6674468118806626493", "node": "203.0.113.7",
        "user_ip": "198.51.100.23", "stream_param": "txSecret=abc&txTime=6553F100",
        "push_duration": "61000", "errcode": 18, "errmsg": "push url maybe invalid",
        "set_id": 2, "width": 1280, "height": 720, "idc_id": 38
    })
}

fn parse(value: serde_json::Value) -> Result<StreamEvent, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[test]
fn an_official_stream_end_event() {
    let event = parse(end_event(1_700_000_600)).unwrap();
    assert_eq!(event.kind, EventKind::StreamEnd);
    assert_eq!(event.app, "push.example.com");
    assert_eq!(event.appname, "live");
    assert_eq!(event.stream_id, "room42");
    assert_eq!(event.channel_id.as_deref(), Some("room42"));
    assert_eq!(event.appid, Some(1_250_000_000));
    assert_eq!(event.node.as_deref(), Some("203.0.113.7"));
    assert_eq!(event.user_ip.as_deref(), Some("198.51.100.23"));
    assert_eq!(
        event.stream_param.as_deref(),
        Some("txSecret=abc&txTime=6553F100")
    );
    assert_eq!(event.errmsg.as_deref(), Some("push url maybe invalid"));
    assert_eq!(
        (event.set_id, event.width, event.height, event.idc_id),
        (Some(2), Some(1280), Some(720), Some(38))
    );
    assert_eq!(event.push_duration(), Some(Duration::from_secs(61)));
    assert_eq!(event.event_time_unix(), 1_700_000_000);
    assert_eq!(event.expires_at_unix(), 1_700_000_600);
    let interruption = event.interruption().unwrap();
    assert_eq!(interruption, decode(18, 0));
    assert_eq!(interruption.category(), Category::Refused);
    assert_eq!(event.verify(KEY, 1_700_000_000), Ok(()));
}

#[test]
fn a_push_start_event_has_no_interruption() {
    let mut body = end_event(100);
    body["event_type"] = json!(1);
    body.as_object_mut().unwrap().remove("errcode");
    body.as_object_mut().unwrap().remove("push_duration");
    let event = parse(body).unwrap();
    assert_eq!(event.kind, EventKind::PushStart);
    assert_eq!(event.interruption(), None);
    assert_eq!(event.push_duration(), None);
}

#[test]
fn errcode_21_reads_as_requested() {
    let mut body = end_event(100);
    body["errcode"] = json!(21);
    assert_eq!(
        parse(body).unwrap().interruption().unwrap().category(),
        Category::Requested
    );
}

#[test]
fn tolerant_where_payloads_vary() {
    let mut body = end_event(100);
    body["push_duration"] = json!(2500); // a number instead of the documented string
    body["errcode"] = json!("12"); // numbers as strings
    body["event_time"] = json!("1700000000");
    body["t"] = json!("100");
    body["appid"] = json!("1250000000");
    body["sequence"] = json!(6_674_468_118_806_626_493u64); // and a string as a number
    body["future_field"] = json!({"nested": true});
    for old in ["idc_id", "width", "height", "node", "channel_id", "set_id"] {
        body.as_object_mut().unwrap().remove(old);
    }
    let event = parse(body).unwrap();
    assert_eq!(event.push_duration(), Some(Duration::from_millis(2500)));
    assert_eq!(event.errcode, Some(12));
    assert_eq!(event.event_time, 1_700_000_000);
    assert_eq!(event.t, 100);
    assert_eq!(event.sequence, "6674468118806626493");
    assert_eq!(
        (event.idc_id, event.width, event.height),
        (None, None, None)
    );
    assert_eq!(event.interruption().unwrap().category(), Category::Network);
}

#[test]
fn strict_where_a_wrong_value_would_mislead() {
    let mut body = end_event(100);
    body.as_object_mut().unwrap().remove("errcode");
    assert!(parse(body).unwrap_err().contains("missing field `errcode`"));

    for (value, shown) in [
        (json!(-1), "-1"),
        (json!("-3"), "\"-3\""),
        (json!("abc"), "\"abc\""),
        (json!(1.5), "1.5"),
        (json!(4_294_967_296u64), "4294967296"),
    ] {
        let mut body = end_event(100);
        body["errcode"] = value;
        let err = parse(body).unwrap_err();
        assert!(
            err.contains(&format!(
                "field `errcode` is {shown}: expected a non-negative integer errcode"
            )),
            "{err}"
        );
    }

    let mut body = end_event(100);
    body["event_type"] = json!(100);
    let err = parse(body).unwrap_err();
    assert!(err.contains("unsupported event_type 100"), "{err}");

    let mut body = end_event(100);
    body["push_duration"] = json!("-5");
    assert!(
        parse(body)
            .unwrap_err()
            .contains("field `push_duration` is \"-5\"")
    );

    for required in ["event_type", "t", "stream_id", "sequence", "event_time"] {
        let mut body = end_event(100);
        body.as_object_mut().unwrap().remove(required);
        let err = parse(body).unwrap_err();
        assert!(
            err.contains(&format!("missing field `{required}`")),
            "{err}"
        );
    }
    assert!(serde_json::from_str::<StreamEvent>("[1,2]").is_err());
    assert!(serde_json::from_str::<StreamEvent>("{").is_err());
}

#[test]
fn signature_vectors() {
    // RFC 1321's test suite: MD5("1234567890" x 8) = 57edf4a2...; the key is that string less its
    // last character, and t = 0 supplies the final "0".
    let rfc = "1234567890".repeat(8);
    assert_eq!(sign(&rfc[..79], 0), "57edf4a22be3c955ac49da2e2107b67a");
    // MD5("e12c46f2612d5106e2034781ab261ca31700000600"), computed with Python's hashlib.
    assert_eq!(sign(KEY, 1_700_000_600), "755fc3793eeb6b29071b0f9ea178fcb8");
    // Negative t is written with its sign, as the decimal string it is.
    assert_eq!(sign("", -1).len(), 32);
    assert_ne!(sign("", -1), sign("", 1));
}

#[test]
fn verify_distinguishes_missing_mismatch_and_expired() {
    let event = parse(end_event(1_000)).unwrap();
    assert_eq!(event.verify(KEY, 999), Ok(()));
    assert_eq!(event.verify(KEY, 1_000), Ok(()), "t itself is still valid");
    assert_eq!(
        event.verify(KEY, 1_001),
        Err(SignatureError::Expired {
            t: 1_000,
            now: 1_001
        })
    );
    assert_eq!(
        event.verify("wrong key", 999),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        event.verify("wrong key", 5_000),
        Err(SignatureError::Mismatch),
        "a forgery is not reported as merely expired"
    );

    let mut body = end_event(1_000);
    body["sign"] = json!(sign(KEY, 1_000).to_uppercase());
    assert_eq!(
        parse(body).unwrap().verify(KEY, 999),
        Ok(()),
        "hex case does not matter"
    );

    let mut body = end_event(1_000);
    body["t"] = json!(2_000); // t moved without re-signing
    assert_eq!(
        parse(body).unwrap().verify(KEY, 999),
        Err(SignatureError::Mismatch)
    );

    for sign_value in [json!(null), json!("")] {
        let mut body = end_event(1_000);
        body["sign"] = sign_value;
        assert_eq!(
            parse(body).unwrap().verify(KEY, 999),
            Err(SignatureError::Missing)
        );
    }
    let mut body = end_event(1_000);
    body.as_object_mut().unwrap().remove("sign");
    assert_eq!(
        parse(body).unwrap().verify(KEY, 999),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        SignatureError::Expired { t: 1, now: 2 }.to_string(),
        "the signature expired at 1, and it is now 2 (Unix seconds)"
    );
}

#[test]
fn redeliveries_share_a_dedupe_key() {
    // A retry is re-signed with a later t, but it is the same event.
    let first = parse(end_event(1_000)).unwrap();
    let retry = parse(end_event(1_060)).unwrap();
    assert_ne!(first.sign, retry.sign);
    assert_eq!(first.dedupe_key(), retry.dedupe_key());
    assert_eq!(first.record().key, first.dedupe_key());

    let mut start = end_event(1_000);
    start["event_type"] = json!(1);
    assert_ne!(
        parse(start).unwrap().dedupe_key(),
        first.dedupe_key(),
        "start and end of one session differ"
    );
    let mut later = end_event(1_000);
    later["event_time"] = json!(1_700_000_001);
    assert_ne!(parse(later).unwrap().dedupe_key(), first.dedupe_key());
}

proptest! {
    #[test]
    fn sign_then_verify(key in ".{0,40}", t in -10_000_000_000i64..10_000_000_000, before in 0i64..1_000_000, after in 1i64..1_000_000) {
        let mut body = end_event(t);
        body["sign"] = json!(sign(&key, t));
        let event = parse(body).unwrap();
        prop_assert_eq!(event.verify(&key, t - before), Ok(()));
        prop_assert_eq!(event.verify(&key, t + after), Err(SignatureError::Expired { t, now: t + after }));
    }
}

fn record(stop_reason: &str) -> StreamEventInfo {
    let mut record = StreamEventInfo::default();
    record.stop_reason = stop_reason.to_owned();
    record
}

#[test]
fn event_list_with_and_without_envelope() {
    let list = json!([{
        "AppName": "live", "DomainName": "push.example.com", "StreamName": "room42",
        "StreamStartTime": "2019-01-04T11:58:58Z", "StreamEndTime": "2019-01-04T11:59:58Z",
        "StopReason": "客户端主动断流(3)", "Duration": 60, "ClientIp": "-", "Resolution": "640*352"
    }, {
        "AppName": "live", "DomainName": "push.example.com", "StreamName": "room43",
        "StreamStartTime": "2019-01-04T10:00:00Z", "StreamEndTime": "2019-01-04T10:00:10Z",
        "StopReason": "Client actively interrupts the push (3)", "Duration": "10", "ClientIp": "198.51.100.23",
        "Resolution": "", "SomethingNew": 1
    }]);
    let wrapped: EventListResponse = serde_json::from_value(json!({"Response": {
        "EventList": list, "PageNum": 1, "PageSize": 100, "TotalNum": 2, "TotalPage": 1, "RequestId": "req-1"
    }})).unwrap();
    let bare: EventListResponse =
        serde_json::from_value(json!({"EventList": list, "TotalNum": 2})).unwrap();
    assert_eq!(wrapped.events(), bare.events());
    assert_eq!(
        (wrapped.total_num, wrapped.request_id.as_deref()),
        (Some(2), Some("req-1"))
    );

    let [a, b] = wrapped.events() else {
        panic!("two records")
    };
    assert_eq!(a.stream_name, "room42");
    assert_eq!(a.client_address(), None);
    assert_eq!(b.client_address(), Some("198.51.100.23"));
    assert_eq!(a.elapsed(), Duration::from_secs(60));
    assert_eq!(b.elapsed(), Duration::from_secs(10));
    assert_eq!(a.start_time_unix(), Ok(1_546_603_138));
    assert_eq!(a.end_time_unix(), Ok(1_546_603_198));
    assert_eq!(a.frame_size(), Some((640, 352)));
    assert_eq!(b.frame_size(), None);
    assert_eq!(
        a.stream_end_time, "2019-01-04T11:59:58Z",
        "times stay as given"
    );
    assert_eq!(a.interruption(), Some(decode(3, 0)));
    assert_eq!(b.interruption(), Some(decode(3, 0)));
}

#[test]
fn event_list_errors_are_named() {
    let err = serde_json::from_value::<EventListResponse>(json!({"Response": {
        "Error": {"Code": "AuthFailure.SignatureFailure", "Message": "The provided credentials could not be validated."},
        "RequestId": "req-9"
    }})).unwrap_err().to_string();
    assert!(err.contains("the API answered AuthFailure.SignatureFailure: The provided credentials could not be validated. (RequestId req-9)"), "{err}");
    let err = serde_json::from_value::<EventListResponse>(json!({"Items": []}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no `EventList`"), "{err}");
    let err = serde_json::from_value::<EventListResponse>(json!({"EventList": [{"Duration": -4}]}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("-4 is not a non-negative integer"), "{err}");
    let mut bad_time = StreamEventInfo::default();
    bad_time.stream_start_time = "yesterday".into();
    assert_eq!(
        bad_time.start_time_unix().unwrap_err().to_string(),
        "`yesterday` is not a UTC time of the form 2019-01-04T11:59:58Z"
    );
}

#[test]
fn stop_reason_sub_codes_come_only_from_an_exact_unique_chinese_message() {
    // The official Chinese errmsg, unique within errcode 18: the sub-code is recovered.
    assert_eq!(
        record("账号欠费，您的直播服务已被暂时关停，请及时充值(18)")
            .interruption()
            .unwrap()
            .reason(),
        Some(Reason::AccountOverdue)
    );
    // The API never sends our English nor the Korean edition: they are not matched, and the
    // Korean edition's 18/305 text (the same as 18/308's) does not pass for 18/308.
    let korean_305 = format!("{} (18)", Reason::StreamNameInvalidChars.message(Lang::Ko));
    assert_eq!(record(&korean_305).interruption(), Some(decode(18, 0)));
    let english = format!("{} (18)", Reason::TxTimeExpired.description());
    assert_eq!(record(&english).interruption(), Some(decode(18, 0)));
    // Shared by 18/100-104: ambiguous, so the fallback for 18 alone.
    assert_eq!(
        record("直播系统内部错误(18)").interruption(),
        Some(decode(18, 0))
    );
    // Text that is no table message, or a message of another errcode: the code alone.
    assert_eq!(
        record("推流鉴权失败啦(18)").interruption(),
        Some(decode(18, 0))
    );
    assert_eq!(
        record("校验鉴权参数不通过(21)").interruption(),
        Some(decode(21, 0))
    );
    // Full-width parentheses are common in Chinese text.
    assert_eq!(
        record("推流链路网络异常（14）").interruption(),
        Some(decode(14, 0))
    );
}

#[test]
fn every_documented_stop_reason_form() {
    // (text, errcode, category), each as a documented answer writes it.
    for (text, errcode, category) in [
        // 2019 zh edition of DescribeLiveStreamEventList: text and code.
        ("客户端主动断流(3)", Some(3), Category::ClientClosed),
        // 2019 en edition.
        (
            "Client actively interrupts the push (3)",
            Some(3),
            Category::ClientClosed,
        ),
        // Current zh edition: the text alone, documented in data/stop_reasons.tsv.
        ("客户端主动断流", None, Category::ClientClosed),
        (
            "Client actively interrupts the push",
            None,
            Category::ClientClosed,
        ),
        // A table errmsg without a code: one row, or a category its rows share.
        (
            "账号欠费，您的直播服务已被暂时关停，请及时充值",
            Some(18),
            Category::Account,
        ),
        ("推流链路网络异常", None, Category::Network),
        // Nothing documented: unknown, never an error, text kept.
        ("stopped (by user)", None, Category::Unknown),
        ("", None, Category::Unknown),
        ("(3) at start", None, Category::Unknown),
    ] {
        let info = record(text);
        let cause = info.cause();
        assert_eq!(cause.interruption().map(|i| i.errcode()), errcode, "{text}");
        assert_eq!(cause.category(), category, "{text}");
        assert_eq!(cause.text(), text);
    }
}

#[test]
fn official_response_examples() {
    // The current official example verbatim (no code in StopReason), and the 2019 one as far as
    // its documented differences go: `(3)` in StopReason, TotalNum 100, an extra `Url` field.
    let current: EventListResponse =
        serde_json::from_str(include_str!("fixtures/describe_event_list_current.json")).unwrap();
    let older: EventListResponse =
        serde_json::from_str(include_str!("fixtures/describe_event_list_2019.json")).unwrap();
    let now = &current.events()[0];
    assert_eq!(now.cause().category(), Category::ClientClosed);
    assert_eq!(now.interruption(), None);
    assert_eq!(now.client_address(), Some("180.163.8.244"));
    assert_eq!(
        current.request_id.as_deref(),
        Some("8e50cdb5-56dc-408b-89b0-31818958d424")
    );
    let then = &older.events()[0];
    assert_eq!(then.interruption(), Some(decode(3, 0)));
    assert_eq!(older.total_num, Some(100));
}

#[test]
fn a_record_alone_on_its_line_is_a_page_of_one() {
    use tencent_css_errcode::events::Line;
    let line = r#"{"AppName":"live","DomainName":"d.example.com","StreamName":"room42","StreamStartTime":"2019-01-04T11:58:58Z","StreamEndTime":"2019-01-04T11:59:58Z","StopReason":"客户端主动断流(3)","Duration":60,"ClientIp":"-","Resolution":"640*352"}"#;
    let Ok(Some(Line::Page(page))) = Line::parse(line.as_bytes()) else {
        panic!("a page of one")
    };
    assert_eq!(page.events().len(), 1);
    assert_eq!(page.events()[0].interruption(), Some(decode(3, 0)));
    let bad = br#"{"StreamName":"room42","StreamEndTime":5}"#;
    assert!(Line::parse(bad).is_err());
}
