//! The deduper on a table far larger than the CPU's caches (the default, exact for 4 million
//! events): checking keys one by one, against warming each batch of 256 first
//! (`Deduper::warm`), as triage does, in the same run.
//!
//! ```sh
//! cargo bench --bench dedupe --features events
//! ```

use std::hint::black_box;

#[path = "../tests/common/splitmix.rs"]
mod splitmix;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use splitmix::SplitMix;
use tencent_css_errcode::events::{DedupeKey, Deduper};

/// A deduper holding two million events, and 100,000 new keys to check against it (every
/// twentieth a redelivery of one it holds).
fn setup() -> (Deduper, Vec<DedupeKey>) {
    let mut rng = SplitMix(7);
    let mut next = move || rng.next();
    let mut deduper = Deduper::new();
    let held: Vec<u64> = (0..2_000_000).map(|_| next()).collect();
    for (i, key) in held.iter().enumerate() {
        deduper.check(DedupeKey::from_u64(*key), 1_700_000_000 + i as i64);
    }
    let keys = (0..100_000)
        .map(|i| DedupeKey::from_u64(if i % 20 == 0 { held[i * 7] } else { next() }))
        .collect();
    (deduper, keys)
}

fn bench_dedupe(c: &mut Criterion) {
    let (deduper, keys) = setup();
    let mut group = c.benchmark_group("deduper, 100k checks against 2M held");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.sample_size(20);
    group.bench_function("check one by one (baseline)", |b| {
        b.iter_batched_ref(
            || deduper.clone(),
            |d| {
                let mut new = 0usize;
                for key in &keys {
                    new += usize::from(d.check(*key, 1_800_000_000).is_new());
                }
                black_box(new)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("warm each 256, then check", |b| {
        b.iter_batched_ref(
            || deduper.clone(),
            |d| {
                let mut new = 0usize;
                for batch in keys.chunks(256) {
                    d.warm(batch.iter().copied());
                    for key in batch {
                        new += usize::from(d.check(*key, 1_800_000_000).is_new());
                    }
                }
                black_box(new)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_dedupe);
criterion_main!(benches);
