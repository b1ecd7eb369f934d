//! What a `Deduper` allocates, measured by a counting global allocator: a small use costs
//! little (the table grows with what it holds), and the default limit's bound still holds.
#![cfg(feature = "events")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tencent_css_errcode::events::{DedupeKey, Deduper, Verdict};

/// Counts the bytes live and the most ever live.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn key(n: u64) -> DedupeKey {
    DedupeKey::from_u64(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
}

// One test, so that no other test's allocations are counted.
#[test]
fn a_deduper_allocates_what_it_holds_up_to_its_bound() {
    let before = LIVE.load(Ordering::SeqCst);
    let mut deduper = Deduper::new();
    assert!(
        LIVE.load(Ordering::SeqCst) - before <= 16 << 10,
        "a new deduper allocates {} bytes",
        LIVE.load(Ordering::SeqCst) - before
    );
    for n in 0..10_000 {
        assert_eq!(deduper.check(key(n), n as i64), Verdict::First);
    }
    let after = LIVE.load(Ordering::SeqCst) - before;
    // 10,000 keys at most 7/8 full in 12-byte slots: under 256 KiB (was 55 MB up front).
    assert!(after <= 256 << 10, "10,000 keys hold {after} bytes");
    assert_eq!(
        after,
        deduper.memory_bytes(),
        "memory_bytes reports the table"
    );
    // Every key is still found after the table grew.
    assert!((0..10_000).all(|n| deduper.contains(key(n))));
    assert_eq!(deduper.check(key(17), 17), Verdict::Repeat);
    drop(deduper);

    // Up to its limit it grows; past it, it forgets rather than grows.
    PEAK.store(LIVE.load(Ordering::SeqCst), Ordering::SeqCst);
    let base = LIVE.load(Ordering::SeqCst);
    let mut small = Deduper::with_limit(100_000);
    for n in 0..300_000 {
        small.check(key(n), n as i64);
    }
    let bound = (100_000 + 100_000 / 7 + 1) * 12;
    assert!(small.memory_bytes() <= bound);
    // While growing, the old table (less than the bound) and the new one are alive together.
    let peak = PEAK.load(Ordering::SeqCst) - base;
    assert!(
        peak <= bound * 2 + (64 << 10),
        "peak {peak} bytes against a bound of {bound}"
    );
    assert!(small.len() <= 100_000);
}
