//! Sends unique, correctly signed stream callbacks to a receiver on 127.0.0.1 from N concurrent
//! connections, bounded in count and time, and reports throughput and latency.
//!
//! ```sh
//! CALLBACK_KEY=… cargo run --release --example load_callbacks --features events -- \
//!     http://127.0.0.1:8080/callback 64 200000 20
//! ```
//! Arguments: the URL (loopback only), connections (default 64), callbacks (default 100000),
//! the most seconds to run (default 30). The key comes from `CALLBACK_KEY`. Prints one line of
//! JSON: sent, ok (HTTP 200), other statuses, errors, seconds, per second, latency percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tencent_css_errcode::events::sign;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080/callback".to_owned());
    assert!(
        url.starts_with("http://127.") || url.starts_with("http://localhost"),
        "load only a receiver on this machine: {url}"
    );
    let connections: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let count: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);
    let key = std::env::var("CALLBACK_KEY").expect("set CALLBACK_KEY to the receiver's key");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = now + 600;
    let signature = sign(&key, t);
    // A run id keeps sequences unique across runs against the same data directory.
    let run = now;

    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (url, signature, next) = (url.clone(), signature.clone(), next.clone());
            tokio::spawn(async move {
                // One client per task: its own keep-alive connection.
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let (mut ok, mut other, mut errors) = (0u64, 0u64, 0u64);
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count || Instant::now() > deadline {
                        break;
                    }
                    let errcode = [1, 3, 12, 18, 21][(n % 5) as usize];
                    let body = json!({
                        "t": t, "sign": signature, "event_type": 0, "appid": 1250000000,
                        "app": "push.example.com", "appname": "live", "stream_id": format!("room{}", n % 5000),
                        "channel_id": format!("room{}", n % 5000), "event_time": now,
                        "sequence": format!("{run}{n:09}"), "node": "203.0.113.7", "user_ip": "198.51.100.23",
                        "stream_param": "txSecret=x&txTime=y", "push_duration": "61000",
                        "errcode": errcode, "errmsg": "stream end",
                        "set_id": 2, "width": 1280, "height": 720, "idc_id": 38
                    })
                    .to_string();
                    let sent = Instant::now();
                    match client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                    {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed().as_micros() as u32);
                            if status == 200 { ok += 1 } else { other += 1 }
                        }
                        Err(_) => errors += 1,
                    }
                }
                (ok, other, errors, latencies)
            })
        })
        .collect();
    let (mut ok, mut other, mut errors, mut latencies) = (0, 0, 0, Vec::new());
    for task in tasks {
        let (o, s, e, l) = task.await.unwrap();
        ok += o;
        other += s;
        errors += e;
        latencies.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |us| f64::from(*us) / 1000.0)
    };
    println!(
        "{}",
        json!({
            "connections": connections, "ok": ok, "other_status": other, "errors": errors,
            "seconds": elapsed, "ok_per_second": ok as f64 / elapsed,
            "latency_ms": {"p50": percentile(0.50), "p99": percentile(0.99), "max": percentile(1.0)},
        })
    );
}
