//! Reading the kept callbacks back, in order of receipt, in pages, while a receiver writes.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::path::Path;

use super::sql::{Conn, Param};
use super::{Error, Location};
use crate::sessions::{End, LiveStream, Session, Sessions, Start, Stream};

/// Rows one query reads: each page is its own short read, so a long export neither holds
/// memory nor keeps the writer from checkpointing.
const PAGE: i64 = 2_000;

/// Which kept callbacks to read. Times are of receipt, in Unix seconds, both ends included.
///
/// # Example
/// ```
/// use tencent_css_errcode::store::Filter;
/// let filter = Filter::default().since(Some(1_700_000_000)).stream(Some("room42".into()));
/// assert_eq!((filter.since, filter.until), (Some(1_700_000_000), None));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Filter {
    /// Received at or after.
    pub since: Option<i64>,
    /// Received at or before.
    pub until: Option<i64>,
    /// Only this StreamName.
    pub stream: Option<String>,
}

impl Filter {
    /// Received at or after `since`.
    pub fn since(mut self, since: Option<i64>) -> Filter {
        self.since = since;
        self
    }

    /// Received at or before `until`.
    pub fn until(mut self, until: Option<i64>) -> Filter {
        self.until = until;
        self
    }

    /// Only the StreamName `stream`.
    pub fn stream(mut self, stream: Option<String>) -> Filter {
        self.stream = stream;
        self
    }
}

/// One kept callback.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Kept {
    /// Its place in the order of receipt (increasing, not contiguous).
    pub id: i64,
    /// When it was received, in Unix seconds.
    pub received: i64,
    /// The body, on one line, as stored.
    pub body: String,
}

/// A read-only view of a store's database (SQLite or PostgreSQL), for export, triage and the
/// admin side of the receiver.
///
/// # Example
/// ```
/// use tencent_css_errcode::store::{Error, Reader};
/// let missing = std::env::temp_dir().join("css-store-nothing-here");
/// assert!(matches!(Reader::open(&missing), Err(Error::Missing { .. })));
/// ```
#[derive(Debug)]
pub struct Reader {
    conn: Conn,
}

/// The columns of `pushes` that [`read_pushes`] reads, in its order.
macro_rules! push_columns {
    ($p:literal) => {
        concat!(
            $p,
            "domain, ",
            $p,
            "app, ",
            $p,
            "stream, ",
            $p,
            "sequence, ",
            $p,
            "start_time, ",
            $p,
            "start_client_ip, ",
            $p,
            "start_node, ",
            $p,
            "end_time, ",
            $p,
            "push_duration_ms, ",
            $p,
            "errcode, ",
            $p,
            "errmsg, ",
            $p,
            "end_client_ip, ",
            $p,
            "end_node, ",
            $p,
            "missed, ",
            $p,
            "lost_at"
        )
    };
}
pub(super) use push_columns;

/// Which streams a query of [`Reader::interruptions`] selects: each field that is set must
/// match exactly.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct StreamFilter {
    /// Only this push domain.
    pub domain: Option<String>,
    /// Only this AppName.
    pub app: Option<String>,
    /// Only this StreamName.
    pub stream: Option<String>,
}

impl StreamFilter {
    /// Every stream of `domain`, `app` and `stream` where given.
    pub fn new(domain: Option<String>, app: Option<String>, stream: Option<String>) -> Self {
        StreamFilter {
            domain,
            app,
            stream,
        }
    }
}

/// Which errcodes a query of [`Reader::interruptions`] admits: all, or those of one
/// category (as the library decodes an errcode alone), and whether pushes found lost (which
/// have none) are admitted too.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Errcodes {
    /// `None`: every errcode; `Some((codes, true))`: only these; `Some((codes, false))`:
    /// every errcode but these.
    set: Option<(Vec<u32>, bool)>,
    lost: bool,
}

impl Errcodes {
    /// Every errcode, and the pushes found lost.
    pub fn all() -> Errcodes {
        Errcodes {
            set: None,
            lost: true,
        }
    }

