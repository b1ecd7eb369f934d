//! One pass over a log in time order, in memory bounded by what is on the air.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use super::{
    Facts, Hashing, Session, Sessions, State, Stream, StreamKey, into_session, sequence_key,
    state_of,
};
use crate::events::{EventKind, Record, StreamEventInfo};

/// Seconds that a push is held after its end, by the input's clock (the latest event time
/// read), before [`Streaming`] gives it out. Tencent retries a callback for up to twelve
/// minutes, so every redelivery, and a start or end delayed by the retries, comes within it.
pub const WINDOW: i64 = 900;

/// Pushes given out are remembered this long after their end, so that a redelivery of one of
/// their events is known for what it is.
const REMEMBER: i64 = 2 * WINDOW;

/// The reducer for one pass over a log whose events are in time order, as a receiver writes
/// them (Tencent's retries delay an event by up to twelve minutes: within [`WINDOW`]).
///
/// [`Sessions`] holds every push until it is asked, which any order of the events allows.
/// `Streaming` gives each ended push out once the input's clock has passed its end by
/// [`WINDOW`] ([`settled`](Streaming::settled)), and forgets it a while after, so that it holds
/// only the pushes on the air and those of the last minutes, however long the log. For such an
/// input its sessions are the ones [`Sessions`] gives for the same events (the tests compare
/// them), with one exception: a push whose start callback was lost is known from its end
/// alone (its start is the end less `push_duration`), so it makes an earlier end
/// [`State::Replaced`](super::State::Replaced) only when its own end comes within the window of
/// that end. An event that comes later than the window, for a push already given out, cannot
/// change it: it is counted in [`late`](Streaming::late), and the answer is then approximate
/// (read files oldest first).
///
/// # Example
/// ```
/// use tencent_css_errcode::events::RecordLine;
/// use tencent_css_errcode::sessions::{Streaming, WINDOW, State};
/// let line = |kind: u8, sequence: &str, time: i64| format!(
///     r#"{{"event_type":{kind},"t":0,"app":"d","appname":"live","stream_id":"s","sequence":"{sequence}","event_time":{time},"errcode":1,"push_duration":"60000"}}"#);
/// let mut pushes = Streaming::new();
/// for (kind, sequence, time) in [(1, "a", 1_000), (0, "a", 1_060), (1, "b", 2_000), (1, "c", 1_100 + WINDOW)] {
///     let text = line(kind, sequence, time);
///     let Ok(Some(RecordLine::Callback(record))) = RecordLine::parse(text.as_bytes()) else { panic!() };
///     pushes.add_record(record);
/// }
/// // `a` ended more than WINDOW before the latest event: it is given out.
/// let settled: Vec<_> = pushes.settled().collect();
/// assert_eq!((settled.len(), settled[0].state), (1, State::Ended));
/// let (ended, open) = pushes.finish();
/// assert!(ended.is_empty());
/// assert_eq!(open.live().len(), 1); // stream `s`, on the air with `b` and `c`
/// ```
#[derive(Clone, Debug)]
pub struct Streaming {
    held: Sessions,
    window: i64,
    /// The latest event time read.
    clock: i64,
    /// When, by the clock, the next look for settled pushes is due.
    next_pass: i64,
    /// Pushes given out, by [`push_key`], with what they had.
    given: HashMap<u64, Given, Hashing>,
    /// The end and key of each push in `given`, in the order they were given out.
    given_order: VecDeque<(i64, u64)>,
    /// Pushes given out of each stream (by [`stream_key`]), with their start and end, while
    /// remembered: the starts that make a later end `replaced`, the times an API record pairs
    /// with.
    ghosts: HashMap<u64, Vec<Ghost>, Hashing>,
    /// The end time of each stream end taken, with its stream, earliest first: the streams a
    /// look must visit (an entry whose push is gone already is passed over).
    due: BinaryHeap<Reverse<(i64, u64, Arc<Stream>)>>,
    /// Stream ends taken: orders `due`'s entries of one time without comparing names.
    taken: u64,
    /// When, by the clock, `ghosts` is next swept of what is no longer remembered.
    next_sweep: i64,
    settled: Vec<Session>,
    late: u64,
}

