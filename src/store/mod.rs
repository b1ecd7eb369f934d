//! The receiver's store: every accepted stream callback, once, in SQLite or PostgreSQL.
//!
//! Needs the `store` feature (rusqlite, with SQLite compiled in: no system library needed);
//! PostgreSQL needs the `postgres` feature too.
//!
//! One database, `DIR/events.db`, in WAL mode. [`Store`] hands [`Row`]s to one writer thread,
//! which commits them in batches (group commit: the requests that arrive during one commit
//! share the next) with `synchronous=FULL`, so that a commit is on disk when it returns, and
//! only then answers each of them. A redelivery (same `sequence`, `event_type` and
//! `event_time`) inserts nothing: the `UNIQUE` key answers it as [`Stored::Duplicate`], across
//! restarts and across processes, with nothing read back into memory at start.
//!
//! Several processes may write the same database (a rolling deploy on one volume): SQLite's
//! locks serialise their commits, and the unique key keeps each event once. WAL needs shared
//! memory between them, so the directory must be on a local filesystem, not NFS.
//!
//! [`Reader`] reads the callbacks back, in order of receipt, while a receiver writes.
//!
//! # On PostgreSQL
//! With the `postgres` feature, [`Store::open_at`] and [`Reader::open_at`] take a
//! [`Location::Postgres`] URL too: the same tables (created and migrated by the store, under an
//! advisory lock, versioned in `css_schema`), the same unique key, the same merge of each
//! push's start and end, the same answers; receivers on several machines share it. Each store
//! commits over two connections in turn, each batch in three statements whatever its size,
//! its rows in key order so that concurrent transactions (two replicas, two connections) take
//! their row locks in one order. A failed commit or a lost connection answers the batch
//! [`StoreError::Failed`] (503), and the writer connects again;
//! a commit whose answer was lost on the way may have happened: the retry is then a duplicate,
//! never a loss. Reads of [`Reader::callbacks`] see one snapshot (PostgreSQL takes ids at
//! insert, so two replicas' commits may land out of id order).
//!
//! # Example
//! ```
//! use tencent_css_errcode::events::Callback;
//! use tencent_css_errcode::receiver::{Row, Stored};
//! use tencent_css_errcode::store::{Filter, Options, Reader, Store};
//!
//! let dir = std::env::temp_dir().join(format!("css-store-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let store = Store::open(&dir, Options::default())?;
//! let body = br#"{"event_type":1,"t":9,"stream_id":"s","sequence":"1","event_time":1}"#;
//! let Ok(Callback::Stream(event)) = Callback::parse(body) else { panic!() };
//! assert_eq!(store.append(Row::new(&event, body, 1_700_000_000)), Ok(Stored::New));
//! assert_eq!(store.append(Row::new(&event, body, 1_700_000_060)), Ok(Stored::Duplicate));
//! store.close();
//!
//! let kept: Vec<_> = Reader::open(&dir)?.callbacks(Filter::default()).collect::<Result<_, _>>()?;
//! assert_eq!(kept.len(), 1);
//! assert_eq!(kept[0].body.as_bytes(), body);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), tencent_css_errcode::store::Error>(())
//! ```

#[cfg(feature = "postgres")]
mod postgres;
mod reader;
mod schema;
mod sql;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use rusqlite::params;

use crate::events::EventKind;
use crate::receiver::{Row, StoreError, Stored};
use crate::sessions::{Online, Reconciled, Sessions};
use sql::{Conn, Param};

pub use reader::{
    Callbacks, Errcodes, Filter, InterruptionQuery, Interruptions, JsonLines, Kept, Reader,
    StreamFilter,
};

/// Rows one commit takes at most.
const BATCH: usize = 4_096;

/// The advisory lock that serialises reconciliations on a shared PostgreSQL.
const RECONCILE_LOCK: i64 = 0x6373_735f_7265_636f; // "css_reco"

/// Writer connections of a store on PostgreSQL: while one commits (a round trip and the
/// server's WAL flush), the other collects and sends the next batch.
#[cfg(feature = "postgres")]
const POSTGRES_WRITERS: usize = 2;

/// The insert every row goes through; a redelivery changes nothing.
const INSERT: &str = "INSERT INTO callbacks \
    (received, event_type, domain, app, stream, sequence, event_time, errcode, body) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
    ON CONFLICT (sequence, event_type, event_time) DO NOTHING";

