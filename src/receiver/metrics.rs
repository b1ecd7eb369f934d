//! What `GET /metrics` shows, in Prometheus' text format. Label sets are bounded: outcomes and
//! categories are fixed lists, and an errcode is a label only when the table lists it.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::Outcome;
use crate::events::EventKind;
use crate::{Basis, Interruption};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabel {
    category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamEnd {
    category: &'static str,
    errcode: String,
}

pub(super) struct Metrics {
    registry: Registry,
    callbacks: Family<OutcomeLabel, Counter>,
    stream_ends: Family<StreamEnd, Counter>,
    sessions_ended: Family<CategoryLabel, Counter>,
    push_starts: Counter,
    stored: Histogram,
    waiting: Gauge,
    healthy: Gauge,
    live: Gauge,
    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    reconciliations: Family<OutcomeLabel, Counter>,
    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    lost: Counter,
}

impl Metrics {
    pub(super) fn new() -> Self {
        let mut registry = Registry::default();
        let callbacks = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "css_callbacks",
            "Requests to the callback path, by outcome",
            callbacks.clone(),
        );
        let stream_ends = Family::<StreamEnd, Counter>::default();
        registry.register(
            "css_stream_ends",
            "Stream ends accepted, by category and errcode (unlisted errcodes as `unlisted`)",
            stream_ends.clone(),
        );
        let sessions_ended = Family::<CategoryLabel, Counter>::default();
        registry.register(
            "css_sessions_ended",
            "Pushes whose end was kept, by the category of their cause",
            sessions_ended.clone(),
        );
        let push_starts = Counter::default();
        registry.register(
            "css_push_starts",
            "Push starts accepted",
            push_starts.clone(),
        );
        // 0.1 ms to about 3 s.
        let stored = Histogram::new(exponential_buckets(0.000_1, 2.0, 16));
        registry.register(
            "css_store_seconds",
            "Time from handing a callback to the store to its commit",
            stored.clone(),
        );
        let waiting = Gauge::default();
        registry.register(
            "css_store_waiting",
            "Callbacks waiting for the store's writer",
            waiting.clone(),
        );
        let healthy = Gauge::default();
        registry.register(
            "css_store_healthy",
            "1 while the store commits, 0 after a failed commit until it recovers",
            healthy.clone(),
        );
        let live = Gauge::default();
        registry.register(
            "css_streams_live",
            "Streams on the air: pushes started and not ended, as the store holds them",
            live.clone(),
        );
        let reconciliations = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "css_reconciliations",
            "Polls of DescribeLiveStreamOnlineList, by outcome (ok, failed)",
            reconciliations.clone(),
        );
        let lost = Counter::default();
        registry.register(
            "css_pushes_end_not_received",
            "Open pushes ended because the API stopped listing their stream (end not received)",
            lost.clone(),
        );
        // Every outcome shows from the start, at 0.
        for outcome in ["ok", "failed"] {
            drop(reconciliations.get_or_create(&OutcomeLabel { outcome }));
        }
        for outcome in Outcome::ALL {
            drop(callbacks.get_or_create(&OutcomeLabel {
                outcome: outcome.name(),
            }));
        }
        Metrics {
            registry,
            callbacks,
            stream_ends,
            sessions_ended,
            push_starts,
            stored,
            waiting,
            healthy,
            live,
            reconciliations,
            lost,
        }
    }

    /// One poll of the API: taken into the store (with the pushes it found lost), or failed.
    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    pub(super) fn reconciled(&self, lost: Option<u64>) {
        self.reconciliations
            .get_or_create(&OutcomeLabel {
                outcome: if lost.is_some() { "ok" } else { "failed" },
            })
            .inc();
        if let Some(lost) = lost {
            self.lost.inc_by(lost);
        }
    }

    pub(super) fn outcome(&self, outcome: Outcome) {
        self.callbacks
            .get_or_create(&OutcomeLabel {
                outcome: outcome.name(),
            })
            .inc();
    }

    /// A newly kept row: its kind and cause, and how long the store took.
    pub(super) fn kept(&self, kind: EventKind, interruption: Option<Interruption>, seconds: f64) {
        self.stored.observe(seconds);
        match (kind, interruption) {
            (EventKind::PushStart, _) => {
                self.push_starts.inc();
            }
            (_, Some(interruption)) => self.stream_end(interruption),
            _ => {}
        }
    }

    fn stream_end(&self, interruption: Interruption) {
        self.sessions_ended
            .get_or_create(&CategoryLabel {
                category: interruption.category().name(),
            })
            .inc();
        // An errcode with no listed row would make a label per number a sender invents.
        let listed = interruption.basis() != Basis::NoListedRow;
        self.stream_ends
            .get_or_create(&StreamEnd {
                category: interruption.category().name(),
                errcode: if listed {
                    interruption.errcode().to_string()
                } else {
                    "unlisted".to_owned()
                },
            })
            .inc();
    }

    /// The text; `live` is `None` when the store could not be read, and the gauge keeps its
    /// last value.
    pub(super) fn text(&self, waiting: u64, healthy: bool, live: Option<usize>) -> String {
        self.waiting.set(i64::try_from(waiting).unwrap_or(i64::MAX));
        self.healthy.set(i64::from(healthy));
        if let Some(live) = live {
            self.live.set(i64::try_from(live).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
