use super::DedupeKey;

/// Slots a new table starts with (12 bytes each): a small use costs 12 KiB.
const INITIAL_SLOTS: usize = 1_024;

/// What [`Deduper::check`] found.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// The first delivery of this event.
    First,
    /// A redelivery of an event already checked.
    Repeat,
    /// Not seen among the events the deduper remembers, but it has forgotten events at least as
    /// old as this one (bounded mode), so this may be a redelivery of one of them.
    Unverified,
}

impl Verdict {
    /// Whether to count the event: `First` and `Unverified` are, `Repeat` is not.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::Verdict;
    /// assert!(Verdict::Unverified.is_new() && !Verdict::Repeat.is_new());
    /// ```
    pub const fn is_new(self) -> bool {
        !matches!(self, Verdict::Repeat)
    }
}

/// Drops redeliveries: remembers the [`DedupeKey`] of every event it has checked.
///
/// **Exact** in any input order (files out of order, logs merged from several receivers, a line
/// far in the future) for up to [`limit`](Deduper::with_limit) distinct events, by default
/// [`DEFAULT_LIMIT`](Deduper::DEFAULT_LIMIT) = 4,000,000 in at most 64 MiB.
///
/// Past the limit it stays **bounded**: it forgets the quarter of its events with the oldest
/// event times, and from then on an event not remembered whose time is not later than the
/// latest forgotten one is [`Verdict::Unverified`], counted in [`unverified`](Deduper::unverified).
/// Every delivery of one event has the same event time, so an event later than everything
/// forgotten is still checked exactly.
///
/// Its table grows with what it holds, doubling when 7/8 full, up to the size for its limit,
/// so that a small use costs little; [`reserve`](Deduper::reserve) sizes it ahead for an input
/// known to be large (one step, instead of doublings that each hold two tables a moment).
///
/// # Example
/// ```
/// use tencent_css_errcode::events::{DedupeKey, Deduper, Verdict};
///
/// let mut deduper = Deduper::new();
/// let a = DedupeKey::from_u64(1);
/// let z = DedupeKey::from_u64(2);
/// assert_eq!(deduper.check(a, 1_700_000_000), Verdict::First);
/// assert_eq!(deduper.check(z, 1_800_000_000), Verdict::First);
/// // Out of order: a redelivery of `a` after a far later event is still found.
/// assert_eq!(deduper.check(a, 1_700_000_000), Verdict::Repeat);
/// assert_eq!((deduper.len(), deduper.repeats(), deduper.unverified()), (2, 1, 0));
/// ```
#[derive(Clone)]
pub struct Deduper {
    /// Open addressing with linear probing. A slot holds a key (two halves, low first; 0 marks
    /// an empty slot, and a key of 0 is stored as 1) and its event time as an offset from
    /// `base` (see `pack`), for eviction: 12 bytes together, so that a check reads one place
    /// in memory, not two.
    slots: Vec<[u32; 3]>,
    len: usize,
    limit: usize,
    /// The first event time seen: times are stored relative to it.
    base: Option<i64>,
    /// The latest event time forgotten so far, once the deduper has evicted.
    forgotten_until: Option<i64>,
    repeats: u64,
    unverified: u64,
}

impl core::fmt::Debug for Deduper {
    /// Its size and counts, not its table (tens of megabytes).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Deduper")
            .field("len", &self.len)
            .field("limit", &self.limit)
            .field("memory_bytes", &self.memory_bytes())
            .field("repeats", &self.repeats)
            .field("unverified", &self.unverified)
            .finish()
    }
}

impl Default for Deduper {
    fn default() -> Self {
        Deduper::new()
    }
}

impl Deduper {
    /// How many distinct events [`Deduper::new`] checks exactly.
    pub const DEFAULT_LIMIT: usize = 4_000_000;

    /// A deduper exact for [`DEFAULT_LIMIT`](Deduper::DEFAULT_LIMIT) events, in at most 64 MiB
    /// (12 KiB while it holds few).
    ///
    /// # Example
    /// ```
    /// let deduper = tencent_css_errcode::events::Deduper::new();
    /// assert!(deduper.memory_bytes() <= 64 << 20);
    /// ```
    pub fn new() -> Deduper {
        Deduper::with_limit(Deduper::DEFAULT_LIMIT)
    }

