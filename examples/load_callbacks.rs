//! Sends unique, correctly signed stream callbacks to a receiver on 127.0.0.1 from N concurrent
//! connections, bounded in count and time, and reports throughput and latency.
//!
//! ```sh
//! CALLBACK_KEY=… cargo run --release --example load_callbacks --features events -- \
//!     http://127.0.0.1:8080/callback 64 200000 20
//! ```
//! Arguments: the URL (loopback only; several, comma-separated, share the connections in
//! turn: replicas behind a balancer), connections (default 64), callbacks (default 100000),
//! the most seconds to run (default 30). The key comes from `CALLBACK_KEY`. Prints one line of
//! JSON: sent, ok (HTTP 200), other statuses, errors, seconds, per second, latency percentiles.
//!
//! Each connection is a plain keep-alive HTTP/1.1 client written for this load: it formats its
//! request into a reused buffer and reads the response's head and `content-length` body, about
//! 10 µs of CPU a callback, so that the receiver, not the generator, takes most of the shared
//! cores (a general-purpose client, such as reqwest with serde_json bodies, took about 27 µs).

use std::io::{self, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tencent_css_errcode::events::sign;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let urls = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080/callback".to_owned());
    let targets: Vec<(String, String)> = urls.split(',').map(target).collect();
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
        .map(|i| {
            let (address, path) = targets[i as usize % targets.len()].clone();
            let (signature, next) = (signature.clone(), next.clone());
            tokio::spawn(async move {
                let (mut ok, mut other, mut errors) = (0u64, 0u64, 0u64);
                let mut latencies = Vec::new();
                let mut connection: Option<Connection> = None;
                let mut body = Vec::with_capacity(1024);
                let mut request = Vec::with_capacity(1024);
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count || Instant::now() > deadline {
                        break;
                    }
                    let errcode = [1, 3, 12, 18, 21][(n % 5) as usize];
                    let room = n % 5000;
                    body.clear();
                    write!(
                        body,
                        r#"{{"t":{t},"sign":"{signature}","event_type":0,"appid":1250000000,"app":"push.example.com","appname":"live","stream_id":"room{room}","channel_id":"room{room}","event_time":{now},"sequence":"{run}{n:09}","node":"203.0.113.7","user_ip":"198.51.100.23","stream_param":"txSecret=x&txTime=y","push_duration":"61000","errcode":{errcode},"errmsg":"stream end","set_id":2,"width":1280,"height":720,"idc_id":38}}"#
                    )
                    .unwrap();
                    request.clear();
                    write!(
                        request,
                        "POST {path} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    )
                    .unwrap();
                    request.extend_from_slice(&body);
                    let sent = Instant::now();
                    let left = deadline.saturating_duration_since(sent) + Duration::from_secs(5);
                    // A connection that fails, times out or is closed by the receiver is
                    // dropped; the next callback opens another.
                    let answer = tokio::time::timeout(left, async {
                        let mut open = match connection.take() {
                            Some(open) => open,
                            None => Connection::open(&address).await?,
                        };
                        let (status, keep_alive) = open.exchange(&request).await?;
                        if keep_alive {
                            connection = Some(open);
                        }
                        io::Result::Ok(status)
                    })
                    .await;
                    match answer {
                        Ok(Ok(status)) => {
                            latencies.push(sent.elapsed().as_micros() as u32);
                            if status == 200 { ok += 1 } else { other += 1 }
                        }
                        Ok(Err(_)) | Err(_) => errors += 1,
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

/// The address and path of an `http://` URL on this machine.
fn target(url: &str) -> (String, String) {
    assert!(
        url.starts_with("http://127.") || url.starts_with("http://localhost"),
        "load only a receiver on this machine: {url}"
    );
    let address = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .expect("an http:// URL")
        .to_owned();
    let path = match &url[7 + address.len()..] {
        "" => "/".to_owned(),
        path => path.to_owned(),
    };
    (address, path)
}

/// One keep-alive HTTP/1.1 connection: writes a request, reads the response's head and its
/// `content-length` body.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(address: &str) -> io::Result<Connection> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// Sends `request`; returns the response's status and whether the connection stays open.
    async fn exchange(&mut self, request: &[u8]) -> io::Result<(u16, bool)> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end])
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a head that is not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no status line"))?;
        let (mut length, mut keep_alive) = (None, true);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
            {
                keep_alive = false;
            }
        }
        let length = length.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "a response without content-length",
            )
        })?;
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        self.buffer.drain(..head_end + length);
        Ok((status, keep_alive))
    }

    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        let read = self.stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed by the receiver",
            ));
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}
