//! The Stream Interruption Records page, served by the receiver from its own store: the live
//! streams, the interruptions of a time window as a chart by category and a table with causes
//! and what to do, and one stream's pushes as a timeline.
//!
//! Needs the `page` feature. Rendered on the server into plain HTML with inline SVG (askama
//! templates, checked when the crate compiles, every value escaped): no script, nothing loaded
//! from another host. [`Receiver::admin_router`](crate::receiver::Receiver::admin_router)
//! serves it at `/` and `/streams/{domain}/{app}/{stream}`; [`overview`] and [`stream`] render
//! it for a program of your own.

mod text;

use std::fmt::Write as _;

use askama::Template;

use crate::events::{format_utc_time, parse_utc_time};
use crate::sessions::{LiveStream, Session, State, Stream};
use crate::store::{Errcodes, InterruptionQuery, Reader, StreamFilter};
use crate::{Category, Lang};

use text::{Labels, labels};

/// Rows of the interruption table a page shows.
pub const ROWS_PER_PAGE: usize = 100;
/// The longest window the page takes: 90 days.
pub const MAX_WINDOW_SECONDS: i64 = 90 * 86_400;

/// A query string the page refuses (answered 400), naming the parameter and what is wrong.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A parameter the page does not take.
    #[error(
        "unknown parameter `{0}`: the page takes domain, app, stream, category, since, until, page and lang"
    )]
    Unknown(String),
    /// A parameter given twice.
    #[error("parameter `{0}` is given twice")]
    Repeated(String),
    /// A value that cannot be read.
    #[error("parameter `{parameter}`: {reason}")]
    Invalid {
        /// The parameter.
        parameter: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
}

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// The template failed (a bug: every value it takes can be written).
    #[error("the page's template failed: {0}")]
    Template(String),
}

/// What the overview shows: a time window, the streams it selects, a category, a page of the
/// table, a language. Parsed from the page's query string ([`PageQuery::parse`]); kept in every
/// link of the page, so that a link to it can be shared.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct PageQuery {
    /// Only this push domain.
    pub domain: Option<String>,
    /// Only this AppName.
    pub app: Option<String>,
    /// Only this StreamName.
    pub stream: Option<String>,
    /// Only interruptions of this category.
    pub category: Option<Category>,
    /// From (Unix seconds); default 24 hours before `until`.
    pub since: Option<i64>,
    /// Until (Unix seconds); default now.
    pub until: Option<i64>,
    /// The table's page, from 1.
    pub page: usize,
    /// The language asked for with `lang=` (else the `Accept-Language` header decides).
    pub lang: Option<Lang>,
}

