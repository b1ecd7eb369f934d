//! The deduper's promises: exact in any order up to its limit, within 64 MiB for four million
//! events, and past the limit bounded, with every event it could not check counted.
#![cfg(feature = "events")]

#[path = "common/splitmix.rs"]
mod splitmix;

use tencent_css_errcode::events::{DedupeKey, Deduper, Verdict};

/// A fixed pseudo-random permutation-ish stream of keys (splitmix64), never 0 or 1.
fn key(n: u64) -> DedupeKey {
    DedupeKey::from_u64(splitmix::mix(n.wrapping_add(0x9E37_79B9_7F4A_7C15)).max(2))
}

#[test]
fn four_million_events_exact_in_any_order_within_64_mib() {
    const N: u64 = 4_000_000;
    let mut deduper = Deduper::new();
    assert!(
        deduper.memory_bytes() <= 64 << 20,
        "{}",
        deduper.memory_bytes()
    );
    // Times go backwards and jump far ahead: order must not matter.
    let time =
        |n: u64| 1_700_000_000 + ((n * 7919) % N) as i64 * if n % 2 == 0 { 1 } else { -1000 };
    for n in 0..N {
        assert_eq!(deduper.check(key(n), time(n)), Verdict::First, "event {n}");
    }
    // Every redelivery, in reverse order, long after its first delivery.
    for n in (0..N).rev() {
        assert_eq!(
            deduper.check(key(n), time(n)),
            Verdict::Repeat,
            "redelivery {n}"
        );
    }
    assert_eq!(
        (
            deduper.len() as u64,
            deduper.repeats(),
            deduper.unverified()
        ),
        (N, N, 0)
    );
}

#[test]
fn past_the_limit_it_forgets_the_oldest_and_says_so() {
    let limit = 10_000;
    let mut deduper = Deduper::with_limit(limit);
    for n in 0..limit as u64 {
        deduper.check(key(n), n as i64);
    }
    // Grown to hold the limit (at most 7/8 full, 12 bytes a slot), and no further after it.
    let bound = (limit + limit / 7 + 1) * 12;
    assert_eq!(deduper.memory_bytes(), bound);
    for n in limit as u64..(limit as u64 * 3) {
        deduper.check(key(n), n as i64);
    }
    assert!(deduper.len() <= limit);
    assert_eq!(
        deduper.memory_bytes(),
        bound,
        "the table never grows past its bound"
    );
    // The newest events are remembered exactly...
    let newest = limit as u64 * 3 - 1;
    assert_eq!(deduper.check(key(newest), newest as i64), Verdict::Repeat);
    // ...the oldest were forgotten, and a redelivery of one is not passed off as checked.
    assert_eq!(deduper.check(key(0), 0), Verdict::Unverified);
    assert_eq!(deduper.unverified(), 1);
    // A new event later than everything forgotten is still checked exactly.
    assert_eq!(
        deduper.check(key(u64::MAX), newest as i64 + 1),
        Verdict::First
    );
}

#[test]
fn debug_says_the_size_and_counts_not_the_table() {
    let mut deduper = Deduper::new();
    for n in 0..1_000 {
        deduper.check(key(n), 1_700_000_000 + n as i64);
    }
    let text = format!("{deduper:?}");
    assert!(
        text.len() < 200,
        "{} bytes: {}",
        text.len(),
        &text[..200.min(text.len())]
    );
    assert!(text.contains("len: 1000"), "{text}");
}

#[test]
fn reserving_changes_no_answer() {
    // The same deliveries (each event, then a redelivery of an older one, past a small limit
    // so that forgetting happens too) into a deduper that grows, one reserved at the start and
    // one reserved in the middle. Every delivery of an event has its time.
    let deliveries: Vec<(DedupeKey, i64)> = (0..30_000u64)
        .flat_map(|n| [n, n / 8])
        .map(|event| (key(event), 1_700_000_000 + event as i64))
        .collect();
    let answers = |reserve_at: Option<usize>| {
        let mut deduper = Deduper::with_limit(20_000);
        let verdicts: Vec<Verdict> = deliveries
            .iter()
            .enumerate()
            .map(|(i, &(key, time))| {
                if reserve_at == Some(i) {
                    deduper.reserve(50_000);
                }
                deduper.check(key, time)
            })
            .collect();
        (
            verdicts,
            deduper.len(),
            deduper.repeats(),
            deduper.unverified(),
        )
    };
    let grown = answers(None);
    assert!(grown.3 > 0, "the limit was passed: forgetting is exercised");
    assert_eq!(answers(Some(0)), grown);
    assert_eq!(answers(Some(deliveries.len() / 3)), grown);
}
