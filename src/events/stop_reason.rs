//! Reading DescribeLiveStreamEventList's `StopReason` text: only the forms Tencent documents.

use std::borrow::Cow;

use crate::{Category, Interruption, Reason, decode};

include!(concat!(env!("OUT_DIR"), "/phrases.rs"));

/// Why a push ended, as far as a record's text tells: the decoded code when the text carries or
/// implies one, the category in any case, and the text itself, kept as received.
///
/// Made by [`StreamEventInfo::cause`](super::StreamEventInfo::cause) from a `StopReason`, and by
/// [`Record`](super::Record) from a callback's `errcode`. An unknown text is no error: it keeps
/// its text and is [`Category::Unknown`].
///
/// # Example
/// ```
/// use tencent_css_errcode::{Category, events::Cause};
///
/// // The current API example: no code, but a documented text.
/// let cause = Cause::from_stop_reason("客户端主动断流");
/// assert_eq!(cause.category(), Category::ClientClosed);
/// assert_eq!(cause.interruption(), None);
/// assert_eq!(cause.text(), "客户端主动断流");
///
/// let unknown = Cause::from_stop_reason("something new");
/// assert_eq!(unknown.category(), Category::Unknown);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Cause<'a> {
    interruption: Option<Interruption>,
    category: Category,
    text: Cow<'a, str>,
}

impl<'a> Cause<'a> {
    /// Reads a `StopReason`, by these rules in order:
    ///
    /// 1. A trailing code in parentheses, `text(N)` (ASCII or full-width, spaces allowed), gives
    ///    errcode N. The sub-code is known only when the text before it is the official Chinese
    ///    `errmsg` of exactly one row of errcode N; otherwise the pair is `(N, 0)`, placed by the
    ///    fallback rules of [`decode`].
    /// 2. Without a code, a text documented as a `StopReason` (`data/stop_reasons.tsv`) gives its
    ///    category, and its errcode where the text determines one.
    /// 3. Without a code, the official Chinese `errmsg` of the table gives the row when exactly
    ///    one row has it, or the category that every row with it shares.
    /// 4. Anything else is [`Category::Unknown`], with the text kept.
    ///
    /// Our own English descriptions and the Korean edition are never matched: the API does not
    /// send them, and the Korean edition gives 18/305 and 18/308 the same text.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Reason, events::Cause};
    /// let cause = Cause::from_stop_reason("账号欠费，您的直播服务已被暂时关停，请及时充值(18)");
    /// assert_eq!(cause.interruption().and_then(|i| i.reason()), Some(Reason::AccountOverdue));
    /// ```
    pub fn from_stop_reason(text: &'a str) -> Cause<'a> {
        let trimmed = text.trim();
        let (interruption, category) = match split_code(trimmed) {
            Some((words, errcode)) => {
                let decoded = decode(
                    errcode,
                    only_row(words, Some(errcode)).map_or(0, |r| r.sub_errcode()),
                );
                (Some(decoded), decoded.category())
            }
            None => match PHRASES.iter().find(|(phrase, _, _)| *phrase == trimmed) {
                Some(&(_, category, errcode)) => (errcode.map(|e| decode(e, 0)), category),
                None => match only_row(trimmed, None) {
                    Some(reason) => (Some(reason.into()), reason.category()),
                    None => (None, shared_category(trimmed).unwrap_or(Category::Unknown)),
                },
            },
        };
        Cause {
            interruption,
            category,
            text: Cow::Borrowed(text),
        }
    }

    /// The cause of a stream-end callback: `decode(errcode, 0)`, with the callback's `errmsg`
    /// (empty when absent) as the text.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Category, events::Cause};
    /// let cause = Cause::from_errcode(18, "");
    /// assert_eq!(cause.category(), Category::Refused);
    /// assert_eq!(cause.interruption().map(|i| i.errcode()), Some(18));
    /// ```
    pub fn from_errcode(errcode: u32, errmsg: impl Into<Cow<'a, str>>) -> Cause<'a> {
        let decoded = decode(errcode, 0);
        Cause {
            interruption: Some(decoded),
            category: decoded.category(),
            text: errmsg.into(),
        }
    }

    /// A cause from what another cause said of itself (a [`RecordArena`](super::RecordArena)
    /// keeps the parts).
    pub(crate) fn from_parts(
        interruption: Option<Interruption>,
        category: Category,
        text: Cow<'a, str>,
    ) -> Cause<'a> {
        Cause {
            interruption,
            category,
            text,
        }
    }

    /// The same cause with its text copied.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::Cause;
    /// let cause = Cause::from_stop_reason(&String::from("推流链路网络异常(12)")).into_owned();
    /// assert_eq!(cause.text(), "推流链路网络异常(12)");
    /// ```
    pub fn into_owned(self) -> Cause<'static> {
        Cause {
            interruption: self.interruption,
            category: self.category,
            text: Cow::Owned(self.text.into_owned()),
        }
    }

