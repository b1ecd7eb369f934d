//! The blocking client against the local fake of DescribeLiveStreamEventList
//! (tests/common/fake_api.rs), over real HTTP on 127.0.0.1: every record once across windows,
//! pages, faults and arrivals; errors as the API gives them.
#![cfg(feature = "api")]

#[path = "common/fake_api.rs"]
mod fake_api;

use std::sync::atomic::Ordering;
use std::time::Duration;

use fake_api::{Fake, Fault, SECRET_ID, SECRET_KEY, spread, start};
use serde_json::{Value, json};
use tencent_css_errcode::api::{
    Client, Credentials, Error, EventQuery, OnlineQuery, Order, Retry, StreamMatch,
};
use tencent_css_errcode::events::parse_utc_time;
use tencent_css_errcode::sessions::Online;

/// The fake's clock and the client's: the same instant.
const NOW: i64 = 1_700_000_000;

fn client(endpoint: &str, key: &str) -> Client {
    Client::new(Credentials::new(SECRET_ID, key))
        .endpoint(endpoint)
        .clock(|| NOW)
        .requests_per_second(2_000.0)
        .timeout(Duration::from_millis(500))
        .retry(Retry {
            attempts: 4,
            first_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        })
}

/// Runs the blocking client off the async runtime and collects what it yields.
async fn fetch_all(
    client: Client,
    query: EventQuery,
) -> (Vec<Value>, Vec<String>, u64, Vec<(i64, i64)>) {
    tokio::task::spawn_blocking(move || {
        let mut events = client.events(&query).unwrap();
        let (mut records, mut errors) = (Vec::new(), Vec::new());
        for item in &mut events {
            match item {
                Ok(record) => records.push(json!({"StreamName": record.stream_name, "StreamEndTime": record.stream_end_time})),
                Err(error) => errors.push(error.to_string()),
            }
        }
        (records, errors, events.fetch().requests(), events.fetch().skipped().to_vec())
    })
    .await
    .unwrap()
}