    /// The errcodes of `category`: those the table lists under it, or, for
    /// [`Category::Unknown`](crate::Category::Unknown), also every errcode it does not list.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Category;
    /// use tencent_css_errcode::store::Errcodes;
    /// let network = Errcodes::of(Category::Network);
    /// assert!(network.admits(12) && !network.admits(1) && !network.admits_lost());
    /// let unknown = Errcodes::of(Category::Unknown);
    /// assert!(unknown.admits(999) && unknown.admits(22) && !unknown.admits(12));
    /// assert!(Errcodes::all().admits(12) && Errcodes::all().admits_lost());
    /// ```
    pub fn of(category: crate::Category) -> Errcodes {
        let mut listed: Vec<u32> = crate::Reason::ALL.iter().map(|r| r.errcode()).collect();
        listed.sort_unstable();
        listed.dedup();
        let set = if category == crate::Category::Unknown {
            let others = listed
                .into_iter()
                .filter(|&e| crate::decode(e, 0).category() != category)
                .collect();
            (others, false)
        } else {
            let mine = listed
                .into_iter()
                .filter(|&e| crate::decode(e, 0).category() == category)
                .collect();
            (mine, true)
        };
        Errcodes {
            set: Some(set),
            lost: false,
        }
    }

    /// Whether an errcode passes.
    pub fn admits(&self, errcode: u32) -> bool {
        match &self.set {
            None => true,
            Some((codes, inside)) => codes.contains(&errcode) == *inside,
        }
    }

    /// Whether pushes found lost pass.
    pub fn admits_lost(&self) -> bool {
        self.lost
    }
}

/// What [`Reader::interruptions`] reads: a window, its streams, the chart's bucket, and a page.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct InterruptionQuery {
    /// From, Unix seconds (included).
    pub since: i64,
    /// Until, Unix seconds (included).
    pub until: i64,
    /// The streams.
    pub filter: StreamFilter,
    /// The counts' interval, in seconds.
    pub bucket: i64,
    /// The errcodes of the page's rows (the counts take every errcode).
    pub errcodes: Errcodes,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return at most.
    pub limit: usize,
}

impl InterruptionQuery {
    /// Every interruption from `since` to `until`, counted by the hour, the first 100 rows.
    pub fn new(since: i64, until: i64) -> InterruptionQuery {
        InterruptionQuery {
            since,
            until,
            filter: StreamFilter::default(),
            bucket: 3_600,
            errcodes: Errcodes::all(),
            offset: 0,
            limit: 100,
        }
    }
}

/// The answer of [`Reader::interruptions`].
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Interruptions {
    /// (interval from `since`, errcode or `None` for a push found lost, pushes), sorted.
    pub counts: Vec<(i64, Option<u32>, u64)>,
    /// The page's pushes, newest first.
    pub rows: Vec<Session>,
}

impl Reader {
    /// Opens `DIR/events.db`, which must exist and be of a schema this release knows.
    pub fn open(dir: &Path) -> Result<Reader, Error> {
        Reader::open_at(&Location::Directory(dir.to_owned()))
    }

    /// Opens the store at `location`, which a receiver must have created.
    pub fn open_at(location: &Location) -> Result<Reader, Error> {
        Ok(Reader {
            conn: super::connect_existing(location)?,
        })
    }

    /// The streams on the air, as the pushes kept so far say (see [`crate::sessions`]).
    pub fn live(&self) -> Result<Vec<LiveStream>, Error> {
        let mut sessions = Sessions::new();
        self.pushes(
            &mut sessions,
            concat!(
                "SELECT ",
                push_columns!(""),
                " FROM pushes WHERE end_time IS NULL"
            ),
            &[],
        )?;
        // The streams the API listed, and their pushes that ended after the poll (a later
        // end explains a listing).
        self.pushes(
            &mut sessions,
            if self.conn.is_postgres() {
                concat!(
                    "SELECT ",
                    push_columns!("p."),
                    " FROM online o JOIN pushes p ON p.domain = o.domain \
                     AND p.app = o.app AND p.stream = o.stream WHERE p.end_time >= o.polled_at"
                )
            } else {
                // CROSS JOIN keeps this order: the few listed streams, then their pushes by key.
                concat!(
                    "SELECT ",
                    push_columns!("p."),
                    " FROM online o CROSS JOIN pushes p ON p.domain = o.domain \
                     AND p.app = o.app AND p.stream = o.stream WHERE p.end_time >= o.polled_at"
                )
            },
            &[],
        )?;
        self.listed(&mut sessions, None)?;
        Ok(sessions.live())
    }

