//! Reading callback lines: the library's `RecordLine::parse` (the scanner, with serde behind it
//! for what the scanner leaves) against serde_json reading the same lines into a
//! `StreamEvent`, the baseline the scanner replaces, in the same run.
//!
//! ```sh
//! cargo bench --bench lines --features events
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tencent_css_errcode::events::{RecordLine, StreamEvent};

/// Callback lines shaped like Tencent's (every field, in its order), with varied values.
fn lines() -> Vec<String> {
    let mut state: u64 = 42;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        state >> 33
    };
    (0..10_000)
        .map(|i| {
            let errcode = [1, 2, 3, 12, 13, 18, 21, 35][(next() % 8) as usize];
            let (w, h) = [(0, 0), (1280, 720), (1920, 1080)][(next() % 3) as usize];
            format!(
                r#"{{"t":{t},"sign":"{sign:032x}","event_type":{kind},"appid":1250000000,"app":"push{d}.example.com","appname":"live","stream_id":"room{s}","channel_id":"room{s}","event_time":{time},"sequence":"{seq}","node":"203.0.113.{n}","user_ip":"198.51.100.{u}","stream_param":"txSecret=5d3b6f1f3c1e4f0a9b7c2d8e6f4a1b3c&txTime=6553F100","set_id":{set},"width":{w},"height":{h},"idc_id":{idc},"push_duration":"{dur}","errcode":{errcode},"errmsg":"stream end, errcode {errcode}"}}"#,
                t = 1_700_000_600 + i,
                sign = u128::from(next()) << 64 | u128::from(next()),
                kind = u64::from(i % 5 != 0) ^ 1,
                d = next() % 20,
                s = next() % 5000,
                time = 1_700_000_000 + i,
                seq = next() * next(),
                n = next() % 250,
                u = next() % 250,
                set = 1 + next() % 6,
                idc = next() % 60,
                dur = next() % 10_000_000,
            )
        })
        .collect()
}

fn bench_lines(c: &mut Criterion) {
    let lines = lines();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut group = c.benchmark_group("callback lines");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("RecordLine::parse", |b| {
        b.iter(|| {
            let mut kept = 0usize;
            for line in &lines {
                if let Ok(Some(RecordLine::Callback(record))) = RecordLine::parse(line.as_bytes()) {
                    kept += record.stream.len();
                }
            }
            black_box(kept)
        })
    });
    group.bench_function("serde_json into StreamEvent (baseline)", |b| {
        b.iter(|| {
            let mut kept = 0usize;
            for line in &lines {
                if let Ok(event) = serde_json::from_str::<StreamEvent>(line) {
                    kept += event.stream_id.len();
                }
            }
            black_box(kept)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_lines);
criterion_main!(benches);