/// What a push given out had: a later start or end it lacked is late, one it had is a
/// redelivery.
#[derive(Clone, Copy, Debug)]
struct Given {
    start: bool,
    end: bool,
}

/// A push given out, as a later end (`replaced`) or API record (paired by time) needs it.
#[derive(Clone, Debug)]
struct Ghost {
    start: Option<i64>,
    end: i64,
    /// Its sequence's [`sequence_key`].
    sequence: u64,
}

impl Default for Streaming {
    fn default() -> Streaming {
        Streaming::new()
    }
}

impl Streaming {
    /// An empty reducer that holds a push [`WINDOW`] seconds after its end.
    pub fn new() -> Streaming {
        Streaming::with_window(WINDOW)
    }

    /// An empty reducer that holds a push `window` seconds after its end (at least one).
    pub fn with_window(window: i64) -> Streaming {
        let window = window.max(1);
        Streaming {
            held: Sessions::new(),
            window,
            clock: i64::MIN,
            next_pass: i64::MIN,
            given: HashMap::default(),
            given_order: VecDeque::new(),
            ghosts: HashMap::default(),
            due: BinaryHeap::new(),
            taken: 0,
            next_sweep: i64::MIN,
            settled: Vec::new(),
            late: 0,
        }
    }

    /// Takes one push start or stream end of a callback, as [`Sessions::add_record`] does
    /// (`false` for a record without a `sequence`).
    pub fn add_record(&mut self, record: Record<'_>) -> bool {
        let Some(sequence) = record.sequence.as_deref() else {
            return false;
        };
        let stream = (&*record.domain, &*record.app, &*record.stream);
        if let Some(given) = self.given.get(&push_key(stream, sequence)) {
            let had = match record.kind {
                EventKind::PushStart => given.start,
                EventKind::StreamEnd => given.end,
            };
            // A redelivery of what was given out changes nothing; anything else came too late.
            if !had {
                self.late += 1;
            }
            return true;
        }
        if record.time < self.clock.saturating_sub(self.window) && !self.holds(stream, sequence) {
            self.late += 1;
        }
        let (time, kind) = (record.time, record.kind);
        let names = (
            record.domain.clone(),
            record.app.clone(),
            record.stream.clone(),
        );
        self.held.add_record(record);
        if kind == EventKind::StreamEnd {
            let key: &dyn StreamKey = &(&*names.0, &*names.1, &*names.2);
            // The held map's own names, shared; none when a limit left the push out.
            if let Some((stream, _)) = self.held.streams.get_key_value(key) {
                self.taken += 1;
                self.due
                    .push(Reverse((time, self.taken, Arc::clone(stream))));
            }
        }
        self.tick(time);
        true
    }

    /// Takes one record of DescribeLiveStreamEventList, as [`Sessions::add_api_record`]
    /// does; it is given out with the pushes that end when it does, paired with any of them.
    pub fn add_api_record(&mut self, record: &StreamEventInfo) -> bool {
        if !self.held.add_api_record(record) {
            return false;
        }
        if let Ok(end) = record.end_time_unix() {
            if end < self.clock.saturating_sub(self.window) {
                self.late += 1;
            }
            self.tick(end);
        }
        true
    }