    /// The interruptions of a window, in one pass: how many pushes of the streams the query
    /// selects ended from `since` to `until` (by their end's `event_time`) by `bucket`-second
    /// interval and errcode, with those found lost by a poll in that time under errcode `None`
    /// ([`State::EndNotReceived`](crate::sessions::State::EndNotReceived)); and one page of
    /// them, newest first: `limit` pushes from `offset` among those whose errcode `errcodes`
    /// admits. Only the page's pushes are read whole, with the pushes near their errcode-21
    /// ends (so that a replacement says so).
    ///
    /// The ends are found through the index of receipt times (no index of their own, which
    /// would cost every callback's commit), from a minute before `since` to 15 minutes after
    /// `until`, as Tencent retries a callback for 12 minutes: an end received outside that
    /// span of its `event_time` is not found. Each stream end counts once (the store keeps a
    /// redelivery once); a push is counted twice only if Tencent reported two ends of it at
    /// different times, and its row then shows the earlier.
    pub fn interruptions(&self, query: &InterruptionQuery) -> Result<Interruptions, Error> {
        let q = query;
        let sql = "SELECT at, errcode, domain, app, stream, sequence FROM ( \
             SELECT event_time AS at, errcode, domain, app, stream, sequence FROM callbacks \
             WHERE event_type = 0 AND received BETWEEN ?1 - 60 AND ?2 + 900 \
             AND event_time BETWEEN ?1 AND ?2 AND (?3 IS NULL OR domain = ?3) \
             AND (?4 IS NULL OR app = ?4) AND (?5 IS NULL OR stream = ?5) \
             UNION ALL SELECT lost_at, NULL, domain, app, stream, sequence FROM pushes \
             WHERE end_time IS NULL AND lost_at BETWEEN ?1 AND ?2 AND (?3 IS NULL OR domain = ?3) \
             AND (?4 IS NULL OR app = ?4) AND (?5 IS NULL OR stream = ?5)) AS e \
             ORDER BY at DESC, domain DESC, app DESC, stream DESC, sequence DESC";
        let mut counts: HashMap<(i64, Option<u32>), u64> = HashMap::new();
        let mut keys: Vec<(Stream, String)> = Vec::new();
        let mut admitted = 0usize;
        let bucket = q.bucket.max(1);
        self.conn.each(
            sql,
            &[
                q.since.into(),
                q.until.into(),
                (&q.filter.domain).into(),
                (&q.filter.app).into(),
                (&q.filter.stream).into(),
            ],
            |row| {
                let at = row.required_int(0)?;
                let errcode = row.int(1)?.and_then(|e| u32::try_from(e).ok());
                *counts
                    .entry(((at - q.since) / bucket, errcode))
                    .or_default() += 1;
                let passes = match errcode {
                    Some(errcode) => q.errcodes.admits(errcode),
                    None => q.errcodes.admits_lost(),
                };
                if !passes {
                    return Ok(());
                }
                if admitted >= q.offset && keys.len() < q.limit {
                    keys.push((
                        Stream::new(
                            row.required_text(2)?,
                            row.required_text(3)?,
                            row.required_text(4)?,
                        ),
                        row.required_text(5)?,
                    ));
                }
                admitted += 1;
                Ok(())
            },
        )?;
        let mut counts: Vec<(i64, Option<u32>, u64)> =
            counts.into_iter().map(|((b, e), n)| (b, e, n)).collect();
        counts.sort_unstable();
        let mut sessions = Sessions::new();
        for (stream, sequence) in &keys {
            self.pushes(
                &mut sessions,
                concat!(
                    "SELECT ",
                    push_columns!(""),
                    " FROM pushes WHERE domain = ?1 AND app = ?2 AND stream = ?3 \
                     AND sequence = ?4"
                ),
                &[
                    (&stream.domain).into(),
                    (&stream.app).into(),
                    (&stream.stream).into(),
                    sequence.into(),
                ],
            )?;
        }
        let found = sessions.sessions();
        for session in &found {
            let (Some(end), true) = (
                session.end,
                session.interruption().is_some_and(|i| i.errcode() == 21),
            ) else {
                continue;
            };
            self.pushes(
                &mut sessions,
                concat!(
                    "SELECT ",
                    push_columns!(""),
                    " FROM pushes WHERE domain = ?1 AND app = ?2 AND stream = ?3 \
                     AND start_time BETWEEN ?4 AND ?5"
                ),
                &[
                    (&session.stream.domain).into(),
                    (&session.stream.app).into(),
                    (&session.stream.stream).into(),
                    end.saturating_sub(crate::sessions::REPLACED_WITHIN).into(),
                    end.saturating_add(crate::sessions::REPLACED_WITHIN).into(),
                ],
            )?;
        }
        let order: HashMap<(&Stream, &str), usize> = keys
            .iter()
            .enumerate()
            .map(|(i, (stream, sequence))| ((stream, sequence.as_str()), i))
            .collect();
        let mut rows: Vec<(usize, Session)> = sessions
            .sessions()
            .into_iter()
            .filter_map(|s| {
                let at = *order.get(&(&s.stream, s.sequence.as_deref()?))?;
                Some((at, s))
            })
            .collect();
        rows.sort_by_key(|(at, _)| *at);
        Ok(Interruptions {
            counts,
            rows: rows.into_iter().map(|(_, s)| s).collect(),
        })
    }

