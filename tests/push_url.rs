//! Push URL parsing, signing and preflight (needs `--features push-url`).
#![cfg(feature = "push-url")]

use proptest::prelude::*;
use tencent_css_errcode::Reason;
use tencent_css_errcode::push_url::{Part, PushUrl, PushUrlError, Scheme};

const KEY: &str = "e12c46f2612d5106e2034781ab261ca3";
const NOW: i64 = 1_700_000_000;

fn url(text: &str) -> PushUrl {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A URL signed with KEY, valid for a day after NOW, on the given host/app/stream.
fn signed(host: &str, app: &str, stream: &str) -> PushUrl {
    url(&format!("rtmp://{host}/{app}/{stream}"))
        .sign(KEY, NOW + 86_400)
        .unwrap()
}

fn reasons(url: &PushUrl, key: Option<&str>) -> Vec<Option<Reason>> {
    url.preflight(key, NOW).iter().map(|f| f.reason()).collect()
}

#[test]
fn the_reference_worked_example() {
    let signed = url("rtmp://push.example.com/live/test")
        .sign(KEY, 0x5C27_1099)
        .unwrap();
    assert_eq!(signed.tx_time(), Some("5C271099"));
    assert_eq!(signed.tx_secret(), Some("f85a2ab363fe4deaffef9754d79da6fe"));
    // Checked with a time before its expiry, it passes.
    assert!(signed.preflight(Some(KEY), 0x5C27_1099 - 7200).is_empty());
}

#[test]
fn a_clean_signed_url_has_no_findings() {
    for scheme_url in [
        signed("push.example.com", "live", "room-42_a.b~c"),
        url("webrtc://push.example.com/live/room42").sign(KEY, NOW + 86_400).unwrap(),
        url("srt://push.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,m=publish&latency=200")
            .sign(KEY, NOW + 86_400).unwrap(),
    ] {
        assert!(scheme_url.preflight(Some(KEY), NOW).is_empty(), "{scheme_url}");
        assert!(scheme_url.preflight(None, NOW).is_empty(), "{scheme_url}");
    }
}

#[test]
fn each_finding_alone() {
    let ip = signed("203.0.113.7", "live", "room42");
    assert_eq!(reasons(&ip, Some(KEY)), [Some(Reason::IpAddressHost)]);
    assert_eq!(ip.preflight(None, NOW)[0].part(), Part::Host);
    let ipv6 = signed("[2001:db8::1]:1935", "live", "room42");
    assert_eq!(reasons(&ipv6, Some(KEY)), [Some(Reason::IpAddressHost)]);

    let no_time = url(&format!(
        "rtmp://push.example.com/live/room42?txSecret={}",
        "0".repeat(32)
    ));
    assert_eq!(reasons(&no_time, Some(KEY)), [Some(Reason::TxTimeMissing)]);

    let expired = url("rtmp://push.example.com/live/room42")
        .sign(KEY, NOW - 3 * 3600 - 720)
        .unwrap();
    let findings = expired.preflight(Some(KEY), NOW);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].reason(), Some(Reason::TxTimeExpired));
    assert_eq!(findings[0].part(), Part::TxTime);
    assert!(
        findings[0].problem().contains("expired 3h 12m ago"),
        "{}",
        findings[0]
    );

    let unreadable = url("rtmp://push.example.com/live/room42?txSecret=x&txTime=zz");
    assert_eq!(reasons(&unreadable, None), [Some(Reason::TxTimeExpired)]);

    let no_secret = url(&format!(
        "rtmp://push.example.com/live/room42?txTime={:X}",
        NOW + 86_400
    ));
    assert_eq!(
        reasons(&no_secret, Some(KEY)),
        [Some(Reason::TxSecretMissing)]
    );

    let wrong_key = signed("push.example.com", "live", "room42");
    assert_eq!(
        reasons(&wrong_key, Some("another-key")),
        [Some(Reason::TxSecretMismatch)]
    );
    assert_eq!(
        reasons(&wrong_key, None),
        [],
        "without a key the secret cannot be checked"
    );

    let bad_stream = signed("push.example.com", "live", "room 42");
    let findings = bad_stream.preflight(Some(KEY), NOW);
    assert_eq!(
        findings.iter().map(|f| f.reason()).collect::<Vec<_>>(),
        [Some(Reason::StreamNameInvalidChars)]
    );
    assert_eq!(findings[0].part(), Part::StreamName);
    assert!(
        findings[0].problem().contains("' ' (U+0020)"),
        "{}",
        findings[0]
    );

    let bad_app = signed("push.example.com", "liv%C3%A9", "room42");
    let findings = bad_app.preflight(Some(KEY), NOW);
    assert_eq!(
        findings.iter().map(|f| f.reason()).collect::<Vec<_>>(),
        [Some(Reason::AppNameInvalidChars)]
    );
    assert!(findings[0].problem().contains("`%`"), "{}", findings[0]);
    assert_eq!(
        reasons(&signed("push.example.com", "live", "直播"), Some(KEY)),
        [Some(Reason::StreamNameInvalidChars)]
    );

    let soon = url("rtmp://push.example.com/live/room42")
        .sign(KEY, NOW + 1_380)
        .unwrap();
    let findings = soon.preflight(Some(KEY), NOW);
    assert_eq!(findings.len(), 1);
    assert!(findings[0].is_warning());
    assert_eq!(findings[0].reason(), None);
    assert!(
        findings[0].problem().contains("expires in 23m 0s"),
        "{}",
        findings[0]
    );
    assert!(findings[0].to_string().starts_with("warning (txTime): "));
}

