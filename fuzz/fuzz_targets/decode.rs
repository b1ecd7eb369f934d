//! `decode` on arbitrary pairs, checked against an oracle built here from data/codes.tsv.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tencent_css_errcode::decode;

/// (errcode, sub_errcode) -> (name, category), straight from the table.
fn table() -> &'static BTreeMap<(u32, u32), (String, String)> {
    static TABLE: OnceLock<BTreeMap<(u32, u32), (String, String)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("../../data/codes.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("errcode\t") && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                ((f[0].parse().unwrap(), f[1].parse().unwrap()), (f[2].to_owned(), f[3].to_owned()))
            })
            .collect()
    })
}

/// The fallback rules, in the words of `decode`'s documentation.
fn oracle_category(errcode: u32, sub: u32) -> String {
    let table = table();
    if let Some((_, category)) = table.get(&(errcode, sub)) {
        return category.clone();
    }
    let of_errcode: BTreeSet<&str> = table
        .iter()
        .filter(|((e, _), _)| *e == errcode)
        .map(|(_, (_, c))| c.as_str())
        .collect();
    if of_errcode.len() == 1 {
        return of_errcode.into_iter().next().unwrap().to_owned();
    }
    if errcode == 18 {
        let of_block: BTreeSet<&str> = table
            .iter()
            .filter(|((e, s), _)| *e == 18 && s / 100 == sub / 100)
            .map(|(_, (_, c))| c.as_str())
            .collect();
        return if of_block.len() == 1 { of_block.into_iter().next().unwrap().to_owned() } else { "refused".to_owned() };
    }
    "unknown".to_owned()
}

fuzz_target!(|data: [u8; 8]| {
    let errcode = u32::from_le_bytes(data[..4].try_into().unwrap());
    let sub = u32::from_le_bytes(data[4..].try_into().unwrap());
    let d = decode(errcode, sub);
    assert_eq!((d.errcode(), d.sub_errcode()), (errcode, sub));
    assert_eq!(d.reason().map(|r| r.name()), table().get(&(errcode, sub)).map(|(n, _)| n.as_str()));
    assert_eq!(d.category().name(), oracle_category(errcode, sub));
    // Small codes matter most: check the neighbourhood that real payloads use too.
    let small = decode(errcode % 64, sub % 1024);
    assert_eq!(small.category().name(), oracle_category(errcode % 64, sub % 1024));
});
