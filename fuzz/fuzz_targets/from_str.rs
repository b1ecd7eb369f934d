//! `Reason::from_str` and `Category::from_str` on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tencent_css_errcode::{Category, Reason};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match text.parse::<Reason>() {
        Ok(reason) => assert_eq!(reason.name(), text),
        Err(err) => {
            assert!(Reason::ALL.iter().all(|r| r.name() != text));
            assert!(text.starts_with(err.input()));
            assert_eq!(err.is_truncated(), err.input().len() < text.len());
        }
    }
    match text.parse::<Category>() {
        Ok(category) => assert_eq!(category.name(), text),
        Err(err) => {
            assert!(Category::ALL.iter().all(|c| c.name() != text));
            assert!(text.starts_with(err.input()));
        }
    }
});
