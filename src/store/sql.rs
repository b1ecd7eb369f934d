//! One connection to either database, for the reads and the short writes that are the same
//! on both: the queries are written once, in SQLite's spelling with `?N` parameters, and
//! turned into PostgreSQL's (`$N`, each parameter typed by its [`Param`]) when they go there.

use std::path::{Path, PathBuf};

use super::{Error, schema};

/// A parameter of a query: an integer or a text, either of which may be NULL.
#[derive(Clone, Copy, Debug)]
pub(super) enum Param<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Param::Int(Some(value))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(value: Option<i64>) -> Self {
        Param::Int(value)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Self {
        Param::Text(Some(value))
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(value: &'a String) -> Self {
        Param::Text(Some(value))
    }
}

impl<'a> From<Option<&'a String>> for Param<'a> {
    fn from(value: Option<&'a String>) -> Self {
        Param::Text(value.map(String::as_str))
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Param::Text(value.as_deref())
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Int(value) => value.to_sql(),
            Param::Text(value) => value.to_sql(),
        }
    }
}

/// A row of a result, read by column index (from 0).
pub(super) trait Got {
    fn int(&self, column: usize) -> Result<Option<i64>, Error>;
    fn text(&self, column: usize) -> Result<Option<String>, Error>;

    /// A column that is never NULL.
    fn required_int(&self, column: usize) -> Result<i64, Error> {
        self.int(column)?.ok_or_else(|| self.null(column))
    }

    /// A column that is never NULL.
    fn required_text(&self, column: usize) -> Result<String, Error> {
        self.text(column)?.ok_or_else(|| self.null(column))
    }

    fn null(&self, column: usize) -> Error;
}

/// Where a connection goes, as errors name it.
#[derive(Clone, Debug)]
pub(super) enum Place {
    Sqlite(PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl Place {
    pub(super) fn error(&self, message: impl std::fmt::Display) -> Error {
        match self {
            Place::Sqlite(path) => Error::Database {
                path: path.clone(),
                message: message.to_string(),
            },
            #[cfg(feature = "postgres")]
            Place::Postgres(database) => Error::Postgres {
                database: database.clone(),
                message: message.to_string(),
            },
        }
    }
}

/// A connection to either database.
pub(super) enum Conn {
    Sqlite(rusqlite::Connection, PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(Box<std::cell::RefCell<super::postgres::Client>>),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Conn").field(&self.place()).finish()
    }
}

struct SqliteRow<'a, 'r>(&'a rusqlite::Row<'r>, &'a Path);

impl Got for SqliteRow<'_, '_> {
    fn int(&self, column: usize) -> Result<Option<i64>, Error> {
        self.0
            .get(column)
            .map_err(|e| schema::database_error(self.1, &e))
    }

    fn text(&self, column: usize) -> Result<Option<String>, Error> {
        self.0
            .get(column)
            .map_err(|e| schema::database_error(self.1, &e))
    }

    fn null(&self, column: usize) -> Error {
        Place::Sqlite(self.1.to_owned()).error(format_args!("column {column} is NULL"))
    }
}

impl Conn {
    /// A connection to the SQLite database at `path`, which must exist.
    pub(super) fn sqlite(path: &Path, sync: bool) -> Result<Conn, Error> {
        Ok(Conn::Sqlite(
            schema::connect(path, sync, false)?,
            path.to_owned(),
        ))
    }

    pub(super) fn place(&self) -> Place {
        match self {
            Conn::Sqlite(_, path) => Place::Sqlite(path.clone()),
            #[cfg(feature = "postgres")]
            Conn::Postgres(client) => Place::Postgres(client.borrow().name().to_owned()),
        }
    }

    /// Runs `sql` and hands each row of its result to `each`.
    pub(super) fn each(
        &self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(&dyn Got) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match self {
            Conn::Sqlite(conn, path) => {
                let db = |e: rusqlite::Error| schema::database_error(path, &e);
                let mut statement = conn.prepare_cached(sql).map_err(db)?;
                let mut rows = statement
                    .query(rusqlite::params_from_iter(params))
                    .map_err(db)?;
                while let Some(row) = rows.next().map_err(db)? {
                    each(&SqliteRow(row, path))?;
                }
                Ok(())
            }
            #[cfg(feature = "postgres")]
            Conn::Postgres(client) => client.borrow_mut().each(sql, params, each),
        }
    }

    /// Runs a statement that returns no rows: how many rows it changed.
    pub(super) fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, Error> {
        match self {
            Conn::Sqlite(conn, path) => conn
                .prepare_cached(sql)
                .and_then(|mut s| s.execute(rusqlite::params_from_iter(params)))
                .map(|n| n as u64)
                .map_err(|e| schema::database_error(path, &e)),
            #[cfg(feature = "postgres")]
            Conn::Postgres(client) => client.borrow_mut().execute(sql, params),
        }
    }

    /// Starts a transaction that writes: on SQLite it takes the write lock at once.
    pub(super) fn begin_write(&self) -> Result<(), Error> {
        self.batch(match self {
            Conn::Sqlite(..) => "BEGIN IMMEDIATE",
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => "BEGIN",
        })
    }

    /// Starts a read-only transaction whose reads all see one snapshot.
    pub(super) fn begin_snapshot(&self) -> Result<(), Error> {
        self.batch(match self {
            Conn::Sqlite(..) => "BEGIN DEFERRED",
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        })
    }

    /// Runs statements without parameters (`COMMIT`, `BEGIN`, …).
    pub(super) fn batch(&self, sql: &str) -> Result<(), Error> {
        match self {
            Conn::Sqlite(conn, path) => conn
                .execute_batch(sql)
                .map_err(|e| schema::database_error(path, &e)),
            #[cfg(feature = "postgres")]
            Conn::Postgres(client) => client.borrow_mut().batch(sql),
        }
    }

    /// Whether this connection is to PostgreSQL (for the few statements spelt differently).
    pub(super) fn is_postgres(&self) -> bool {
        match self {
            Conn::Sqlite(..) => false,
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => true,
        }
    }
}

/// `sql` in PostgreSQL's spelling: each `?N` becomes `$N`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(super) fn dollar_parameters(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::dollar_parameters;

    #[test]
    fn parameters_are_renumbered_in_place() {
        assert_eq!(
            dollar_parameters("SELECT a FROM t WHERE ?1 IS NULL OR a = ?1 AND b < ?12"),
            "SELECT a FROM t WHERE $1 IS NULL OR a = $1 AND b < $12"
        );
        assert_eq!(dollar_parameters("SELECT '?' , ?"), "SELECT '?' , ?");
    }
}
