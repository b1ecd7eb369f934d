//! The writer thread: group commit, recovery after a failed commit, retention.
//!
//! # After a failed commit
//! A failed COMMIT (an `EIO` from fsync, a full disk, a lock held too long by another process)
//! is rolled back and every request of its batch gets `503`: Tencent retries, and nothing that
//! was not committed is ever acknowledged. The connection is then not trusted any further:
//! after a failed fsync the kernel may have marked the unwritten pages clean (PostgreSQL's
//! "fsyncgate", 2018), so the process's view of the file can be ahead of the disk. A retry of
//! the same fsync proving nothing, the writer closes the connection and opens the database
//! again, which re-reads the WAL from what the file holds, then runs a `TRUNCATE` checkpoint:
//! it writes every page the WAL holds into the database file and syncs it, so that whatever
//! the database now says it holds was written and synced after the failure. Only then does
//! the writer accept again; until then every append fails at once (`503`) and `/healthz`
//! says `503`. This keeps the receiver serving through a passing fault (a full disk freed
//! again) without the restart loop that exiting would cause, and without trusting a page the
//! failed fsync may not have written.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use super::{BATCH, Done, Message, Options, Shared, keep, schema};
use crate::receiver::{Row, StoreError, Stored};

/// What the writer needs of a database: a connection it may drop after a failure and open
/// again.
pub(super) trait Backend: Send + 'static {
    /// Whether it holds a connection it trusts.
    fn connected(&self) -> bool;
    /// Commits the rows in one transaction: each row's result. On an error nothing was
    /// committed that will be acknowledged, and the caller drops the connection.
    fn commit(&mut self, rows: &[&Row]) -> Result<Vec<Stored>, String>;
    /// Drops the connection.
    fn disconnect(&mut self);
    /// Connects again and proves that a commit works.
    fn recover(&mut self) -> Result<(), String>;
    /// Deletes up to `step` callbacks received before `cutoff`: how many it deleted.
    fn retain(&mut self, cutoff: i64, step: i64) -> Option<u64>;
    /// Stops what runs beside it and closes the connection.
    fn close(&mut self);
}

/// SQLite, with its checkpointer thread.
pub(super) struct Sqlite {
    path: PathBuf,
    sync: bool,
    conn: Option<Connection>,
    /// Stopped when the writer stops, before it closes the database.
    checkpoints: Option<Checkpoints>,
}

impl Sqlite {
    pub(super) fn new(
        path: PathBuf,
        sync: bool,
        conn: Connection,
        checkpoints: Checkpoints,
    ) -> Self {
        Sqlite {
            path,
            sync,
            conn: Some(conn),
            checkpoints: Some(checkpoints),
        }
    }
}

impl Backend for Sqlite {
    fn connected(&self) -> bool {
        self.conn.is_some()
    }

    fn commit(&mut self, rows: &[&Row]) -> Result<Vec<Stored>, String> {
        let conn = self.conn.as_mut().ok_or("not connected")?;
        commit_rows(conn, rows.iter().copied()).map_err(|e| e.to_string())
    }

    fn disconnect(&mut self) {
        drop(self.conn.take());
    }

    /// Reopens the database and makes what it holds durable again (see the module's docs).
    fn recover(&mut self) -> Result<(), String> {
        let conn = schema::connect(&self.path, self.sync, false).map_err(|e| e.to_string())?;
        conn.execute_batch("PRAGMA wal_autocheckpoint=0")
            .map_err(|e| e.to_string())?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| format!("the checkpoint after a failure failed: {e}"))?;
        conn.execute(
            "INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?1)",
            [crate::receiver::unix_now()],
        )
        .map_err(|e| format!("a probe commit failed: {e}"))?;
        self.conn = Some(conn);
        Ok(())
    }

    fn retain(&mut self, cutoff: i64, step: i64) -> Option<u64> {
        let conn = self.conn.as_ref()?;
        conn.execute(
            "DELETE FROM callbacks WHERE id IN \
             (SELECT id FROM callbacks WHERE received < ?1 ORDER BY received LIMIT ?2)",
            [cutoff, step],
        )
        .ok()
        .map(|n| n as u64)
    }

    /// Stops the checkpointer, then closes the database (the last connection to close
    /// checkpoints the whole WAL and removes it).
    fn close(&mut self) {
        if let Some(checkpoints) = self.checkpoints.take() {
            let Checkpoints { stop, thread } = checkpoints;
            let _ = stop.send(());
            let _ = thread.join();
        }
        drop(self.conn.take());
    }
}

