//! The store on PostgreSQL: connecting (TLS through rustls), the versioned schema migrated
//! under an advisory lock, and the writer's batched commit.
//!
//! A batch is three statements whatever its size: the callbacks are inserted from arrays
//! (`unnest`), `ON CONFLICT DO NOTHING` on the same unique key as SQLite's, `RETURNING` the
//! keys that were new; then the starts and the ends those new callbacks tell are merged into
//! `pushes` by two upserts that keep the earlier of two reports, as the SQLite store and the
//! sessions reducer do. Rows go in in key order, so that two replicas committing overlapping
//! batches (a redelivery reaching each) take their row locks in the same order and never
//! deadlock; the merge being order-independent, concurrent replicas converge to the same
//! pushes whichever commits first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use postgres::types::{ToSql, Type};

use super::Error;
use super::sql::{Got, Param, Place, dollar_parameters};
use crate::events::EventKind;
use crate::receiver::{Row, Stored};

/// The schema versions, in order, as for SQLite (`store/schema.rs`): never edit a published
/// one, add the next.
const MIGRATIONS: &[&str] = &[include_str!("migrations/postgres/1.sql")];

/// The advisory lock that serialises migrations: two receivers starting at once migrate once.
const MIGRATION_LOCK: i64 = 0x6373_735f_6572_7263; // "css_errc"

/// How long a connection attempt waits when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl postgres::types::ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Int(value) => value.to_sql(ty, out),
            Param::Text(value) => value.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INT8 || *ty == Type::TEXT
    }

    postgres::types::to_sql_checked!();
}

impl Param<'_> {
    fn pg_type(&self) -> Type {
        match self {
            Param::Int(_) => Type::INT8,
            Param::Text(_) => Type::TEXT,
        }
    }
}

/// What PostgreSQL said, with the SQLSTATE when it was the server.
pub(super) fn describe(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A parsed database URL and how to reach it.
#[derive(Clone)]
pub(super) struct Target {
    config: postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// The URL without its password, as errors and logs name it.
    name: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Target {
    /// Parses a `postgres://` URL (or a libpq key=value string). Certificates are checked
    /// against the Mozilla roots and, when `PGSSLROOTCERT` names a PEM file, its
    /// certificates (a managed database's own CA).
    pub(super) fn parse(url: &str) -> Result<Target, Error> {
        let mut config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| Error::Postgres {
                database: "(the --database URL)".to_owned(),
                message: format!("not a PostgreSQL URL: {}", describe(&e)),
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("css-errcode");
        }
        let name = display_name(&config);
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(file) = std::env::var_os("PGSSLROOTCERT") {
            use rustls::pki_types::{CertificateDer, pem::PemObject};
            let certificates = CertificateDer::pem_file_iter(&file)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| Error::Postgres {
                    database: name.clone(),
                    message: format!("PGSSLROOTCERT {}: {e}", file.to_string_lossy()),
                })?;
            roots.add_parsable_certificates(certificates);
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Postgres {
            database: name.clone(),
            message: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Target {
            config,
            tls: tokio_postgres_rustls::MakeRustlsConnect::new(tls),
            name,
        })
    }

    pub(super) fn place(&self) -> Place {
        Place::Postgres(self.name.clone())
    }

    pub(super) fn error(&self, error: &postgres::Error) -> Error {
        self.place().error(describe(error))
    }

    /// A new connection.
    pub(super) fn connect(&self) -> Result<Client, Error> {
        let client = self
            .config
            .connect(self.tls.clone())
            .map_err(|e| self.error(&e))?;
        Ok(Client {
            client,
            name: self.name.clone(),
            statements: HashMap::new(),
        })
    }

    /// A new connection, after bringing the schema up to date (once, whichever of several
    /// receivers gets the advisory lock first).
    pub(super) fn connect_and_migrate(&self) -> Result<Client, Error> {
        let mut client = self.connect()?;
        let fail = |e: postgres::Error| self.error(&e);
        let mut tx = client.client.transaction().map_err(fail)?;
        tx.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK}); \
             CREATE TABLE IF NOT EXISTS css_schema (version BIGINT NOT NULL)"
        ))
        .map_err(fail)?;
        let found: i64 = tx
            .query_opt("SELECT max(version) FROM css_schema", &[])
            .map_err(fail)?
            .and_then(|row| row.get::<_, Option<i64>>(0))
            .unwrap_or(0);
        let from = usize::try_from(found)
            .ok()
            .filter(|v| *v <= MIGRATIONS.len())
            .ok_or_else(|| Error::Postgres {
                database: self.name.clone(),
                message: format!(
                    "schema version {found} is newer than this release knows ({}); use a newer css-errcode",
                    MIGRATIONS.len()
                ),
            })?;
        for migration in &MIGRATIONS[from..] {
            tx.batch_execute(migration).map_err(fail)?;
        }
        if from < MIGRATIONS.len() {
            tx.execute("DELETE FROM css_schema", &[]).map_err(fail)?;
            tx.execute(
                "INSERT INTO css_schema (version) VALUES ($1)",
                &[&(MIGRATIONS.len() as i64)],
            )
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
        Ok(client)
    }

    /// A connection for reading, to a database a receiver has set up.
    pub(super) fn connect_existing(&self) -> Result<Client, Error> {
        let mut client = self.connect()?;
        let version = client
            .client
            .query_opt(
                "SELECT max(version) FROM css_schema WHERE to_regclass('css_schema') IS NOT NULL",
                &[],
            )
            .ok()
            .flatten()
            .and_then(|row| row.get::<_, Option<i64>>(0));
        match version {
            Some(v) if v >= 1 && v as usize <= MIGRATIONS.len() => Ok(client),
            Some(v) if v as usize > MIGRATIONS.len() => Err(Error::Postgres {
                database: self.name.clone(),
                message: format!("schema version {v} is newer than this release knows"),
            }),
            _ => Err(Error::Postgres {
                database: self.name.clone(),
                message: "no store here (a receiver creates it when it starts)".to_owned(),
            }),
        }
    }
}

