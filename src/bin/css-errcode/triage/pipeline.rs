//! Reading and parsing on several threads, counting in file order.
//!
//! One thread reads (and decompresses) the inputs into blocks of whole lines; `threads` workers
//! parse blocks (triage into summaries, sessions into owned records); the caller's thread
//! receives the parsed blocks in input order.
//! A fixed number of tokens bounds the blocks in flight, so memory does not grow with the input
//! or with a slow worker.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use tencent_css_errcode::events::{Block, BlockReader, DEFAULT_LINE_LIMIT};

use super::input::Input;

/// Bytes per block: large enough that handing a block to a worker costs nothing next to
/// parsing it, small enough that a few of them in flight stay a few MiB.
const BLOCK_SIZE: usize = 5 << 18;

/// What the caller receives, in input order.
pub enum Step<'a, P> {
    /// A parsed block of the input with this index (what it holds may be taken: it is cleared
    /// before it is used again).
    Block(usize, &'a mut P),
    /// The input with this index could not be read (further): why.
    Failed(usize, String),
}

enum Work {
    Block {
        seq: u64,
        input: usize,
        block: Block,
    },
}

enum Done<P> {
    Parsed {
        seq: u64,
        input: usize,
        parsed: P,
    },
    Failed {
        seq: u64,
        input: usize,
        message: String,
    },
}

impl<P> Done<P> {
    fn seq(&self) -> u64 {
        match self {
            Done::Parsed { seq, .. } | Done::Failed { seq, .. } => *seq,
        }
    }
}

/// Reads `inputs`, parses each block with `parse` (into a `P` that it clears first: each `P`
/// is used again for a later block) on `threads` workers, and gives the results to `apply` in
/// input order.
pub fn run<P: Default + Send>(
    inputs: &[Input],
    threads: usize,
    bar: Option<&indicatif::ProgressBar>,
    parse: &(impl Fn(&Block, &mut P) + Sync),
    mut apply: impl FnMut(Step<'_, P>),
) {
    let threads = threads.max(1);
    // Room for each worker to hold a block and have the next one waiting, and for the reader
    // and the counting thread to run ahead or behind by a few: with as many threads as cores,
    // one of them descheduled otherwise soon idled the others.
    let in_flight = 2 * threads + 4;
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        token_tx.send(()).expect("the receiver is alive");
    }
    let (work_tx, work_rx) = sync_channel::<Work>(in_flight);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = channel::<Done<P>>();
    // Parsed blocks go back to the reader, which fills them again; counted results go back to
    // the workers, which fill them again.
    let (spent_tx, spent_rx) = channel::<Block>();
    let (counted_tx, counted_rx) = channel::<P>();
    let counted_rx = Mutex::new(counted_rx);

    thread::scope(|scope| {
        let reader_done = done_tx.clone();
        scope.spawn(move || read_all(inputs, bar, &token_rx, &work_tx, &reader_done, &spent_rx));
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            let spent_tx = spent_tx.clone();
            let counted_rx = &counted_rx;
            scope.spawn(move || work(&work_rx, &done_tx, &spent_tx, counted_rx, parse));
        }
        drop(spent_tx);
        drop(done_tx);
        in_order(&done_rx, &token_tx, &counted_tx, &mut apply);
    });
}

fn read_all<P>(
    inputs: &[Input],
    bar: Option<&indicatif::ProgressBar>,
    tokens: &Receiver<()>,
    work: &SyncSender<Work>,
    done: &std::sync::mpsc::Sender<Done<P>>,
    spent: &Receiver<Block>,
) {
    let mut seq = 0;
    // Whether this thread holds a token it has not spent on a block yet.
    let mut holding = false;
    for (index, input) in inputs.iter().enumerate() {
        let reader = match input.open(bar) {
            Ok(reader) => reader,
            Err(e) => {
                let _ = done.send(Done::Failed {
                    seq,
                    input: index,
                    message: format!("{}: {e}", input.name()),
                });
                seq += 1;
                continue;
            }
        };
        let mut blocks = BlockReader::new(reader, BLOCK_SIZE, DEFAULT_LINE_LIMIT);
        loop {
            if !holding {
                if tokens.recv().is_err() {
                    return;
                }
                holding = true;
            }
            while let Ok(block) = spent.try_recv() {
                blocks.recycle(block);
            }
            let Some(block) = blocks.next() else {
                // The token stays held, for the next input's first block.
                break;
            };
            holding = false;
            let sent = match block {
                Ok(block) => work
                    .send(Work::Block {
                        seq,
                        input: index,
                        block,
                    })
                    .is_ok(),
                Err(e) => done
                    .send(Done::Failed {
                        seq,
                        input: index,
                        message: format!("{}: {e}", input.name()),
                    })
                    .is_ok(),
            };
            seq += 1;
            if !sent {
                return;
            }
        }
    }
}

fn work<P: Default>(
    work: &Mutex<Receiver<Work>>,
    done: &std::sync::mpsc::Sender<Done<P>>,
    spent: &std::sync::mpsc::Sender<Block>,
    counted: &Mutex<Receiver<P>>,
    parse: &impl Fn(&Block, &mut P),
) {
    loop {
        let next = match work.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(Work::Block { seq, input, block }) = next else {
            return;
        };
        let mut parsed = counted
            .lock()
            .ok()
            .and_then(|counted| counted.try_recv().ok())
            .unwrap_or_default();
        parse(&block, &mut parsed);
        let _ = spent.send(block);
        if done.send(Done::Parsed { seq, input, parsed }).is_err() {
            return;
        }
    }
}

/// Hands the results to `apply` in sequence order, returning a token for each.
fn in_order<P>(
    done: &Receiver<Done<P>>,
    tokens: &SyncSender<()>,
    counted: &std::sync::mpsc::Sender<P>,
    apply: &mut impl FnMut(Step<'_, P>),
) {
    let mut waiting: BTreeMap<u64, Done<P>> = BTreeMap::new();
    let mut next = 0;
    for result in done {
        waiting.insert(result.seq(), result);
        while let Some(result) = waiting.remove(&next) {
            next += 1;
            match result {
                Done::Parsed {
                    input, mut parsed, ..
                } => {
                    apply(Step::Block(input, &mut parsed));
                    let _ = counted.send(parsed);
                    // A token stands for a block; failures took one only when read mid-input,
                    // and returning one too many only lets the reader run a block further ahead.
                    let _ = tokens.try_send(());
                }
                Done::Failed { input, message, .. } => {
                    apply(Step::Failed(input, message));
                    let _ = tokens.try_send(());
                }
            }
        }
    }
}
