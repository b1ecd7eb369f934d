use crate::{Category, Lang, ParseNameError};

// Generated from data/codes.tsv: the enum, `Reason::ALL`, `ROWS`, and `DENSE`, the lookup table of
// every small code pair (listed reason or fallback category), with its dimensions.
include!(concat!(env!("OUT_DIR"), "/reasons.rs"));

/// One row of the table, as the generated `ROWS` holds it.
struct Row {
    errcode: u32,
    sub_errcode: u32,
    name: &'static str,
    category: Category,
    description: &'static str,
    zh: &'static str,
    ko: &'static str,
}

impl Reason {
    #[inline]
    const fn row(self) -> &'static Row {
        &ROWS[self as usize]
    }

    /// The reason listed for exactly this code pair, or `None` if the pair is not in the table.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Reason;
    /// assert_eq!(Reason::from_codes(18, 202), Some(Reason::AccountOverdue));
    /// assert_eq!(Reason::from_codes(18, 0), None);
    /// ```
    #[inline]
    pub const fn from_codes(errcode: u32, sub_errcode: u32) -> Option<Reason> {
        lookup(errcode, sub_errcode).0
    }

    /// The errcode of this row.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::Reason::AccountOverdue.errcode(), 18);
    /// ```
    #[inline]
    pub const fn errcode(self) -> u32 {
        self.row().errcode
    }

    /// The sub_errcode of this row (0 for errcodes that have no sub-codes).
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::Reason::AccountOverdue.sub_errcode(), 202);
    /// ```
    #[inline]
    pub const fn sub_errcode(self) -> u32 {
        self.row().sub_errcode
    }

    /// The category of this row.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Category, Reason};
    /// assert_eq!(Reason::AccountOverdue.category(), Category::Account);
    /// ```
    #[inline]
    pub const fn category(self) -> Category {
        self.row().category
    }

    /// The stable snake_case name: what `FromStr` accepts and serde writes.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::Reason::AccountOverdue.name(), "account_overdue");
    /// ```
    #[inline]
    pub const fn name(self) -> &'static str {
        self.row().name
    }

    /// What happened, in English, written for an operator.
    ///
    /// # Example
    /// ```
    /// let text = tencent_css_errcode::Reason::AccountOverdue.description();
    /// assert!(text.contains("arrears"));
    /// ```
    #[inline]
    pub const fn description(self) -> &'static str {
        self.row().description
    }

    /// The message in the given language: the crate's English, Tencent's official Chinese
    /// `errmsg`, or the Korean edition's text (corrected where it mistranslates).
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Lang, Reason};
    /// assert_eq!(Reason::TxTimeExpired.message(Lang::Zh), "推流时间戳参数值已过期");
    /// assert_eq!(Reason::TxTimeExpired.message(Lang::Ko), "푸시 스트림 타임스탬프 매개변수 값 만료");
    /// ```
    #[inline]
    pub const fn message(self, lang: Lang) -> &'static str {
        let row = self.row();
        match lang {
            Lang::En => row.description,
            Lang::Zh => row.zh,
            Lang::Ko => row.ko,
        }
    }
}