/// What a new push start tells of its push. Of two reports the earlier is kept, as
/// `sessions::Sessions` keeps them, so that the order of arrival does not matter.
const PUSH_START: &str = "INSERT INTO pushes \
    (domain, app, stream, sequence, start_time, start_client_ip, start_node) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
    ON CONFLICT (domain, app, stream, sequence) DO UPDATE SET \
    start_time = excluded.start_time, start_client_ip = excluded.start_client_ip, \
    start_node = excluded.start_node \
    WHERE start_time IS NULL OR excluded.start_time < start_time";

/// What a new stream end tells of its push.
const PUSH_END: &str = "INSERT INTO pushes \
    (domain, app, stream, sequence, end_time, push_duration_ms, errcode, errmsg, end_client_ip, end_node) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
    ON CONFLICT (domain, app, stream, sequence) DO UPDATE SET \
    end_time = excluded.end_time, push_duration_ms = excluded.push_duration_ms, \
    errcode = excluded.errcode, errmsg = excluded.errmsg, \
    end_client_ip = excluded.end_client_ip, end_node = excluded.end_node \
    WHERE end_time IS NULL OR excluded.end_time < end_time";

/// Keeps one row in the open transaction: the callback, and, when it is new, what it tells of
/// its push.
fn keep(conn: &rusqlite::Connection, row: &Row) -> rusqlite::Result<Stored> {
    let changed = conn.prepare_cached(INSERT)?.execute(params![
        row.received,
        match row.kind {
            EventKind::StreamEnd => 0,
            EventKind::PushStart => 1,
        },
        row.domain,
        row.app,
        row.stream,
        row.sequence,
        row.event_time,
        row.errcode,
        row.body,
    ])?;
    if changed == 0 {
        return Ok(Stored::Duplicate);
    }
    match row.kind {
        EventKind::PushStart => conn.prepare_cached(PUSH_START)?.execute(params![
            row.domain,
            row.app,
            row.stream,
            row.sequence,
            row.event_time,
            row.client_ip,
            row.node,
        ])?,
        EventKind::StreamEnd => conn.prepare_cached(PUSH_END)?.execute(params![
            row.domain,
            row.app,
            row.stream,
            row.sequence,
            row.event_time,
            row.push_duration_ms
                .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX)),
            row.errcode,
            row.errmsg,
            row.client_ip,
            row.node,
        ])?,
    };
    Ok(Stored::New)
}

/// Why a store or reader could not open, or a read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The directory or a file in it could not be read or created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// SQLite refused.
    #[error("{}: {message}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },
    /// The database was written by a newer release of this crate.
    #[error("{}: schema version {found} is newer than this release knows ({known}); use a newer css-errcode", path.display())]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its `PRAGMA user_version`.
        found: i64,
        /// The newest version this release knows.
        known: usize,
    },
    /// The database could not switch to WAL journaling.
    #[error("{}: the database cannot use WAL journaling (journal_mode is {mode}): the data directory must be on a local filesystem", path.display())]
    NoWal {
        /// The database file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// There is no database to read.
    #[error("{}: no store here (a receiver creates it when it starts)", path.display())]
    Missing {
        /// The database file that is not there.
        path: PathBuf,
    },
    /// PostgreSQL could not be reached, or refused (the `postgres` feature).
    #[error("{database}: {message}")]
    Postgres {
        /// The database's URL, without its password.
        database: String,
        /// What went wrong, with the SQLSTATE when the server said it.
        message: String,
    },
    /// A PostgreSQL URL was given to a build without the `postgres` feature.
    #[error("this build has no PostgreSQL support: build css-errcode with the `postgres` feature")]
    NoPostgres,
}

