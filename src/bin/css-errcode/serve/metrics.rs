//! What `GET /metrics` shows, in Prometheus' text format. Label sets are bounded: outcomes and
//! categories are fixed lists, and an errcode is a label only when the table lists it.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tencent_css_errcode::{Basis, Interruption};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamEnd {
    category: String,
    errcode: String,
}

/// Why a callback got the answer it got.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Accepted,
    Duplicate,
    BadSignature,
    Expired,
    Malformed,
    Ignored,
    /// Not written: the data directory failed (503, Tencent retries).
    Unstored,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Accepted => "accepted",
            Kind::Duplicate => "duplicate",
            Kind::BadSignature => "bad_signature",
            Kind::Expired => "expired",
            Kind::Malformed => "malformed",
            Kind::Ignored => "ignored",
            Kind::Unstored => "unstored",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    callbacks: Family<Outcome, Counter>,
    stream_ends: Family<StreamEnd, Counter>,
    push_starts: Counter,
    stored: Histogram,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let callbacks = Family::<Outcome, Counter>::default();
        registry.register(
            "css_callbacks",
            "Callbacks received, by outcome",
            callbacks.clone(),
        );
        let stream_ends = Family::<StreamEnd, Counter>::default();
        registry.register(
            "css_stream_ends",
            "Stream ends accepted, by category and errcode (unlisted errcodes as `unlisted`)",
            stream_ends.clone(),
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
            "Time from receiving an accepted callback to its fsync",
            stored.clone(),
        );
        // Every outcome shows from the start, at 0.
        for kind in [
            Kind::Accepted,
            Kind::Duplicate,
            Kind::BadSignature,
            Kind::Expired,
            Kind::Malformed,
            Kind::Ignored,
            Kind::Unstored,
        ] {
            drop(callbacks.get_or_create(&Outcome {
                outcome: kind.name().to_owned(),
            }));
        }
        Metrics {
            registry,
            callbacks,
            stream_ends,
            push_starts,
            stored,
        }
    }

    pub fn callback(&self, kind: Kind) {
        self.callbacks
            .get_or_create(&Outcome {
                outcome: kind.name().to_owned(),
            })
            .inc();
    }

    pub fn stream_end(&self, interruption: Interruption) {
        let errcode = interruption.errcode();
        // An errcode with no listed row would make a label per number a sender invents.
        let listed = interruption.basis() != Basis::NoListedRow;
        self.stream_ends
            .get_or_create(&StreamEnd {
                category: interruption.category().name().to_owned(),
                errcode: if listed {
                    errcode.to_string()
                } else {
                    "unlisted".to_owned()
                },
            })
            .inc();
    }

    pub fn push_start(&self) {
        self.push_starts.inc();
    }

    pub fn stored(&self, seconds: f64) {
        self.stored.observe(seconds);
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