/// `postgres://user@host:port/db`, without the password.
fn display_name(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect::<Vec<_>>()
        .join(",");
    let port = config
        .get_ports()
        .first()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{user}{host}{port}/{db}")
}

/// One connection, with the statements it has prepared.
pub(super) struct Client {
    client: postgres::Client,
    name: String,
    statements: HashMap<String, postgres::Statement>,
}

struct PgRow<'a>(&'a postgres::Row, &'a str);

impl Got for PgRow<'_> {
    fn int(&self, column: usize) -> Result<Option<i64>, Error> {
        self.0
            .try_get(column)
            .map_err(|e| Place::Postgres(self.1.to_owned()).error(describe(&e)))
    }

    fn text(&self, column: usize) -> Result<Option<String>, Error> {
        self.0
            .try_get(column)
            .map_err(|e| Place::Postgres(self.1.to_owned()).error(describe(&e)))
    }

    fn null(&self, column: usize) -> Error {
        Place::Postgres(self.1.to_owned()).error(format_args!("column {column} is NULL"))
    }
}

impl Client {
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    fn fail(&self, error: &postgres::Error) -> Error {
        Place::Postgres(self.name.clone()).error(describe(error))
    }

    fn statement(&mut self, sql: &str, params: &[Param<'_>]) -> Result<postgres::Statement, Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let types: Vec<Type> = params.iter().map(Param::pg_type).collect();
        let statement = self
            .client
            .prepare_typed(&dollar_parameters(sql), &types)
            .map_err(|e| self.fail(&e))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(super) fn each(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(&dyn Got) -> Result<(), Error>,
    ) -> Result<(), Error> {
        use postgres::fallible_iterator::FallibleIterator;
        let statement = self.statement(sql, params)?;
        let name = &self.name;
        let fail = |e: postgres::Error| Place::Postgres(name.clone()).error(describe(&e));
        // Row by row as the server sends them, not collected: a window of the page may hold
        // many ends.
        let mut rows = self
            .client
            .query_raw(&statement, params.iter().map(|p| p as &dyn ToSql))
            .map_err(fail)?;
        while let Some(row) = rows.next().map_err(fail)? {
            each(&PgRow(&row, name))?;
        }
        Ok(())
    }

    pub(super) fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, Error> {
        let statement = self.statement(sql, params)?;
        let values: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.client
            .execute(&statement, &values)
            .map_err(|e| self.fail(&e))
    }

    pub(super) fn batch(&mut self, sql: &str) -> Result<(), Error> {
        self.client.batch_execute(sql).map_err(|e| self.fail(&e))
    }
}

/// The callbacks of a batch, from arrays; the keys that were new come back.
const INSERT: &str = "INSERT INTO callbacks \
    (received, event_type, domain, app, stream, sequence, event_time, errcode, body) \
    SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], \
    $6::text[], $7::int8[], $8::int8[], $9::text[]) \
    ON CONFLICT (sequence, event_type, event_time) DO NOTHING \
    RETURNING sequence, event_type, event_time";

/// What the new callbacks tell of their pushes, one row a push (its start, its end, or
/// both), merged in one statement: of two reports of a start (or of an end) the earlier is
/// kept. One statement, its rows in key order, so that concurrent transactions lock the rows
/// of `pushes` in one order and cannot deadlock (a start and an end of one push in two
/// statements could: one transaction's start and another's end).
fn pushes_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        // Each column of a fact takes the new report's value when the new report is earlier
        // (or the first), as one: the time decides for all of them.
        let earlier = |time: &str, columns: &[&str]| -> Vec<String> {
            columns
                .iter()
                .map(|column| {
                    format!(
                        "{column} = CASE WHEN excluded.{time} < pushes.{time} OR pushes.{time} IS NULL \
                         THEN excluded.{column} ELSE pushes.{column} END"
                    )
                })
                .collect()
        };
        let mut set = earlier("start_time", &["start_time", "start_client_ip", "start_node"]);
        set.extend(earlier(
            "end_time",
            &[
                "end_time",
                "push_duration_ms",
                "errcode",
                "errmsg",
                "end_client_ip",
                "end_node",
            ],
        ));
        format!(
            "INSERT INTO pushes \
             (domain, app, stream, sequence, start_time, start_client_ip, start_node, \
             end_time, push_duration_ms, errcode, errmsg, end_client_ip, end_node) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], \
             $6::text[], $7::text[], $8::int8[], $9::int8[], $10::int8[], $11::text[], \
             $12::text[], $13::text[]) \
             ON CONFLICT (domain, app, stream, sequence) DO UPDATE SET {}",
            set.join(", ")
        )
    })
}