    /// A deduper exact for `limit` distinct events (at least 16). Its table grows with what it
    /// holds, from 12 KiB, doubling when 7/8 full, up to about 14 bytes per event of `limit`.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{DedupeKey, Deduper, Verdict};
    /// let mut deduper = Deduper::with_limit(16);
    /// for n in 1..=17 {
    ///     deduper.check(DedupeKey::from_u64(n), n as i64);
    /// }
    /// // The 17th event made it forget the oldest quarter: times 1 to 5.
    /// assert_eq!(deduper.check(DedupeKey::from_u64(1), 1), Verdict::Unverified);
    /// assert_eq!(deduper.check(DedupeKey::from_u64(17), 17), Verdict::Repeat);
    /// ```
    pub fn with_limit(limit: usize) -> Deduper {
        let limit = limit.max(16);
        Deduper {
            slots: empty_table(Self::slots_for(limit).min(INITIAL_SLOTS)),
            len: 0,
            limit,
            base: None,
            forgotten_until: None,
            repeats: 0,
            unverified: 0,
        }
    }

    /// The table size that holds `keys` at a load of at most 7/8, where linear probing stays
    /// short: the size the table grows to, and at most the size for the limit.
    const fn slots_for(keys: usize) -> usize {
        keys + keys / 7 + 1
    }

    /// Makes room for `additional` more distinct events than it holds (as many as its limit
    /// allows) now, in one step: a caller that knows its input is large saves the doublings
    /// of the table, each of which holds the old and the new table for a moment. What it
    /// remembers and answers is the same either way.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{DedupeKey, Deduper};
    /// let mut deduper = Deduper::with_limit(1_000_000);
    /// deduper.reserve(100_000);
    /// let reserved = deduper.memory_bytes();
    /// for n in 1..=100_000 {
    ///     deduper.check(DedupeKey::from_u64(n), 1_700_000_000);
    /// }
    /// assert_eq!(deduper.memory_bytes(), reserved);
    /// // Never past the size for the limit.
    /// deduper.reserve(usize::MAX);
    /// assert!(deduper.memory_bytes() <= 1_000_000 * 14);
    /// ```
    pub fn reserve(&mut self, additional: usize) {
        let keys = self.len.saturating_add(additional).min(self.limit);
        let size = Self::slots_for(keys);
        if size > self.slots.len() {
            self.rehash(size);
        }
    }

    /// Doubles the table (up to the size for the limit) once it is 7/8 full: the table's
    /// memory follows what it holds.
    fn grow_if_full(&mut self) {
        let most = Self::slots_for(self.limit);
        if self.slots.len() >= most || self.len * 8 < self.slots.len() * 7 {
            return;
        }
        self.rehash(self.slots.len().saturating_mul(2).min(most));
    }

    /// Moves every key to its home in a table of `size` slots.
    fn rehash(&mut self, size: usize) {
        let old = core::mem::replace(&mut self.slots, empty_table(size));
        for slot in old {
            let key = u64::from(slot[0]) | u64::from(slot[1]) << 32;
            if key == 0 {
                continue;
            }
            let mut at = self.home(key);
            while self.key(at) != 0 {
                at = self.next(at);
            }
            self.slots[at] = slot;
        }
    }

    /// Checks one delivery of an event that happened at `event_time` (Unix seconds), and
    /// remembers it.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{DedupeKey, Deduper, Verdict};
    /// let mut deduper = Deduper::new();
    /// let key = DedupeKey::from_u64(42);
    /// assert_eq!(deduper.check(key, 100), Verdict::First);
    /// assert_eq!(deduper.check(key, 100), Verdict::Repeat);
    /// ```
    pub fn check(&mut self, key: DedupeKey, event_time: i64) -> Verdict {
        let key = key.as_u64().max(1);
        let base = *self.base.get_or_insert(event_time);
        let mut slot = self.home(key);
        loop {
            match self.key(slot) {
                0 => break,
                k if k == key => {
                    self.repeats += 1;
                    return Verdict::Repeat;
                }
                _ => slot = self.next(slot),
            }
        }
        self.slots[slot] = entry(key, pack(event_time, base));
        self.len += 1;
        self.grow_if_full();
        let verdict = match self.forgotten_until {
            Some(until) if event_time <= until => {
                self.unverified += 1;
                Verdict::Unverified
            }
            _ => Verdict::First,
        };
        if self.len > self.limit {
            self.forget_oldest_quarter(base);
        }
        verdict
    }