impl PageQuery {
    /// Reads the decoded pairs of a query string. Empty values count as absent (what an empty
    /// form field sends); times are Unix seconds or `2024-01-31T00:00:00Z`.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Category;
    /// use tencent_css_errcode::page::PageQuery;
    /// let pairs = [("category".to_owned(), "network".to_owned()), ("app".to_owned(), String::new())];
    /// let query = PageQuery::parse(&pairs)?;
    /// assert_eq!((query.category, query.app, query.page), (Some(Category::Network), None, 1));
    /// assert!(PageQuery::parse(&[("since".to_owned(), "yesterday".to_owned())]).is_err());
    /// # Ok::<(), tencent_css_errcode::page::QueryError>(())
    /// ```
    pub fn parse(pairs: &[(String, String)]) -> Result<PageQuery, QueryError> {
        let mut query = PageQuery {
            page: 1,
            ..PageQuery::default()
        };
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            if seen.contains(&name.as_str()) {
                return Err(QueryError::Repeated(name.clone()));
            }
            seen.push(name);
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let invalid =
                |parameter: &'static str, reason: String| QueryError::Invalid { parameter, reason };
            match name.as_str() {
                "domain" => query.domain = Some(value.to_owned()),
                "app" => query.app = Some(value.to_owned()),
                "stream" => query.stream = Some(value.to_owned()),
                "category" => {
                    query.category =
                        Some(value.parse().map_err(|e: crate::ParseNameError| {
                            invalid("category", e.to_string())
                        })?);
                }
                "since" => query.since = Some(time(value).map_err(|r| invalid("since", r))?),
                "until" => query.until = Some(time(value).map_err(|r| invalid("until", r))?),
                "page" => {
                    query.page = value
                        .parse::<usize>()
                        .ok()
                        .filter(|p| (1..=1_000_000).contains(p))
                        .ok_or_else(|| {
                            invalid("page", format!("`{value}` is not a page number from 1"))
                        })?;
                }
                "lang" => {
                    query.lang = Some(
                        value
                            .parse()
                            .map_err(|e: crate::ParseNameError| invalid("lang", e.to_string()))?,
                    );
                }
                _ => return Err(QueryError::Unknown(name.clone())),
            }
        }
        if let (Some(since), Some(until)) = (query.since, query.until) {
            if until < since {
                return Err(QueryError::Invalid {
                    parameter: "until",
                    reason: "the window ends before it starts".to_owned(),
                });
            }
            if until.saturating_sub(since) > MAX_WINDOW_SECONDS {
                return Err(QueryError::Invalid {
                    parameter: "since",
                    reason: "the window is longer than 90 days".to_owned(),
                });
            }
        }
        Ok(query)
    }

    /// The window at `now`: `since` and `until`, with their defaults (the 24 hours before
    /// `until`, and now), and never longer than [`MAX_WINDOW_SECONDS`].
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::page::{MAX_WINDOW_SECONDS, PageQuery};
    /// let query = PageQuery::parse(&[("since".to_owned(), i64::MIN.to_string())])?;
    /// assert_eq!(query.window(1_000_000_000), (1_000_000_000 - MAX_WINDOW_SECONDS, 1_000_000_000));
    /// # Ok::<(), tencent_css_errcode::page::QueryError>(())
    /// ```
    pub fn window(&self, now: i64) -> (i64, i64) {
        let until = self.until.unwrap_or(now);
        let since = self
            .since
            .unwrap_or(until.saturating_sub(86_400))
            .max(until.saturating_sub(MAX_WINDOW_SECONDS));
        (since.min(until), until)
    }

    /// This query as a query string (the same filters and language), at `page`.
    fn href(&self, lang: Lang, page: usize) -> String {
        let mut out = String::from("/?");
        let mut add = |name: &str, value: &str| {
            if out.len() > 2 {
                out.push('&');
            }
            out.push_str(name);
            out.push('=');
            out.push_str(&encode(value));
        };
        for (name, value) in [
            ("domain", &self.domain),
            ("app", &self.app),
            ("stream", &self.stream),
        ] {
            if let Some(value) = value {
                add(name, value);
            }
        }
        if let Some(category) = self.category {
            add("category", category.name());
        }
        if let Some(since) = self.since {
            add("since", &since.to_string());
        }
        if let Some(until) = self.until {
            add("until", &until.to_string());
        }
        if page > 1 {
            add("page", &page.to_string());
        }
        add("lang", lang.name());
        out
    }
}

fn time(value: &str) -> Result<i64, String> {
    value
        .parse::<i64>()
        .or_else(|_| parse_utc_time(value))
        .map_err(|_| {
            format!("`{value}` is neither Unix seconds nor a time such as 2024-01-31T00:00:00Z")
        })
}

/// Percent-encodes `text` for a URL, path segment or query value: every byte but the
/// unreserved ones (so a `/` in a stream name stays inside one segment).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The path of one stream's page.
fn stream_href(stream: &Stream, lang: Lang) -> String {
    format!(
        "/streams/{}/{}/{}?lang={}",
        encode(&stream.domain),
        encode(&stream.app),
        encode(&stream.stream),
        lang.name()
    )
}

/// `2026-12-01 10:00:00`, in UTC (the page says so once).
fn when(unix: Option<i64>) -> String {
    unix.map_or_else(
        || "-".to_owned(),
        |t| {
            format_utc_time(t)
                .replacen('T', " ", 1)
                .trim_end_matches('Z')
                .to_owned()
        },
    )
}

