//! The line reader on arbitrary bytes: callbacks, response pages and API errors; and the
//! callback scanner (the fast path of `Callback::parse`) against serde on every input, as the
//! scanner's proptest does: a body serde reads as a stream event is read to the same event,
//! and a stream event read from a body is what serde reads from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tencent_css_errcode::decode;
use tencent_css_errcode::events::{Callback, EventKind, Line, StreamEvent};

fuzz_target!(|data: &[u8]| {
    let parsed = Callback::parse(data);
    if let Ok(event) = serde_json::from_slice::<StreamEvent>(data) {
        assert_eq!(parsed.as_ref().ok(), Some(&Callback::Stream(event)));
    }
    if let Ok(Callback::Stream(event)) = &parsed {
        // `Callback::parse` drops a byte order mark and the ASCII white space around the body.
        let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data).trim_ascii();
        assert_eq!(serde_json::from_slice::<StreamEvent>(body).as_ref().ok(), Some(event));
    }
    match Line::parse(data) {
        Ok(Some(Line::Callback(event))) => {
            // Whatever is accepted is self-consistent.
            let record = event.record();
            assert_eq!(record.key, event.dedupe_key());
            match event.kind {
                EventKind::StreamEnd => {
                    let errcode = event.errcode.expect("a stream-end event has an errcode");
                    assert_eq!(event.interruption(), Some(decode(errcode, 0)));
                    assert!(record.cause.is_some());
                }
                _ => assert_eq!(event.interruption(), None),
            }
            let _ = event.verify("key", 0);
        }
        Ok(Some(Line::Page(page))) => {
            for info in page.events() {
                let cause = info.cause();
                if let Some(i) = cause.interruption() {
                    assert_eq!(i, decode(i.errcode(), i.sub_errcode()));
                    assert_eq!(cause.category(), i.category());
                }
                assert_eq!(cause.text(), info.stop_reason);
                let _ = (info.record(), info.start_time_unix(), info.client_address(), info.frame_size());
            }
        }
        Ok(Some(Line::ApiError(error))) => {
            let _ = error.to_string();
        }
        Ok(_) => {}
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