    /// Reads the table slots where `keys` belong, so that checking them next finds them in the
    /// CPU's cache. Once the table outgrows the cache, a check waits for its slot to come from
    /// memory; warming a batch first lets those reads overlap. On the benchmark machine,
    /// checks of keys warmed 256 at a time ran about a quarter faster (`benches/dedupe.rs`).
    /// Warming changes nothing the deduper remembers.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{DedupeKey, Deduper, Verdict};
    /// let mut deduper = Deduper::new();
    /// let batch: Vec<DedupeKey> = (1..=64).map(DedupeKey::from_u64).collect();
    /// deduper.warm(batch.iter().copied());
    /// for key in &batch {
    ///     assert_eq!(deduper.check(*key, 1_700_000_000), Verdict::First);
    /// }
    /// ```
    pub fn warm(&self, keys: impl IntoIterator<Item = DedupeKey>) {
        let mut seen = 0u64;
        for key in keys {
            let slot = self.home(key.as_u64().max(1));
            // The reads are independent of one another, so the processor issues them together.
            seen ^= self.key(slot);
        }
        core::hint::black_box(seen);
    }

    /// Whether it remembers `key`, without remembering it: for a receiver that records an
    /// event only once it is safely stored.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{DedupeKey, Deduper};
    /// let mut deduper = Deduper::new();
    /// let key = DedupeKey::from_u64(42);
    /// assert!(!deduper.contains(key));
    /// deduper.check(key, 100);
    /// assert!(deduper.contains(key));
    /// ```
    pub fn contains(&self, key: DedupeKey) -> bool {
        let key = key.as_u64().max(1);
        let mut slot = self.home(key);
        loop {
            match self.key(slot) {
                0 => return false,
                k if k == key => return true,
                _ => slot = self.next(slot),
            }
        }
    }

