//! Parser and validator for `data/codes.tsv`.
//!
//! Shared by `build.rs` (which generates the crate's tables from it) and by
//! `tests/table_validation.rs` (which checks every rejection message), so the
//! build and its tests can never disagree on what a valid table is.
//! Std only: the crate has no build-dependencies.

use std::collections::BTreeMap;
use std::fmt;

/// The columns, in order. The first non-comment line of the file must be exactly these, tab-separated.
pub const COLUMNS: [&str; 8] = [
    "errcode",
    "sub_errcode",
    "name",
    "category",
    "description",
    "zh",
    "ko",
    "note",
];

/// Category names as written in the table, with the `Category` variant each becomes.
/// `src/category.rs` must list the same; `tests/table_validation.rs` checks that it does.
pub const CATEGORIES: [(&str, &str); 13] = [
    ("client_closed", "ClientClosed"),
    ("requested", "Requested"),
    ("network", "Network"),
    ("internal", "Internal"),
    ("idle", "Idle"),
    ("stream_data", "StreamData"),
    ("account", "Account"),
    ("push_url", "PushUrl"),
    ("access_control", "AccessControl"),
    ("auth", "Auth"),
    ("limit", "Limit"),
    ("refused", "Refused"),
    ("unknown", "Unknown"),
];

/// The errcode whose unlisted sub-codes are placed by hundred-block (rule 2 of the fallback rules):
/// errcode 18, admission refused, where each block of sub-codes is one kind of refusal.
pub const ADMISSION_ERRCODE: u32 = 18;

/// One validated row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line number in the file.
    pub line: usize,
    pub errcode: u32,
    pub sub_errcode: u32,
    /// Stable snake_case name.
    pub name: String,
    /// The `Reason` variant: `name` in CamelCase.
    pub variant: String,
    /// Category as written in the table (snake_case).
    pub category: &'static str,
    pub description: String,
    pub zh: String,
    pub ko: String,
    pub note: String,
}

/// A table that failed validation. Displays as `file:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

impl std::error::Error for TableError {}

/// Parses and validates the whole table. `file` is used in error messages only.
pub fn parse(file: &str, text: &str) -> Result<Vec<Row>, TableError> {
    let fail = |line: usize, reason: String| TableError {
        file: file.to_owned(),
        line,
        reason,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut by_codes: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_variant: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut header_seen = false;
    let mut last_line = 0;

    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        last_line = line;
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = raw.split('\t').collect();
        if fields.len() != COLUMNS.len() {
            return Err(fail(
                line,
                format!(
                    "wrong column count: expected {} tab-separated columns, found {}",
                    COLUMNS.len(),
                    fields.len()
                ),
            ));
        }
        if !header_seen {
            if fields != COLUMNS {
                return Err(fail(
                    line,
                    format!("the header must be `{}`", COLUMNS.join("\\t")),
                ));
            }
            header_seen = true;
            continue;
        }

        let errcode = parse_code(fields[0], "errcode").map_err(|r| fail(line, r))?;
        let sub_errcode = parse_code(fields[1], "sub_errcode").map_err(|r| fail(line, r))?;
        if let Some(first) = by_codes.insert((errcode, sub_errcode), line) {
            return Err(fail(
                line,
                format!(
                    "duplicate code pair {errcode}/{sub_errcode} (first listed on line {first})"
                ),
            ));
        }

        if let Some(previous) = rows.last() {
            if (previous.errcode, previous.sub_errcode) > (errcode, sub_errcode) {
                return Err(fail(
                    line,
                    format!(
                        "code pair {errcode}/{sub_errcode} is out of order: rows are sorted by code pair, \
                         and line {} has {}/{}",
                        previous.line, previous.errcode, previous.sub_errcode
                    ),
                ));
            }
        }

        let name = fields[2];
        if !is_snake_case(name) {
            return Err(fail(
                line,
                format!(
                    "invalid variant name `{name}`: use snake_case (ASCII lowercase letters and digits \
                     in words joined by single underscores, starting with a letter)"
                ),
            ));
        }
        if let Some(first) = by_name.insert(name.to_owned(), line) {
            return Err(fail(
                line,
                format!("duplicate variant name `{name}` (first used on line {first})"),
            ));
        }
        let variant = camel_case(name);
        if let Some((other, first)) = by_variant.insert(variant.clone(), (name.to_owned(), line)) {
            return Err(fail(
                line,
                format!(
                    "duplicate variant name `{name}`: it becomes `{variant}`, as `{other}` on line {first} does"
                ),
            ));
        }

        let category = match CATEGORIES.iter().find(|(c, _)| *c == fields[3]) {
            Some((c, _)) => *c,
            None => {
                let known: Vec<&str> = CATEGORIES.iter().map(|(c, _)| *c).collect();
                return Err(fail(
                    line,
                    format!(
                        "unknown category `{}` (expected one of: {})",
                        fields[3],
                        known.join(", ")
                    ),
                ));
            }
        };

        for (column, value) in [
            ("description", fields[4]),
            ("zh", fields[5]),
            ("ko", fields[6]),
        ] {
            if value.trim().is_empty() {
                return Err(fail(line, format!("empty message in column `{column}`")));
            }
        }

        rows.push(Row {
            line,
            errcode,
            sub_errcode,
            name: name.to_owned(),
            variant,
            category,
            description: fields[4].to_owned(),
            zh: fields[5].to_owned(),
            ko: fields[6].to_owned(),
            note: fields[7].to_owned(),
        });
    }

    if !header_seen {
        return Err(fail(last_line.max(1), "no header line".to_owned()));
    }
    if rows.is_empty() {
        return Err(fail(last_line, "the table has no rows".to_owned()));
    }
    Ok(rows)
}