fn event_type(kind: EventKind) -> i64 {
    match kind {
        EventKind::StreamEnd => 0,
        EventKind::PushStart => 1,
    }
}

type PushKey<'r> = (&'r str, &'r str, &'r str, &'r str);

/// Commits `rows` in one transaction: each row's result, or the error that rolled them all
/// back. Of several rows of one event in a batch, the first is new.
pub(super) fn commit_rows(
    client: &mut Client,
    rows: &[&Row],
) -> Result<Vec<Stored>, postgres::Error> {
    // PostgreSQL's text cannot hold U+0000, which a callback may carry as `\u0000` in a
    // decoded field: such a row would fail its whole batch on every retry. Its NULs are kept
    // as U+FFFD instead (the same for every redelivery, so the unique key still holds).
    let cleaned: Vec<Row>;
    let rows: Vec<&Row> = if rows.iter().any(|row| has_nul(row)) {
        cleaned = rows.iter().map(|row| without_nul(row)).collect();
        cleaned.iter().collect()
    } else {
        rows.to_vec()
    };
    let rows = &rows[..];
    let key = |row: &Row| (row.sequence.clone(), event_type(row.kind), row.event_time);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (rows[a], rows[b]);
        (&a.sequence, event_type(a.kind), a.event_time).cmp(&(
            &b.sequence,
            event_type(b.kind),
            b.event_time,
        ))
    });
    let column = |f: &dyn Fn(&Row) -> Option<i64>| -> Vec<Option<i64>> {
        order.iter().map(|&i| f(rows[i])).collect()
    };
    let text = |f: &dyn Fn(&Row) -> Option<&str>| -> Vec<Option<&str>> {
        order.iter().map(|&i| f(rows[i])).collect()
    };
    let received = column(&|r| Some(r.received));
    let kinds = column(&|r| Some(event_type(r.kind)));
    let domains = text(&|r| Some(&r.domain));
    let apps = text(&|r| Some(&r.app));
    let streams = text(&|r| Some(&r.stream));
    let sequences = text(&|r| Some(&r.sequence));
    let times = column(&|r| Some(r.event_time));
    let errcodes = column(&|r| r.errcode.map(i64::from));
    let bodies = text(&|r| Some(&r.body));

    let mut tx = client.client.transaction()?;
    let inserted = tx.query(
        INSERT,
        &[
            &received, &kinds, &domains, &apps, &streams, &sequences, &times, &errcodes, &bodies,
        ],
    )?;
    let mut new: HashSet<(String, i64, i64)> = inserted
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let results: Vec<Stored> = rows
        .iter()
        .map(|row| {
            if new.remove(&key(row)) {
                Stored::New
            } else {
                Stored::Duplicate
            }
        })
        .collect();

    // What the new callbacks tell of their pushes, the earliest report of each fact.
    let mut pushes: BTreeMap<PushKey<'_>, (Option<&Row>, Option<&Row>)> = BTreeMap::new();
    for (row, result) in rows.iter().zip(&results) {
        if *result != Stored::New {
            continue;
        }
        let push = (
            row.domain.as_str(),
            row.app.as_str(),
            row.stream.as_str(),
            row.sequence.as_str(),
        );
        let (start, end) = pushes.entry(push).or_default();
        let fact = match row.kind {
            EventKind::PushStart => start,
            EventKind::StreamEnd => end,
        };
        if fact.is_none_or(|kept| row.event_time < kept.event_time) {
            *fact = Some(row);
        }
    }
    if !pushes.is_empty() {
        let domains: Vec<&str> = pushes.keys().map(|k| k.0).collect();
        let apps: Vec<&str> = pushes.keys().map(|k| k.1).collect();
        let streams: Vec<&str> = pushes.keys().map(|k| k.2).collect();
        let sequences: Vec<&str> = pushes.keys().map(|k| k.3).collect();
        let starts = || pushes.values().map(|(start, _)| *start);
        let ends = || pushes.values().map(|(_, end)| *end);
        let text = |facts: &mut dyn Iterator<Item = Option<&Row>>,
                    f: fn(&Row) -> Option<&str>|
         -> Vec<Option<String>> {
            facts.map(|r| r.and_then(f).map(str::to_owned)).collect()
        };
        let int = |facts: &mut dyn Iterator<Item = Option<&Row>>,
                   f: fn(&Row) -> Option<i64>|
         -> Vec<Option<i64>> { facts.map(|r| r.and_then(f)).collect() };
        tx.execute(
            pushes_sql(),
            &[
                &domains,
                &apps,
                &streams,
                &sequences,
                &int(&mut starts(), |r| Some(r.event_time)),
                &text(&mut starts(), |r| r.client_ip.as_deref()),
                &text(&mut starts(), |r| r.node.as_deref()),
                &int(&mut ends(), |r| Some(r.event_time)),
                &int(&mut ends(), |r| {
                    r.push_duration_ms
                        .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX))
                }),
                &int(&mut ends(), |r| r.errcode.map(i64::from)),
                &text(&mut ends(), |r| r.errmsg.as_deref()),
                &text(&mut ends(), |r| r.client_ip.as_deref()),
                &text(&mut ends(), |r| r.node.as_deref()),
            ],
        )?;
    }
    tx.commit()?;
    Ok(results)
}

