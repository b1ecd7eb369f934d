//! Durable before acknowledged: one writer thread appends accepted callbacks to
//! `DIR/events-YYYY-MM-DD.jsonl` (UTC day of receipt) and fsyncs once per batch (group commit),
//! then answers every request of the batch. The library's deduper remembers an event only once
//! it is on disk, so a redelivery is never acknowledged for a write that failed.
//!
//! The day's file is written ahead: when its lines reach its end, the writer extends it by
//! [`AHEAD`] bytes of newlines (blank lines, which every reader of the file skips), and later
//! batches overwrite that space in place. An fsync of an overwrite flushes the new lines alone;
//! an fsync of an append must also write the file's new size to disk, a second write the fsync
//! waits for. The space is cut off when the receiver moves to the next day's file, when it
//! stops, and (after a crash) when it starts.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
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
/// How far ahead of its last line the day's file is written (in blank lines).
pub const AHEAD: usize = 4 << 20;

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

enum Message {
    Append(Append),
    /// Cut the space written ahead and stop; answered once done.
    Close(mpsc::Sender<()>),
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
    sender: mpsc::Sender<Message>,
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
        if self.sender.send(Message::Append(append)).is_err() {
            return Stored::Failed("the writer has stopped".to_owned());
        }
        answer
            .await
            .unwrap_or_else(|_| Stored::Failed("the writer has stopped".to_owned()))
    }

    /// Stops the writer once the appends sent before are answered, leaving the day's file
    /// without the space written ahead. Later appends fail.
    pub fn close(&self) {
        let (done, wait) = mpsc::channel();
        if self.sender.send(Message::Close(done)).is_ok() {
            let _ = wait.recv();
        }
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

/// Cuts what a stop that was not clean left after the last line (the space written ahead, a
/// torn last line) and remembers every event of the file.
fn recover(path: &Path, deduper: &mut Deduper) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let (end, torn) = lines_end(&bytes);
    if torn > 0 {
        tracing::warn!(
            file = %path.display(),
            bytes = torn,
            "cut a torn last line left by an interrupted write"
        );
    }
    if end < bytes.len() {
        tracing::info!(
            file = %path.display(),
            bytes = bytes.len() - end,
            "cut what was left after the last line"
        );
        file.set_len(end as u64)?;
        file.sync_all()?;
        bytes.truncate(end);
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

/// Where a day's file should end: after its last whole line, without the blank lines written
/// ahead of it. Also returns the length of a torn last line within that cut (0 if none): a last
/// line with no newline after it, or one followed by the space written ahead that does not
/// read as JSON (its write was interrupted: a prefix of a JSON object is never JSON).
fn lines_end(bytes: &[u8]) -> (usize, usize) {
    let content = bytes.len() - bytes.iter().rev().take_while(|&&b| b == b'\n').count();
    if content == 0 {
        return (0, 0);
    }
    let start = bytes[..content]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let whole = content < bytes.len()
        && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes[start..content]).is_ok();
    if whole {
        (content + 1, 0)
    } else {
        (start, content - start)
    }
}

/// The day's file the writer appends to.
struct DayFile {
    path: PathBuf,
    /// Which file it is (device, inode).
    id: (u64, u64),
    /// Where the next line goes: the end of the last line.
    end: u64,
    /// The file's length: from `end` to here, space written ahead.
    len: u64,
    /// The file ends in a line with no newline (left by something other than this writer):
    /// the next write starts with one, so that the line stays apart from the next.
    newline: bool,
}

impl DayFile {
    /// Opens (or creates) the day's file for one batch, so that a data directory that
    /// disappears or turns read-only fails the write; says whether it created it.
    fn open<'a>(
        path: &Path,
        known: &'a mut Option<DayFile>,
    ) -> io::Result<(File, bool, &'a mut DayFile)> {
        let created = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let metadata = file.metadata()?;
        let id = (metadata.dev(), metadata.ino());
        let len = metadata.len();
        // Only this writer changes the file's length: another length (or another file, though
        // a new file may get the inode number of a removed one) is read afresh.
        let day = match known.take() {
            Some(day) if day.path == path && day.id == id && day.len == len => day,
            _ => {
                let end = last_line_end(&file, len)?;
                let mut last = [b'\n'];
                if end > 0 && end == len {
                    file.read_exact_at(&mut last, end - 1)?;
                }
                DayFile {
                    path: path.to_owned(),
                    id,
                    end,
                    len,
                    newline: last[0] != b'\n',
                }
            }
        };
        let day = known.insert(day);
        Ok((file, created, day))
    }

    /// Writes `bytes` after the last line, extending the space ahead when it runs out.
    fn write(&mut self, file: &File, bytes: &[u8]) -> io::Result<()> {
        let newline = if self.newline { &b"\n"[..] } else { &[] };
        let end = self.end + (newline.len() + bytes.len()) as u64;
        if end > self.len || !newline.is_empty() {
            let mut extended = Vec::with_capacity(newline.len() + bytes.len() + AHEAD);
            extended.extend_from_slice(newline);
            extended.extend_from_slice(bytes);
            extended.resize(extended.len() + AHEAD, b'\n');
            file.write_all_at(&extended, self.end)?;
            self.len = self.len.max(end + AHEAD as u64);
        } else {
            file.write_all_at(bytes, self.end)?;
        }
        self.end = end;
        self.newline = false;
        Ok(())
    }

    /// Cuts the space written ahead, and syncs.
    fn finish(&self) -> io::Result<()> {
        if self.len > self.end {
            let file = OpenOptions::new().write(true).open(&self.path)?;
            file.set_len(self.end)?;
            file.sync_all()?;
        }
        Ok(())
    }
}

