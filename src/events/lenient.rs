//! Numbers as Tencent's payloads really carry them: JSON numbers, or the same digits in a string.

use core::fmt;
use std::borrow::Cow;

use serde::de::{self, Deserializer, Visitor};

/// A JSON number or a string, kept as given until the field it belongs to says what it must be.
/// A string is borrowed from the input when the input allows it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lenient<'a> {
    Int(i128),
    Float(f64),
    Text(Cow<'a, str>),
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for LenientVisitor<'a> {
            type Value = Lenient<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, or a string of digits")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Lenient<'a>, E> {
                Ok(Lenient::Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Lenient<'a>, E> {
                Ok(Lenient::Int(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Lenient<'a>, E> {
                Ok(Lenient::Float(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Lenient<'a>, E> {
                Ok(Lenient::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient<'a>, E> {
                Ok(Lenient::Text(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_any(LenientVisitor(core::marker::PhantomData))
    }
}

impl fmt::Display for Lenient<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lenient::Int(v) => write!(f, "{v}"),
            Lenient::Float(v) => write!(f, "{v}"),
            Lenient::Text(v) => write!(f, "{v:?}"),
        }
    }
}

impl Lenient<'_> {
    /// The value as an integer: a JSON integer, a float with no fraction, or a string of
    /// (optionally signed) decimal digits, surrounding spaces allowed.
    pub(crate) fn integer(&self) -> Option<i128> {
        match self {
            Lenient::Int(v) => Some(*v),
            Lenient::Float(v) if v.fract() == 0.0 && v.abs() < 1e18 => Some(*v as i128),
            Lenient::Float(_) => None,
            Lenient::Text(text) => {
                let text = text.trim();
                let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse().ok()
            }
        }
    }

    /// The value as a `T`, or an error that names `field` and the value.
    pub(crate) fn to<T: TryFrom<i128>>(
        &self,
        field: &'static str,
        expected: &'static str,
    ) -> Result<T, BadField> {
        self.integer()
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| BadField {
                field,
                value: self.to_string(),
                expected,
            })
    }
}

/// A field whose value is not what it must be.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct BadField {
    pub(crate) field: &'static str,
    pub(crate) value: String,
    pub(crate) expected: &'static str,
}

/// `deserialize_with` for a non-negative integer that may arrive as a string; absent or `null` is 0.
pub(crate) fn non_negative<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value: Option<Lenient> = serde::Deserialize::deserialize(deserializer)?;
    match value {
        None => Ok(0),
        Some(value) => value
            .integer()
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| {
                de::Error::custom(format_args!("{value} is not a non-negative integer"))
            }),
    }
}

/// A JSON string, borrowed from the input when it has no escapes. (serde's own `Cow<str>`
/// inside an `Option` always copies.)
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(StrVisitor(core::marker::PhantomData))
    }
}
