//! Typed CSS events: the stream callback Tencent POSTs to your server, its signature, and the
//! interruption records of the DescribeLiveStreamEventList cloud API.
//!
//! Needs the `events` feature.
//!
//! A stream-end callback carries an `errcode` but no `sub_errcode`;
//! [`StreamEvent::interruption`] decodes it as `decode(errcode, 0)`, so errcode 18 reads as
//! [`Category::Refused`](crate::Category::Refused) and 21 as
//! [`Category::Requested`](crate::Category::Requested) by the fallback rules.
//!
//! # Example
//! ```
//! use tencent_css_errcode::Category;
//! use tencent_css_errcode::events::{StreamEvent, sign};
//!
//! let key = "callback-key";
//! let t = 1_700_000_600;
//! let body = format!(
//!     r#"{{"t":{t},"sign":"{sign}","event_type":0,"appid":1250000000,"app":"push.example.com",
//!         "appname":"live","stream_id":"room42","event_time":1700000000,"sequence":"6674468118806626493",
//!         "push_duration":"61000","errcode":12,"errmsg":"push link network error"}}"#,
//!     sign = sign(key, t),
//! );
//! let event: StreamEvent = serde_json::from_str(&body)?;
//! event.verify(key, 1_700_000_100)?;
//! let interruption = event.interruption().expect("a stream-end event");
//! assert_eq!(interruption.category(), Category::Network);
//! assert_eq!(event.push_duration().map(|d| d.as_secs()), Some(61));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod block;
mod callback;
mod dedupe;
mod event_list;
mod lenient;
mod line;
mod reader;
mod record;
mod scan;
mod signature;
mod stop_reason;

pub use block::{Block, BlockLines, BlockReader, DEFAULT_LINE_LIMIT};
pub(crate) use callback::callback_key;
pub use callback::{Callback, EventError, EventKind, OtherCallback, StreamEvent};
pub use dedupe::{Deduper, Verdict};
pub use event_list::{
    EventListResponse, StreamEventInfo, TimeError, format_utc_time, parse_utc_time,
};
pub use line::{ApiError, Line, LineError, RecordLine};
pub use reader::{LineReader, NumberedLine};
pub use record::{DedupeKey, Record, RecordArena, Source};
pub use signature::{SignatureError, sign};
pub use stop_reason::Cause;

pub(crate) use line::trimmed;