    /// How many events it remembers now.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::events::Deduper::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it remembers no event.
    ///
    /// # Example
    /// ```
    /// assert!(tencent_css_errcode::events::Deduper::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many checks were [`Verdict::Repeat`].
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::events::Deduper::new().repeats(), 0);
    /// ```
    pub fn repeats(&self) -> u64 {
        self.repeats
    }

    /// How many checks were [`Verdict::Unverified`]: 0 as long as the deduper never passed its
    /// limit.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::events::Deduper::new().unverified(), 0);
    /// ```
    pub fn unverified(&self) -> u64 {
        self.unverified
    }

    /// The bytes its table takes, whatever it holds.
    ///
    /// # Example
    /// ```
    /// let small = tencent_css_errcode::events::Deduper::with_limit(1000);
    /// assert!(small.memory_bytes() < 16_000);
    /// ```
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * size_of::<[u32; 3]>()
    }

    /// The key in `slot`, 0 if it is empty.
    fn key(&self, slot: usize) -> u64 {
        let [lo, hi, _] = self.slots[slot];
        u64::from(lo) | u64::from(hi) << 32
    }

    fn home(&self, key: u64) -> usize {
        // The key mixed first (a key made with `DedupeKey::from_u64` from a count would
        // otherwise put every key in the first slots and make probing quadratic), then
        // multiply-shift onto the table: uniform, any table size.
        let mixed = (key ^ (key >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        ((u128::from(mixed ^ (mixed >> 32)) * self.slots.len() as u128) >> 64) as usize
    }

    fn next(&self, slot: usize) -> usize {
        if slot + 1 == self.slots.len() {
            0
        } else {
            slot + 1
        }
    }

    /// Forgets at least a quarter of the events, those with the oldest times.
    fn forget_oldest_quarter(&mut self, base: i64) {
        let threshold = self.quarter_time();
        let mut slot = 0;
        while slot < self.slots.len() {
            if self.key(slot) != 0 && self.slots[slot][2] <= threshold {
                self.remove(slot);
                // `remove` may have moved a later entry into `slot`: look at it again.
                continue;
            }
            slot += 1;
        }
        let forgotten = unpack(threshold, base);
        self.forgotten_until = Some(self.forgotten_until.map_or(forgotten, |f| f.max(forgotten)));
    }

    /// The stored time at or below which a quarter of the entries lie, by a histogram of the
    /// stored times (no allocation beyond the histogram).
    fn quarter_time(&self) -> u32 {
        const BUCKETS: usize = 4096;
        let stored = || {
            self.slots
                .iter()
                .filter(|[lo, hi, _]| *lo != 0 || *hi != 0)
                .map(|[_, _, time]| *time)
        };
        let (min, max) = stored().fold((u32::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let width = u64::from(max - min) / BUCKETS as u64 + 1;
        let mut counts = vec![0usize; BUCKETS];
        for t in stored() {
            counts[(u64::from(t - min) / width) as usize] += 1;
        }
        let mut seen = 0;
        for (bucket, count) in counts.iter().enumerate() {
            seen += count;
            if seen * 4 >= self.len {
                let top = u64::from(min) + (bucket as u64 + 1) * width - 1;
                return top.min(u64::from(max)) as u32;
            }
        }
        max
    }

    /// Backward-shift deletion: keeps every remaining key reachable from its home slot.
    fn remove(&mut self, mut hole: usize) {
        self.slots[hole] = [0; 3];
        self.len -= 1;
        let mut slot = self.next(hole);
        while self.key(slot) != 0 {
            let home = self.home(self.key(slot));
            // The entry may move back into the hole unless its home lies after the hole
            // (cyclically) up to where it stands.
            let stays = if hole <= slot {
                hole < home && home <= slot
            } else {
                hole < home || home <= slot
            };
            if !stays {
                self.slots[hole] = self.slots[slot];
                self.slots[slot] = [0; 3];
                hole = slot;
            }
            slot = self.next(slot);
        }
    }
}

/// A table of `size` empty slots, written out now rather than allocated as zeroed memory.
/// Zeroed memory comes from the system as pages that are mapped on first use: `warm` reads a
/// slot first, which maps the shared zero page, and the write that follows must replace that
/// mapping, which on a process with other threads flushes their processors' TLBs (an
/// interrupt to each). Written at allocation, every page is faulted in once, for writing.
fn empty_table(size: usize) -> Vec<[u32; 3]> {
    let mut slots = Vec::with_capacity(size);
    slots.resize(size, [0; 3]);
    slots
}

/// A slot's content: the key's halves, low first, and the stored time.
fn entry(key: u64, time: u32) -> [u32; 3] {
    [key as u32, (key >> 32) as u32, time]
}

/// An event time as an unsigned offset around `base`, saturating: times within 68 years of the
/// first event keep their order exactly; only the eviction order of times beyond that is coarser.
fn pack(time: i64, base: i64) -> u32 {
    let offset = i128::from(time) - i128::from(base) + i128::from(i32::MAX);
    offset.clamp(0, i128::from(u32::MAX)) as u32
}

/// The latest event time that `pack` maps to `stored` or below.
fn unpack(stored: u32, base: i64) -> i64 {
    if stored == u32::MAX {
        return i64::MAX;
    }
    let time = i128::from(stored) + i128::from(base) - i128::from(i32::MAX);
    time.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_keeps_order_and_saturates() {
        let base = 1_700_000_000;
        assert!(pack(base - 1, base) < pack(base, base));
        assert_eq!(unpack(pack(base + 5, base), base), base + 5);
        assert_eq!(pack(i64::MIN, base), 0);
        assert_eq!(pack(i64::MAX, base), u32::MAX);
        assert_eq!(unpack(u32::MAX, base), i64::MAX);
    }

    #[test]
    fn removal_keeps_every_other_key_reachable() {
        // A tiny table with many collisions and wrap-around: remove half, find the rest.
        let mut deduper = Deduper::with_limit(64);
        let keys: Vec<u64> = (1..=64u64)
            .map(|n| n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                deduper.check(DedupeKey::from_u64(*k), i as i64),
                Verdict::First
            );
        }
        let mut slot = 0;
        while slot < deduper.slots.len() {
            if deduper.key(slot) % 2 == 0 && deduper.key(slot) != 0 {
                deduper.remove(slot);
                continue;
            }
            slot += 1;
        }
        for (i, k) in keys.iter().enumerate() {
            let expected = if k % 2 == 0 {
                Verdict::First
            } else {
                Verdict::Repeat
            };
            assert_eq!(
                deduper.check(DedupeKey::from_u64(*k), i as i64),
                expected,
                "{k:x}"
            );
        }
    }
}
