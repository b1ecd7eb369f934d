//! Published names and code pairs never change. `tests/snapshots/reasons.txt` lists every
//! `Reason` as `name errcode/sub_errcode`; removing or renumbering one fails here, and adding a
//! row means adding its line to the snapshot on purpose.

use std::collections::BTreeMap;

use tencent_css_errcode::Reason;

fn snapshot() -> BTreeMap<String, String> {
    include_str!("snapshots/reasons.txt")
        .lines()
        .map(|line| {
            let (name, pair) = line.split_once(' ').expect("`name errcode/sub_errcode`");
            (name.to_owned(), pair.to_owned())
        })
        .collect()
}

#[test]
fn published_reasons_keep_their_names_and_codes() {
    let published = snapshot();
    let current: BTreeMap<String, String> = Reason::ALL
        .iter()
        .map(|r| {
            (
                r.name().to_owned(),
                format!("{}/{}", r.errcode(), r.sub_errcode()),
            )
        })
        .collect();

    let mut problems = Vec::new();
    for (name, pair) in &published {
        match current.get(name) {
            None => problems.push(format!(
                "`{name}` ({pair}) was removed: deprecate it instead"
            )),
            Some(now) if now != pair => {
                problems.push(format!("`{name}` was renumbered from {pair} to {now}"))
            }
            Some(_) => {}
        }
    }
    for (name, pair) in &current {
        if !published.contains_key(name) {
            problems.push(format!(
                "`{name}` ({pair}) is new: add `{name} {pair}` to tests/snapshots/reasons.txt"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_all_lists_are_slices() {
    // A new row, category or language must not change these types: they are slices, not
    // arrays whose length is part of the type.
    let reasons: &'static [Reason] = Reason::ALL;
    let categories: &'static [tencent_css_errcode::Category] = tencent_css_errcode::Category::ALL;
    let langs: &'static [tencent_css_errcode::Lang] = tencent_css_errcode::Lang::ALL;
    // Their lengths are not pinned here (table_rows.rs checks the rows): a new row must
    // leave this test passing.
    assert!(!reasons.is_empty() && !categories.is_empty() && !langs.is_empty());
}
