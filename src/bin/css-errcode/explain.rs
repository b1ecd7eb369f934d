use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;
use tencent_css_errcode::{Basis, Interruption, Lang, Reason, decode};

/// What `explain` was asked about: `18`, `18 202`, `18/202` or a reason name such as
/// `account_overdue`, the forms the tool itself prints.
pub fn parse_code(code: &str, sub: Option<&str>) -> Result<(u32, u32), String> {
    let number = |text: &str, what: &str| {
        text.parse::<u32>()
            .map_err(|_| format!("{what} `{text}` is not a non-negative integer"))
    };
    if let Ok(reason) = code.parse::<Reason>() {
        return match sub {
            None => Ok((reason.errcode(), reason.sub_errcode())),
            Some(_) => Err(format!(
                "`{code}` is a reason name: give no sub_errcode after it"
            )),
        };
    }
    let (errcode, inline_sub) = match code.split_once('/') {
        Some((e, s)) => (e, Some(s)),
        None => (code, None),
    };
    if !errcode.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "`{code}` is neither a code (18, 18/202) nor a reason name (see `css-errcode list`)"
        ));
    }
    let sub = match (inline_sub, sub) {
        (Some(_), Some(_)) => {
            return Err(format!("`{code}` already has a sub_errcode: give it once"));
        }
        (Some(s), None) | (None, Some(s)) => number(s, "sub_errcode")?,
        (None, None) => 0,
    };
    Ok((number(errcode, "errcode")?, sub))
}

/// Why a pair got its category, in words: the library's [`Basis`] with the numbers filled in.
fn why(decoded: &Interruption) -> String {
    let errcode = decoded.errcode();
    let category = decoded.category();
    match decoded.basis() {
        Basis::Listed => "the pair is listed".to_owned(),
        Basis::Errcode => format!("every listed row of errcode {errcode} is {category}"),
        Basis::Block => format!(
            "the listed rows of errcode {errcode} in block {}xx are all {category}",
            decoded.sub_errcode() / 100
        ),
        Basis::AdmissionRefused => format!(
            "errcode {errcode} means admission refused; sub-code {} is in no listed block, so the reason is not known",
            decoded.sub_errcode()
        ),
        Basis::RowsDisagree => {
            format!("the listed rows of errcode {errcode} disagree on a category, so it is unknown")
        }
        Basis::NoListedRow | _ => {
            format!("no listed row has errcode {errcode}, so the category is unknown")
        }
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

pub fn run(
    errcode: u32,
    sub_errcode: u32,
    lang: Option<Lang>,
    json: bool,
) -> Result<ExitCode, String> {
    let decoded = decode(errcode, sub_errcode);
    let category = decoded.category();
    let langs: Vec<Lang> = match lang {
        Some(lang) => vec![lang],
        None => Lang::ALL.to_vec(),
    };
    // A listed pair is its own one candidate: list the others only for an unlisted pair.
    let candidates: &[Reason] = if decoded.is_listed() {
        &[]
    } else {
        decoded.candidates()
    };

    if json {
        let messages: serde_json::Map<String, serde_json::Value> = langs
            .iter()
            .map(|l| (l.name().to_owned(), json!(decoded.message(*l))))
            .collect();
        let value = json!({
            "errcode": errcode,
            "sub_errcode": sub_errcode,
            "reason": decoded.reason().map(|r| r.name()),
            "listed": decoded.is_listed(),
            "category": category.name(),
            "category_description": category.description(),
            "action": category.action(),
            "retryable": category.retryable(),
            "intentional": category.is_intentional(),
            "why": if decoded.is_listed() { None } else { Some(why(&decoded)) },
            "messages": messages,
            "candidates": candidates.iter().map(|r| json!({
                "errcode": r.errcode(), "sub_errcode": r.sub_errcode(), "reason": r.name(),
                "category": r.category().name(), "description": r.description(),
            })).collect::<Vec<_>>(),
        });
        return crate::print(&format!("{value:#}\n")).map(|()| ExitCode::SUCCESS);
    }

    let mut out = String::new();
    let _ = writeln!(out, "code:         {errcode}/{sub_errcode}");
    match decoded.reason() {
        Some(reason) => {
            let _ = writeln!(out, "reason:       {reason}");
        }
        None => {
            let _ = writeln!(out, "reason:       not in the table");
            let _ = writeln!(out, "why:          {}", why(&decoded));
        }
    }
    let _ = writeln!(out, "category:     {category}: {}", category.description());
    let _ = writeln!(out, "what to do:   {}", category.action());
    let _ = writeln!(
        out,
        "retryable:    {}\nintentional:  {}",
        yes_no(category.retryable()),
        yes_no(category.is_intentional())
    );
    for lang in langs {
        let _ = writeln!(out, "message ({lang}): {}", decoded.message(lang));
    }
    if !candidates.is_empty() {
        let _ = writeln!(out, "\nit could be any of these listed reasons:");
        for r in candidates {
            let _ = writeln!(
                out,
                "  {:>7}  {:<27} {}",
                format!("{}/{}", r.errcode(), r.sub_errcode()),
                r.name(),
                r.message(lang.unwrap_or(Lang::En))
            );
        }
    }
    crate::print(&out).map(|()| ExitCode::SUCCESS)
}
