//! TC3-HMAC-SHA256, Tencent Cloud API 3.0's request signature, step by step.

use core::fmt::Write as _;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::digest::hex;
use crate::events::format_utc_time;

/// What a signature covers: the request as it will be sent.
#[derive(Clone, Copy, Debug)]
pub struct SigningInput<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The query string after `?`, already URL-encoded (empty for POST).
    pub query: &'a str,
    /// The headers to sign, as sent (`Content-Type`, `Host`, and any others): names in any
    /// case and order.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body bytes, exactly as sent.
    pub body: &'a [u8],
    /// The product's service name: `live` for CSS.
    pub service: &'a str,
    /// `X-TC-Timestamp`: Unix seconds.
    pub timestamp: i64,
}

/// A signature and every intermediate value, as Tencent's documentation prints them.
///
/// `Debug` leaves out the derived keys (`secret_date`, `secret_service`, `secret_signing`):
/// each signs requests for a day, as the secret key does.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tc3Signature {
    /// Lowercase hex SHA-256 of the body.
    pub hashed_payload: String,
    /// The canonical request.
    pub canonical_request: String,
    /// The signed header names, `;`-joined.
    pub signed_headers: String,
    /// `YYYY-MM-DD/service/tc3_request`, with the UTC date of the timestamp.
    pub credential_scope: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// `HMAC("TC3" + key, date)`.
    pub secret_date: [u8; 32],
    /// `HMAC(secret_date, service)`.
    pub secret_service: [u8; 32],
    /// `HMAC(secret_service, "tc3_request")`.
    pub secret_signing: [u8; 32],
    /// Lowercase hex `HMAC(secret_signing, string_to_sign)`.
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
}

impl core::fmt::Debug for Tc3Signature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tc3Signature")
            .field("hashed_payload", &self.hashed_payload)
            .field("canonical_request", &self.canonical_request)
            .field("signed_headers", &self.signed_headers)
            .field("credential_scope", &self.credential_scope)
            .field("string_to_sign", &self.string_to_sign)
            .field("secret_date", &"<hidden>")
            .field("secret_service", &"<hidden>")
            .field("secret_signing", &"<hidden>")
            .field("signature", &self.signature)
            .field("authorization", &self.authorization)
            .finish()
    }
}

/// Signs `input` with the secret id and key.
///
/// # Example
/// ```
/// use tencent_css_errcode::api::tc3::{SigningInput, sign};
///
/// // The official worked example of the 2019-2021 documentation.
/// let body = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
/// let signed = sign("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", &SigningInput {
///     method: "POST",
///     query: "",
///     headers: &[("Content-Type", "application/json; charset=utf-8"), ("Host", "cvm.tencentcloudapi.com")],
///     body,
///     service: "cvm",
///     timestamp: 1_551_113_065,
/// });
/// assert_eq!(signed.signature, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
/// ```
pub fn sign(secret_id: &str, secret_key: &str, input: &SigningInput<'_>) -> Tc3Signature {
    let hashed_payload = hex(&Sha256::digest(input.body));
    let mut headers: Vec<(String, String)> = input
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_ascii_lowercase()))
        .collect();
    headers.sort();
    let mut canonical_headers = String::new();
    for (name, value) in &headers {
        let _ = writeln!(canonical_headers, "{name}:{value}");
    }
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n/\n{}\n{canonical_headers}\n{signed_headers}\n{hashed_payload}",
        input.method, input.query
    );
    // The UTC date of the timestamp: the first ten characters of its UTC time.
    let date = &format_utc_time(input.timestamp)[..10];
    let credential_scope = format!("{date}/{}/tc3_request", input.service);
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{}\n{credential_scope}\n{}",
        input.timestamp,
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let secret_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac(&secret_date, input.service.as_bytes());
    let secret_signing = hmac(&secret_service, b"tc3_request");
    let signature = hex(&hmac(&secret_signing, string_to_sign.as_bytes()));
    let authorization = format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}"
    );
    Tc3Signature {
        hashed_payload,
        canonical_request,
        signed_headers,
        credential_scope,
        string_to_sign,
        secret_date,
        secret_service,
        secret_signing,
        signature,
        authorization,
    }
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}