impl core::fmt::Display for Reason {
    /// Writes the stable name.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(feature = "serde")]
crate::parse_name_error::serde_by_name!(Reason, "a reason name such as `account_overdue`");

/// One listed errcode: its rows in `Reason::ALL`, and how its unlisted sub-codes are placed.
struct ErrcodeRule {
    errcode: u32,
    /// `Reason::ALL[start..end]` are the rows of this errcode.
    rows: (usize, usize),
    rule: Rule,
}

/// The fallback rule of one listed errcode (see `decode`).
enum Rule {
    /// Rule 1: every row of the errcode has the same category.
    Errcode,
    /// Rule 2: hundred-blocks whose rows agree, as (block, start, end) in `Reason::ALL`.
    Blocks(&'static [(u32, usize, usize)]),
    /// The rows disagree and the errcode is not placed by block: rule 3. No errcode of today's
    /// table is, but the build derives the rules from whatever the table holds.
    #[allow(dead_code)]
    None,
}

/// Which rule placed a pair, and the listed reasons it could stand for.
pub(crate) fn basis(errcode: u32, sub_errcode: u32) -> (Basis, &'static [Reason]) {
    if let Some(reason) = Reason::from_codes(errcode, sub_errcode) {
        let index = Reason::ALL
            .iter()
            .position(|r| *r == reason)
            .expect("every reason is in ALL");
        return (Basis::Listed, &Reason::ALL[index..=index]);
    }
    let Some(found) = FALLBACK_RULES.iter().find(|e| e.errcode == errcode) else {
        return (Basis::NoListedRow, &[]);
    };
    let all_rows = &Reason::ALL[found.rows.0..found.rows.1];
    match found.rule {
        Rule::Errcode => (Basis::Errcode, all_rows),
        Rule::Blocks(blocks) => match blocks.iter().find(|(b, _, _)| *b == sub_errcode / 100) {
            Some(&(_, start, end)) => (Basis::Block, &Reason::ALL[start..end]),
            None => (Basis::AdmissionRefused, all_rows),
        },
        Rule::None => (Basis::RowsDisagree, all_rows),
    }
}

/// Which of `decode`'s rules placed a pair: see [`Interruption::basis`](crate::Interruption::basis).
///
/// # Example
/// ```
/// use tencent_css_errcode::{Basis, decode};
/// assert_eq!(decode(18, 202).basis(), Basis::Listed);
/// assert_eq!(decode(21, 0).basis(), Basis::Errcode);
/// assert_eq!(decode(18, 310).basis(), Basis::Block);
/// assert_eq!(decode(18, 0).basis(), Basis::AdmissionRefused);
/// assert_eq!(decode(99, 0).basis(), Basis::NoListedRow);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Basis {
    /// The exact pair is a row of the table: its category is the row's.
    Listed,
    /// Rule 1: every listed row of the errcode has the same category, and the pair gets it.
    Errcode,
    /// Rule 2: errcode 18, and the listed rows of the sub-code's hundred-block agree on a category.
    Block,
    /// Rule 2: errcode 18 (admission refused), and no block with agreeing rows holds the
    /// sub-code, so the category is [`Refused`](Category::Refused).
    AdmissionRefused,
    /// Rule 3: the errcode's listed rows disagree and are not placed by block, so the category
    /// is [`Unknown`](Category::Unknown).
    RowsDisagree,
    /// Rule 3: no listed row has the errcode, so the category is [`Unknown`](Category::Unknown).
    NoListedRow,
}

/// What `decode` needs of a pair besides its numbers.
#[derive(Clone, Copy)]
struct Entry {
    reason: Option<Reason>,
    category: Category,
}

/// The answers `DENSE` points to: the reasons in table order, then one unlisted entry per category.
const ENTRIES: [Entry; 256] = {
    let mut entries = [Entry {
        reason: None,
        category: Category::Unknown,
    }; 256];
    let mut i = 0;
    while i < Reason::ALL.len() {
        entries[i] = Entry {
            reason: Some(Reason::ALL[i]),
            category: Reason::ALL[i].category(),
        };
        i += 1;
    }
    let mut c = 0;
    while c < Category::ALL.len() {
        entries[Reason::ALL.len() + c].category = Category::ALL[c];
        c += 1;
    }
    entries
};

/// The reason and category of any pair.
///
/// Branch-free on purpose: `decode` runs on every event of a log pipeline, whose codes come in no
/// predictable order, so a mispredicted branch would cost more than the lookup. Two clamps and two
/// table reads; every index is in bounds by construction (clamps, a `u8` into 256 entries), so
/// there is no panic path either.
#[inline]
pub(crate) const fn lookup(errcode: u32, sub_errcode: u32) -> (Option<Reason>, Category) {
    let index = clamp(errcode, ROWS_LEN) * COLUMNS + clamp(sub_errcode, COLUMNS);
    let entry = ENTRIES[DENSE[index] as usize];
    (entry.reason, entry.category)
}

/// `value` as an index below `len`, with every larger value on the last index.
#[inline]
const fn clamp(value: u32, len: usize) -> usize {
    let last = len - 1;
    if (value as usize) < last {
        value as usize
    } else {
        last
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;
    use strum::IntoEnumIterator;

    #[test]
    fn all_lists_every_variant_in_order() {
        assert!(Reason::iter().eq(Reason::ALL.iter().copied()));
    }
}
