use crate::{Category, Lang, ParseNameError};

// The enum, `Reason::ALL`, `ROWS`, `lookup` and `fallback_category`, generated from data/codes.tsv.
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
    pub const fn from_codes(errcode: u32, sub_errcode: u32) -> Option<Reason> {
        lookup(errcode, sub_errcode)
    }

    /// The errcode of this row.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::Reason::AccountOverdue.errcode(), 18);
    /// ```
    pub const fn errcode(self) -> u32 {
        self.row().errcode
    }

    /// The sub_errcode of this row (0 for errcodes that have no sub-codes).
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::Reason::AccountOverdue.sub_errcode(), 202);
    /// ```
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
    pub const fn category(self) -> Category {
        self.row().category
    }

    /// The stable snake_case name: what `FromStr` accepts and serde writes.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::Reason::AccountOverdue.name(), "account_overdue");
    /// ```
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

pub(crate) const fn unlisted_category(errcode: u32, sub_errcode: u32) -> Category {
    fallback_category(errcode, sub_errcode)
}
