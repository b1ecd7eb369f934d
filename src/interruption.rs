use crate::reason::{basis, lookup};
use crate::{Basis, Category, Lang, Reason};

/// Decodes an interruption code pair. Total: every pair gives an answer, and both numbers are kept.
///
/// A pair listed in the table gets its [`Reason`]. A pair that is not listed (a callback's
/// `errcode` alone arrives as `decode(errcode, 0)`) gets no reason and the most specific category
/// the codes support, by these rules, in order:
///
/// 1. If every listed row of the errcode has the same category, that one: `1/7` is
///    [`ClientClosed`](Category::ClientClosed), `21/0` is [`Requested`](Category::Requested).
/// 2. For errcode 18, whose rows disagree: the category of the sub-code's hundred-block if that
///    block's rows agree (`18/310` is [`PushUrl`](Category::PushUrl)); otherwise
///    [`Refused`](Category::Refused) (`18/0`, `18/999`).
/// 3. Otherwise [`Unknown`](Category::Unknown) (`99/0`).
///
/// The rules are derived from the table when the crate is built, so a new row updates them.
///
/// `decode` never panics and never allocates, and is `const`.
///
/// # Example
/// ```
/// use tencent_css_errcode::{Category, Reason, decode};
///
/// let listed = decode(18, 202);
/// assert_eq!(listed.reason(), Some(Reason::AccountOverdue));
/// assert_eq!(listed.category(), Category::Account);
///
/// // What a stream-end callback gives: errcode only.
/// let from_callback = decode(18, 0);
/// assert_eq!(from_callback.reason(), None);
/// assert_eq!(from_callback.category(), Category::Refused);
/// assert_eq!((from_callback.errcode(), from_callback.sub_errcode()), (18, 0));
///
/// const OVERDUE: Category = decode(18, 202).category();
/// assert_eq!(OVERDUE, Category::Account);
/// ```
#[inline]
pub const fn decode(errcode: u32, sub_errcode: u32) -> Interruption {
    let (reason, category) = lookup(errcode, sub_errcode);
    Interruption {
        errcode,
        sub_errcode,
        reason,
        category,
    }
}

/// A decoded interruption: the raw code pair, its [`Reason`] if listed, and its [`Category`].
///
/// Made by [`decode`] (or `From<Reason>`). It is an error type, so it can be returned or wrapped
/// as the cause of a failed push. It displays as the codes, the stable name and the English text:
///
/// ```
/// use tencent_css_errcode::decode;
///
/// assert_eq!(
///     decode(18, 202).to_string(),
///     "18/202 account_overdue: The account is in arrears, so CSS service is suspended until the balance is topped up."
/// );
/// assert_eq!(
///     decode(18, 0).to_string(),
///     "18/0 unlisted (refused): CSS refused to admit the push; the code does not say why."
/// );
/// ```
///
/// With the `serde` feature it serializes as
/// `{"errcode":18,"sub_errcode":202,"reason":"account_overdue","category":"account"}` (`reason` is
/// `null` for an unlisted pair), and deserializes from `errcode` and an optional `sub_errcode`
/// (default 0); a `reason` or `category` given there must agree with what the codes decode to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[error("{errcode}/{sub_errcode} {name}: {text}",
    name = Name(self),
    text = self.description())]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "wire::Incoming"))]
pub struct Interruption {
    errcode: u32,
    sub_errcode: u32,
    reason: Option<Reason>,
    category: Category,
}

/// Displays the stable name, or `unlisted (category)`.
struct Name<'a>(&'a Interruption);

impl core::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.reason {
            Some(reason) => f.write_str(reason.name()),
            None => write!(f, "unlisted ({})", self.0.category.name()),
        }
    }
}

impl Interruption {
    /// The errcode, as received.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::decode(99, 7).errcode(), 99);
    /// ```
    #[inline]
    pub const fn errcode(&self) -> u32 {
        self.errcode
    }

    /// The sub_errcode, as received.
    ///
    /// # Example
    /// ```
    /// assert_eq!(tencent_css_errcode::decode(99, 7).sub_errcode(), 7);
    /// ```
    #[inline]
    pub const fn sub_errcode(&self) -> u32 {
        self.sub_errcode
    }

    /// The listed reason: `Some` only when the exact pair is in the table.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Reason, decode};
    /// assert_eq!(decode(21, 102).reason(), Some(Reason::ReplacedByNewPush));
    /// assert_eq!(decode(21, 0).reason(), None);
    /// ```
    #[inline]
    pub const fn reason(&self) -> Option<Reason> {
        self.reason
    }

    /// Whether the exact pair is in the table.
    ///
    /// # Example
    /// ```
    /// assert!(tencent_css_errcode::decode(3, 0).is_listed());
    /// assert!(!tencent_css_errcode::decode(3, 1).is_listed());
    /// ```
    #[inline]
    pub const fn is_listed(&self) -> bool {
        self.reason.is_some()
    }

