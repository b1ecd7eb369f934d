//! Durable before acknowledged: one writer thread appends accepted callbacks to
//! `DIR/events-YYYY-MM-DD.jsonl` (UTC day of receipt) and fsyncs once per batch (group commit),
//! then answers every request of the batch. The library's deduper remembers an event only once
//! it is on disk, so a redelivery is never acknowledged for a write that failed.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tencent_css_errcode::events::{DedupeKey, Deduper, Line, format_utc_time};
use tokio::sync::oneshot;

/// How many days of files a start reads back: Tencent redelivers for twelve minutes, and a day
/// boundary may fall in them.
const DAYS_REMEMBERED: i64 = 2;
/// Requests one fsync covers at most.
const BATCH: usize = 4_096;
/// A batch stops taking appends when none came for this long...
const GAP: Duration = Duration::from_micros(50);
/// ...or this long after its first: the most an append waits for others before its fsync.
const LINGER: Duration = Duration::from_micros(500);

/// What became of an append.
#[derive(Debug)]
pub enum Stored {
    /// Written and on disk, after this long in the writer's hands (queue, write, fsync).
    Accepted(Duration),
    /// Already on disk: not written again.
    Duplicate,
    /// Not on disk: the request must fail so that Tencent retries.
    Failed(String),
}

struct Append {
    key: DedupeKey,
    time: i64,
    line: Vec<u8>,
    received: Instant,
    reply: oneshot::Sender<Stored>,
}

/// The handle the HTTP side appends through.
#[derive(Clone)]
pub struct Store {
    sender: mpsc::Sender<Append>,
    dir: PathBuf,
}

impl Store {
    /// Reads back what the last days' files hold (cutting a torn last line), then starts the
    /// writer thread.
    pub fn open(dir: &Path, fsync: bool) -> io::Result<Store> {
        std::fs::create_dir_all(dir)?;
        let mut deduper = Deduper::new();
        let today = unix_now().div_euclid(86_400);
        for day in (today - DAYS_REMEMBERED + 1)..=today {
            let path = day_file(dir, day * 86_400);
            if path.exists() {
                recover(&path, &mut deduper)?;
            }
        }
        let (sender, receiver) = mpsc::channel();
        let writer_dir = dir.to_owned();
        std::thread::Builder::new()
            .name("store".to_owned())
            .spawn(move || write_loop(&writer_dir, fsync, deduper, &receiver))?;
        Ok(Store {
            sender,
            dir: dir.to_owned(),
        })
    }

    /// Appends one callback line (no newline in it); resolves once it is on disk, or known to
    /// be there already, or not writable.
    pub async fn append(&self, key: DedupeKey, time: i64, line: Vec<u8>) -> Stored {
        let (reply, answer) = oneshot::channel();
        let append = Append {
            key,
            time,
            line,
            received: Instant::now(),
            reply,
        };
        if self.sender.send(append).is_err() {
            return Stored::Failed("the writer has stopped".to_owned());
        }
        answer
            .await
            .unwrap_or_else(|_| Stored::Failed("the writer has stopped".to_owned()))
    }

    /// Whether a file can be created, written and synced in the data directory now.
    pub fn writable(&self) -> bool {
        let probe = self.dir.join(".healthz");
        let result = File::create(&probe)
            .and_then(|mut file| file.write_all(b"ok").and_then(|()| file.sync_data()));
        let _ = std::fs::remove_file(&probe);
        result.is_ok()
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn day_file(dir: &Path, unix: i64) -> PathBuf {
    dir.join(format!("events-{}.jsonl", &format_utc_time(unix)[..10]))
}

/// Cuts a torn last line (a crash mid-write) and remembers every event of the file.
fn recover(path: &Path, deduper: &mut Deduper) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(last) => last + 1,
        None => 0,
    };
    if whole < bytes.len() {
        tracing::warn!(
            file = %path.display(),
            bytes = bytes.len() - whole,
            "cut a torn last line left by an interrupted write"
        );
        file.set_len(whole as u64)?;
        file.seek(SeekFrom::Start(whole as u64))?;
        file.sync_all()?;
        bytes.truncate(whole);
    }
    let mut events = 0u64;
    for line in bytes.split(|&b| b == b'\n') {
        if let Ok(Some(Line::Callback(event))) = Line::parse(line) {
            deduper.check(event.dedupe_key(), event.event_time);
            events += 1;
        }
    }
    tracing::info!(file = %path.display(), events, "remembered the events of");
    Ok(())
}

fn write_loop(dir: &Path, fsync: bool, mut deduper: Deduper, receiver: &mpsc::Receiver<Append>) {
    let mut current_day: Option<PathBuf> = None;
    while let Ok(first) = receiver.recv() {
        let started = Instant::now();
        let mut batch = vec![first];
        // Requests come in waves (a wave of answers brings a wave of new requests): the batch
        // takes appends as long as they follow one another closely, so that one fsync covers
        // the wave rather than a few of it each. Without fsync there is nothing to share, and
        // the batch is what has already arrived.
        let linger = if fsync { LINGER } else { Duration::ZERO };
        while batch.len() < BATCH {
            let left = linger.saturating_sub(started.elapsed());
            let next = match receiver.try_recv() {
                Ok(next) => Ok(next),
                Err(_) if left.is_zero() => break,
                Err(_) => receiver.recv_timeout(GAP.min(left)),
            };
            match next {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let path = day_file(dir, unix_now());
        if current_day.as_ref() != Some(&path) {
            if current_day.is_some() {
                tracing::info!(file = %path.display(), "rotated to a new day's file");
            }
            current_day = Some(path.clone());
        }
        // Which appends are new: not on disk already, and not earlier in this batch.
        let mut in_batch: HashSet<DedupeKey> = HashSet::new();
        let mut bytes = Vec::new();
        let mut fresh = Vec::with_capacity(batch.len());
        for append in &batch {
            let new = !deduper.contains(append.key) && in_batch.insert(append.key);
            if new {
                bytes.extend_from_slice(&append.line);
                bytes.push(b'\n');
            }
            fresh.push(new);
        }
        let written = if bytes.is_empty() {
            Ok(())
        } else {
            write_and_sync(&path, &bytes, fsync)
        };
        // Every reply waits for the batch's fsync: a duplicate of an event written in this
        // batch is acknowledged only once that event is on disk.
        let firsts: HashMap<DedupeKey, i64> = batch
            .iter()
            .zip(&fresh)
            .filter(|(_, new)| **new)
            .map(|(a, _)| (a.key, a.time))
            .collect();
        match &written {
            Ok(()) => {
                for (key, time) in firsts {
                    deduper.check(key, time);
                }
            }
            Err(error) => tracing::error!(file = %path.display(), %error, "cannot write"),
        }
        for (append, new) in batch.into_iter().zip(fresh) {
            let stored = match (&written, new) {
                (Ok(()), true) => Stored::Accepted(append.received.elapsed()),
                (Ok(()), false) => Stored::Duplicate,
                (Err(error), _) => Stored::Failed(error.to_string()),
            };
            let _ = append.reply.send(stored);
        }
    }
}

/// Appends `bytes` to `path` and, unless told not to, syncs it to disk. The file is opened for
/// each batch, so that a data directory that disappears or turns read-only fails the write.
fn write_and_sync(path: &Path, bytes: &[u8], fsync: bool) -> io::Result<()> {
    let created = !path.exists();
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(bytes)?;
    if fsync {
        file.sync_data()?;
        if created {
            // A new file's name is on disk only once its directory is synced too.
            if let Some(dir) = path.parent() {
                File::open(dir)?.sync_all()?;
            }
        }
    }
    Ok(())
}
