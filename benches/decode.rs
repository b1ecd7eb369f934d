//! `decode` against the lookups people write by hand, on one million code pairs.
//!
//! Run with `cargo bench --bench decode`. BENCHMARKS.md records the figures.

use std::collections::HashMap;
use std::hint::black_box;
use std::str::FromStr;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tencent_css_errcode::{Category, Reason, decode};

const PAIRS: usize = 1_000_000;

#[path = "../tests/common/splitmix.rs"]
mod splitmix;
use splitmix::SplitMix;

/// 90% listed pairs, 10% unlisted (a third of those 18/0, as callbacks deliver it), shuffled.
fn input() -> Vec<(u32, u32)> {
    let mut rng = SplitMix(0x5EED_C0DE);
    let unlisted = PAIRS / 10;
    let mut pairs = Vec::with_capacity(PAIRS);
    for _ in 0..PAIRS - unlisted {
        let r = Reason::ALL[rng.below(Reason::ALL.len() as u64) as usize];
        pairs.push((r.errcode(), r.sub_errcode()));
    }
    while pairs.len() < PAIRS {
        let pair = match rng.below(3) {
            0 => (18, 0),
            1 => (rng.below(64) as u32, rng.below(1000) as u32),
            _ => (rng.next() as u32, rng.next() as u32),
        };
        if Reason::from_codes(pair.0, pair.1).is_none() {
            pairs.push(pair);
        }
    }
    for i in (1..pairs.len()).rev() {
        pairs.swap(i, rng.below(i as u64 + 1) as usize);
    }
    pairs
}

/// Baselines get the listed rows only; a miss is `Unknown` (less work than `decode`'s fallback rules).
struct Baselines {
    map: HashMap<(u32, u32), Reason>,
    sorted: Vec<((u32, u32), Reason)>,
}

impl Baselines {
    fn new() -> Self {
        let sorted: Vec<((u32, u32), Reason)> = Reason::ALL
            .iter()
            .map(|r| ((r.errcode(), r.sub_errcode()), *r))
            .collect();
        Baselines {
            map: sorted.iter().copied().collect(),
            sorted,
        }
    }

    fn hash_map(&self, pair: (u32, u32)) -> Option<Reason> {
        self.map.get(&pair).copied()
    }

    fn binary_search(&self, pair: (u32, u32)) -> Option<Reason> {
        self.sorted
            .binary_search_by_key(&pair, |(k, _)| *k)
            .ok()
            .map(|i| self.sorted[i].1)
    }

    fn linear_scan(&self, pair: (u32, u32)) -> Option<Reason> {
        self.sorted
            .iter()
            .find(|(k, _)| *k == pair)
            .map(|(_, r)| *r)
    }
}

fn category_of(reason: Option<Reason>) -> Category {
    reason.map_or(Category::Unknown, Reason::category)
}

fn description_of(reason: Option<Reason>) -> &'static str {
    reason.map_or(Category::Unknown.description(), Reason::description)
}

/// Times `per_pair` over the whole input, summing its results so that nothing is optimised away.
fn over_pairs(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    pairs: &[(u32, u32)],
    per_pair: impl Fn((u32, u32)) -> u64,
) {
    group.bench_function(name, |b| {
        b.iter(|| black_box(pairs).iter().map(|&p| per_pair(p)).sum::<u64>())
    });
}

fn bench_decode(c: &mut Criterion) {
    let pairs = input();
    let base = Baselines::new();

    let mut group = c.benchmark_group("category");
    group.throughput(Throughput::Elements(PAIRS as u64));
    over_pairs(&mut group, "decode", &pairs, |(e, s)| {
        decode(e, s).category() as u64
    });
    over_pairs(&mut group, "hash_map", &pairs, |p| {
        category_of(base.hash_map(p)) as u64
    });
    over_pairs(&mut group, "binary_search", &pairs, |p| {
        category_of(base.binary_search(p)) as u64
    });
    over_pairs(&mut group, "linear_scan", &pairs, |p| {
        category_of(base.linear_scan(p)) as u64
    });
    group.finish();

    let mut group = c.benchmark_group("description");
    group.throughput(Throughput::Elements(PAIRS as u64));
    over_pairs(&mut group, "decode", &pairs, |(e, s)| {
        decode(e, s).description().len() as u64
    });
    over_pairs(&mut group, "hash_map", &pairs, |p| {
        description_of(base.hash_map(p)).len() as u64
    });
    over_pairs(&mut group, "binary_search", &pairs, |p| {
        description_of(base.binary_search(p)).len() as u64
    });
    over_pairs(&mut group, "linear_scan", &pairs, |p| {
        description_of(base.linear_scan(p)).len() as u64
    });
    group.finish();
}

fn bench_from_str(c: &mut Criterion) {
    let reasons: Vec<&str> = Reason::ALL.iter().map(|r| r.name()).collect();
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
    let reason_map: HashMap<&str, Reason> = Reason::ALL.iter().map(|r| (r.name(), *r)).collect();
    let category_map: HashMap<&str, Category> =
        Category::ALL.iter().map(|c| (c.name(), *c)).collect();

    let mut group = c.benchmark_group("from_str");
    group.throughput(Throughput::Elements(reasons.len() as u64));
    group.bench_function("reason/from_str", |b| {
        b.iter(|| {
            black_box(&reasons)
                .iter()
                .map(|n| Reason::from_str(n).map_or(0, |r| r as u64))
                .sum::<u64>()
        })
    });
    group.bench_function("reason/hash_map", |b| {
        b.iter(|| {
            black_box(&reasons)
                .iter()
                .map(|n| reason_map.get(n).map_or(0, |r| *r as u64))
                .sum::<u64>()
        })
    });
    group.throughput(Throughput::Elements(categories.len() as u64));
    group.bench_function("category/from_str", |b| {
        b.iter(|| {
            black_box(&categories)
                .iter()
                .map(|n| Category::from_str(n).map_or(0, |c| c as u64))
                .sum::<u64>()
        })
    });
    group.bench_function("category/hash_map", |b| {
        b.iter(|| {
            black_box(&categories)
                .iter()
                .map(|n| category_map.get(n).map_or(0, |c| *c as u64))
                .sum::<u64>()
        })
    });
    group.finish();
}

/// Checks, before timing anything, that every baseline agrees with `decode` on the listed rows.
fn agree(c: &mut Criterion) {
    let base = Baselines::new();
    for pair in input().into_iter().take(10_000) {
        let expected = decode(pair.0, pair.1).reason();
        assert_eq!(base.hash_map(pair), expected);
        assert_eq!(base.binary_search(pair), expected);
        assert_eq!(base.linear_scan(pair), expected);
    }
    let _ = c;
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = agree, bench_decode, bench_from_str
}
criterion_main!(benches);