    /// The category: the row's for a listed pair, the fallback rules' (see [`decode`]) otherwise.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Category, decode};
    /// assert_eq!(decode(18, 310).category(), Category::PushUrl);
    /// ```
    #[inline]
    pub const fn category(&self) -> Category {
        self.category
    }

    /// What happened, in English: the row's description, or the category's for an unlisted pair.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Category, decode};
    /// assert_eq!(decode(18, 0).description(), Category::Refused.description());
    /// ```
    #[inline]
    pub const fn description(&self) -> &'static str {
        self.message(Lang::En)
    }

    /// What happened, in the given language: the row's message, or the category's for an unlisted pair.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Lang, decode};
    /// assert_eq!(decode(18, 503).message(Lang::Zh), "校验鉴权参数不通过");
    /// ```
    #[inline]
    pub const fn message(&self, lang: Lang) -> &'static str {
        match self.reason {
            Some(reason) => reason.message(lang),
            None => self.category.message(lang),
        }
    }

    /// Which of [`decode`]'s rules gave the category: the exact row, or one of the fallback rules.
    ///
    /// Derived, like `decode`, from the table when the crate is built.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Basis, decode};
    /// // A callback's bare errcode 12: every row of errcode 12 is a network error.
    /// assert_eq!(decode(12, 0).basis(), Basis::Listed);
    /// assert_eq!(decode(12, 5).basis(), Basis::Errcode);
    /// ```
    pub fn basis(&self) -> Basis {
        basis(self.errcode, self.sub_errcode).0
    }

    /// The listed reasons this interruption could be, in table order: its own reason when the
    /// pair is listed; for an unlisted pair, the rows the fallback rule drew on (every row of the
    /// errcode, or of the sub-code's hundred-block); empty when no row has the errcode.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Reason, decode};
    /// // A stream-end callback says 21 without a sub-code: one of four requested stops.
    /// let names: Vec<&str> = decode(21, 0).candidates().iter().map(|r| r.name()).collect();
    /// assert_eq!(names, ["stop_requested", "push_ban_requested", "replaced_by_new_push", "idle_replaced_by_new_push"]);
    /// assert_eq!(decode(18, 202).candidates(), [Reason::AccountOverdue]);
    /// assert!(decode(99, 0).candidates().is_empty());
    /// ```
    pub fn candidates(&self) -> &'static [Reason] {
        basis(self.errcode, self.sub_errcode).1
    }
}

impl From<Reason> for Interruption {
    fn from(reason: Reason) -> Self {
        decode(reason.errcode(), reason.sub_errcode())
    }
}

#[cfg(feature = "serde")]
mod wire {
    use super::{Interruption, decode};
    use crate::{Category, Reason};

    /// What `Interruption` deserializes from: the codes, plus optional fields to cross-check.
    #[derive(serde::Deserialize)]
    pub(super) struct Incoming {
        errcode: u32,
        #[serde(default)]
        sub_errcode: u32,
        #[serde(default)]
        reason: Option<Reason>,
        #[serde(default)]
        category: Option<Category>,
    }

    /// A `reason` or `category` that contradicts the codes it came with.
    #[derive(Debug, thiserror::Error)]
    pub(super) enum Mismatch {
        #[error(
            "reason `{given}` does not match code pair {errcode}/{sub_errcode}, which is {expected}"
        )]
        Reason {
            given: Reason,
            errcode: u32,
            sub_errcode: u32,
            expected: Expected,
        },
        #[error(
            "category `{given}` does not match code pair {errcode}/{sub_errcode}, which is `{expected}`"
        )]
        Category {
            given: Category,
            errcode: u32,
            sub_errcode: u32,
            expected: Category,
        },
    }

    /// The reason a pair decodes to, for messages: `` `name` `` or `not listed`.
    #[derive(Debug)]
    pub(super) struct Expected(Option<Reason>);

    impl core::fmt::Display for Expected {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self.0 {
                Some(reason) => write!(f, "`{reason}`"),
                None => f.write_str("not listed"),
            }
        }
    }

    impl TryFrom<Incoming> for Interruption {
        type Error = Mismatch;

        fn try_from(wire: Incoming) -> Result<Self, Mismatch> {
            let decoded = decode(wire.errcode, wire.sub_errcode);
            if let Some(given) = wire.reason {
                if decoded.reason != Some(given) {
                    return Err(Mismatch::Reason {
                        given,
                        errcode: wire.errcode,
                        sub_errcode: wire.sub_errcode,
                        expected: Expected(decoded.reason),
                    });
                }
            }
            if let Some(given) = wire.category {
                if decoded.category != given {
                    return Err(Mismatch::Category {
                        given,
                        errcode: wire.errcode,
                        sub_errcode: wire.sub_errcode,
                        expected: decoded.category,
                    });
                }
            }
            Ok(decoded)
        }
    }
}
