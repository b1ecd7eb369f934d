//! Serde round trips and rejections (needs `--features serde`).
#![cfg(feature = "serde")]

use proptest::prelude::*;
use serde_json::json;
use tencent_css_errcode::{Category, Interruption, Lang, Reason, decode};

#[test]
fn interruption_has_the_documented_shape() {
    assert_eq!(
        serde_json::to_value(decode(18, 202)).unwrap(),
        json!({"errcode": 18, "sub_errcode": 202, "reason": "account_overdue", "category": "account"})
    );
    assert_eq!(
        serde_json::to_value(decode(18, 0)).unwrap(),
        json!({"errcode": 18, "sub_errcode": 0, "reason": null, "category": "refused"})
    );
}

#[test]
fn interruption_deserializes_from_codes() {
    let d: Interruption = serde_json::from_str(r#"{"errcode":18,"sub_errcode":503}"#).unwrap();
    assert_eq!(d, decode(18, 503));
    let d: Interruption = serde_json::from_str(r#"{"errcode":21}"#).unwrap();
    assert_eq!(d, decode(21, 0));
    let d: Interruption = serde_json::from_str(
        r#"{"errcode":18,"sub_errcode":0,"reason":null,"category":"refused","extra":1}"#,
    )
    .unwrap();
    assert_eq!(d, decode(18, 0));
}

#[test]
fn interruption_rejects_contradictions_and_bad_codes() {
    let err = serde_json::from_str::<Interruption>(
        r#"{"errcode":18,"sub_errcode":202,"reason":"tx_time_expired"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "reason `tx_time_expired` does not match code pair 18/202, which is `account_overdue`"
        ),
        "{err}"
    );
    let err = serde_json::from_str::<Interruption>(
        r#"{"errcode":18,"sub_errcode":0,"reason":"account_overdue"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("which is not listed"), "{err}");
    let err = serde_json::from_str::<Interruption>(r#"{"errcode":18,"category":"auth"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("category `auth` does not match code pair 18/0, which is `refused`"),
        "{err}"
    );
    let err = serde_json::from_str::<Interruption>(r#"{"errcode":-1}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("-1"), "{err}");
    let err = serde_json::from_str::<Interruption>(r#"{"sub_errcode":1}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing field `errcode`"), "{err}");
    let err = serde_json::from_str::<Interruption>(r#"{"errcode":1,"reason":"nope"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"nope\""), "{err}");
}

#[test]
fn names_round_trip_and_bad_names_are_named() {
    for &reason in Reason::ALL {
        let text = serde_json::to_string(&reason).unwrap();
        assert_eq!(text, format!("\"{}\"", reason.name()));
        assert_eq!(serde_json::from_str::<Reason>(&text).unwrap(), reason);
    }
    for &category in Category::ALL {
        let text = serde_json::to_string(&category).unwrap();
        assert_eq!(text, format!("\"{}\"", category.name()));
        assert_eq!(serde_json::from_str::<Category>(&text).unwrap(), category);
    }
    for &lang in Lang::ALL {
        let text = serde_json::to_string(&lang).unwrap();
        assert_eq!(serde_json::from_str::<Lang>(&text).unwrap(), lang);
    }
    let err = serde_json::from_str::<Category>("\"pushurl\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid value: string \"pushurl\", expected a category name"),
        "{err}"
    );
    let err = serde_json::from_str::<Reason>("7").unwrap_err().to_string();
    assert!(err.contains("expected a reason name"), "{err}");
    // Escaped strings (not borrowable from the input) work too.
    assert_eq!(
        serde_json::from_str::<Category>("\"\\u0061uth\"").unwrap(),
        Category::Auth
    );
}

proptest! {
    #[test]
    fn interruption_round_trips(errcode in prop_oneof![0..40u32, any::<u32>()], sub in prop_oneof![0..700u32, any::<u32>()]) {
        let d = decode(errcode, sub);
        let text = serde_json::to_string(&d).unwrap();
        prop_assert_eq!(serde_json::from_str::<Interruption>(&text).unwrap(), d);
    }
}
