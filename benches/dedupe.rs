//! The deduper on a table far larger than the CPU's caches (the default, exact for 4 million
//! events): checking keys one by one, against warming each batch of 256 first
//! (`Deduper::warm`), as triage does, in the same run; and 100,000 keys made from a count
//! (`DedupeKey::from_u64(n)`) against as many random ones (the baseline), into a fresh
//! deduper: a table that did not mix its keys would put a count's keys in its first slots
//! and probe quadratically.
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

fn bench_counted_keys(c: &mut Criterion) {
    let mut rng = SplitMix(11);
    let random: Vec<DedupeKey> = (0..100_000)
        .map(|_| DedupeKey::from_u64(rng.next()))
        .collect();
    let counted: Vec<DedupeKey> = (1..=100_000).map(DedupeKey::from_u64).collect();
    let mut group = c.benchmark_group("deduper, 100k new keys into a fresh one");
    group.throughput(Throughput::Elements(100_000));
    group.sample_size(20);
    for (name, keys) in [
        ("random keys (baseline)", &random),
        ("keys from a count", &counted),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut deduper = Deduper::new();
                let mut new = 0usize;
                for key in keys {
                    new += usize::from(deduper.check(*key, 1_700_000_000).is_new());
                }
                black_box(new)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_dedupe, bench_counted_keys);
criterion_main!(benches);