/// PostgreSQL: one connection, reconnected after a failure.
#[cfg(feature = "postgres")]
pub(super) struct Postgres {
    target: super::postgres::Target,
    client: Option<super::postgres::Client>,
    sync: bool,
}

#[cfg(feature = "postgres")]
impl Postgres {
    pub(super) fn new(
        target: super::postgres::Target,
        client: super::postgres::Client,
        sync: bool,
    ) -> Self {
        Postgres {
            target,
            client: Some(client),
            sync,
        }
    }
}

#[cfg(feature = "postgres")]
impl Backend for Postgres {
    fn connected(&self) -> bool {
        self.client.as_ref().is_some()
    }

    fn commit(&mut self, rows: &[&Row]) -> Result<Vec<Stored>, String> {
        let client = self.client.as_mut().ok_or("not connected")?;
        super::postgres::commit_rows(client, rows).map_err(|e| super::postgres::describe(&e))
    }

    fn disconnect(&mut self) {
        drop(self.client.take());
    }

    fn recover(&mut self) -> Result<(), String> {
        let mut client = self.target.connect().map_err(|e| e.to_string())?;
        if !self.sync {
            client
                .batch("SET synchronous_commit = off")
                .map_err(|e| e.to_string())?;
        }
        super::postgres::probe(&mut client, crate::receiver::unix_now())
            .map_err(|e| format!("a probe commit failed: {}", super::postgres::describe(&e)))?;
        self.client = Some(client);
        Ok(())
    }

    fn retain(&mut self, cutoff: i64, step: i64) -> Option<u64> {
        super::postgres::retain(self.client.as_mut()?, cutoff, step).ok()
    }

    fn close(&mut self) {
        drop(self.client.take());
    }
}

/// How often retention looks for old rows.
const RETENTION_EVERY: Duration = Duration::from_secs(60);
/// Rows one retention step deletes (one short transaction between batches).
const RETENTION_STEP: i64 = 1_000;

pub(super) struct Writer<B> {
    backend: B,
    options: Options,
    shared: Arc<Shared>,
    /// Why the connection was dropped, for the appends that fail until it is back.
    failure: String,
}

