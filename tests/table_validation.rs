//! Every way `data/codes.tsv` can be malformed fails with `file:line: reason`.
//! These run the same parser build.rs runs.

#[allow(dead_code)]
#[path = "../build/table.rs"]
mod table;

use tencent_css_errcode::Category;

const HEADER: &str = "errcode\tsub_errcode\tname\tcategory\tdescription\tzh\tko\tnote";
const GOOD: &str = "18\t202\taccount_overdue\taccount\tIn arrears.\t账号欠费\t계정 연체\t";

/// A table with a comment, the header and a good row, then `extra` on line 4.
fn with_row(extra: &str) -> String {
    format!("# comment\n{HEADER}\n{GOOD}\n{extra}\n")
}

fn error(text: &str) -> String {
    table::parse("data/codes.tsv", text)
        .expect_err("the table must be rejected")
        .to_string()
}

#[test]
fn the_real_table_is_valid() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/codes.tsv")).unwrap();
    let rows = table::parse("data/codes.tsv", &text).unwrap();
    assert_eq!(rows.len(), 70);
    assert_eq!(
        rows[0].line, 7,
        "five comment lines and the header come first"
    );
}

#[test]
fn a_good_row_parses() {
    let rows = table::parse(
        "t.tsv",
        &with_row("21\t102\treplaced_by_new_push\trequested\tx\ty\tz\tnote"),
    )
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].line, 4);
    assert_eq!(rows[1].variant, "ReplacedByNewPush");
    assert_eq!(rows[1].note, "note");
}

#[test]
fn wrong_column_count() {
    assert_eq!(
        error(&with_row("5\t0\tinternal_error_5\tinternal\tx\ty")),
        "data/codes.tsv:4: wrong column count: expected 8 tab-separated columns, found 6"
    );
    assert_eq!(
        error(&with_row(
            "5\t0\tinternal_error_5\tinternal\tx\ty\tz\tn\textra"
        )),
        "data/codes.tsv:4: wrong column count: expected 8 tab-separated columns, found 9"
    );
}

#[test]
fn codes_must_be_non_negative_integers() {
    for (row, message) in [
        (
            "-1\t0\tx\tinternal\tx\ty\tz\t",
            "errcode `-1` is not a non-negative integer that fits in 32 bits",
        ),
        (
            "5\tabc\tx\tinternal\tx\ty\tz\t",
            "sub_errcode `abc` is not a non-negative integer that fits in 32 bits",
        ),
        (
            "+5\t0\tx\tinternal\tx\ty\tz\t",
            "errcode `+5` is not a non-negative integer that fits in 32 bits",
        ),
        (
            "5\t4294967296\tx\tinternal\tx\ty\tz\t",
            "sub_errcode `4294967296` is not a non-negative integer that fits in 32 bits",
        ),
        (
            "\t0\tx\tinternal\tx\ty\tz\t",
            "errcode `` is not a non-negative integer that fits in 32 bits",
        ),
        (
            "1.5\t0\tx\tinternal\tx\ty\tz\t",
            "errcode `1.5` is not a non-negative integer that fits in 32 bits",
        ),
    ] {
        assert_eq!(
            error(&with_row(row)),
            format!("data/codes.tsv:4: {message}")
        );
    }
}

#[test]
fn duplicate_code_pair() {
    assert_eq!(
        error(&with_row("18\t202\tother_name\taccount\tx\ty\tz\t")),
        "data/codes.tsv:4: duplicate code pair 18/202 (first listed on line 3)"
    );
}

#[test]
fn rows_out_of_order() {
    assert_eq!(
        error(&with_row("18\t201\tservice_suspended\taccount\tx\ty\tz\t")),
        "data/codes.tsv:4: code pair 18/201 is out of order: rows are sorted by code pair, \
         and line 3 has 18/202"
    );
}

#[test]
fn duplicate_variant_name() {
    assert_eq!(
        error(&with_row("18\t203\taccount_overdue\taccount\tx\ty\tz\t")),
        "data/codes.tsv:4: duplicate variant name `account_overdue` (first used on line 3)"
    );
    // Different snake_case names that become the same Rust variant.
    let text =
        format!("{HEADER}\n1\t0\tx_1_2\tunknown\ta\tb\tc\t\n2\t0\tx1_2\tunknown\ta\tb\tc\t\n");
    assert_eq!(
        error(&text),
        "data/codes.tsv:3: duplicate variant name `x1_2`: it becomes `X1_2`, as `x_1_2` on line 2 does"
    );
}

#[test]
fn invalid_variant_name() {
    for name in [
        "AccountOverdue",
        "1st",
        "a__b",
        "_a",
        "a_",
        "a-b",
        "",
        "naïve",
        "a b",
    ] {
        let message = error(&with_row(&format!("18\t203\t{name}\taccount\tx\ty\tz\t")));
        assert_eq!(
            message,
            format!(
                "data/codes.tsv:4: invalid variant name `{name}`: use snake_case (ASCII lowercase letters \
                 and digits in words joined by single underscores, starting with a letter)"
            ),
        );
    }
}

#[test]
fn unknown_category() {
    let message = error(&with_row("18\t203\tforced\tbilling\tx\ty\tz\t"));
    assert!(
        message.starts_with("data/codes.tsv:4: unknown category `billing` (expected one of: client_closed, requested,"),
        "{message}"
    );
}