#[test]
fn several_findings_come_in_a_fixed_order() {
    let all = url("rtmp://198.51.100.1/li ve/st#ream");
    assert_eq!(
        reasons(&all, Some(KEY)),
        [
            Some(Reason::IpAddressHost),
            Some(Reason::AppNameInvalidChars),
            Some(Reason::StreamNameInvalidChars),
            Some(Reason::TxTimeMissing),
            Some(Reason::TxSecretMissing),
        ]
    );
    let text = all.preflight(None, NOW)[0].to_string();
    assert!(
        text.starts_with("18/300 ip_address_host (host): "),
        "{text}"
    );
    assert!(text.contains(" Fix: "), "{text}");
}

#[test]
fn decimal_tx_time_is_accepted() {
    // txSecret = MD5(KEY + "room42" + "1700086400"), computed with Python's hashlib.
    let decimal = url(
        "rtmp://push.example.com/live/room42?txSecret=8e3c9f3b9591b9e41aab186ce1311b12&txTime=1700086400",
    );
    assert_eq!(decimal.expiry_unix(), Some(1_700_086_400));
    assert!(decimal.preflight(Some(KEY), NOW).is_empty());
    assert_eq!(reasons(&decimal, Some(KEY)), []);
    // The secret covers txTime as written: the same expiry in hex does not match it.
    let hex = url(
        "rtmp://push.example.com/live/room42?txSecret=8e3c9f3b9591b9e41aab186ce1311b12&txTime=65554280",
    );
    assert_eq!(hex.expiry_unix(), Some(1_700_086_400));
    assert_eq!(reasons(&hex, Some(KEY)), [Some(Reason::TxSecretMismatch)]);
    // Upper-case hex in txSecret is accepted.
    let upper = url(
        "rtmp://push.example.com/live/room42?txSecret=8E3C9F3B9591B9E41AAB186CE1311B12&txTime=1700086400",
    );
    assert_eq!(reasons(&upper, Some(KEY)), []);
}

#[test]
fn parse_keeps_everything_and_names_what_is_wrong() {
    let u = url("rtmp://push.example.com:1935/live/room42?a=1&txSecret=s&b=&txTime=5C271099&a=2");
    assert_eq!(u.scheme(), Scheme::Rtmp);
    assert_eq!(
        (u.host(), u.port(), u.domain()),
        ("push.example.com", Some(1935), "push.example.com")
    );
    let names: Vec<&str> = u.params().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["a", "txSecret", "b", "txTime", "a"]);
    assert_eq!(
        u.to_string(),
        "rtmp://push.example.com:1935/live/room42?a=1&txSecret=s&b=&txTime=5C271099&a=2"
    );
    // Re-signing replaces in place and keeps the order.
    let resigned = u.sign(KEY, 0x5C27_1099).unwrap();
    let names: Vec<&str> = resigned.params().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["a", "txSecret", "b", "txTime", "a"]);

    let srt = url(
        "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,m=publish,txSecret=s,txTime=5C271099&latency=200",
    );
    assert_eq!(
        (srt.host(), srt.domain(), srt.app_name(), srt.stream_name()),
        ("edge.example.com", "push.example.com", "live", "room42")
    );
    assert_eq!(srt.param("m"), Some("publish"));
    assert_eq!(srt.tx_time(), Some("5C271099"));
    assert_eq!(
        srt.to_string(),
        "srt://edge.example.com:9000?streamid=#!::h=push.example.com,r=live/room42,m=publish,txSecret=s,txTime=5C271099&latency=200"
    );

    for (text, expected) in [
        (
            "http://push.example.com/live/s",
            PushUrlError::Scheme("http://push.example.com/live/s".into()),
        ),
        (
            "push.example.com/live/s",
            PushUrlError::Scheme("push.example.com/live/s".into()),
        ),
        (
            "rtmp:///live/s",
            PushUrlError::Host("the URL has no host".into()),
        ),
        (
            "rtmp://push.example.com:99999/live/s",
            PushUrlError::Host("port `99999` is not a number from 1 to 65535".into()),
        ),
        ("rtmp://push.example.com", PushUrlError::MissingAppName),
        ("rtmp://push.example.com//s", PushUrlError::MissingAppName),
        (
            "rtmp://push.example.com/live",
            PushUrlError::MissingStreamName,
        ),
        (
            "rtmp://push.example.com/live/",
            PushUrlError::MissingStreamName,
        ),
        (
            "rtmp://push.example.com/live/s/extra",
            PushUrlError::Path("extra".into()),
        ),
        (
            "rtmp://push.example.com/live/s?=x",
            PushUrlError::Query("parameter `=x` has no name".into()),
        ),
        (
            "srt://push.example.com:9000",
            PushUrlError::Query("an SRT push URL needs a streamid parameter".into()),
        ),
        (
            "srt://push.example.com:9000?streamid=h=x",
            PushUrlError::Query("streamid `h=x` does not start with `#!::`".into()),
        ),
        (
            "srt://push.example.com:9000?streamid=#!::h=push.example.com",
            PushUrlError::MissingAppName,
        ),
        (
            "srt://push.example.com:9000?streamid=#!::r=live/s",
            PushUrlError::Query("the SRT streamid has no h=DOMAIN".into()),
        ),
    ] {
        assert_eq!(PushUrl::parse(text), Err(expected), "{text}");
    }
    let err = PushUrl::parse("rtmp://push.example.com/live").unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing StreamName: expected DOMAIN/AppName/StreamName"
    );
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{1,24}"
}