    /// The decoded code pair, when the text carries or determines an errcode.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::Cause;
    /// assert_eq!(Cause::from_stop_reason("推流链路网络异常(12)").interruption().map(|i| i.errcode()), Some(12));
    /// ```
    pub fn interruption(&self) -> Option<Interruption> {
        self.interruption
    }

    /// The category: the decoded pair's, or the text's when it carries no code.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Category, events::Cause};
    /// // Five rows share this text, all internal errors: the category is known, the code is not.
    /// let cause = Cause::from_stop_reason("直播系统内部错误");
    /// assert_eq!((cause.category(), cause.interruption()), (Category::Internal, None));
    /// ```
    pub fn category(&self) -> Category {
        self.category
    }

    /// The text as received, taken out of the cause.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::Cause;
    /// assert_eq!(Cause::from_errcode(12, "network").into_text(), "network");
    /// ```
    pub fn into_text(self) -> Cow<'a, str> {
        self.text
    }

    /// The text as received: the `StopReason`, or a callback's `errmsg`.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::Cause;
    /// assert_eq!(Cause::from_stop_reason(" odd (x) ").text(), " odd (x) ");
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// The one row whose official Chinese `errmsg` is `text` (of `errcode`, when given).
fn only_row(text: &str, errcode: Option<u32>) -> Option<Reason> {
    let mut rows = Reason::ALL
        .iter()
        .filter(|r| errcode.is_none_or(|e| r.errcode() == e) && r.message(crate::Lang::Zh) == text);
    match (rows.next(), rows.next()) {
        (Some(only), None) => Some(*only),
        _ => None,
    }
}

/// The category every row whose official Chinese `errmsg` is `text` shares.
fn shared_category(text: &str) -> Option<Category> {
    let mut rows = Reason::ALL
        .iter()
        .filter(|r| r.message(crate::Lang::Zh) == text);
    let first = rows.next()?.category();
    rows.all(|r| r.category() == first).then_some(first)
}

/// Splits `text(N)` (ASCII or full-width parentheses, spaces allowed) into the text and N.
fn split_code(reason: &str) -> Option<(&str, u32)> {
    let inner = reason
        .strip_suffix(')')
        .or_else(|| reason.strip_suffix('）'))?;
    let open = inner.rfind(['(', '（'])?;
    let digits = inner[open..].trim_start_matches(['(', '（']).trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((inner[..open].trim(), digits.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::split_code;

    #[test]
    fn stop_reasons_split_at_the_trailing_code() {
        assert_eq!(split_code("客户端主动断流(3)"), Some(("客户端主动断流", 3)));
        assert_eq!(
            split_code("Client actively interrupts the push (3)"),
            Some(("Client actively interrupts the push", 3))
        );
        assert_eq!(
            split_code("推流链路网络异常（12）"),
            Some(("推流链路网络异常", 12))
        );
        assert_eq!(split_code("(18)"), Some(("", 18)));
        assert_eq!(split_code("no code"), None);
        assert_eq!(split_code("bad (x1)"), None);
        assert_eq!(split_code("neg (-1)"), None);
        assert_eq!(split_code("huge (99999999999)"), None);
    }
}