/// The end of the last line of a file of `len` bytes, read from its end back over the blank
/// lines written ahead.
fn last_line_end(file: &File, len: u64) -> io::Result<u64> {
    let mut block = vec![0u8; 64 * 1024];
    let mut to = len;
    while to > 0 {
        let from = to.saturating_sub(block.len() as u64);
        let part = &mut block[..(to - from) as usize];
        file.read_exact_at(part, from)?;
        if let Some(last) = part.iter().rposition(|&b| b != b'\n') {
            // After the last line's newline (or after a line that has none: it stays as it is,
            // the next line is written after it).
            return Ok((from + last as u64 + 2).min(len));
        }
        to = from;
    }
    Ok(0)
}

fn write_loop(dir: &Path, fsync: bool, mut deduper: Deduper, receiver: &mpsc::Receiver<Message>) {
    let mut day: Option<DayFile> = None;
    let mut closed = None;
    while let Ok(first) = receiver.recv() {
        // The batch: what has arrived while the last one was being written and synced.
        let mut batch = Vec::new();
        for message in std::iter::once(first).chain(receiver.try_iter().take(BATCH - 1)) {
            match message {
                Message::Append(append) => batch.push(append),
                Message::Close(done) => closed = Some(done),
            }
        }
        if !batch.is_empty() {
            store_batch(dir, fsync, &mut deduper, &mut day, batch, unix_now());
        }
        if closed.is_some() {
            break;
        }
    }
    if let Some(day) = &day {
        if let Err(error) = day.finish() {
            tracing::error!(file = %day.path.display(), %error, "cannot cut the space written ahead");
        }
    }
    if let Some(done) = closed {
        let _ = done.send(());
    }
}

