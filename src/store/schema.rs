//! Opening the database: its settings, its schema versions, and the one-time import of a 0.2
//! data directory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::{Error, Import};
use crate::events::{Callback, parse_utc_time};
use crate::receiver::Row;

/// The schema versions, in order: version `n` is what `MIGRATIONS[..n]` made. A database is at
/// version `PRAGMA user_version`; opening one runs the migrations it has not had, in one
/// transaction. Never edit a published migration: add the next one.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/1.sql"),
    include_str!("migrations/2.sql"),
    include_str!("migrations/3.sql"),
];

/// How long a statement waits for another process's write lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The database file in a data directory.
pub(super) fn database_path(dir: &Path) -> PathBuf {
    dir.join("events.db")
}

pub(super) fn database_error(path: &Path, error: &rusqlite::Error) -> Error {
    Error::Database {
        path: path.to_owned(),
        message: error.to_string(),
    }
}

/// A connection in WAL mode, committing with `synchronous=FULL` (on disk when COMMIT returns)
/// or, for measurement only, `OFF`.
pub(super) fn connect(path: &Path, sync: bool, create: bool) -> Result<Connection, Error> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    } else if !path.exists() {
        return Err(Error::Missing {
            path: path.to_owned(),
        });
    }
    let db = |e: rusqlite::Error| database_error(path, &e);
    let conn = Connection::open_with_flags(path, flags).map_err(db)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .map_err(db)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::NoWal {
            path: path.to_owned(),
            mode,
        });
    }
    conn.execute_batch(if sync {
        "PRAGMA synchronous=FULL"
    } else {
        "PRAGMA synchronous=OFF"
    })
    .map_err(db)?;
    // 16 MiB of pages: the indexes' inner pages stay in memory as the table grows.
    conn.execute_batch("PRAGMA cache_size=-16384").map_err(db)?;
    Ok(conn)
}

/// The schema version of a database, refusing one newer than this release knows.
pub(super) fn version(conn: &Connection, path: &Path) -> Result<usize, Error> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| database_error(path, &e))?;
    match usize::try_from(found) {
        Ok(v) if v <= MIGRATIONS.len() => Ok(v),
        _ => Err(Error::NewerSchema {
            path: path.to_owned(),
            found,
            known: MIGRATIONS.len(),
        }),
    }
}

/// Brings the schema to the newest version. On a new database, imports the 0.2 day files of
/// `dir` in the same transaction, so that the import happens once, whichever of two receivers
/// starting together gets there first (the other waits for the write lock, then finds the
/// schema current).
pub(super) fn migrate(
    conn: &mut Connection,
    path: &Path,
    dir: &Path,
) -> Result<Option<Import>, Error> {
    let db = |e: rusqlite::Error| database_error(path, &e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let from = version(&tx, path)?;
    if from == MIGRATIONS.len() {
        return Ok(None);
    }
    for migration in &MIGRATIONS[from..] {
        tx.execute_batch(migration).map_err(db)?;
    }
    let import = if from == 0 {
        Some(import_day_files(&tx, dir, path)?)
    } else {
        None
    };
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)
        .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(import.filter(|i| i.files > 0))
}

/// Imports `events-YYYY-MM-DD.jsonl` files (0.2's store): every stream callback once, received
/// at the start of its file's day, in file and line order. Blank lines (0.2's space written
/// ahead) are skipped; lines that are not stream callbacks are counted as unreadable. The
/// files are left as they are.
fn import_day_files(conn: &Connection, dir: &Path, path: &Path) -> Result<Import, Error> {
    let io = |file: &Path, source: std::io::Error| Error::Io {
        path: file.to_owned(),
        source,
    };
    let mut files: Vec<(i64, PathBuf)> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
    for entry in entries {
        let file = entry.map_err(|e| io(dir, e))?.path();
        let day = file
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("events-"))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|day| parse_utc_time(&format!("{day}T00:00:00Z")).ok());
        if let Some(day) = day {
            files.push((day, file));
        }
    }
    files.sort();
    let mut import = Import::default();
    for (day, file) in &files {
        let (mut callbacks, mut duplicates, mut unreadable) = (0u64, 0u64, 0u64);
        let reader = BufReader::new(File::open(file).map_err(|e| io(file, e))?);
        for line in reader.split(b'\n') {
            let line = line.map_err(|e| io(file, e))?;
            if line.trim_ascii().is_empty() {
                continue;
            }
            let Ok(Callback::Stream(event)) = Callback::parse(&line) else {
                unreadable += 1;
                continue;
            };
            let row = Row::new(&event, &line, *day);
            match super::keep(conn, &row).map_err(|e| database_error(path, &e))? {
                crate::receiver::Stored::New => callbacks += 1,
                _ => duplicates += 1,
            }
        }
        conn.execute(
            "INSERT OR REPLACE INTO imports (file, callbacks, duplicates, unreadable) VALUES (?1, ?2, ?3, ?4)",
            params![file.display().to_string(), callbacks as i64, duplicates as i64, unreadable as i64],
        )
        .map_err(|e| database_error(path, &e))?;
        import.files += 1;
        import.callbacks += callbacks;
        import.duplicates += duplicates;
        import.unreadable += unreadable;
    }
    Ok(import)
}
