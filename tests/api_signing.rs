//! TC3-HMAC-SHA256 against the official worked examples (`shared/reference/api.md` §3), every
//! intermediate value, not only the signature.
#![cfg(feature = "api")]

use tencent_css_errcode::api::tc3::{SigningInput, Tc3Signature, sign};

/// The body of examples B and C, with its escapes as literal bytes (Python's `json.dumps`).
const CVM_BODY: &[u8] =
    br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
const JSON: &str = "application/json; charset=utf-8";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cvm(id: &str, key: &str, headers: &[(&str, &str)]) -> Tc3Signature {
    sign(
        id,
        key,
        &SigningInput {
            method: "POST",
            query: "",
            headers,
            body: CVM_BODY,
            service: "cvm",
            timestamp: 1_551_113_065,
        },
    )
}

#[test]
fn example_c_current_documentation_masked_keys() {
    let id = format!("AKID{}", "*".repeat(32));
    let key = "*".repeat(32);
    let signed = cvm(
        &id,
        &key,
        &[
            ("Content-Type", JSON),
            ("Host", "cvm.tencentcloudapi.com"),
            ("X-TC-Action", "DescribeInstances"),
        ],
    );
    assert_eq!(
        signed.hashed_payload,
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    );
    assert_eq!(
        signed.canonical_request,
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\
         x-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n\
         35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    );
    assert_eq!(
        signed.string_to_sign,
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n\
         7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
    );
    assert_eq!(
        hex(&signed.secret_date),
        "da98fb70dcf6b112dc21038d1eeeb3a95c74b4dcb12c1131f864f6066bd02be0"
    );
    assert_eq!(
        hex(&signed.secret_service),
        "8d70cbefb03939f929db64d32dc2ba89b1095620119fe3e050e2b18c5bd2752f"
    );
    assert_eq!(
        hex(&signed.secret_signing),
        "b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af"
    );
    assert_eq!(
        signed.signature,
        "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"
    );
    assert_eq!(
        signed.authorization,
        format!(
            "TC3-HMAC-SHA256 Credential={id}/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host;x-tc-action, \
             Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"
        )
    );
}

#[test]
fn example_b_2019_documentation() {
    let signed = cvm(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        // Names in another case and order: the canonical form sorts and lowercases them.
        &[("host", "cvm.tencentcloudapi.com"), ("content-type", JSON)],
    );
    assert_eq!(
        signed.canonical_request,
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n\
         content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    );
    assert!(
        signed
            .string_to_sign
            .ends_with("\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
    );
    assert_eq!(
        hex(&signed.secret_date),
        "d1308c81fe71cfd4e06437bbc067b2b8a3d2d8c0e375d547f15c41d5214b395a"
    );
    assert_eq!(
        hex(&signed.secret_service),
        "3c7cb7c7795393edc14fd2e0e6434a518564b4504b88e94f5d11bf59ba3e7050"
    );
    assert_eq!(
        hex(&signed.secret_signing),
        "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1"
    );
    assert_eq!(
        signed.authorization,
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
         SignedHeaders=content-type;host, \
         Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    );
}

#[test]
fn example_a_get_with_a_query_string() {
    let signed = sign(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        &SigningInput {
            method: "GET",
            query: "Limit=10&Offset=0",
            headers: &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Host", "cvm.tencentcloudapi.com"),
            ],
            body: b"",
            service: "cvm",
            timestamp: 1_539_084_154,
        },
    );
    assert_eq!(
        signed.hashed_payload,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert!(signed.string_to_sign.ends_with(
        "2018-10-09/cvm/tc3_request\n91c9c192c14460df6c1ffc69e34e6c5e90708de2a6d282cccf957dbf1aa7f3a7"
    ));
    assert_eq!(
        signed.signature,
        "5da7a33f6993f0614b047e5df4582db9e9bf4672ba50567dba16c6ccf174c474"
    );
}

#[test]
fn a_live_request_with_both_header_sets() {
    let body = br#"{"StartTime":"2019-01-04T12:00:00Z","EndTime":"2019-01-04T20:00:00Z","PageNum":1,"PageSize":10}"#;
    let input = |headers| SigningInput {
        method: "POST",
        query: "",
        headers,
        body,
        service: "live",
        timestamp: 1_546_603_200,
    };
    let two = sign(
        "AKIDEXAMPLE",
        "SECRETEXAMPLE",
        &input(&[("Content-Type", JSON), ("Host", "live.tencentcloudapi.com")]),
    );
    assert_eq!(
        two.hashed_payload,
        "85084f0542c21cabb688cc0bf021ad58645bd98d0e2e58f66e4b58b779a7188b"
    );
    assert_eq!(
        hex(&two.secret_signing),
        "6f01e017cccaacfc58acfa321a12e7ca084b9ce86727f19a3c780cda7d413e50"
    );
    assert!(
        two.string_to_sign
            .ends_with("\na903a933bb278a9178670068efab81a0547496ac9d742e014a03439f98efaca0")
    );
    assert_eq!(
        two.signature,
        "288294e410c35cf3be8465273502d5610feefb19eb44955a601dda209733a7db"
    );
    let three = sign(
        "AKIDEXAMPLE",
        "SECRETEXAMPLE",
        &input(&[
            ("Content-Type", JSON),
            ("Host", "live.tencentcloudapi.com"),
            ("X-TC-Action", "DescribeLiveStreamEventList"),
        ]),
    );
    assert!(
        three
            .string_to_sign
            .ends_with("\n0f042f617cd2cc354a8482b8b0280e7f38908a09c2b107dfe7deea87cbd38d29")
    );
    assert_eq!(
        three.signature,
        "d71c1a9d0e0b9882f01da37a9c8e59685299c65895d67550294e378b37bc57b1"
    );
}

#[test]
fn the_date_is_the_utc_date() {
    // 1551113065 is 2019-02-26 00:44:25 in UTC+8 but 2019-02-25 in UTC; one second before UTC
    // midnight and at it.
    for (timestamp, date) in [
        (1_551_113_065, "2019-02-25"),
        (1_551_139_199, "2019-02-25"),
        (1_551_139_200, "2019-02-26"),
    ] {
        let signed = sign(
            "id",
            "key",
            &SigningInput {
                method: "POST",
                query: "",
                headers: &[("Content-Type", JSON), ("Host", "h")],
                body: b"{}",
                service: "live",
                timestamp,
            },
        );
        assert_eq!(signed.credential_scope, format!("{date}/live/tc3_request"));
    }
}

#[test]
fn debug_never_prints_the_derived_keys() {
    let signed = cvm(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        &[],
    );
    let text = format!("{signed:?}");
    for key in [
        &signed.secret_date,
        &signed.secret_service,
        &signed.secret_signing,
    ] {
        assert!(!text.contains(&hex(key)), "a derived key in {text}");
        assert!(
            !text.contains(
                &format!("{:?}", key[0..4].to_vec())
                    .trim_end_matches(']')
                    .to_owned()
            ),
            "{text}"
        );
    }
    assert!(
        text.contains(&signed.signature),
        "the signature itself is shown"
    );
}