    /// The streams the latest polls of the API listed (all, or one stream's), into `sessions`.
    fn listed(&self, sessions: &mut Sessions, stream: Option<&Stream>) -> Result<(), Error> {
        let (domain, app, name) = match stream {
            Some(s) => (Some(&s.domain), Some(&s.app), Some(&s.stream)),
            None => (None, None, None),
        };
        self.conn.each(
            "SELECT domain, app, stream, polled_at, since FROM online \
             WHERE ?1 IS NULL OR (domain = ?1 AND app = ?2 AND stream = ?3)",
            &[domain.into(), app.into(), name.into()],
            |row| {
                let stream = Stream::new(
                    row.required_text(0)?,
                    row.required_text(1)?,
                    row.required_text(2)?,
                );
                sessions.add_listed(stream, row.required_int(3)?, row.required_int(4)?);
                Ok(())
            },
        )
    }

    /// The latest `limit` pushes of one stream (by start), newest first, with their state.
    pub fn stream_sessions(&self, stream: &Stream, limit: usize) -> Result<Vec<Session>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // The pushes that started within the replacement window of the oldest one shown are
        // read too, so that its state is right.
        let mut sessions = Sessions::new();
        self.listed(&mut sessions, Some(stream))?;
        self.pushes(
            &mut sessions,
            concat!(
                "SELECT ",
                push_columns!(""),
                " FROM pushes WHERE domain = ?1 AND app = ?2 AND stream = ?3 \
                 ORDER BY coalesce(start_time, end_time) DESC LIMIT ?4"
            ),
            &[
                (&stream.domain).into(),
                (&stream.app).into(),
                (&stream.stream).into(),
                limit.saturating_add(8).into(),
            ],
        )?;
        let mut all = sessions.sessions();
        all.reverse();
        all.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(all)
    }

    /// The pushes a query selects (all columns of `pushes`), into a reducer.
    fn pushes(
        &self,
        sessions: &mut Sessions,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<(), Error> {
        read_pushes(&self.conn, sessions, sql, params)
    }
    /// The callbacks that `filter` selects, in order of receipt.
    pub fn callbacks(self, filter: Filter) -> Callbacks {
        Callbacks {
            reader: self,
            filter,
            after: i64::MIN,
            page: VecDeque::new(),
            done: false,
            snapshot: false,
        }
    }
}

/// The kept callbacks, read a page at a time; see [`Reader::callbacks`].
#[derive(Debug)]
pub struct Callbacks {
    reader: Reader,
    filter: Filter,
    after: i64,
    page: VecDeque<Kept>,
    done: bool,
    /// Whether the pages are read in one snapshot yet (PostgreSQL: ids are taken at insert,
    /// so a page read while replicas commit could skip a row committed late; one snapshot
    /// sees each committed row once).
    snapshot: bool,
}

