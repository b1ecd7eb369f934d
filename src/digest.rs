//! The MD5 signatures CSS uses for callbacks and push URLs.

use md5::{Digest, Md5};

/// Lowercase hex MD5 of the concatenated parts.
pub(crate) fn md5_hex(parts: &[&[u8]]) -> String {
    let mut digest = Md5::new();
    for part in parts {
        digest.update(part);
    }
    hex(&digest.finalize())
}

/// Lowercase hex, as CSS and the cloud API write digests.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Compares without an early exit, so that the time taken does not tell an attacker how many
/// leading characters of a forged signature were right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(difference) == 0
}
