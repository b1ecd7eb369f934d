//! Checks the crate against `data/codes.tsv`, parsed here independently of build.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use proptest::prelude::*;
use tencent_css_errcode::{Category, Interruption, Lang, Reason, decode};

struct Row {
    errcode: u32,
    sub_errcode: u32,
    name: String,
    category: String,
    en: String,
    zh: String,
    ko: String,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/codes.tsv"))
        .expect("read data/codes.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1) // header
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 8, "{line}");
            Row {
                errcode: f[0].parse().unwrap(),
                sub_errcode: f[1].parse().unwrap(),
                name: f[2].to_owned(),
                category: f[3].to_owned(),
                en: f[4].to_owned(),
                zh: f[5].to_owned(),
                ko: f[6].to_owned(),
            }
        })
        .collect()
}

/// The fallback rules of `decode`'s docs, written out from the rows.
fn oracle_category(rows: &[Row], errcode: u32, sub_errcode: u32) -> String {
    if let Some(row) = rows
        .iter()
        .find(|r| (r.errcode, r.sub_errcode) == (errcode, sub_errcode))
    {
        return row.category.clone();
    }
    let same_errcode: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.errcode == errcode)
        .map(|r| r.category.as_str())
        .collect();
    if same_errcode.len() == 1 {
        return same_errcode.into_iter().next().unwrap().to_owned();
    }
    if errcode == 18 {
        let same_block: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.errcode == 18 && r.sub_errcode / 100 == sub_errcode / 100)
            .map(|r| r.category.as_str())
            .collect();
        if same_block.len() == 1 {
            return same_block.into_iter().next().unwrap().to_owned();
        }
        return "refused".to_owned();
    }
    "unknown".to_owned()
}

#[test]
fn the_table_has_the_seventy_documented_rows() {
    let rows = rows();
    assert_eq!(rows.len(), 70);
    assert_eq!(Reason::ALL.len(), 70);
    let pairs: BTreeSet<(u32, u32)> = rows.iter().map(|r| (r.errcode, r.sub_errcode)).collect();
    assert_eq!(pairs.len(), 70);
    // The documented range: errcodes 0..=39, with sub-codes only under 18 and 21.
    for (e, s) in &pairs {
        assert!(*e <= 39);
        assert!(*s == 0 || *e == 18 || *e == 21, "{e}/{s}");
    }
}

