//! Fetches 50,000 records from the local fake of DescribeLiveStreamEventList
//! (tests/common/fake_api.rs, on 127.0.0.1) and reports the requests and the wall time, against
//! the fewest requests the API's limits allow. Bounded: one fetch per pacing, then it stops.
//!
//! ```sh
//! cargo run --release --example bench_records --features api
//! ```

#[path = "../tests/common/fake_api.rs"]
mod fake_api;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fake_api::{Fake, SECRET_ID, SECRET_KEY, spread, start};
use tencent_css_errcode::api::{Client, Credentials, EventQuery, MAX_SPAN_SECONDS, PAGE_SIZE};

const NOW: i64 = 1_700_000_000;
const RECORDS: u64 = 50_000;
const SPAN: i64 = 40 * 86_400;

#[tokio::main]
async fn main() {
    println!("{RECORDS} records over {} days", SPAN / 86_400);
    // The fewest requests: every page full, and one query per 30-day window at least.
    let windows = (SPAN as u64).div_ceil(MAX_SPAN_SECONDS as u64);
    println!(
        "fewest requests the limits allow: {} (pages of {PAGE_SIZE}, at least {windows} windows)",
        RECORDS.div_ceil(PAGE_SIZE)
    );
    for rate in [Client::DEFAULT_REQUESTS_PER_SECOND, 300.0] {
        let fake = Fake::new(NOW, spread(0, RECORDS, NOW - SPAN, NOW));
        let endpoint = start(fake.clone()).await;
        let client = Client::new(Credentials::new(SECRET_ID, SECRET_KEY))
            .endpoint(endpoint)
            .clock(|| NOW)
            .requests_per_second(rate)
            .timeout(Duration::from_secs(10));
        let started = Instant::now();
        let (records, errors) = tokio::task::spawn_blocking(move || {
            let mut ok = 0u64;
            let mut errors = 0u64;
            for item in client.events(&EventQuery::new(NOW - SPAN, NOW)).unwrap() {
                match item {
                    Ok(_) => ok += 1,
                    Err(_) => errors += 1,
                }
            }
            (ok, errors)
        })
        .await
        .unwrap();
        let elapsed = started.elapsed();
        println!(
            "pacing {rate} requests/s: {records} records, {errors} errors, {} requests, {:.2} s",
            fake.requests.load(Ordering::SeqCst),
            elapsed.as_secs_f64()
        );
        assert_eq!(records, RECORDS, "every record once");
        assert!(fake.rejections.lock().unwrap().is_empty());
    }
}
