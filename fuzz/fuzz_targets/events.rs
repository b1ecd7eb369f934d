//! The line reader on arbitrary bytes: callbacks, response pages and API errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tencent_css_errcode::decode;
use tencent_css_errcode::events::{EventKind, Line};

fuzz_target!(|data: &[u8]| {
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