fn has_nul(row: &Row) -> bool {
    let nul = |text: &str| text.contains('\0');
    [&row.domain, &row.app, &row.stream, &row.sequence, &row.body]
        .into_iter()
        .any(|t| nul(t))
        || [&row.errmsg, &row.client_ip, &row.node]
            .into_iter()
            .any(|t| t.as_deref().is_some_and(nul))
}

fn without_nul(row: &Row) -> Row {
    let clean = |text: &String| text.replace('\0', "\u{FFFD}");
    let mut row = row.clone();
    for text in [
        &mut row.domain,
        &mut row.app,
        &mut row.stream,
        &mut row.sequence,
        &mut row.body,
    ] {
        *text = clean(text);
    }
    for text in [&mut row.errmsg, &mut row.client_ip, &mut row.node]
        .into_iter()
        .flatten()
    {
        *text = clean(text);
    }
    row
}

/// Commits a probe row: the database takes writes again.
pub(super) fn probe(client: &mut Client, now: i64) -> Result<(), postgres::Error> {
    client.client.execute(
        "INSERT INTO probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        &[&now],
    )?;
    Ok(())
}

/// Deletes up to `step` callbacks received before `cutoff`.
pub(super) fn retain(client: &mut Client, cutoff: i64, step: i64) -> Result<u64, postgres::Error> {
    client.client.execute(
        "DELETE FROM callbacks WHERE id IN \
         (SELECT id FROM callbacks WHERE received < $1 ORDER BY received LIMIT $2)",
        &[&cutoff, &step],
    )
}