#[test]
fn every_row_matches_the_crate() {
    let rows = rows();
    for (index, row) in rows.iter().enumerate() {
        let pair = format!("{}/{}", row.errcode, row.sub_errcode);
        let decoded = decode(row.errcode, row.sub_errcode);
        let reason = decoded
            .reason()
            .unwrap_or_else(|| panic!("{pair} not decoded"));
        assert_eq!(Reason::ALL[index], reason, "{pair}: table order");
        assert_eq!(
            Reason::from_codes(row.errcode, row.sub_errcode),
            Some(reason)
        );
        assert_eq!(
            (reason.errcode(), reason.sub_errcode()),
            (row.errcode, row.sub_errcode)
        );
        assert_eq!(
            (decoded.errcode(), decoded.sub_errcode()),
            (row.errcode, row.sub_errcode)
        );
        assert_eq!(reason.name(), row.name, "{pair}");
        assert_eq!(<&'static str>::from(reason), row.name, "{pair}");
        assert_eq!(reason.to_string(), row.name, "{pair}");
        assert_eq!(Reason::from_str(&row.name), Ok(reason), "{pair}");
        assert_eq!(reason.category().name(), row.category, "{pair}");
        assert_eq!(decoded.category(), reason.category(), "{pair}");
        assert_eq!(reason.description(), row.en, "{pair}");
        assert_eq!(reason.message(Lang::En), row.en, "{pair}");
        assert_eq!(reason.message(Lang::Zh), row.zh, "{pair}");
        assert_eq!(reason.message(Lang::Ko), row.ko, "{pair}");
        assert_eq!(decoded.message(Lang::Zh), row.zh, "{pair}");
        assert_eq!(decoded.description(), row.en, "{pair}");
        assert_eq!(Interruption::from(reason), decoded);
    }
}

#[test]
fn all_and_iter_agree_and_are_sorted_by_codes() {
    let pairs: Vec<(u32, u32)> = Reason::ALL
        .iter()
        .map(|r| (r.errcode(), r.sub_errcode()))
        .collect();
    let mut sorted = pairs.clone();
    sorted.sort();
    assert_eq!(pairs, sorted);
    let mut by_ord = Reason::ALL.to_vec();
    by_ord.sort();
    assert_eq!(by_ord, Reason::ALL, "Ord follows table order");
}

#[test]
fn categories_are_the_issue_table() {
    // Written out independently of data/, from the crate's specification.
    let expected: &[(Category, &[(u32, u32)])] = &[
        (
            Category::ClientClosed,
            &[(1, 0), (2, 0), (3, 0), (4, 0), (35, 0)],
        ),
        (
            Category::Requested,
            &[(10, 0), (21, 100), (21, 101), (21, 102), (21, 103)],
        ),
        (
            Category::Network,
            &[(12, 0), (13, 0), (14, 0), (15, 0), (16, 0), (17, 0)],
        ),
        (
            Category::Internal,
            &[
                (5, 0),
                (9, 0),
                (11, 0),
                (18, 100),
                (18, 101),
                (18, 102),
                (18, 103),
                (18, 104),
                (24, 0),
                (38, 0),
            ],
        ),
        (Category::Idle, &[(8, 0), (20, 0), (37, 0)]),
        (
            Category::StreamData,
            &[(6, 0), (7, 0), (23, 0), (33, 0), (39, 0)],
        ),
        (
            Category::Account,
            &[(18, 200), (18, 201), (18, 202), (18, 203)],
        ),
        (
            Category::PushUrl,
            &[
                (18, 300),
                (18, 301),
                (18, 302),
                (18, 303),
                (18, 304),
                (18, 305),
                (18, 306),
                (18, 307),
                (18, 308),
                (18, 309),
            ],
        ),
        (Category::AccessControl, &[(18, 400), (18, 401)]),
        (
            Category::Auth,
            &[(18, 500), (18, 501), (18, 502), (18, 503), (19, 0)],
        ),
        (Category::Limit, &[(18, 600), (18, 601), (18, 602)]),
        (Category::Refused, &[]),
        (
            Category::Unknown,
            &[
                (0, 0),
                (22, 0),
                (25, 0),
                (26, 0),
                (27, 0),
                (28, 0),
                (29, 0),
                (30, 0),
                (31, 0),
                (32, 0),
                (34, 0),
                (36, 0),
            ],
        ),
    ];
    let mut seen = 0;
    for (category, pairs) in expected {
        let actual: Vec<(u32, u32)> = Reason::ALL
            .iter()
            .filter(|r| r.category() == *category)
            .map(|r| (r.errcode(), r.sub_errcode()))
            .collect();
        assert_eq!(actual, *pairs, "{category}");
        seen += pairs.len();
    }
    assert_eq!(seen, 70);
}

#[test]
fn corrected_korean_rows_keep_the_seed_text_in_the_note() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/codes.tsv")).unwrap();
    let note_of = |pair: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(pair))
            .map(|l| l.split('\t').nth(7).unwrap().to_owned())
            .unwrap()
    };
    for (pair, seed) in [
        (
            "18\t305\t",
            "푸시 스트림의 스트림 이름에 부적절한 문자가 포함되어 있음",
        ),
        ("21\t100\t", "클라이언트에서 호출한 스트리밍 중단 요청 수신"),
        ("21\t101\t", "클라이언트가 호출한 재생 금지 요청 수신"),
    ] {
        assert!(note_of(pair).contains(seed), "{pair}");
    }
    assert_ne!(
        Reason::StreamNameBanned.message(Lang::Ko),
        Reason::StreamNameInvalidChars.message(Lang::Ko)
    );
    assert!(!Reason::PushBanRequested.message(Lang::Ko).contains("재생"));
    assert!(note_of("39\t0\t").contains("mbiguous"));
    assert_eq!(
        Reason::FrameRateExceeded.message(Lang::Ko),
        "푸시 프레임 레이트가 시스템에 허용된 최대값을 초과"
    );
}

#[test]
fn fallback_examples_from_the_docs() {
    for (e, s, category) in [
        (1, 7, Category::ClientClosed),
        (21, 0, Category::Requested),
        (18, 310, Category::PushUrl),
        (18, 0, Category::Refused),
        (18, 999, Category::Refused),
        (18, 700, Category::Refused),
        (18, 105, Category::Internal),
        (99, 0, Category::Unknown),
        (u32::MAX, u32::MAX, Category::Unknown),
    ] {
        let d = decode(e, s);
        assert_eq!(d.reason(), None, "{e}/{s}");
        assert_eq!(d.category(), category, "{e}/{s}");
        assert_eq!(d.description(), category.description());
        assert_eq!(d.message(Lang::Ko), category.message(Lang::Ko));
    }
}