fn parse_code(text: &str, column: &str) -> Result<u32, String> {
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u32>() {
        Ok(code) if digits_only => Ok(code),
        _ => Err(format!(
            "{column} `{text}` is not a non-negative integer that fits in 32 bits"
        )),
    }
}

fn is_snake_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('_').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `internal_error_18_100` becomes `InternalError18_100`: the underscore stays only between two digits,
/// where dropping it would merge two numbers.
pub fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name.split('_') {
        let starts_with_digit = word.starts_with(|c: char| c.is_ascii_digit());
        if starts_with_digit && out.ends_with(|c: char| c.is_ascii_digit()) {
            out.push('_');
        }
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

/// The category an unlisted sub-code of one errcode falls back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// Rule 1: every row of the errcode has this category.
    Uniform(&'static str),
    /// Rule 2, for [`ADMISSION_ERRCODE`] when its rows disagree: hundred-blocks
    /// (`sub_errcode / 100`) whose rows agree keep their category; any other sub-code is `refused`.
    Blocks(Vec<(u32, &'static str)>),
}

/// Derives the fallback rule of each errcode that has one. Any other errcode is `unknown` (rule 3).
pub fn fallbacks(rows: &[Row]) -> Vec<(u32, Fallback)> {
    let mut by_errcode: BTreeMap<u32, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        by_errcode.entry(row.errcode).or_default().push(row);
    }
    by_errcode
        .into_iter()
        .filter_map(|(errcode, rows)| {
            if let Some(category) = shared_category(rows.iter().copied()) {
                return Some((errcode, Fallback::Uniform(category)));
            }
            if errcode != ADMISSION_ERRCODE {
                return None;
            }
            let mut by_block: BTreeMap<u32, Vec<&Row>> = BTreeMap::new();
            for row in rows {
                by_block.entry(row.sub_errcode / 100).or_default().push(row);
            }
            let blocks = by_block
                .into_iter()
                .filter_map(|(block, rows)| shared_category(rows.into_iter()).map(|c| (block, c)))
                .collect();
            Some((errcode, Fallback::Blocks(blocks)))
        })
        .collect()
}

/// The category `decode` gives an unlisted pair, by the rules `fallbacks` derived.
pub fn fallback_category(
    fallbacks: &[(u32, Fallback)],
    errcode: u32,
    sub_errcode: u32,
) -> &'static str {
    match fallbacks.iter().find(|(e, _)| *e == errcode) {
        Some((_, Fallback::Uniform(category))) => category,
        Some((_, Fallback::Blocks(blocks))) => blocks
            .iter()
            .find(|(b, _)| *b == sub_errcode / 100)
            .map_or("refused", |(_, c)| *c),
        None => "unknown",
    }
}

fn shared_category<'a>(mut rows: impl Iterator<Item = &'a Row>) -> Option<&'static str> {
    let first = rows.next()?.category;
    rows.all(|row| row.category == first).then_some(first)
}