/// Where a store is: a data directory (SQLite, `DIR/events.db`) or a PostgreSQL database.
///
/// Its `Display` never shows a password.
///
/// # Example
/// ```
/// use tencent_css_errcode::store::Location;
/// let dir = Location::parse("/var/lib/css-callbacks");
/// assert_eq!(dir, Location::Directory("/var/lib/css-callbacks".into()));
/// let db = Location::parse("postgres://css:secret@db.internal/callbacks");
/// assert_eq!(db.to_string(), "postgres://css@db.internal/callbacks");
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A data directory: SQLite, in `DIR/events.db`.
    Directory(PathBuf),
    /// A PostgreSQL URL (`postgres://user:password@host:port/db?sslmode=require`), or a
    /// libpq `key=value` string. Needs the `postgres` feature to open.
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL is a database; anything else is a directory.
    pub fn parse(text: &str) -> Location {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(text.to_owned())
        } else {
            Location::Directory(PathBuf::from(text))
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Directory(dir) => write!(f, "{}", schema::database_path(dir).display()),
            Location::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Directory(dir) => f.debug_tuple("Directory").field(dir).finish(),
            Location::Postgres(url) => f.debug_tuple("Postgres").field(&redacted(url)).finish(),
        }
    }
}

/// A database URL without the password of its user part (`user:password@`), nor a
/// `password=` parameter.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // A libpq key=value string: leave out every password=… pair.
        return url
            .split_whitespace()
            .filter(|pair| !pair.starts_with("password="))
            .collect::<Vec<_>>()
            .join(" ");
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => format!("{}@{host}", user.split(':').next().unwrap_or("")),
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !pair.starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A connection to a store a receiver has created.
fn connect_existing(location: &Location) -> Result<Conn, Error> {
    match location {
        Location::Directory(dir) => {
            let path = schema::database_path(dir);
            let conn = schema::connect(&path, true, false)?;
            if schema::version(&conn, &path)? == 0 {
                return Err(Error::Missing { path });
            }
            Ok(Conn::Sqlite(conn, path))
        }
        #[cfg(feature = "postgres")]
        Location::Postgres(url) => Ok(Conn::Postgres(Box::new(std::cell::RefCell::new(
            postgres::Target::parse(url)?.connect_existing()?,
        )))),
        #[cfg(not(feature = "postgres"))]
        Location::Postgres(_) => Err(Error::NoPostgres),
    }
}

/// How a [`Store`] commits.
///
/// # Example
/// ```
/// use tencent_css_errcode::store::Options;
/// let options = Options::default().queue(10_000).retain(Some(90 * 86_400));
/// assert_eq!(options.queue_limit(), 10_000);
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    sync: bool,
    queue: usize,
    retain: Option<i64>,
}

impl Default for Options {
    /// Every commit synced, up to 16,384 rows waiting, everything kept.
    fn default() -> Options {
        Options {
            sync: true,
            queue: 16_384,
            retain: None,
        }
    }
}

impl Options {
    /// Commits without waiting for the disk (SQLite's `synchronous=OFF`; on PostgreSQL,
    /// `synchronous_commit=off` for the writer's connections): a power cut loses what was
    /// acknowledged. For measuring what syncing costs, never for keeping callbacks.
    pub fn without_sync(mut self) -> Options {
        self.sync = false;
        self
    }

    /// Rows that may wait for the writer; past that, [`StoreError::Busy`].
    pub fn queue(mut self, rows: usize) -> Options {
        self.queue = rows.max(1);
        self
    }

    /// The queue's limit.
    pub fn queue_limit(&self) -> usize {
        self.queue
    }

    /// Deletes callbacks received longer ago than this many seconds (`None`: keep all), a
    /// thousand rows at a time between commits.
    pub fn retain(mut self, seconds: Option<i64>) -> Options {
        self.retain = seconds.map(|s| s.max(0));
        self
    }
}

/// What the first start of a store imported from a 0.2 data directory.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Import {
    /// `events-YYYY-MM-DD.jsonl` files read.
    pub files: u64,
    /// Stream callbacks imported.
    pub callbacks: u64,
    /// Lines that were redeliveries of one imported already.
    pub duplicates: u64,
    /// Lines that were not stream callbacks (left out).
    pub unreadable: u64,
}

/// What is waiting for the writer, answered by it.
type Done = Box<dyn FnOnce(Result<Stored, StoreError>) + Send>;

// Nearly every message is an append: boxing its row would cost an allocation a callback.
#[allow(clippy::large_enum_variant)]
enum Message {
    Append(Row, Done),
    /// Answers whether the store can commit, trying to recover first if it could not.
    Probe(Box<dyn FnOnce(bool) + Send>),
    /// Stops once what was sent before is answered.
    Close(mpsc::Sender<()>),
}