/// The checkpointer thread: copies the WAL into the database file in the background (a
/// `PASSIVE` checkpoint never blocks the writer), a few times a second.
pub(super) struct Checkpoints {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// How often the checkpointer runs.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

pub(super) fn checkpointer(
    path: &std::path::Path,
    sync: bool,
) -> Result<Checkpoints, super::Error> {
    let conn = schema::connect(path, sync, false)?;
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("checkpoint".to_owned())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                // A failure (a full disk, an I/O error) leaves the WAL longer; the writer's
                // commits, which are what acknowledgements wait for, report their own.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
        .map_err(|source| super::Error::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(Checkpoints { stop, thread })
}

impl<B: Backend> Writer<B> {
    pub(super) fn new(backend: B, options: Options, shared: Arc<Shared>) -> Writer<B> {
        Writer {
            backend,
            options,
            shared,
            failure: String::new(),
        }
    }

    fn close(&mut self) {
        self.backend.close();
    }

    /// Takes batches from `receiver` until a [`Message::Close`] (one for each writer that
    /// shares it). Several writers share one receiver in turn: one collects a batch while
    /// holding it, then lets it go to commit, so that another collects the next batch
    /// meanwhile.
    pub(super) fn run(mut self, receiver: &std::sync::Mutex<mpsc::Receiver<Message>>) {
        let mut appends: Vec<(Row, Done)> = Vec::with_capacity(BATCH);
        loop {
            let wait = self.retention_wait();
            let Ok(receiver) = receiver.lock() else {
                return self.close();
            };
            let first = match receiver.recv_timeout(wait) {
                Ok(message) => message,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    drop(receiver);
                    self.retain();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    drop(receiver);
                    return self.close();
                }
            };
            let mut closing = None;
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Append(row, done) => appends.push((row, done)),
                    Message::Probe(done) => {
                        let healthy = self.backend.connected() || self.recover();
                        done(healthy);
                    }
                    Message::Close(done) => {
                        closing = Some(done);
                        break;
                    }
                }
                if appends.len() < BATCH {
                    next = receiver.try_recv().ok();
                }
            }
            drop(receiver);
            if !appends.is_empty() {
                self.commit(&mut appends);
            }
            if let Some(done) = closing {
                self.close();
                let _ = done.send(());
                return;
            }
            if self.retention_wait() == Duration::ZERO {
                self.retain();
            }
        }
    }

    /// Commits the batch in one transaction, then answers each append.
    fn commit(&mut self, appends: &mut Vec<(Row, Done)>) {
        if !self.backend.connected() && !self.recover() {
            let failure = self.failure.clone();
            self.answer(appends, || Err(StoreError::Failed(failure.clone())));
            return;
        }
        let rows: Vec<&Row> = appends.iter().map(|(row, _)| row).collect();
        let committed = self.backend.commit(&rows);
        drop(rows);
        match committed {
            Ok(results) => {
                // A commit that worked says the store is healthy, whichever writer made it.
                self.shared.healthy.store(true, Ordering::Relaxed);
                let mut results = results.into_iter();
                self.answer(appends, || Ok(results.next().expect("one result a row")));
            }
            Err(error) => {
                self.fail(format!("the commit failed: {error}"));
                let failure = self.failure.clone();
                self.answer(appends, || Err(StoreError::Failed(failure.clone())));
                // Try to come back at once, so that the retries find the store working.
                self.recover();
            }
        }
    }

    fn answer(
        &self,
        appends: &mut Vec<(Row, Done)>,
        mut result: impl FnMut() -> Result<Stored, StoreError>,
    ) {
        let answered = appends.len() as u64;
        for (_, done) in appends.drain(..) {
            done(result());
        }
        self.shared.waiting.fetch_sub(answered, Ordering::Relaxed);
    }

    fn fail(&mut self, why: String) {
        self.backend.disconnect();
        self.shared.healthy.store(false, Ordering::Relaxed);
        self.failure = why;
    }

    /// Connects again and proves a commit works (see the module's docs for SQLite).
    fn recover(&mut self) -> bool {
        match self.backend.recover() {
            Ok(()) => {
                self.shared.healthy.store(true, Ordering::Relaxed);
                true
            }
            Err(why) => {
                self.fail(why);
                false
            }
        }
    }

    /// How long until retention is due (the schedule is the store's, shared by its
    /// writers: whichever waits for the queue when it is due runs it).
    fn retention_wait(&self) -> Duration {
        let next = *self
            .shared
            .retention
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match (self.options.retain, next) {
            (None, _) => Duration::from_secs(3_600),
            (Some(_), None) => Duration::ZERO,
            (Some(_), Some(at)) => at.saturating_duration_since(Instant::now()),
        }
    }

    /// Deletes one step of rows older than the retention, when it is due; looks again soon if
    /// there may be more, else in a minute.
    fn retain(&mut self) {
        let Some(retain) = self.options.retain else {
            return;
        };
        {
            // Claimed: another writer finds it not due.
            let mut next = self
                .shared
                .retention
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if next.is_some_and(|at| at > Instant::now()) {
                return;
            }
            *next = Some(Instant::now() + RETENTION_EVERY);
        }
        let cutoff = crate::receiver::unix_now().saturating_sub(retain);
        if self.backend.retain(cutoff, RETENTION_STEP) == Some(RETENTION_STEP as u64) {
            *self
                .shared
                .retention
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        }
    }
}

/// Inserts the rows in one immediate transaction and commits it: each row's result, or the
/// error that rolled them all back.
fn commit_rows<'r>(
    conn: &mut Connection,
    rows: impl Iterator<Item = &'r Row>,
) -> rusqlite::Result<Vec<Stored>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::new();
    for row in rows {
        results.push(keep(&tx, row)?);
    }
    // Dropping an uncommitted transaction rolls it back, also when COMMIT itself fails.
    tx.commit()?;
    Ok(results)
}
