//! `StreamEvent` and `EventListResponse` deserialization from arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tencent_css_errcode::decode;
use tencent_css_errcode::events::{EventKind, EventListResponse, StreamEvent};

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = serde_json::from_slice::<StreamEvent>(data) {
        // Whatever is accepted is self-consistent.
        match event.kind {
            EventKind::StreamEnd => {
                let errcode = event.errcode.expect("a stream-end event has an errcode");
                assert_eq!(event.interruption(), Some(decode(errcode, 0)));
            }
            EventKind::PushStart => assert_eq!(event.interruption(), None),
        }
        let _ = event.verify("key", 0);
        let _ = event.dedupe_key().to_string();
    }
    if let Ok(page) = serde_json::from_slice::<EventListResponse>(data) {
        for record in page.events() {
            if let Some(i) = record.interruption() {
                assert_eq!(i, decode(i.errcode(), i.sub_errcode()));
            }
            let _ = (record.start_time_unix(), record.end_time_unix(), record.client_ip(), record.resolution());
        }
    }
});