fn store_batch(
    dir: &Path,
    fsync: bool,
    deduper: &mut Deduper,
    day: &mut Option<DayFile>,
    batch: Vec<Append>,
    now: i64,
) {
    let path = day_file(dir, now);
    if let Some(previous) = day.as_ref().filter(|d| d.path != path) {
        tracing::info!(file = %path.display(), "rotated to a new day's file");
        if let Err(error) = previous.finish() {
            tracing::error!(file = %previous.path.display(), %error, "cannot cut the space written ahead");
        }
        *day = None;
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
        write_and_sync(&path, day, &bytes, fsync)
    };
    // Every reply waits for the batch's fsync: a duplicate of an event written in this
    // batch is acknowledged only once that event is on disk.
    match &written {
        Ok(()) => {
            for (append, _) in batch.iter().zip(&fresh).filter(|(_, new)| **new) {
                deduper.check(append.key, append.time);
            }
        }
        // The next batch is written where this one began, over what it may have left (unless
        // the failed write changed the file's length: then the file is read afresh, and what
        // the write left stays, on lines of its own).
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

/// Writes `bytes` after the last line of `path` and, unless told not to, syncs it to disk.
fn write_and_sync(
    path: &Path,
    day: &mut Option<DayFile>,
    bytes: &[u8],
    fsync: bool,
) -> io::Result<()> {
    let (file, created, day) = DayFile::open(path, day)?;
    day.write(&file, bytes)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"{"event_type":0,"sequence":"1"}"#;

    fn with_ahead(bytes: &[u8], ahead: usize) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        bytes.resize(bytes.len() + ahead, b'\n');
        bytes
    }

    #[test]
    fn where_a_file_ends_after_a_stop_that_was_not_clean() {
        let whole = [LINE, b"\n", LINE, b"\n"].concat();
        // Nothing left over.
        assert_eq!(lines_end(b""), (0, 0));
        assert_eq!(lines_end(&whole), (whole.len(), 0));
        // Only the space written ahead.
        assert_eq!(lines_end(&with_ahead(&whole, 5_000)), (whole.len(), 0));
        assert_eq!(lines_end(&with_ahead(b"", 5_000)), (0, 0));
        // A torn last line, with no newline after it, or in the space written ahead.
        let torn = [&whole[..], &LINE[..10]].concat();
        assert_eq!(lines_end(&torn), (whole.len(), 10));
        assert_eq!(lines_end(&with_ahead(&torn, 1)), (whole.len(), 10));
        assert_eq!(lines_end(&with_ahead(&torn, 5_000)), (whole.len(), 10));
        // A whole last line that lost only its newline is kept, with one.
        let unended = [&whole[..], LINE].concat();
        assert_eq!(lines_end(&with_ahead(&unended, 3)), (unended.len() + 1, 0));
    }

    /// Writes LINE and its newline to the day's file, as a batch does.
    fn write_line(path: &Path, day: &mut Option<DayFile>) {
        let (file, _, day) = DayFile::open(path, day).unwrap();
        day.write(&file, &[LINE, b"\n"].concat()).unwrap();
    }

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("css-store-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.jsonl");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn the_day_file_is_written_ahead_and_cut_when_finished() {
        let path = temp_file("ahead", &with_ahead(b"", 0));
        let mut day = None;
        for _ in 0..3 {
            write_line(&path, &mut day);
        }
        let three = [LINE, b"\n"].concat().repeat(3);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            bytes.len(),
            LINE.len() + 1 + AHEAD,
            "extended once, by AHEAD"
        );
        assert_eq!(&bytes[..three.len()], &three[..]);
        assert!(bytes[three.len()..].iter().all(|&b| b == b'\n'));
        // Read afresh (as after a restart), it goes on after the last line.
        let mut again = None;
        let (_, _, day) = DayFile::open(&path, &mut again).unwrap();
        assert_eq!(day.end, three.len() as u64);
        write_line(&path, &mut again);
        again.as_ref().unwrap().finish().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            [LINE, b"\n"].concat().repeat(4)
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    fn append(key: u64, line: &[u8]) -> (Append, oneshot::Receiver<Stored>) {
        let (reply, answer) = oneshot::channel();
        let append = Append {
            key: DedupeKey::from_u64(key),
            time: 1_700_000_000,
            line: line.to_vec(),
            received: Instant::now(),
            reply,
        };
        (append, answer)
    }

    #[test]
    fn a_new_day_cuts_the_space_ahead_of_the_last_and_goes_on_in_its_own_file() {
        let dir = temp_file("rotation", b"").parent().unwrap().to_owned();
        let (first_day, second_day) = (1_700_000_000, 1_700_000_000 + 86_400);
        let (mut deduper, mut day) = (Deduper::new(), None);
        let (one, answer) = append(1, LINE);
        store_batch(&dir, true, &mut deduper, &mut day, vec![one], first_day);
        assert!(matches!(answer.blocking_recv(), Ok(Stored::Accepted(_))));
        let first = day_file(&dir, first_day);
        assert_eq!(
            std::fs::metadata(&first).unwrap().len() as usize,
            LINE.len() + 1 + AHEAD
        );

        let other = br#"{"event_type":0,"sequence":"2"}"#;
        let (two, answer) = append(2, other);
        let (again, duplicate) = append(1, LINE);
        store_batch(
            &dir,
            true,
            &mut deduper,
            &mut day,
            vec![two, again],
            second_day,
        );
        assert!(matches!(answer.blocking_recv(), Ok(Stored::Accepted(_))));
        assert!(matches!(duplicate.blocking_recv(), Ok(Stored::Duplicate)));
        assert_eq!(std::fs::read(&first).unwrap(), [LINE, b"\n"].concat());
        let second = std::fs::read(day_file(&dir, second_day)).unwrap();
        assert_eq!(
            &second[..other.len() + 1],
            &[&other[..], b"\n"].concat()[..]
        );
        assert!(second[other.len() + 1..].iter().all(|&b| b == b'\n'));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_line_without_its_newline_stays_apart_from_the_next() {
        let path = temp_file("unended", b"not a whole line");
        let mut day = None;
        write_line(&path, &mut day);
        day.as_ref().unwrap().finish().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            [&b"not a whole line\n"[..], LINE, b"\n"].concat()
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_put_in_place_of_the_day_file_is_read_afresh() {
        let path = temp_file("replaced", b"");
        let mut day = None;
        write_line(&path, &mut day);
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"").unwrap();
        write_line(&path, &mut day);
        day.as_ref().unwrap().finish().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            [LINE, b"\n"].concat(),
            "no hole before it"
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