#[test]
fn empty_message() {
    for (row, column) in [
        ("18\t203\tforced\taccount\t\ty\tz\t", "description"),
        ("18\t203\tforced\taccount\tx\t \tz\t", "zh"),
        ("18\t203\tforced\taccount\tx\ty\t\t", "ko"),
    ] {
        assert_eq!(
            error(&with_row(row)),
            format!("data/codes.tsv:4: empty message in column `{column}`")
        );
    }
}

#[test]
fn header_and_empty_table() {
    assert_eq!(
        error("errcode\tsub\tname\tcategory\tdescription\tzh\tko\tnote\n"),
        "data/codes.tsv:1: the header must be `errcode\\tsub_errcode\\tname\\tcategory\\tdescription\\tzh\\tko\\tnote`"
    );
    assert_eq!(
        error(&format!("{HEADER}\n")),
        "data/codes.tsv:1: the table has no rows"
    );
    assert_eq!(
        error("# only a comment\n"),
        "data/codes.tsv:1: no header line"
    );
}

#[test]
fn camel_case_keeps_numbers_apart() {
    assert_eq!(
        table::camel_case("internal_error_18_100"),
        "InternalError18_100"
    );
    assert_eq!(table::camel_case("client_closed_1"), "ClientClosed1");
    assert_eq!(table::camel_case("tx_time_missing"), "TxTimeMissing");
}

#[test]
fn build_categories_match_the_crate() {
    let crate_names: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
    let table_names: Vec<&str> = table::CATEGORIES.iter().map(|(n, _)| *n).collect();
    assert_eq!(crate_names, table_names);
    for (category, (_, variant)) in Category::ALL.iter().zip(table::CATEGORIES) {
        assert_eq!(format!("{category:?}"), variant);
    }
}

#[test]
fn fallbacks_are_derived_from_the_rows() {
    let text = format!(
        "{HEADER}\n\
         7\t0\ta\tnetwork\tx\ty\tz\t\n\
         7\t1\tb\tnetwork\tx\ty\tz\t\n\
         8\t0\tc\tnetwork\tx\ty\tz\t\n\
         8\t1\td\tidle\tx\ty\tz\t\n\
         18\t100\te\tinternal\tx\ty\tz\t\n\
         18\t101\tf\tinternal\tx\ty\tz\t\n\
         18\t200\tg\taccount\tx\ty\tz\t\n\
         18\t201\th\tauth\tx\ty\tz\t\n"
    );
    let rows = table::parse("t.tsv", &text).unwrap();
    let fallbacks = table::fallbacks(&rows);
    for (errcode, sub, category) in [
        (7, 9, "network"),
        (8, 5, "unknown"),
        (18, 150, "internal"),
        (18, 250, "refused"),
        (18, 0, "refused"),
        (99, 0, "unknown"),
    ] {
        assert_eq!(
            table::fallback_category(&fallbacks, errcode, sub),
            category,
            "{errcode}/{sub}"
        );
    }
    assert_eq!(
        fallbacks,
        vec![
            (7, table::Fallback::Uniform("network")),
            // 8 disagrees and is not errcode 18: no fallback rule, so unknown.
            (18, table::Fallback::Blocks(vec![(1, "internal")])),
        ]
    );
}

const PHRASE_HEADER: &str = "text\tcategory\terrcode\tsource";

fn phrase_error(extra: &str) -> String {
    let text = format!("# comment\n{PHRASE_HEADER}\n{extra}\n");
    let rows = table::parse(
        "data/codes.tsv",
        &with_row("21\t102\treplaced_by_new_push\trequested\tx\ty\tz\t"),
    )
    .unwrap();
    table::parse_phrases("data/stop_reasons.tsv", &text, &rows)
        .expect_err("the phrase must be rejected")
        .to_string()
}

#[test]
fn the_real_phrase_table_is_valid() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let codes = std::fs::read_to_string(format!("{dir}/data/codes.tsv")).unwrap();
    let phrases = std::fs::read_to_string(format!("{dir}/data/stop_reasons.tsv")).unwrap();
    let rows = table::parse("data/codes.tsv", &codes).unwrap();
    let phrases = table::parse_phrases("data/stop_reasons.tsv", &phrases, &rows).unwrap();
    assert!(phrases.iter().any(|p| p.text == "客户端主动断流"));
}

#[test]
fn malformed_phrases_name_file_and_line() {
    for (row, message) in [
        (
            "x\tclient_closed",
            "wrong column count: expected 4 tab-separated columns, found 2",
        ),
        ("x\tnope\t\tdoc", "unknown category `nope`"),
        (
            " x\tclient_closed\t\tdoc",
            "text ` x` is empty or has surrounding spaces",
        ),
        (
            "x\tclient_closed\tx1\tdoc",
            "errcode `x1` is not a non-negative integer that fits in 32 bits",
        ),
        (
            "x\taccount\t21\tdoc",
            "errcode 21 is not listed with category `account` in every row of the code table",
        ),
        (
            "x\tclient_closed\t\t ",
            "empty source: say where the text is documented",
        ),
        (
            "x\tclient_closed\t\tdoc\nx\tclient_closed\t\tdoc",
            "duplicate text `x` (first listed on line 3)",
        ),
    ] {
        let line = if message.starts_with("duplicate") {
            4
        } else {
            3
        };
        assert_eq!(
            phrase_error(row),
            format!("data/stop_reasons.tsv:{line}: {message}"),
            "{row}"
        );
    }
}
