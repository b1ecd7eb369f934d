//! serde_json deserialization of `Interruption`, `Reason` and `Category` from arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tencent_css_errcode::{Category, Interruption, Reason, decode};

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = serde_json::from_slice::<Interruption>(data) {
        // Whatever was accepted is exactly what its codes decode to, and survives a round trip.
        assert_eq!(d, decode(d.errcode(), d.sub_errcode()));
        let text = serde_json::to_vec(&d).unwrap();
        assert_eq!(serde_json::from_slice::<Interruption>(&text).unwrap(), d);
    }
    if let Ok(r) = serde_json::from_slice::<Reason>(data) {
        assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.name()));
    }
    if let Ok(c) = serde_json::from_slice::<Category>(data) {
        assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.name()));
    }
});