fn duration(seconds: Option<i64>) -> String {
    match seconds {
        None => "-".to_owned(),
        Some(s) if s < 60 => format!("{s}s"),
        Some(s) if s < 3_600 => format!("{}m {:02}s", s / 60, s % 60),
        Some(s) => format!("{}h {:02}m", s / 3_600, (s % 3_600) / 60),
    }
}

/// The fill of each category in the charts.
fn color(category: Category) -> &'static str {
    match category {
        Category::ClientClosed => "#9aa5b1",
        Category::Requested => "#7b8794",
        Category::Network => "#e67e22",
        Category::Internal => "#c0392b",
        Category::Idle => "#f1c40f",
        Category::StreamData => "#8e44ad",
        Category::Account => "#d35400",
        Category::PushUrl => "#2980b9",
        Category::AccessControl => "#16a085",
        Category::Auth => "#27ae60",
        Category::Limit => "#2c3e50",
        Category::Refused => "#e84393",
        _ => "#555555",
    }
}

/// One row of the interruption table (or of a stream's pushes).
struct Row {
    stream: String,
    app: String,
    domain: String,
    href: String,
    sequence: String,
    start: String,
    end: String,
    duration: String,
    client_ip: String,
    state: &'static str,
    category: &'static str,
    category_name: &'static str,
    /// The category's sentence, as the row's tooltip.
    category_text: &'static str,
    color: &'static str,
    cause: String,
    action: &'static str,
}

fn category_of(session: &Session) -> Option<Category> {
    session.cause.as_ref().map(|c| c.category())
}

