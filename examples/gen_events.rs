//! Writes a JSON-lines log of realistic stream callback events to stdout, for benchmarking
//! `css-errcode triage`. Deterministic: the same seed and size give the same bytes.
//!
//! ```sh
//! cargo run --release --example gen_events --features events -- 1000000000 42 > events.jsonl
//! ```
//! Arguments: approximate size in bytes (default 100 MB), seed (default 42).
//!
//! Shaped like a receiver's log: each push has a start and, its duration later, an end with the
//! same `sequence` (a few seconds to three hours; about 1,800 pushes on the air at once), and
//! events are in time order but for a second or two. About 1% of pushes lose their start and 1%
//! their end (still on the air when the log ends); about 1% of lines are malformed and 4% are
//! redeliveries of a recent event.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufWriter, Write};

use tencent_css_errcode::events::sign;

#[path = "../tests/common/splitmix.rs"]
mod splitmix;
use splitmix::SplitMix;

/// Errcodes with rough real-world weights: clients stopping and network trouble dominate.
const ERRCODES: &[(u32, u64)] = &[
    (1, 150),
    (2, 60),
    (3, 120),
    (4, 40),
    (35, 10),
    (12, 60),
    (13, 40),
    (14, 30),
    (15, 20),
    (16, 15),
    (17, 10),
    (18, 60),
    (21, 50),
    (20, 25),
    (8, 15),
    (37, 5),
    (0, 20),
    (5, 8),
    (9, 5),
    (11, 5),
    (24, 3),
    (38, 2),
    (6, 6),
    (7, 4),
    (23, 3),
    (33, 3),
    (39, 2),
    (19, 8),
    (10, 6),
    (22, 2),
    (25, 1),
    (30, 1),
    (36, 1),
    (41, 1),
];

const KEY: &str = "bench-callback-key";

fn errcode(rng: &mut SplitMix) -> u32 {
    let total: u64 = ERRCODES.iter().map(|(_, w)| w).sum();
    let mut pick = rng.below(total);
    for (code, weight) in ERRCODES {
        if pick < *weight {
            return *code;
        }
        pick -= weight;
    }
    0
}

/// How long the push with this sequence lasts, in milliseconds: most a few minutes, some hours.
fn duration_ms(sequence: u64) -> u64 {
    let rng = &mut SplitMix(sequence ^ 0x5EED);
    match rng.below(10) {
        0..=3 => 1_000 + rng.below(60_000),
        4..=8 => 60_000 + rng.below(1_800_000),
        _ => 1_800_000 + rng.below(9_000_000),
    }
}

/// One callback body. Everything but `t` and `sign` follows from the event (its sequence), so
/// that a redelivery is the same event re-signed, as Tencent sends it.
fn event(event_time: i64, sequence: u64, end: bool, t: i64) -> String {
    let rng = &mut SplitMix(sequence);
    let domain = rng.below(20);
    let app = ["live", "live", "live", "game", "edu"][rng.below(5) as usize];
    let stream = rng.below(5_000);
    let (w, h) = [(1280, 720), (1920, 1080), (640, 360), (0, 0)][rng.below(4) as usize];
    let mut line = format!(
        concat!(
            r#"{{"t":{t},"sign":"{sign}","event_type":{kind},"appid":1250000000,"#,
            r#""app":"push{domain}.example.com","appname":"{app}","stream_id":"room{stream}","#,
            r#""channel_id":"room{stream}","event_time":{event_time},"sequence":"{sequence}","#,
            r#""node":"203.0.113.{node}","user_ip":"198.51.100.{ip}","#,
            r#""stream_param":"txSecret=5d3b6f1f3c1e4f0a9b7c2d8e6f4a1b3c&txTime=6553F100","#,
            r#""set_id":{set},"width":{w},"height":{h},"idc_id":{idc}"#
        ),
        t = t,
        sign = sign(KEY, t),
        kind = if end { 0 } else { 1 },
        domain = domain,
        app = app,
        stream = stream,
        event_time = event_time,
        sequence = sequence,
        node = rng.below(250),
        ip = rng.below(250),
        set = 1 + rng.below(6),
        w = w,
        h = h,
        idc = rng.below(60),
    );
    if end {
        let code = errcode(rng);
        line.push_str(&format!(
            r#","push_duration":"{}","errcode":{code},"errmsg":"stream end, errcode {code}""#,
            duration_ms(sequence)
        ));
    }
    line.push('}');
    line
}

fn main() {
    let mut args = std::env::args().skip(1);
    let size: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(42);
    let mut rng = SplitMix(seed);
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut written = 0u64;
    let mut event_time = 1_700_000_000i64;
    let mut recent: Vec<(i64, u64, bool)> = Vec::with_capacity(128);
    // The ends to come: (event time, sequence), earliest first.
    let mut pending: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
    let remember = |recent: &mut Vec<(i64, u64, bool)>, rng: &mut SplitMix, event| {
        if recent.len() == 128 {
            recent.swap_remove(rng.below(128) as usize);
        }
        recent.push(event);
    };
    while written < size {
        event_time += rng.below(3) as i64;
        let roll = rng.below(100);
        let line = if roll == 0 {
            // Malformed: four kinds, none of them a valid stream event.
            let sequence = rng.next();
            let good = event(event_time, sequence, true, event_time + 600);
            match rng.below(4) {
                0 => good[..good.len() / 2].to_owned(),
                1 => "<html>502 Bad Gateway</html>".to_owned(),
                2 => good.replacen("\"event_type\":0", "\"event_type\":7", 1),
                _ => good.replacen("\"errcode\":", "\"errcode\":-", 1),
            }
        } else if roll <= 4 && !recent.is_empty() {
            // A redelivery: the same event, re-signed a minute or more later.
            let (time, sequence, end) = recent[rng.below(recent.len() as u64) as usize];
            let retry_t = time + 600 + 60 * (1 + rng.below(12) as i64);
            event(time, sequence, end, retry_t)
        } else if let Some(&Reverse((time, sequence))) = pending
            .peek()
            .filter(|Reverse((time, _))| *time <= event_time)
        {
            pending.pop();
            remember(&mut recent, &mut rng, (time, sequence, true));
            event(time, sequence, true, time + 600)
        } else {
            let sequence = rng.next();
            let fate = rng.below(100);
            if fate != 0 {
                let end = event_time + (duration_ms(sequence) / 1_000) as i64;
                pending.push(Reverse((end, sequence)));
            }
            if fate == 1 {
                // The start never came: the end alone tells of this push.
                continue;
            }
            remember(&mut recent, &mut rng, (event_time, sequence, false));
            event(event_time, sequence, false, event_time + 600)
        };
        written += line.len() as u64 + 1;
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}
