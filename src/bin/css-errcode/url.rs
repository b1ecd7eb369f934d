use std::fmt::Write as _;
use std::process::ExitCode;

use tencent_css_errcode::push_url::PushUrl;

use crate::unix_now;

/// Reads a push key from the environment variable `var`; keys never travel on the command line,
/// where shell history and process listings would keep them.
fn key_from(var: &str) -> Result<String, String> {
    match std::env::var(var) {
        Ok(key) if !key.is_empty() => Ok(key),
        Ok(_) => Err(format!("environment variable {var} is empty")),
        Err(_) => Err(format!(
            "environment variable {var} is not set (it must hold the push key)"
        )),
    }
}

/// `90s`, `30m`, `2h`, `7d`, or plain seconds.
pub fn parse_span(text: &str) -> Result<u64, String> {
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let multiplier = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}` is not a duration such as 90s, 30m, 2h or 7d"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a duration such as 90s, 30m, 2h or 7d"))
}

pub fn check(url: &str, key_env: Option<&str>, now: Option<i64>) -> Result<ExitCode, String> {
    let parsed: PushUrl = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let key = key_env.map(key_from).transpose()?;
    let findings = parsed.preflight(key.as_deref(), now.unwrap_or_else(unix_now));
    let mut out = String::new();
    if findings.is_empty() {
        let _ = writeln!(out, "no refusal predicted for {parsed}");
        if key.is_none() {
            let _ = writeln!(
                out,
                "(txSecret not checked: pass --key-env VAR to check it)"
            );
        }
    }
    for finding in &findings {
        let _ = writeln!(out, "{finding}");
    }
    crate::print(&out)?;
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn sign(url: &str, key_env: &str, expires_in: u64) -> Result<ExitCode, String> {
    let parsed: PushUrl = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let key = key_from(key_env)?;
    let expiry = i64::try_from(expires_in)
        .ok()
        .and_then(|span| unix_now().checked_add(span))
        .ok_or_else(|| {
            format!("--expires-in {expires_in}s is too far in the future for a txTime")
        })?;
    let signed = parsed.sign(&key, expiry).map_err(|e| e.to_string())?;
    crate::print(&format!("{signed}\n")).map(|()| ExitCode::SUCCESS)
}