fn row(session: &Session, lang: Lang, labels: &Labels) -> Row {
    let category = category_of(session);
    let cause = match (&session.cause, session.interruption()) {
        (None, _) if session.state == State::EndNotReceived => {
            format!("{} ({})", labels.end, labels.not_received)
        }
        (None, _) => "-".to_owned(),
        (Some(_), Some(i)) => match i.reason() {
            Some(reason) => format!(
                "{} ({}/{})",
                reason.message(lang),
                i.errcode(),
                i.sub_errcode()
            ),
            None if i.candidates().is_empty() => {
                format!("{} ({})", i.category().message(lang), i.errcode())
            }
            None => format!(
                "errcode {}, {} {}: {}",
                i.errcode(),
                labels.one_of,
                i.candidates().len(),
                i.candidates()
                    .iter()
                    .map(|r| format!("{}/{}", r.errcode(), r.sub_errcode()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        (Some(cause), None) => cause.text().to_owned(),
    };
    Row {
        stream: session.stream.stream.clone(),
        app: session.stream.app.clone(),
        domain: session.stream.domain.clone(),
        href: stream_href(&session.stream, lang),
        sequence: session.sequence.clone().unwrap_or_else(|| "-".to_owned()),
        start: when(session.start),
        end: when(session.end),
        duration: duration(session.duration),
        client_ip: session.client_ip.clone().unwrap_or_else(|| "-".to_owned()),
        state: session.state.name(),
        category: category.map_or("", Category::name),
        category_name: category.map_or("", |c| text::short(c, lang)),
        category_text: category.map_or("", |c| c.message(lang)),
        color: category.map_or("#555555", color),
        cause,
        action: category.map_or("", |c| text::action(c, lang)),
    }
}

struct Live {
    stream: String,
    app: String,
    domain: String,
    href: String,
    since: String,
    sequences: String,
}

fn live_row(live: &LiveStream, lang: Lang, labels: &Labels) -> Live {
    Live {
        stream: live.stream.stream.clone(),
        app: live.stream.app.clone(),
        domain: live.stream.domain.clone(),
        href: stream_href(&live.stream, lang),
        since: when(Some(live.since)),
        sequences: if live.sequences.is_empty() {
            format!("({} {})", labels.start, labels.not_received)
        } else {
            live.sequences.join(", ")
        },
    }
}

/// A rectangle of a chart, with its tooltip.
struct Bar {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    color: &'static str,
    title: String,
}

/// A label on a chart's axis.
struct Tick {
    x: f64,
    y: f64,
    text: String,
    /// `start`, `middle` or `end`: which part of the text sits at `x`.
    anchor: &'static str,
}

const CHART_WIDTH: f64 = 960.0;
const CHART_HEIGHT: f64 = 220.0;
const PLOT_LEFT: f64 = 44.0;
const PLOT_BOTTOM: f64 = 196.0;
const PLOT_TOP: f64 = 12.0;

/// Bucket sizes a chart may use, the smallest giving at most 48 buckets wins.
const BUCKETS: [i64; 11] = [
    60, 300, 900, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400, 259_200, 604_800,
];

/// The bucket a chart of the window uses: the smallest of [`BUCKETS`] giving at most 48.
fn bucket_of(since: i64, until: i64) -> i64 {
    let span = until.saturating_sub(since).max(1).saturating_add(1);
    BUCKETS
        .iter()
        .copied()
        .find(|b| span / b <= 48)
        .unwrap_or(604_800)
}

/// The chart of interruptions by category over the window: stacked bars, one per bucket, from
/// the counts by bucket and category.
fn category_chart(
    counts: &[[u64; 13]],
    since: i64,
    bucket: i64,
    lang: Lang,
) -> (Vec<Bar>, Vec<Tick>) {
    let count = counts.len().max(1);
    let peak = counts
        .iter()
        .map(|c| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot = PLOT_BOTTOM - PLOT_TOP;
    let step = (CHART_WIDTH - PLOT_LEFT - 8.0) / count as f64;
    let mut bars = Vec::new();
    for (i, slot) in counts.iter().enumerate() {
        let mut base = PLOT_BOTTOM;
        let from = since + bucket * i as i64;
        for (k, &n) in slot.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let category = Category::ALL[k];
            let height = plot * n as f64 / peak as f64;
            base -= height;
            bars.push(Bar {
                x: PLOT_LEFT + step * i as f64 + 1.0,
                y: base,
                width: (step - 2.0).max(1.0),
                height,
                color: color(category),
                title: format!("{} {}: {n}", when(Some(from)), text::short(category, lang)),
            });
        }
    }
    let mut ticks = vec![
        Tick {
            x: 4.0,
            y: PLOT_TOP + 10.0,
            text: peak.to_string(),
            anchor: "start",
        },
        Tick {
            x: 4.0,
            y: PLOT_BOTTOM,
            text: "0".to_owned(),
            anchor: "start",
        },
    ];
    let every = count.div_ceil(6).max(1);
    for i in (0..count).step_by(every) {
        ticks.push(Tick {
            x: PLOT_LEFT + step * i as f64,
            y: CHART_HEIGHT - 6.0,
            text: when(Some(since + bucket * i as i64))[5..16].to_owned(),
            anchor: "start",
        });
    }
    (bars, ticks)
}

struct Legend {
    color: &'static str,
    name: &'static str,
    count: u64,
}

struct Choice {
    value: &'static str,
    name: &'static str,
    selected: bool,
}

struct LangLink {
    name: &'static str,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage<'a> {
    lang: &'static str,
    t: &'a Labels,
    langs: Vec<LangLink>,
    live: Vec<Live>,
    domain: &'a str,
    app: &'a str,
    stream: &'a str,
    since: String,
    until: String,
    categories: Vec<Choice>,
    total: usize,
    bars: Vec<Bar>,
    ticks: Vec<Tick>,
    legend: Vec<Legend>,
    rows: Vec<Row>,
    page: usize,
    pages: usize,
    previous: Option<String>,
    next: Option<String>,
    width: f64,
    height: f64,
    plot_left: f64,
    plot_bottom: f64,
}

/// The overview at `now`: the live streams, and the interruptions of the query's window as a
/// chart by category and a table, newest first, [`ROWS_PER_PAGE`] a page.
pub fn overview(
    reader: &Reader,
    query: &PageQuery,
    lang: Lang,
    now: i64,
) -> Result<String, RenderError> {
    let t = labels(lang);
    let (since, until) = query.window(now);
    let filter = StreamFilter::new(
        query.domain.clone(),
        query.app.clone(),
        query.stream.clone(),
    );
    let wanted = |s: &Stream| {
        filter.domain.as_deref().is_none_or(|d| d == s.domain)
            && filter.app.as_deref().is_none_or(|a| a == s.app)
            && filter.stream.as_deref().is_none_or(|n| n == s.stream)
    };
    let live: Vec<Live> = reader
        .live()?
        .iter()
        .filter(|l| wanted(&l.stream))
        .map(|l| live_row(l, lang, t))
        .collect();
    // The chart and the counts: every push of the window, by bucket and errcode, from an
    // index; the errcode's category is the library's (an errcode alone, as a callback has it).
    let bucket = bucket_of(since, until);
    let buckets = usize::try_from(until.saturating_sub(since).max(0) / bucket + 1).unwrap_or(1);
    let mut counts = vec![[0u64; 13]; buckets];
    let mut by_category = [0u64; 13];
    let mut total = 0u64;
    let index = |c: Category| Category::ALL.iter().position(|&k| k == c).unwrap_or(12);
    let errcodes = query.category.map_or_else(Errcodes::all, Errcodes::of);
    let mut read = InterruptionQuery::new(since, until);
    read.filter = filter.clone();
    read.bucket = bucket;
    read.errcodes = errcodes;
    read.offset = query.page.saturating_sub(1).saturating_mul(ROWS_PER_PAGE);
    read.limit = ROWS_PER_PAGE;
    let found = reader.interruptions(&read)?;
    for &(at, errcode, n) in &found.counts {
        let category = errcode.map(|e| crate::decode(e, 0).category());
        if query.category.is_some() && category != query.category {
            continue;
        }
        total += n;
        if let Some(category) = category {
            by_category[index(category)] += n;
            if let Some(slot) = usize::try_from(at).ok().and_then(|i| counts.get_mut(i)) {
                slot[index(category)] += n;
            }
        }
    }
    let (bars, ticks) = category_chart(&counts, since, bucket, lang);
    let legend = Category::ALL
        .iter()
        .zip(by_category)
        .filter(|(_, n)| *n > 0)
        .map(|(&c, n)| Legend {
            color: color(c),
            name: text::short(c, lang),
            count: n,
        })
        .collect();
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    let pages = total.div_ceil(ROWS_PER_PAGE).max(1);
    let page = query.page.min(pages);
    let found = if page < query.page {
        // Past the last page: show the last one.
        read.offset = (page - 1) * ROWS_PER_PAGE;
        reader.interruptions(&read)?
    } else {
        found
    };
    let rows = found.rows.iter().map(|s| row(s, lang, t)).collect();
    let template = OverviewPage {
        lang: lang.name(),
        t,
        langs: Lang::ALL
            .iter()
            .map(|&l| LangLink {
                name: l.name(),
                href: query.href(l, page),
                current: l == lang,
            })
            .collect(),
        live,
        domain: query.domain.as_deref().unwrap_or(""),
        app: query.app.as_deref().unwrap_or(""),
        stream: query.stream.as_deref().unwrap_or(""),
        since: format_utc_time(since),
        until: format_utc_time(until),
        categories: Category::ALL
            .iter()
            .map(|&c| Choice {
                value: c.name(),
                name: text::short(c, lang),
                selected: query.category == Some(c),
            })
            .collect(),
        total,
        bars,
        ticks,
        legend,
        rows,
        page,
        pages,
        previous: (page > 1).then(|| query.href(lang, page - 1)),
        next: (page < pages).then(|| query.href(lang, page + 1)),
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        plot_left: PLOT_LEFT,
        plot_bottom: PLOT_BOTTOM,
    };
    template
        .render()
        .map_err(|e| RenderError::Template(e.to_string()))
}

/// A push on a stream's timeline: its lane (primary and backup side by side) and extent.
struct Span {
    x: f64,
    y: f64,
    width: f64,
    color: &'static str,
    title: String,
    /// The push's sequence, written on its bar.
    label: String,
}

#[derive(Template)]
#[template(path = "stream.html")]
struct StreamPage<'a> {
    lang: &'static str,
    t: &'a Labels,
    langs: Vec<LangLink>,
    stream: &'a str,
    app: &'a str,
    domain: &'a str,
    back: String,
    spans: Vec<Span>,
    ticks: Vec<Tick>,
    lanes: usize,
    rows: Vec<Row>,
    width: f64,
    height: f64,
}

const LANE_HEIGHT: f64 = 26.0;

/// One stream's page at `now`: its latest 100 pushes as a timeline, concurrent pushes (primary
/// and backup) in lanes side by side, and as a table, newest first.
pub fn stream(
    reader: &Reader,
    stream: &Stream,
    lang: Lang,
    now: i64,
) -> Result<String, RenderError> {
    let t = labels(lang);
    let sessions = reader.stream_sessions(stream, 100)?;
    let mut timed: Vec<(&Session, i64, i64)> = sessions
        .iter()
        .filter_map(|s| {
            let start = s.start?;
            Some((s, start, s.end.unwrap_or(now).max(start)))
        })
        .collect();
    timed.sort_by_key(|(_, start, end)| (*start, *end));
    let from = timed
        .iter()
        .map(|(_, s, _)| *s)
        .min()
        .unwrap_or(now - 3_600);
    let to = timed
        .iter()
        .map(|(_, _, e)| *e)
        .max()
        .unwrap_or(now)
        .max(from + 1);
    let scale = (CHART_WIDTH - PLOT_LEFT - 8.0) / (to - from) as f64;
    let mut lane_ends: Vec<i64> = Vec::new();
    let mut spans = Vec::new();
    for (session, start, end) in &timed {
        let lane = match lane_ends.iter().position(|&e| e <= *start) {
            Some(lane) => lane,
            None => {
                lane_ends.push(i64::MIN);
                lane_ends.len() - 1
            }
        };
        lane_ends[lane] = *end;
        let category = category_of(session);
        spans.push(Span {
            x: PLOT_LEFT + (start - from) as f64 * scale,
            y: 8.0 + LANE_HEIGHT * lane as f64,
            width: ((end - start) as f64 * scale).max(2.0),
            color: match session.state {
                State::Live | State::StartNotReceived => "#2e7d32",
                _ => category.map_or("#555555", color),
            },
            label: session.sequence.clone().unwrap_or_else(|| "-".to_owned()),
            title: format!(
                "{} {}: {} – {} ({})",
                t.sequence,
                session.sequence.as_deref().unwrap_or("-"),
                when(session.start),
                when(session.end),
                session.state.name()
            ),
        });
    }
    let lanes = lane_ends.len().max(1);
    let height = 8.0 + LANE_HEIGHT * lanes as f64 + 24.0;
    let ticks = (0..=4)
        .map(|i| {
            let at = from + (to - from) * i / 4;
            Tick {
                x: PLOT_LEFT + (at - from) as f64 * scale,
                y: height - 6.0,
                text: when(Some(at)),
                anchor: match i {
                    0 => "start",
                    4 => "end",
                    _ => "middle",
                },
            }
        })
        .collect();
    let template = StreamPage {
        lang: lang.name(),
        t,
        langs: Lang::ALL
            .iter()
            .map(|&l| LangLink {
                name: l.name(),
                href: stream_href(stream, l),
                current: l == lang,
            })
            .collect(),
        stream: &stream.stream,
        app: &stream.app,
        domain: &stream.domain,
        back: format!("/?lang={}", lang.name()),
        spans,
        ticks,
        lanes,
        rows: sessions.iter().map(|s| row(s, lang, t)).collect(),
        width: CHART_WIDTH,
        height,
    };
    template
        .render()
        .map_err(|e| RenderError::Template(e.to_string()))
}

/// The language of a request: `lang=` in its query, else its `Accept-Language` header (the
/// first language the page has, by preference), else English.
///
/// # Example
/// ```
/// use tencent_css_errcode::Lang;
/// use tencent_css_errcode::page::language;
/// assert_eq!(language(None, Some("de-DE, ko-KR;q=0.9, zh;q=0.8")), Lang::Ko);
/// ```
pub fn language(query: Option<Lang>, accept_language: Option<&str>) -> Lang {
    text::negotiate(query, accept_language)
}