/// The columns of `data/stop_reasons.tsv`, in order.
pub const PHRASE_COLUMNS: [&str; 4] = ["text", "category", "errcode", "source"];

/// One documented StopReason text without a trailing code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// 1-based line number in the file.
    pub line: usize,
    pub text: String,
    pub category: &'static str,
    pub errcode: Option<u32>,
    pub source: String,
}

/// Parses and validates the StopReason phrase table. A phrase's errcode, when given, must be
/// listed in `rows` with the phrase's category.
pub fn parse_phrases(file: &str, text: &str, rows: &[Row]) -> Result<Vec<Phrase>, TableError> {
    let fail = |line: usize, reason: String| TableError {
        file: file.to_owned(),
        line,
        reason,
    };
    let mut phrases: Vec<Phrase> = Vec::new();
    let mut header_seen = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = raw.split('\t').collect();
        if fields.len() != PHRASE_COLUMNS.len() {
            return Err(fail(
                line,
                format!(
                    "wrong column count: expected {} tab-separated columns, found {}",
                    PHRASE_COLUMNS.len(),
                    fields.len()
                ),
            ));
        }
        if !header_seen {
            if fields != PHRASE_COLUMNS {
                return Err(fail(
                    line,
                    format!("the header must be `{}`", PHRASE_COLUMNS.join("\\t")),
                ));
            }
            header_seen = true;
            continue;
        }
        let phrase = fields[0];
        if phrase.trim().is_empty() || phrase.trim() != phrase {
            return Err(fail(
                line,
                format!("text `{phrase}` is empty or has surrounding spaces"),
            ));
        }
        if let Some(first) = phrases.iter().find(|p| p.text == phrase) {
            return Err(fail(
                line,
                format!(
                    "duplicate text `{phrase}` (first listed on line {})",
                    first.line
                ),
            ));
        }
        let category = CATEGORIES
            .iter()
            .find(|(c, _)| *c == fields[1])
            .map(|(c, _)| *c)
            .ok_or_else(|| fail(line, format!("unknown category `{}`", fields[1])))?;
        let errcode = match fields[2] {
            "" => None,
            code => {
                let errcode = parse_code(code, "errcode").map_err(|r| fail(line, r))?;
                let listed: Vec<&Row> = rows.iter().filter(|r| r.errcode == errcode).collect();
                if listed.is_empty() || listed.iter().any(|r| r.category != category) {
                    return Err(fail(
                        line,
                        format!(
                            "errcode {errcode} is not listed with category `{category}` in every row of the code table"
                        ),
                    ));
                }
                Some(errcode)
            }
        };
        if fields[3].trim().is_empty() {
            return Err(fail(
                line,
                "empty source: say where the text is documented".to_owned(),
            ));
        }
        phrases.push(Phrase {
            line,
            text: phrase.to_owned(),
            category,
            errcode,
            source: fields[3].to_owned(),
        });
    }
    if !header_seen {
        return Err(fail(
            text.lines().count().max(1),
            "no header line".to_owned(),
        ));
    }
    Ok(phrases)
}