impl Callbacks {
    /// The same callbacks as JSON lines (each body, then `\n`), to read as bytes.
    pub fn into_json_lines(self) -> JsonLines {
        JsonLines {
            callbacks: self,
            line: Vec::new(),
            at: 0,
        }
    }

    fn fetch(&mut self) -> Result<(), Error> {
        let conn = &self.reader.conn;
        if conn.is_postgres() && !self.snapshot {
            conn.begin_snapshot()?;
            self.snapshot = true;
        }
        let page = &mut self.page;
        conn.each(
            "SELECT id, received, body FROM callbacks \
             WHERE id > ?1 AND received >= ?2 AND received <= ?3 AND (?4 IS NULL OR stream = ?4) \
             ORDER BY id LIMIT ?5",
            &[
                self.after.into(),
                self.filter.since.unwrap_or(i64::MIN).into(),
                self.filter.until.unwrap_or(i64::MAX).into(),
                (&self.filter.stream).into(),
                PAGE.into(),
            ],
            |row| {
                page.push_back(Kept {
                    id: row.required_int(0)?,
                    received: row.required_int(1)?,
                    body: row.required_text(2)?,
                });
                Ok(())
            },
        )?;
        match self.page.back() {
            Some(last) if self.page.len() as i64 == PAGE => self.after = last.id,
            _ => self.done = true,
        }
        Ok(())
    }
}

impl Iterator for Callbacks {
    type Item = Result<Kept, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty() && !self.done {
            if let Err(error) = self.fetch() {
                self.done = true;
                return Some(Err(error));
            }
        }
        self.page.pop_front().map(Ok)
    }
}

/// Kept callbacks as JSON-lines bytes; see [`Callbacks::into_json_lines`].
#[derive(Debug)]
pub struct JsonLines {
    callbacks: Callbacks,
    line: Vec<u8>,
    at: usize,
}

impl Read for JsonLines {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            if self.at == self.line.len() {
                match self.callbacks.next() {
                    None => break,
                    Some(Err(error)) => {
                        if written > 0 {
                            // Hand over what was read; the next read asks for the same page
                            // again and reports the error if it recurs.
                            self.callbacks.done = false;
                            break;
                        }
                        return Err(io::Error::other(error));
                    }
                    Some(Ok(kept)) => {
                        self.line.clear();
                        self.line.extend_from_slice(kept.body.as_bytes());
                        self.line.push(b'\n');
                        self.at = 0;
                    }
                }
            }
            let n = (self.line.len() - self.at).min(buf.len() - written);
            buf[written..written + n].copy_from_slice(&self.line[self.at..self.at + n]);
            self.at += n;
            written += n;
        }
        Ok(written)
    }
}

/// The pushes a query selects (the columns of [`push_columns`], in order), into a reducer.
pub(super) fn read_pushes(
    conn: &Conn,
    sessions: &mut Sessions,
    sql: &str,
    params: &[Param<'_>],
) -> Result<(), Error> {
    conn.each(sql, params, |row| {
        let key = Stream {
            domain: row.required_text(0)?,
            app: row.required_text(1)?,
            stream: row.required_text(2)?,
        };
        let start = match row.int(4)? {
            Some(time) => Some(Start {
                time,
                client_ip: row.text(5)?,
                node: row.text(6)?,
            }),
            None => None,
        };
        let end = match row.int(7)? {
            Some(time) => Some(End {
                time,
                push_duration_ms: row.int(8)?.and_then(|ms| u64::try_from(ms).ok()),
                errcode: row.int(9)?.and_then(|e| u32::try_from(e).ok()).unwrap_or(0),
                errmsg: row.text(10)?,
                client_ip: row.text(11)?,
                node: row.text(12)?,
            }),
            None => None,
        };
        let missed = row.required_int(13)?;
        sessions.add_push(
            key,
            row.required_text(3)?,
            start,
            end,
            u8::try_from(missed).unwrap_or(u8::MAX),
            row.int(14)?,
        );
        Ok(())
    })
}