/// What the writer and the handles share.
#[derive(Default)]
struct Shared {
    healthy: AtomicBool,
    waiting: AtomicU64,
    /// When retention is next due; `None`: now (at the start, and while rows are left).
    retention: Mutex<Option<std::time::Instant>>,
}

/// A durable store of stream callbacks; cheap to clone, each clone a handle on one writer.
///
/// # Example
/// ```
/// use tencent_css_errcode::store::{Options, Store};
/// let dir = std::env::temp_dir().join(format!("css-store-open-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let store = Store::open(&dir, Options::default())?;
/// assert!(dir.join("events.db").exists());
/// assert!(store.healthy());
/// store.close();
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), tencent_css_errcode::store::Error>(())
/// ```
#[derive(Clone)]
pub struct Store {
    sender: mpsc::SyncSender<Message>,
    shared: Arc<Shared>,
    location: Location,
    sync: bool,
    import: Option<Import>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .field("healthy", &self.healthy())
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens `DIR/events.db` (creating the directory and the database if need be), brings its
    /// schema up to date, and starts the writer. Takes the same time whatever the database
    /// holds (nothing is read back), but for a migration, once: schema 2 fills in the pushes
    /// of the callbacks a schema-1 store holds.
    ///
    /// On a new database, the directory's 0.2 files (`events-YYYY-MM-DD.jsonl`) are imported
    /// once ([`Store::imported`]); they are left in place.
    pub fn open(dir: &Path, options: Options) -> Result<Store, Error> {
        Store::open_at(&Location::Directory(dir.to_owned()), options)
    }

    /// Opens the store at `location`: a directory as [`Store::open`] does, or a PostgreSQL
    /// database (the `postgres` feature), whose schema it creates or brings up to date under
    /// an advisory lock, so that replicas starting together migrate once. On PostgreSQL every
    /// commit is durable when it returns as the server is configured to make it
    /// (`synchronous_commit`, on by default); [`Options::without_sync`] sets it `off` for the
    /// writer's connection.
    pub fn open_at(location: &Location, options: Options) -> Result<Store, Error> {
        match location {
            Location::Directory(dir) => Store::open_sqlite(dir, options),
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => Store::open_postgres(location, url, options),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(_) => Err(Error::NoPostgres),
        }
    }

    #[cfg(feature = "postgres")]
    fn open_postgres(location: &Location, url: &str, options: Options) -> Result<Store, Error> {
        let target = postgres::Target::parse(url)?;
        let mut client = target.connect_and_migrate()?;
        if !options.sync {
            client.batch("SET synchronous_commit = off")?;
        }
        let mut backends = vec![writer::Postgres::new(target.clone(), client, options.sync)];
        for _ in 1..POSTGRES_WRITERS {
            let mut client = target.connect()?;
            if !options.sync {
                client.batch("SET synchronous_commit = off")?;
            }
            backends.push(writer::Postgres::new(target.clone(), client, options.sync));
        }
        Store::start(location.clone(), options, backends, None)
    }

    /// Starts a writer thread on each backend, sharing one queue.
    fn start<B: writer::Backend>(
        location: Location,
        options: Options,
        backends: Vec<B>,
        import: Option<Import>,
    ) -> Result<Store, Error> {
        let shared = Arc::new(Shared::default());
        shared.healthy.store(true, Ordering::Relaxed);
        let (sender, receiver) = mpsc::sync_channel(options.queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let sync = options.sync;
        let mut threads = Vec::new();
        for backend in backends {
            let writer = writer::Writer::new(backend, options.clone(), Arc::clone(&shared));
            let receiver = Arc::clone(&receiver);
            let thread = std::thread::Builder::new()
                .name("store".to_owned())
                .spawn(move || writer.run(&receiver))
                .map_err(|source| Error::Io {
                    path: PathBuf::from(location.to_string()),
                    source,
                })?;
            threads.push(thread);
        }
        Ok(Store {
            sender,
            shared,
            location,
            sync,
            import,
            threads: Arc::new(Mutex::new(threads)),
        })
    }

    fn open_sqlite(dir: &Path, options: Options) -> Result<Store, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let path = schema::database_path(dir);
        let sync = options.sync;
        let mut conn = schema::connect(&path, sync, true)?;
        let import = schema::migrate(&mut conn, &path, dir)?;
        // Checkpoints run on a thread of their own, so that no commit waits for one.
        conn.execute_batch("PRAGMA wal_autocheckpoint=0")
            .map_err(|e| schema::database_error(&path, &e))?;
        let checkpoints = writer::checkpointer(&path, options.sync)?;
        // One writer: SQLite takes one write transaction at a time.
        let backend = writer::Sqlite::new(path, sync, conn, checkpoints);
        Store::start(
            Location::Directory(dir.to_owned()),
            options,
            vec![backend],
            import,
        )
    }

