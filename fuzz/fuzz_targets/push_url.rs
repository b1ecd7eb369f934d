//! `PushUrl::parse` on arbitrary text: never panics, and what it accepts displays back to a URL
//! that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tencent_css_errcode::push_url::PushUrl;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(url) = PushUrl::parse(text) {
        let shown = url.to_string();
        let again = PushUrl::parse(&shown).unwrap_or_else(|e| panic!("{shown:?} does not parse: {e}"));
        assert_eq!(again, url);
        let _ = url.preflight(Some("key"), 1_700_000_000);
        let signed = url.sign("key", 1_800_000_000).expect("a positive expiry signs");
        assert!(signed.preflight(Some("key"), 1_700_000_000).iter().all(|f| f.reason().map_or(true, |r| r.sub_errcode() / 100 == 3)));
    }
});