    /// The pushes settled since the last call, each once: ended more than the window before
    /// the latest event read. Each look for them gives them in order of their end.
    pub fn settled(&mut self) -> std::vec::Drain<'_, Session> {
        self.settled.drain(..)
    }

    /// Ends the input: every ended push not given out yet, in order of their end, and a
    /// reducer of the pushes still on the air (for [`Sessions::live`], [`Sessions::sessions`]
    /// and [`Sessions::reconcile`]).
    pub fn finish(mut self) -> (Vec<Session>, Sessions) {
        self.pass(i64::MAX);
        (self.settled, self.held)
    }

    /// Events that came after their push was given out, or more than the window behind the
    /// latest event: they could not be paired as [`Sessions`] would pair them.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Whether some events came late, or a limit left some out: the answer is approximate.
    pub fn is_approximate(&self) -> bool {
        self.late > 0 || self.held.is_approximate()
    }

    /// Events left out by the held reducer's limit ([`Sessions::dropped`]).
    pub fn dropped(&self) -> u64 {
        self.held.dropped()
    }

    /// Pushes held now: on the air, or ended within the window.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether no push is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    fn holds(&self, stream: (&str, &str, &str), sequence: &str) -> bool {
        let key: &dyn StreamKey = &stream;
        self.held
            .streams
            .get(key)
            .is_some_and(|pushes| pushes.contains_key(sequence))
    }

    fn tick(&mut self, time: i64) {
        self.clock = self.clock.max(time);
        if self.clock >= self.next_pass {
            self.pass(self.clock.saturating_sub(self.window));
            // A look a quarter of the window apart: a push is given out at most that much
            // later than it could be, and each look costs a walk over the pushes held.
            self.next_pass = self.clock.saturating_add(self.window / 4 + 1);
        }
    }

    /// Gives out every push that ended before `horizon`, and every API record that did.
    fn pass(&mut self, horizon: i64) {
        let first = self.settled.len();
        if horizon == i64::MAX {
            self.due.clear();
            let streams: Vec<Arc<Stream>> = self.held.streams.keys().cloned().collect();
            for stream in streams {
                self.settle_stream(stream, horizon);
            }
        } else {
            // A stream met twice has nothing left to settle the second time.
            while let Some(Reverse((end, _, _))) = self.due.peek() {
                if *end >= horizon {
                    break;
                }
                let Some(Reverse((_, _, stream))) = self.due.pop() else {
                    break;
                };
                self.settle_stream(stream, horizon);
            }
        }
        self.settle_records(horizon);
        // Each push is given out once: no two have the same stream and sequence.
        self.settled[first..].sort_unstable_by(|a, b| {
            (a.end, &a.stream, &a.sequence).cmp(&(b.end, &b.stream, &b.sequence))
        });
        self.forget();
    }

    /// Gives out the pushes of `stream` that ended before `horizon`.
    fn settle_stream(&mut self, stream: Arc<Stream>, horizon: i64) {
        let key: &dyn StreamKey = &*stream;
        let Some(pushes) = self.held.streams.get(key) else {
            return;
        };
        let before = self.clock.saturating_sub(REMEMBER);
        let hashed = stream_key(stream.parts());
        let ghosts = self.ghosts.get(&hashed).map_or(&[][..], Vec::as_slice);
        let mut starts: Vec<(i64, u64)> = Vec::new();
        // What each push to give out is, decided while every push of the stream is there: its
        // place among the stream's pushes, what is remembered of it, its state, whether its
        // start callback came.
        let mut settled: Vec<(usize, Ghost, State, bool)> = Vec::new();
        for (at, (sequence, facts)) in pushes.iter().enumerate() {
            if facts.end.as_ref().is_some_and(|end| end.time < horizon) {
                if starts.is_empty() {
                    starts = pushes
                        .iter()
                        .filter_map(|(sequence, facts)| {
                            Some((facts.start_time()?, sequence_key(sequence)))
                        })
                        .chain(
                            ghosts
                                .iter()
                                .filter(|g| g.end >= before)
                                .filter_map(|g| Some((g.start?, g.sequence))),
                        )
                        .collect();
                    starts.sort_unstable();
                }
                let sequence = sequence_key(sequence);
                let state = state_of(sequence, facts, &starts);
                settled.push((at, ghost_of(sequence, facts), state, facts.start.is_some()));
            }
        }
        if settled.is_empty() {
            return;
        }
        drop(starts);
        // A stream left with no push is taken out, and its names go to its last session when
        // nothing else shares them.
        let emptied = settled.len() == pushes.len();
        let mut pushes = if emptied {
            let (held, pushes) = self
                .held
                .streams
                .remove_entry(key)
                .expect("the stream is held");
            drop(held);
            pushes
        } else {
            std::mem::take(self.held.streams.get_mut(key).expect("held"))
        };
        let mut names: Option<Result<Stream, Arc<Stream>>> = Some(if emptied {
            Arc::try_unwrap(stream)
        } else {
            Err(stream)
        });
        let count = settled.len();
        let ghosts = self.ghosts.entry(hashed).or_default();
        ghosts.retain(|g| g.end >= before);
        // From the last place to the first, so that each place stays where it was.
        for (n, (at, ghost, state, had_start)) in settled.into_iter().rev().enumerate() {
            let (sequence, facts) = pushes.remove_at(at);
            self.held.pushes -= 1;
            let own = if n + 1 == count && emptied {
                match names.take().expect("kept until the last") {
                    Ok(stream) => stream,
                    Err(shared) => Stream::clone(&shared),
                }
            } else {
                match names.as_ref().expect("kept until the last") {
                    Ok(stream) => stream.clone(),
                    Err(shared) => Stream::clone(shared),
                }
            };
            let pushed = push_key(own.parts(), &sequence);
            self.settled.push(into_session(own, sequence, facts, state));
            self.given.insert(
                pushed,
                Given {
                    start: had_start,
                    end: true,
                },
            );
            self.given_order.push_back((ghost.end, pushed));
            ghosts.push(ghost);
        }
        if let Some(Err(stream)) = names {
            let key: &dyn StreamKey = &*stream;
            *self.held.streams.get_mut(key).expect("held") = pushes;
        }
    }

    /// Gives out the API records that ended before `horizon` and that no push known from
    /// callbacks (held, or given out and remembered) pairs with.
    fn settle_records(&mut self, horizon: i64) {
        let mut emptied = Vec::new();
        for (stream, records) in &mut self.held.recorded {
            let settled: Vec<_> = records
                .iter()
                .filter(|r| r.end < horizon)
                .cloned()
                .collect();
            for record in settled {
                records.remove(&record);
                self.held.pushes -= 1;
                let held = self.held.streams.get(stream).is_some_and(|pushes| {
                    pushes.values().any(|facts: &Facts| {
                        record.pairs_with(facts.start_time(), facts.end_time())
                    })
                });
                let given = self
                    .ghosts
                    .get(&stream_key(stream.parts()))
                    .is_some_and(|ghosts| {
                        ghosts
                            .iter()
                            .any(|g| record.pairs_with(g.start, Some(g.end)))
                    });
                if !held && !given {
                    self.settled.push(record.session(stream));
                }
            }
            if records.is_empty() {
                emptied.push(stream.clone());
            }
        }
        for stream in emptied {
            self.held.recorded.remove(&stream);
        }
    }

    /// Forgets the pushes given out longer ago than [`REMEMBER`].
    fn forget(&mut self) {
        let before = self.clock.saturating_sub(REMEMBER);
        while let Some(&(end, key)) = self.given_order.front() {
            if end >= before {
                break;
            }
            self.given_order.pop_front();
            self.given.remove(&key);
        }
        // The streams' own lists are cut when they are next used; the streams not met again
        // are dropped now and then.
        if self.clock >= self.next_sweep {
            self.ghosts.retain(|_, ghosts| {
                ghosts.retain(|g| g.end >= before);
                !ghosts.is_empty()
            });
            self.next_sweep = self.clock.saturating_add(REMEMBER);
        }
    }
}

fn ghost_of(sequence: u64, facts: &Facts) -> Ghost {
    Ghost {
        start: facts.start_time(),
        end: facts.end.as_ref().map_or(i64::MIN, |e| e.time),
        sequence,
    }
}

/// One stream's key in `ghosts`: a hash of its names.
fn stream_key(stream: (&str, &str, &str)) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(stream)
}

/// One push's key: a hash of its stream's names and its sequence, each with its length.
fn push_key(stream: (&str, &str, &str), sequence: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one((stream, sequence))
}
