//! The admin listener and the Stream Interruption Records page, the real binary over real HTTP
//! on 127.0.0.1: what each listener answers, the token, query strings that are refused, and
//! the page's rows, filters, languages, escaping and size.
#![cfg(feature = "serve")]

#[path = "common/receiver.rs"]
mod receiver;

use receiver::*;

const TOKEN: &str = "admin-token-for-tests-0123456789";

fn server_with_token(data: &std::path::Path) -> Server {
    Server::start_env(
        data,
        &["--admin-token-env", "SERVE_TEST_ADMIN"],
        &[],
        &[("SERVE_TEST_ADMIN", TOKEN)],
    )
}

fn admin(server: &Server, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    request_with(&server.admin_address, "GET", path, headers, b"").unwrap()
}

const BEARER: (&str, &str) = ("Authorization", "Bearer admin-token-for-tests-0123456789");

#[test]
fn the_callback_listener_says_nothing_of_the_streams() {
    let data = temp_dir("admin-public");
    let server = server_with_token(&data);
    for path in [
        "/",
        "/metrics",
        "/api/streams?live=true",
        "/streams/a/b/c",
        "/api/streams/a/b/c",
    ] {
        let (status, _) = server.request("GET", path, b"");
        assert_eq!(status, 404, "{path} on the callback listener");
    }
    assert_eq!(server.request("GET", "/healthz", b"").0, 200);
    assert_eq!(
        server
            .post(&push_callback("room1", "1", now() - 10, None))
            .0,
        200
    );
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn the_admin_listener_needs_its_token_and_refuses_bad_query_strings() {
    let data = temp_dir("admin-token");
    let server = server_with_token(&data);
    for path in [
        "/",
        "/metrics",
        "/api/streams?live=true",
        "/streams/push.example.com/live/room1",
    ] {
        assert_eq!(admin(&server, path, &[]).0, 401, "{path} without a token");
        let wrong = ("Authorization", "Bearer admin-token-for-tests-0123456788");
        assert_eq!(
            admin(&server, path, &[wrong]).0,
            401,
            "{path} with a wrong token"
        );
        let short = ("Authorization", "Bearer admin");
        assert_eq!(
            admin(&server, path, &[short]).0,
            401,
            "{path} with a prefix of the token"
        );
        assert_eq!(
            admin(&server, path, &[BEARER]).0,
            200,
            "{path} with the token"
        );
    }
    let (status, head, _) = admin(&server, "/", &[]);
    assert_eq!(status, 401);
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    // /healthz stays open to a load balancer.
    assert_eq!(admin(&server, "/healthz", &[]).0, 200);
    // A token in the query string is refused, even the right one with the right header.
    for path in [
        format!("/?token={TOKEN}"),
        format!("/metrics?access_token={TOKEN}"),
        "/api/streams?live=true&Token=x".to_owned(),
    ] {
        assert_eq!(admin(&server, &path, &[BEARER]).0, 401, "{path}");
    }
    // Query strings the page cannot take: 400 with the reason, never a panic.
    let long = format!("/?stream={}", "a".repeat(3_000));
    for (path, reason) in [
        (long.as_str(), "over the"),
        ("/?since=yesterday", "since"),
        ("/?page=0", "page"),
        ("/?category=bogus", "category"),
        ("/?lang=fr", "lang"),
        ("/?colour=red", "unknown parameter"),
        ("/?app=a&app=b", "twice"),
        ("/?since=2000&until=1000", "ends before"),
        ("/streams/push.example.com/live/room1?page=2", "only lang"),
        ("/api/streams?live=maybe", "live=true"),
    ] {
        let (status, _, body) = admin(&server, path, &[BEARER]);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains(reason), "{path}: {body}");
    }
    // Times at the ends of i64 are answered, never a panic: a window past 90 days is refused,
    // an open end is cut to 90 days.
    let (min, max) = (i64::MIN, i64::MAX);
    assert_eq!(
        admin(&server, &format!("/?since={min}&until={max}"), &[BEARER]).0,
        400
    );
    assert_eq!(admin(&server, &format!("/?since={min}"), &[BEARER]).0, 200);
    assert_eq!(admin(&server, &format!("/?until={min}"), &[BEARER]).0, 200);
    assert_eq!(
        admin(&server, &format!("/?since={max}&until={max}"), &[BEARER]).0,
        200
    );
    // Percent-encoding that is not UTF-8 is read lossily, not refused with a panic.
    let (status, _, _) = admin(&server, "/?stream=%FF%FE", &[BEARER]);
    assert_eq!(status, 200);
    // The server is still up after all of it.
    assert_eq!(admin(&server, "/healthz", &[]).0, 200);
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn the_page_shows_what_was_sent_filtered_translated_and_escaped() {
    let data = temp_dir("admin-page");
    let server = Server::start(&data);
    let now = now();
    let post = |body: String| assert_eq!(server.post(&body).0, 200);
    // Three streams on the air, one of them primary and backup.
    post(push_callback("room1", "p1", now - 600, None));
    post(push_callback("room1", "b1", now - 590, None));
    post(push_callback(
        "<script>alert(1)</script>",
        "x1",
        now - 500,
        None,
    ));
    // Interruptions: network (12) twice, account in arrears (18 has many sub-codes: bare),
    // a client stop (1), and one a week ago (outside the default window).
    post(push_callback("roomA", "a1", now - 3_000, Some(12)));
    post(push_callback("roomA", "a2", now - 2_000, Some(12)));
    post(push_callback("roomB", "b9", now - 1_000, Some(18)));
    post(push_callback("roomC", "c1", now - 500, Some(1)));
    post(push_callback("roomOld", "o1", now - 7 * 86_400, Some(12)));

    let (status, head, page) = admin(&server, "/", &[]);
    assert_eq!(status, 200);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(
        page.contains(r#"<span id="live-count">2</span>"#),
        "two live streams"
    );
    assert!(
        page.contains(r#"<span id="total">4</span>"#),
        "four interruptions in the last day"
    );
    assert_eq!(page.matches("<tr data-category=").count(), 4);
    assert!(!page.contains("roomOld"));
    assert_eq!(page.matches(r#"data-category="network""#).count(), 2);
    assert!(
        page.contains("p1, b1") || page.contains("b1, p1"),
        "both pushes of room1"
    );
    // The stream named like a script is text, never markup.
    assert!(!page.contains("<script>"), "unescaped stream name");
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    // Nothing is loaded from anywhere: no script, no external URL.
    assert!(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"));

    // Filters, kept in the links.
    let (_, _, network) = admin(&server, "/?category=network&lang=en", &[]);
    assert!(network.contains(r#"<span id="total">2</span>"#));
    assert!(
        network.contains("category=network"),
        "the filter is in the page's links"
    );
    let (_, _, room_b) = admin(&server, "/?stream=roomB", &[]);
    assert!(room_b.contains(r#"<span id="total">1</span>"#));
    assert!(
        room_b.contains("one of"),
        "errcode 18 alone is one of several reasons"
    );
    let since = now - 8 * 86_400;
    let (_, _, week) = admin(&server, &format!("/?since={since}"), &[]);
    assert!(week.contains(r#"<span id="total">5</span>"#));

    // Languages: ?lang= and Accept-Language.
    let (_, _, zh) = admin(&server, "/", &[("Accept-Language", "zh-CN,zh;q=0.9")]);
    assert!(zh.contains("<html lang=\"zh\">") && zh.contains("断流记录"));
    let (_, _, ko) = admin(&server, "/?lang=ko", &[("Accept-Language", "zh-CN")]);
    assert!(ko.contains("<html lang=\"ko\">") && ko.contains("스트림 중단 기록"));

    // One stream's page: primary and backup in two lanes.
    let (status, _, room1) = admin(&server, "/streams/push.example.com/live/room1", &[]);
    assert_eq!(status, 200);
    assert!(room1.contains(r#"<span id="lanes">2</span>"#), "{room1}");
    assert_eq!(room1.matches(r#"<rect class="push""#).count(), 2);
    let (status, _, odd) = admin(
        &server,
        "/streams/push.example.com/live/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        &[],
    );
    assert_eq!(status, 200);
    assert!(!odd.contains("<script>"));
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn a_day_of_ten_thousand_interruptions_is_a_page_under_200_kb() {
    let data = temp_dir("admin-size");
    let server = Server::start(&data);
    let now = now();
    let bodies: Vec<String> = (0..10_000u64)
        .map(|n| {
            let errcode = [1, 3, 12, 18, 20, 40][n as usize % 6];
            push_callback(
                &format!("room{}", n % 700),
                &format!("s{n}"),
                now - 86_000 + n as i64 * 8,
                Some(errcode),
            )
        })
        .collect();
    let sent = send_all(&server.address, bodies, 16);
    assert_eq!(sent, 10_000);
    let (status, _, page) = admin(&server, "/", &[]);
    assert_eq!(status, 200);
    assert!(page.contains(r#"<span id="total">10000</span>"#));
    assert_eq!(
        page.matches("<tr data-category=").count(),
        100,
        "one page of rows"
    );
    assert!(page.len() < 200 * 1024, "{} bytes", page.len());
    let (_, _, last) = admin(&server, "/?page=100", &[]);
    assert_eq!(last.matches("<tr data-category=").count(), 100);
    assert!(last.contains(r#"rel="prev""#) && !last.contains(r#"rel="next""#));
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

/// Posts `bodies` from `threads` threads; returns how many got 200.
fn send_all(address: &str, bodies: Vec<String>, threads: usize) -> usize {
    let bodies = std::sync::Arc::new(bodies);
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let (address, bodies) = (address.to_owned(), bodies.clone());
            std::thread::spawn(move || {
                bodies
                    .iter()
                    .skip(thread)
                    .step_by(threads)
                    .filter(|b| {
                        request(&address, "POST", "/callback", b.as_bytes())
                            .is_ok_and(|r| r.0 == 200)
                    })
                    .count()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}