    /// A connection of its own, for a short write beside the writer's.
    fn connection(&self) -> Result<Conn, Error> {
        match &self.location {
            Location::Directory(dir) => Conn::sqlite(&schema::database_path(dir), self.sync),
            other => connect_existing(other),
        }
    }

    /// Takes one poll of DescribeLiveStreamOnlineList, as [`Sessions::reconcile`] takes it:
    /// the open pushes of the poll's scope are read, reconciled by the library's reducer, and
    /// what changed (each push's missed count, the pushes found lost, the streams listed) is
    /// written back in one transaction, on a connection of its own (the writer's commits wait
    /// at most for this one). Do not call it for a failed query: a failure changes nothing.
    pub fn reconcile(&self, poll: &Online) -> Result<Reconciled, Error> {
        let conn = self.connection()?;
        conn.begin_write()?;
        if conn.is_postgres() {
            // One reconciliation at a time on a shared database: two replicas' polls of one
            // scope would otherwise both rewrite its `online` rows, and one would fail.
            conn.batch(&format!("SELECT pg_advisory_xact_lock({RECONCILE_LOCK})"))?;
        }
        let scope = [
            Param::from(&poll.app),
            Param::from(&poll.domain),
            Param::from(&poll.stream),
        ];
        let mut sessions = Sessions::new();
        reader::read_pushes(
            &conn,
            &mut sessions,
            if conn.is_postgres() {
                // Row locks: a replica's end of one of these pushes waits for this poll.
                concat!(
                    "SELECT ",
                    reader::push_columns!(""),
                    " FROM pushes WHERE end_time IS NULL AND lost_at IS NULL AND app = ?1 \
                     AND (?2 IS NULL OR domain = ?2) AND (?3 IS NULL OR stream = ?3) \
                     ORDER BY domain, app, stream, sequence FOR UPDATE"
                )
            } else {
                concat!(
                    "SELECT ",
                    reader::push_columns!(""),
                    " FROM pushes WHERE end_time IS NULL AND lost_at IS NULL AND app = ?1 \
                     AND (?2 IS NULL OR domain = ?2) AND (?3 IS NULL OR stream = ?3)"
                )
            },
            &scope,
        )?;
        let changed = sessions.reconcile(poll);
        for (stream, sequence, missed, lost) in sessions.polled() {
            conn.execute(
                "UPDATE pushes SET missed = ?5, lost_at = ?6 \
                 WHERE domain = ?1 AND app = ?2 AND stream = ?3 AND sequence = ?4",
                &[
                    (&stream.domain).into(),
                    (&stream.app).into(),
                    (&stream.stream).into(),
                    sequence.into(),
                    i64::from(missed).into(),
                    lost.into(),
                ],
            )?;
        }
        conn.execute(
            "DELETE FROM online WHERE app = ?1 AND (?2 IS NULL OR domain = ?2) \
             AND (?3 IS NULL OR stream = ?3)",
            &scope,
        )?;
        for (stream, at, since) in sessions.listed() {
            conn.execute(
                "INSERT INTO online (domain, app, stream, polled_at, since) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &[
                    (&stream.domain).into(),
                    (&stream.app).into(),
                    (&stream.stream).into(),
                    at.into(),
                    since.into(),
                ],
            )?;
        }
        conn.batch("COMMIT")?;
        Ok(changed)
    }

    /// The (domain, AppName) pairs of the open pushes: what a reconciliation should poll,
    /// besides the AppNames it is told of.
    pub fn open_scopes(&self) -> Result<Vec<(String, String)>, Error> {
        let conn = self.connection()?;
        let mut scopes = Vec::new();
        conn.each(
            "SELECT DISTINCT domain, app FROM pushes \
             WHERE end_time IS NULL AND lost_at IS NULL ORDER BY 1, 2",
            &[],
            |row| {
                scopes.push((row.required_text(0)?, row.required_text(1)?));
                Ok(())
            },
        )?;
        Ok(scopes)
    }

    /// What this open imported from 0.2 files, if it imported any.
    pub fn imported(&self) -> Option<Import> {
        self.import
    }

    /// Where the store is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Hands `row` to the writer; `done` gets the result once the row's batch is committed
    /// (or failed). Never blocks: when the queue is full, `done` gets [`StoreError::Busy`] at
    /// once.
    pub fn submit(&self, row: Row, done: impl FnOnce(Result<Stored, StoreError>) + Send + 'static) {
        self.shared.waiting.fetch_add(1, Ordering::Relaxed);
        match self.sender.try_send(Message::Append(row, Box::new(done))) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(Message::Append(_, done))) => {
                self.shared.waiting.fetch_sub(1, Ordering::Relaxed);
                done(Err(StoreError::Busy));
            }
            Err(mpsc::TrySendError::Disconnected(Message::Append(_, done))) => {
                self.shared.waiting.fetch_sub(1, Ordering::Relaxed);
                done(Err(StoreError::Closed));
            }
            Err(_) => unreachable!("an append comes back as an append"),
        }
    }

    /// Keeps `row` and waits until it is durable (or known to be kept already).
    pub fn append(&self, row: Row) -> Result<Stored, StoreError> {
        let (sender, receiver) = mpsc::channel();
        self.submit(row, move |result| {
            let _ = sender.send(result);
        });
        receiver.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Whether the last commit succeeded. After a failure the writer reopens the database;
    /// until that works, this is `false` and every append fails.
    pub fn healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::Relaxed)
    }

    /// Asks the writer whether it can commit now: when it is unhealthy it first tries to
    /// recover (reopen, checkpoint, commit a probe). `done` gets the answer.
    pub fn probe(&self, done: impl FnOnce(bool) + Send + 'static) {
        if self.healthy() {
            return done(true);
        }
        if let Err(
            mpsc::TrySendError::Full(Message::Probe(done))
            | mpsc::TrySendError::Disconnected(Message::Probe(done)),
        ) = self.sender.try_send(Message::Probe(Box::new(done)))
        {
            done(false);
        }
    }

    /// Rows handed over and not yet answered.
    pub fn waiting(&self) -> u64 {
        self.shared.waiting.load(Ordering::Relaxed)
    }

    /// Stops the writer once what was handed over before is answered, and waits for it to
    /// close the database. Later appends get [`StoreError::Closed`].
    pub fn close(&self) {
        let threads: Vec<JoinHandle<()>> = self
            .threads
            .lock()
            .map(|mut threads| threads.drain(..).collect())
            .unwrap_or_default();
        // One Close for each writer; each stops at the first it takes, after what came before.
        let waits: Vec<_> = threads
            .iter()
            .filter_map(|_| {
                let (done, wait) = mpsc::channel();
                self.sender.send(Message::Close(done)).ok().map(|()| wait)
            })
            .collect();
        for wait in waits {
            let _ = wait.recv();
        }
        for thread in threads {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Location, redacted};

    #[test]
    fn a_password_is_never_displayed() {
        for (url, shown) in [
            (
                "postgres://css:s3cret@db.internal:5432/callbacks?sslmode=require",
                "postgres://css@db.internal:5432/callbacks?sslmode=require",
            ),
            (
                "postgresql://css:s3cret@db.internal/callbacks?password=s3cret&sslmode=require",
                "postgresql://css@db.internal/callbacks?sslmode=require",
            ),
            (
                "postgres://db.internal/callbacks?password=s3cret",
                "postgres://db.internal/callbacks",
            ),
            (
                "postgres://css:p%40ss@db.internal/callbacks",
                "postgres://css@db.internal/callbacks",
            ),
            (
                "host=db.internal user=css password=s3cret dbname=callbacks",
                "host=db.internal user=css dbname=callbacks",
            ),
        ] {
            assert_eq!(redacted(url), shown);
            let location = Location::Postgres(url.to_owned());
            assert!(!location.to_string().contains("s3cret"));
            assert!(!format!("{location:?}").contains("s3cret"));
            assert!(!format!("{location:?}").contains("p%40ss"));
        }
    }
}