proptest! {
    #[test]
    fn signed_urls_pass_until_they_expire(
        app in name(), stream in name(), key in "[a-f0-9]{32}", other in "[a-f0-9]{32}",
        valid_for in 3_600i64..400_000_000, scheme in prop_oneof![Just("rtmp"), Just("webrtc")],
    ) {
        prop_assume!(key != other);
        let u = url(&format!("{scheme}://push.example.com/{app}/{stream}?extra=1")).sign(&key, NOW + valid_for).unwrap();
        prop_assert!(u.preflight(Some(&key), NOW).is_empty());
        prop_assert_eq!(reasons(&u, Some(&other)), vec![Some(Reason::TxSecretMismatch)]);
        let later = u.preflight(Some(&key), NOW + valid_for + 1);
        prop_assert_eq!(later.iter().map(|f| f.reason()).collect::<Vec<_>>(), vec![Some(Reason::TxTimeExpired)]);
    }

    #[test]
    fn parse_and_display_round_trip(
        scheme in prop_oneof![Just("rtmp"), Just("webrtc"), Just("srt")],
        host in "[a-z0-9]{1,10}(\\.[a-z0-9]{1,10}){1,3}", port in proptest::option::of(1u16..),
        app in "[A-Za-z0-9._~%-]{1,12}", stream in "[A-Za-z0-9._~%!-]{1,12}",
        params in proptest::collection::vec(("[A-Za-z][A-Za-z0-9]{0,8}", "[A-Za-z0-9._%-]{0,12}"), 0..5),
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let text = if scheme == "srt" {
            let items: String = params.iter().map(|(k, v)| format!(",{k}={v}")).collect();
            format!("srt://{host}{port}?streamid=#!::h={host},r={app}/{stream}{items}")
        } else {
            let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
            format!("{scheme}://{host}{port}/{app}/{stream}{query}")
        };
        prop_assume!(!params.iter().any(|(k, _)| k == "h" || k == "r"));
        let parsed = url(&text);
        prop_assert_eq!(parsed.to_string(), text.clone());
        prop_assert_eq!(url(&parsed.to_string()), parsed);
    }
}

#[test]
fn hosts_schemes_and_times_at_the_edges() {
    // An unbracketed IPv6 address is refused, not misread as host `2001:db8:` and port 1.
    let err = PushUrl::parse("rtmp://2001:db8::1/live/s").unwrap_err();
    assert!(matches!(err, PushUrlError::Host(_)), "{err}");
    assert!(err.to_string().contains("in brackets"), "{err}");
    let bracketed = url("rtmp://[2001:db8::1]/live/s");
    assert_eq!(
        (bracketed.host(), bracketed.port()),
        ("[2001:db8::1]", None)
    );
    assert_eq!(reasons(&bracketed, None)[0], Some(Reason::IpAddressHost));

    // Schemes are case-insensitive, and written back in lowercase.
    let upper = url("RTMP://push.example.com/live/s");
    assert_eq!(upper.scheme(), Scheme::Rtmp);
    assert!(upper.to_string().starts_with("rtmp://"));

    // Times: no overflow at the extremes (a debug build would panic), no sign before 1970.
    let far = url("rtmp://push.example.com/live/s?txTime=7FFFFFFFFFFFFFFF&txSecret=x");
    assert_eq!(far.expiry_unix(), Some(i64::MAX));
    assert!(far.preflight(None, -1).is_empty());
    assert!(far.preflight(None, i64::MIN).is_empty());
    let old = url("rtmp://push.example.com/live/s?txTime=0&txSecret=x");
    assert_eq!(reasons(&old, None), [Some(Reason::TxTimeExpired)]);
    assert!(
        old.preflight(None, i64::MAX)[0]
            .problem()
            .contains("expired")
    );
    assert_eq!(
        url("rtmp://push.example.com/live/s").sign(KEY, -1),
        Err(PushUrlError::Expiry(-1))
    );
    let max = url("rtmp://push.example.com/live/s")
        .sign(KEY, i64::MAX)
        .unwrap();
    assert_eq!(max.tx_time(), Some("7FFFFFFFFFFFFFFF"));
    assert_eq!(max.expiry_unix(), Some(i64::MAX));
}