fn names(records: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = records
        .iter()
        .map(|r| r["StreamName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn expected_names(first: u64, count: u64) -> Vec<String> {
    let mut names: Vec<String> = (first..first + count).map(|n| format!("room{n}")).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_once_across_windows_pages_and_faults() {
    // 3,000 records over 45 days: two windows (30 days at most), 30 pages.
    let fake = Fake::new(NOW, spread(0, 3_000, NOW - 45 * 86_400, NOW));
    fake.faults.lock().unwrap().extend([
        (2, Fault::RateLimited),
        (4, Fault::BadGateway),
        (6, Fault::Slow(Duration::from_millis(1_500))),
        (8, Fault::RateLimited),
    ]);
    let endpoint = start(fake.clone()).await;
    let (records, errors, requests, skipped) = fetch_all(
        client(&endpoint, SECRET_KEY),
        EventQuery::new(NOW - 45 * 86_400, NOW),
    )
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(skipped.is_empty());
    assert_eq!(
        names(&records),
        expected_names(0, 3_000),
        "every record exactly once"
    );
    // Newest first by default, across windows too.
    let ends: Vec<i64> = records
        .iter()
        .map(|r| parse_utc_time(r["StreamEndTime"].as_str().unwrap()).unwrap())
        .collect();
    assert!(ends.windows(2).all(|w| w[0] >= w[1]));
    assert!(
        fake.rejections.lock().unwrap().is_empty(),
        "{:?}",
        fake.rejections.lock().unwrap()
    );
    // 30 full pages plus the two windows' last, empty-or-short pages at most, plus 4 retries.
    let answered = fake.requests.load(Ordering::SeqCst);
    assert!(
        requests <= 32 && answered == requests + 4,
        "{requests} answered by the client, {answered} by the fake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowded_window_is_bisected_past_ten_thousand() {
    // 12,500 records in one hour: the first page says TotalNum 12,500, so the window splits.
    let fake = Fake::new(NOW, spread(0, 12_500, NOW - 3_600, NOW));
    let endpoint = start(fake.clone()).await;
    let (records, errors, requests, _) = fetch_all(
        client(&endpoint, SECRET_KEY),
        EventQuery::new(NOW - 3_600, NOW).order(Order::OldestFirst),
    )
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(names(&records), expected_names(0, 12_500));
    let ends: Vec<i64> = records
        .iter()
        .map(|r| parse_utc_time(r["StreamEndTime"].as_str().unwrap()).unwrap())
        .collect();
    assert!(ends.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert!(
        fake.rejections.lock().unwrap().is_empty(),
        "{:?}",
        fake.rejections.lock().unwrap()
    );
    // 125 pages are the least that can carry 12,500 records; one split costs one more.
    assert!((125..=128).contains(&requests), "{requests} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_arriving_while_paging_are_neither_lost_nor_repeated() {
    let fake = Fake::new(NOW, spread(0, 1_000, NOW - 7_200, NOW - 3_600));
    // After the third page, 150 newer records arrive: newest-first pages shift by 150.
    *fake.arrivals.lock().unwrap() = Some((3, spread(10_000, 150, NOW - 3_000, NOW - 100)));
    let endpoint = start(fake.clone()).await;
    let (records, errors, _, _) = fetch_all(
        client(&endpoint, SECRET_KEY),
        EventQuery::new(NOW - 7_200, NOW),
    )
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    let got = names(&records);
    let mut unique = got.clone();
    unique.dedup();
    assert_eq!(got, unique, "no record twice");
    for name in expected_names(0, 1_000) {
        assert!(got.binary_search(&name).is_ok(), "{name} lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_fails_once_with_the_api_code_and_a_hint() {
    let fake = Fake::new(NOW, spread(0, 10, NOW - 600, NOW));
    let endpoint = start(fake.clone()).await;
    let client = client(&endpoint, "not-the-key");
    let (first, answered) = tokio::task::spawn_blocking(move || {
        let mut events = client.events(&EventQuery::new(NOW - 600, NOW)).unwrap();
        (events.next(), events.fetch().requests())
    })
    .await
    .unwrap();
    let Some(Err(error)) = first else {
        panic!("an error first")
    };
    assert!(error.is_auth_failure());
    assert!(!error.is_retryable());
    let Error::Api(api) = &error else {
        panic!("{error}")
    };
    assert_eq!(
        (api.code.as_str(), api.request_id.as_deref()),
        ("AuthFailure.SignatureFailure", Some("fake-request"))
    );
    assert!(
        error.to_string().contains("TENCENTCLOUD_SECRET_KEY"),
        "{error}"
    );
    assert_eq!(answered, 0);
    assert_eq!(fake.requests.load(Ordering::SeqCst), 1, "never retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_that_keeps_failing_is_skipped_and_named() {
    let fake = Fake::new(NOW, spread(0, 50, NOW - 40 * 86_400, NOW));
    // Every try of the first request fails: four 502s. The second window goes on.
    fake.faults
        .lock()
        .unwrap()
        .extend((1..=4).map(|n| (n, Fault::BadGateway)));
    let endpoint = start(fake.clone()).await;
    let (records, errors, _, skipped) = fetch_all(
        client(&endpoint, SECRET_KEY),
        EventQuery::new(NOW - 40 * 86_400, NOW),
    )
    .await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("HTTP 502"), "{errors:?}");
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].1, NOW, "the newest window failed");
    assert!(!records.is_empty() && records.len() < 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_reach_the_fake_and_bad_windows_never_leave() {
    let fake = Fake::new(NOW, spread(0, 300, NOW - 3_600, NOW));
    let endpoint = start(fake.clone()).await;
    let query = EventQuery::new(NOW - 3_600, NOW)
        .domain("push1.example.com")
        .stream("room1", StreamMatch::Fuzzy);
    let (records, errors, _, _) = fetch_all(client(&endpoint, SECRET_KEY), query).await;
    assert!(errors.is_empty(), "{errors:?}");
    // push1 holds n % 3 == 1; fuzzy "room1" matches room1, room10-19, room100-199.
    let expected: Vec<String> = {
        let mut v: Vec<String> = (0..300u64)
            .filter(|n| n % 3 == 1 && format!("room{n}").contains("room1"))
            .map(|n| format!("room{n}"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&records), expected);

    let before = fake.requests.load(Ordering::SeqCst);
    let client = client(&endpoint, SECRET_KEY);
    let refused = tokio::task::spawn_blocking(move || {
        client.events(&EventQuery::new(NOW - 10, NOW + 10)).err()
    })
    .await
    .unwrap();
    assert!(matches!(refused, Some(Error::Query(_))));
    assert_eq!(fake.requests.load(Ordering::SeqCst), before, "nothing sent");
}

/// Runs `Client::online` off the async runtime.
async fn poll(client: Client, query: OnlineQuery) -> Result<Online, Error> {
    tokio::task::spawn_blocking(move || client.online(&query))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_streams_are_listed_across_pages_once_with_their_scope() {
    let fake = Fake::new(NOW, Vec::new());
    {
        let mut online = fake.online.lock().unwrap();
        for n in 0..25 {
            online.push(fake_api::online(
                "push.example.com",
                "live",
                &format!("room{n}"),
                &[NOW - 100 - n, NOW - 50],
            ));
        }
        // Another AppName and another domain: out of the query's scope.
        online.push(fake_api::online(
            "push.example.com",
            "edu",
            "class1",
            &[NOW - 10],
        ));
        online.push(fake_api::online(
            "other.example.com",
            "live",
            "x",
            &[NOW - 10],
        ));
        // A 502 on the second page: retried.
        fake.faults.lock().unwrap().insert(2, Fault::BadGateway);
    }
    let endpoint = start(fake.clone()).await;
    let query = OnlineQuery::new().domain("push.example.com").page_size(10);
    let poll = poll(client(&endpoint, SECRET_KEY), query).await.unwrap();
    assert!(
        fake.rejections.lock().unwrap().is_empty(),
        "{:?}",
        fake.rejections.lock().unwrap()
    );
    assert_eq!(poll.streams.len(), 25, "{poll:?}");
    assert_eq!(
        (poll.at, poll.app.as_str(), poll.domain.as_deref()),
        (NOW, "live", Some("push.example.com"))
    );
    let room3 = poll
        .streams
        .iter()
        .find(|(s, _)| s.stream == "room3")
        .unwrap();
    assert_eq!(room3.1, NOW - 103, "the earliest of its publish times");
    // Three pages of 10 and the retried 502.
    assert_eq!(fake.online_requests.load(Ordering::SeqCst), 3);
    assert_eq!(fake.requests.load(Ordering::SeqCst), 4);

    let edu = poll_app(&endpoint, "edu").await;
    assert_eq!(edu.streams.len(), 1);
    assert!(edu.covers(&edu.streams[0].0));
}

async fn poll_app(endpoint: &str, app: &str) -> Online {
    poll(client(endpoint, SECRET_KEY), OnlineQuery::new().app(app))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_online_query_is_an_error_not_an_empty_list() {
    let fake = Fake::new(NOW, Vec::new());
    fake.online
        .lock()
        .unwrap()
        .push(fake_api::online("d", "live", "room", &[NOW - 10]));
    fake.faults
        .lock()
        .unwrap()
        .extend((1..=4).map(|n| (n, Fault::Api("InternalError"))));
    let endpoint = start(fake.clone()).await;
    let error = poll(client(&endpoint, SECRET_KEY), OnlineQuery::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Api(e) if e.code == "InternalError"),
        "{error}"
    );
    // A wrong key: refused at once, not retried.
    let error = poll(client(&endpoint, "wrong"), OnlineQuery::new())
        .await
        .unwrap_err();
    assert!(error.is_auth_failure(), "{error}");
    assert_eq!(fake.requests.load(Ordering::SeqCst), 5);
}