#[test]
fn exhaustive_small_codes_follow_the_rules() {
    let rows = rows();
    let listed: BTreeMap<(u32, u32), &str> = rows
        .iter()
        .map(|r| ((r.errcode, r.sub_errcode), r.name.as_str()))
        .collect();
    let mut subs: BTreeSet<u32> = (0..=1023).collect();
    subs.extend(rows.iter().map(|r| r.sub_errcode));
    // Cache the oracle per (errcode, block) for unlisted pairs: it depends on nothing else.
    let mut cache: BTreeMap<(u32, u32), String> = BTreeMap::new();
    let mut checked = 0u64;
    for errcode in 0..=1023u32 {
        for &sub in &subs {
            let d = decode(errcode, sub);
            assert_eq!((d.errcode(), d.sub_errcode()), (errcode, sub));
            match listed.get(&(errcode, sub)) {
                Some(name) => assert_eq!(d.reason().map(Reason::name), Some(*name)),
                None => {
                    assert_eq!(d.reason(), None, "{errcode}/{sub}");
                    let expected = cache
                        .entry((errcode, sub / 100))
                        .or_insert_with(|| oracle_category(&rows, errcode, sub));
                    assert_eq!(d.category().name(), expected, "{errcode}/{sub}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 1024 * subs.len() as u64);
}

#[test]
fn category_names_round_trip() {
    assert_eq!(Category::ALL.len(), 13);
    for &category in Category::ALL {
        assert_eq!(category.name().parse::<Category>(), Ok(category));
        assert_eq!(<&'static str>::from(category), category.name());
        assert_eq!(category.to_string(), category.name());
        assert!(!category.description().is_empty() && !category.action().is_empty());
        for &lang in Lang::ALL {
            assert!(!category.message(lang).is_empty());
        }
    }
    let retryable: Vec<Category> = Category::ALL
        .iter()
        .copied()
        .filter(|c| c.retryable())
        .collect();
    assert_eq!(
        retryable,
        [
            Category::Network,
            Category::Internal,
            Category::Idle,
            Category::Unknown
        ]
    );
    let intentional: Vec<Category> = Category::ALL
        .iter()
        .copied()
        .filter(|c| c.is_intentional())
        .collect();
    assert_eq!(intentional, [Category::ClientClosed, Category::Requested]);
}

#[test]
fn parse_errors_name_the_input() {
    let err = "no_such_reason".parse::<Reason>().unwrap_err();
    assert_eq!(err.to_string(), "unknown reason name `no_such_reason`");
    let err = "Account".parse::<Category>().unwrap_err();
    assert_eq!(err.to_string(), "unknown category name `Account`");
    assert_eq!(err.kind(), "category");
    let err = "fr".parse::<Lang>().unwrap_err();
    assert_eq!(err.to_string(), "unknown language name `fr`");
    let long = "é".repeat(40);
    let err = long.parse::<Reason>().unwrap_err();
    assert!(err.is_truncated());
    assert_eq!(err.input(), "é".repeat(24));
    assert!(err.to_string().ends_with("…`"));
}

#[test]
fn display_shows_codes_name_and_text() {
    assert_eq!(
        decode(18, 503).to_string(),
        format!(
            "18/503 tx_secret_mismatch: {}",
            Reason::TxSecretMismatch.description()
        )
    );
    assert_eq!(
        decode(99, 1).to_string(),
        format!(
            "99/1 unlisted (unknown): {}",
            Category::Unknown.description()
        )
    );
    let boxed: Box<dyn std::error::Error> = Box::new(decode(18, 202));
    assert!(boxed.to_string().starts_with("18/202 account_overdue"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn decode_is_total_over_u32(
        errcode in prop_oneof![0..48u32, any::<u32>()],
        sub in prop_oneof![0..1100u32, any::<u32>()],
    ) {
        let d = decode(errcode, sub);
        prop_assert_eq!((d.errcode(), d.sub_errcode()), (errcode, sub));
        match d.reason() {
            Some(r) => {
                prop_assert_eq!((r.errcode(), r.sub_errcode()), (errcode, sub));
                prop_assert_eq!(d.category(), r.category());
            }
            None => {
                let expected = if errcode == 18 {
                    match sub / 100 {
                        1 => Category::Internal, 2 => Category::Account, 3 => Category::PushUrl,
                        4 => Category::AccessControl, 5 => Category::Auth, 6 => Category::Limit,
                        _ => Category::Refused,
                    }
                } else if errcode > 39 {
                    Category::Unknown
                } else {
                    decode(errcode, Reason::ALL.iter().find(|r| r.errcode() == errcode).unwrap().sub_errcode()).category()
                };
                prop_assert_eq!(d.category(), expected);
            }
        }
    }

    #[test]
    fn listed_pairs_with_a_wild_neighbour(index in 0..70usize, delta in 1..u32::MAX) {
        let r = Reason::ALL[index];
        let d = decode(r.errcode(), r.sub_errcode().wrapping_add(delta));
        prop_assert!(d.reason() != Some(r));
    }
}
