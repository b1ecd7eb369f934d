//! Fills a receiver's store with generated callbacks, through the library's `Store` (without
//! syncing: it is a benchmark's fixture), each received a few seconds after its event: the
//! store `scripts/bench-page.sh` measures the page on.
//!
//! Usage: cargo run --release --features store --example fill_store -- DIR CALLBACKS RECENT
//! `CALLBACKS` pushes' starts and ends over the 30 days before now, of which `RECENT` ends fall
//! in the last 24 hours; 200 streams stay live.

use std::sync::mpsc;

use tencent_css_errcode::events::{Callback, StreamEvent};
use tencent_css_errcode::receiver::Row;
use tencent_css_errcode::store::{Options, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: fill_store DIR CALLBACKS RECENT";
    let dir = args.next().ok_or(usage)?;
    let callbacks: u64 = args.next().ok_or(usage)?.parse()?;
    let recent: u64 = args.next().ok_or(usage)?.parse()?;
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    )?;
    let store = Store::open(
        dir.as_ref(),
        Options::default().without_sync().queue(65_536),
    )?;
    let pushes = callbacks / 2;
    let (sender, receiver) = mpsc::channel();
    let mut sent = 0u64;
    let codes = [1u32, 3, 12, 12, 13, 18, 20, 21, 40, 1];
    for n in 0..pushes {
        // The last `recent` pushes end in the last day; the others over the 29 days before.
        let old = pushes.saturating_sub(recent);
        let end = if n >= old {
            now - 86_000 + i64::try_from((n - old) * 86_000 / recent.max(1))?
        } else {
            now - 30 * 86_400 + i64::try_from(n * (29 * 86_400) / old.max(1))?
        };
        let start = end - 60 - i64::try_from(n % 3_000)?;
        let stream = format!("room{}", n % 5_000);
        let live = n + 200 >= pushes;
        for (kind, time) in [(1, start), (0, end)] {
            if kind == 0 && live {
                continue;
            }
            let body = format!(
                r#"{{"t":{t},"sign":"0123456789abcdef0123456789abcdef","event_type":{kind},"appid":1250000000,"app":"push{d}.example.com","appname":"live","stream_id":"{stream}","channel_id":"{stream}","event_time":{time},"sequence":"{seq}","node":"203.0.113.{node}","user_ip":"198.51.100.{ip}","stream_param":"txSecret=0123456789abcdef&txTime=65A1B2C3","push_duration":"{ms}","errcode":{errcode},"errmsg":"push link network error","set_id":2,"width":1280,"height":720,"idc_id":38}}"#,
                t = time + 600,
                d = n % 7,
                seq = 6_674_468_000_000 + n,
                node = n % 250,
                ip = n % 250,
                ms = (end - start) * 1_000,
                errcode = codes[usize::try_from(n % 10)?],
            );
            let Callback::Stream(event) = Callback::parse(body.as_bytes())? else {
                return Err("not a stream callback".into());
            };
            let event: StreamEvent = event;
            let row = Row::new(&event, body.as_bytes(), time + 2);
            let sender = sender.clone();
            loop {
                let (retry, wait) = mpsc::channel();
                let row = row.clone();
                let sender = sender.clone();
                store.submit(row, move |result| match result {
                    Err(tencent_css_errcode::receiver::StoreError::Busy) => {
                        let _ = retry.send(true);
                    }
                    other => {
                        let _ = retry.send(false);
                        let _ = sender.send(other.is_ok());
                    }
                });
                if !wait.recv()? {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            sent += 1;
        }
    }
    drop(sender);
    let kept = receiver
        .iter()
        .take(usize::try_from(sent)?)
        .filter(|ok| *ok)
        .count();
    store.close();
    println!("{kept} of {sent} callbacks kept in {dir}");
    Ok(())
}
