/// A name that `FromStr` did not recognise, for [`Reason`](crate::Reason),
/// [`Category`](crate::Category) or [`Lang`](crate::Lang).
///
/// It keeps the rejected input (its first [`ParseNameError::MAX_INPUT`] bytes) without allocating,
/// so the type is the same with and without the `std` feature.
///
/// # Example
/// ```
/// use tencent_css_errcode::Reason;
///
/// let err = "acount_overdue".parse::<Reason>().unwrap_err();
/// assert_eq!(err.input(), "acount_overdue");
/// assert_eq!(err.kind(), "reason");
/// assert_eq!(err.to_string(), "unknown reason name `acount_overdue`");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[error("unknown {kind} name `{input}{ellipsis}`", input = self.input(), ellipsis = if self.truncated { "…" } else { "" })]
pub struct ParseNameError {
    kind: &'static str,
    buf: [u8; ParseNameError::MAX_INPUT],
    len: u8,
    truncated: bool,
}

impl ParseNameError {
    /// How many bytes of the rejected input are kept.
    pub const MAX_INPUT: usize = 48;

    fn new(kind: &'static str, input: &str) -> Self {
        // Cut at a character boundary so that `input()` stays valid UTF-8.
        let mut len = input.len().min(Self::MAX_INPUT);
        while !input.is_char_boundary(len) {
            len -= 1;
        }
        let mut buf = [0; Self::MAX_INPUT];
        buf[..len].copy_from_slice(&input.as_bytes()[..len]);
        ParseNameError {
            kind,
            buf,
            len: len as u8,
            truncated: len < input.len(),
        }
    }

    pub(crate) fn reason(input: &str) -> Self {
        Self::new("reason", input)
    }

    pub(crate) fn category(input: &str) -> Self {
        Self::new("category", input)
    }

    pub(crate) fn lang(input: &str) -> Self {
        Self::new("language", input)
    }

    /// What was being parsed: `"reason"`, `"category"` or `"language"`.
    ///
    /// # Example
    /// ```
    /// let err = "x".repeat(60).parse::<tencent_css_errcode::Category>().unwrap_err();
    /// assert_eq!((err.kind(), err.input().len(), err.is_truncated()), ("category", 48, true));
    /// ```
    pub const fn kind(&self) -> &'static str {
        self.kind
    }

    /// The rejected input, cut to [`ParseNameError::MAX_INPUT`] bytes at a character boundary.
    ///
    /// # Example
    /// ```
    /// let err = "x".repeat(60).parse::<tencent_css_errcode::Category>().unwrap_err();
    /// assert_eq!((err.kind(), err.input().len(), err.is_truncated()), ("category", 48, true));
    /// ```
    pub fn input(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len as usize])
            .expect("`new` cuts at a character boundary")
    }

    /// Whether [`input`](Self::input) is only the start of a longer input.
    ///
    /// # Example
    /// ```
    /// let err = "x".repeat(60).parse::<tencent_css_errcode::Category>().unwrap_err();
    /// assert_eq!((err.kind(), err.input().len(), err.is_truncated()), ("category", 48, true));
    /// ```
    pub const fn is_truncated(&self) -> bool {
        self.truncated
    }
}

/// Implements serde for a type that has `name()` and `FromStr`, as its stable name.
#[cfg(feature = "serde")]
macro_rules! serde_by_name {
    ($ty:ty, $expecting:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct NameVisitor;
                impl serde::de::Visitor<'_> for NameVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse()
                            .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
                    }
                }
                deserializer.deserialize_str(NameVisitor)
            }
        }
    };
}
#[cfg(feature = "serde")]
pub(crate) use serde_by_name;
