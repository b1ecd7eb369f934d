use crate::ParseNameError;

/// The language of a message: the table carries every message in English, Chinese and Korean.
///
/// The names are the ISO 639-1 codes `en`, `zh` and `ko`, for `FromStr`, `Display` and serde.
///
/// # Example
/// ```
/// use tencent_css_errcode::{Lang, Reason};
///
/// let lang: Lang = "zh".parse()?;
/// assert_eq!(Reason::AccountOverdue.message(lang), "账号欠费，您的直播服务已被暂时关停，请及时充值");
/// # Ok::<(), tencent_css_errcode::ParseNameError>(())
/// ```
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[cfg_attr(test, derive(strum::EnumIter))]
#[strum(serialize_all = "snake_case")]
#[strum(parse_err_ty = ParseNameError, parse_err_fn = ParseNameError::lang)]
#[non_exhaustive]
pub enum Lang {
    /// English: the crate's own descriptions, written for operators.
    #[default]
    En,
    /// Simplified Chinese: Tencent's official `errmsg`, the original the other editions translate.
    Zh,
    /// Korean: the Korean edition's text, with its known mistranslations corrected.
    Ko,
}

impl Lang {
    /// Every language, in declaration order. A slice, so that a new language does not change
    /// its type.
    pub const ALL: &'static [Lang] = &[Lang::En, Lang::Zh, Lang::Ko];

    /// The language's stable name: `en`, `zh` or `ko`.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::Lang::Ko.name(), "ko");
    /// ```
    #[inline]
    pub const fn name(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
            Lang::Ko => "ko",
        }
    }
}

impl core::fmt::Display for Lang {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(feature = "serde")]
crate::parse_name_error::serde_by_name!(Lang, "a language name (en, zh or ko)");

#[cfg(test)]
mod tests {
    use super::Lang;
    use strum::IntoEnumIterator;

    #[test]
    fn all_lists_every_variant_in_order() {
        assert!(Lang::iter().eq(Lang::ALL.iter().copied()));
    }
}
