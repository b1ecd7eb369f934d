use crate::{Category, Lang, ParseNameError};

// Generated from data/codes.tsv: the enum, `Reason::ALL`, `ROWS`, the perfect-hash `SLOTS` and the
// fallback table `FALLBACK`.
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

/// What `decode` needs of a pair besides its numbers.
#[derive(Clone, Copy)]
struct Entry {
    reason: Option<Reason>,
    category: Category,
}

/// The pair as one number, as build.rs hashes it.
#[inline]
const fn key(errcode: u32, sub_errcode: u32) -> u64 {
    ((errcode as u64) << 32) | sub_errcode as u64
}

/// The key in each hash slot: the listed pair's, or `u64::MAX` (the unlisted pair
/// `u32::MAX/u32::MAX`) in a free slot.
const SLOT_KEYS: [u64; SLOTTED.len()] = {
    let mut keys = [u64::MAX; SLOTTED.len()];
    let mut i = 0;
    while i < keys.len() {
        if let Some(reason) = SLOTTED[i] {
            keys[i] = key(reason.errcode(), reason.sub_errcode());
        }
        i += 1;
    }
    keys
};

const BLOCKS: usize = FALLBACK[0].len();
/// Where the flattened `FALLBACK` starts in `ENTRIES`.
const FALLBACK_START: usize = SLOTTED.len();
/// A power of two, so that masking an index keeps it in bounds.
const ENTRIES_LEN: usize = (SLOTTED.len() + FALLBACK.len() * BLOCKS).next_power_of_two();

/// One table for both answers: the hash slots' entries, then `FALLBACK` row by row.
const ENTRIES: [Entry; ENTRIES_LEN] = {
    // A free slot's key stands for u32::MAX/u32::MAX: its entry must be that pair's fallback.
    let max_pair = FALLBACK[FALLBACK.len() - 1][BLOCKS - 1];
    let mut entries = [Entry {
        reason: None,
        category: max_pair,
    }; ENTRIES_LEN];
    let mut i = 0;
    while i < SLOTTED.len() {
        if let Some(reason) = SLOTTED[i] {
            entries[i] = Entry {
                reason: Some(reason),
                category: reason.category(),
            };
        }
        i += 1;
    }
    let mut errcode = 0;
    while errcode < FALLBACK.len() {
        let mut block = 0;
        while block < BLOCKS {
            entries[FALLBACK_START + errcode * BLOCKS + block].category = FALLBACK[errcode][block];
            block += 1;
        }
        errcode += 1;
    }
    entries
};

/// The reason and category of any pair.
///
/// Branch-free on purpose: `decode` runs on every event of a log pipeline, whose codes come in no
/// predictable order, so a mispredicted branch would cost more than the whole lookup. One multiply
/// finds the only slot the pair can be in; the fallback rules are an index into the same table;
/// a mask picks one of the two indices. Every index is in bounds by construction (shift, clamps,
/// a power-of-two mask), so there is no panic path either.
#[inline]
pub(crate) const fn lookup(errcode: u32, sub_errcode: u32) -> (Option<Reason>, Category) {
    let key = key(errcode, sub_errcode);
    let slot = (key.wrapping_mul(HASH_MULTIPLIER) >> HASH_SHIFT) as usize;
    let fallback =
        FALLBACK_START + clamp(errcode, FALLBACK.len()) * BLOCKS + clamp(sub_errcode / 100, BLOCKS);
    let hit = ((SLOT_KEYS[slot] == key) as usize).wrapping_neg();
    let index = fallback ^ ((fallback ^ slot) & hit);
    let entry = ENTRIES[index & (ENTRIES_LEN - 1)];
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
