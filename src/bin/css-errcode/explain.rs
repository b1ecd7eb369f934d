use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;
use tencent_css_errcode::{Category, Interruption, Lang, Reason, decode};

/// Listed reasons an unlisted pair could stand for: every listed refusal of the errcode when the
/// category is `refused`, otherwise the listed rows of the errcode that share its category.
pub fn candidates(decoded: &Interruption) -> Vec<Reason> {
    if decoded.is_listed() {
        return Vec::new();
    }
    Reason::ALL
        .into_iter()
        .filter(|r| r.errcode() == decoded.errcode())
        .filter(|r| decoded.category() == Category::Refused || r.category() == decoded.category())
        .collect()
}

/// Why an unlisted pair got its category.
fn why(decoded: &Interruption) -> String {
    let errcode = decoded.errcode();
    let rows = Reason::ALL
        .iter()
        .filter(|r| r.errcode() == errcode)
        .count();
    match (rows, decoded.category()) {
        (0, _) => format!("no listed row has errcode {errcode}, so the category is unknown"),
        (_, Category::Refused) => format!(
            "errcode {errcode} means admission refused; sub-code {} is in no listed block, so the reason is not known",
            decoded.sub_errcode()
        ),
        (_, category)
            if Reason::ALL
                .iter()
                .filter(|r| r.errcode() == errcode)
                .all(|r| r.category() == category) =>
        {
            format!("every listed row of errcode {errcode} is {category}")
        }
        (_, category) => format!(
            "the listed rows of errcode {errcode} in block {}xx are all {category}",
            decoded.sub_errcode() / 100
        ),
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
    let candidates = candidates(&decoded);

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
