//! Prints everything the crate knows about one code pair.
//!
//! ```sh
//! cargo run --example explain -- 18 202
//! cargo run --example explain -- 18        # sub_errcode defaults to 0, as in a callback
//! ```

use std::process::ExitCode;

use tencent_css_errcode::{Category, Lang, Reason, decode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let codes: Result<Vec<u32>, _> = args.iter().map(|a| a.parse::<u32>()).collect();
    let (errcode, sub_errcode) = match codes.as_deref() {
        Ok([e]) => (*e, 0),
        Ok([e, s]) => (*e, *s),
        _ => {
            eprintln!("usage: explain ERRCODE [SUB_ERRCODE]   (non-negative integers)");
            return ExitCode::from(2);
        }
    };

    let decoded = decode(errcode, sub_errcode);
    let category = decoded.category();
    println!("code:        {errcode}/{sub_errcode}");
    match decoded.reason() {
        Some(reason) => println!("reason:      {reason}"),
        None => println!("reason:      not in the table"),
    }
    println!("category:    {category}: {}", category.description());
    println!("what to do:  {}", category.action());
    println!(
        "retryable:   {}    intentional: {}",
        yes_no(category.retryable()),
        yes_no(category.is_intentional())
    );
    for lang in Lang::ALL {
        println!("message {lang}:  {}", decoded.message(lang));
    }

    if decoded.reason().is_none() {
        // A refusal without a known sub-code could be any listed refusal of that errcode;
        // otherwise only the listed rows that share the fallback category.
        let candidates: Vec<Reason> = Reason::ALL
            .into_iter()
            .filter(|r| r.errcode() == errcode)
            .filter(|r| category == Category::Refused || r.category() == category)
            .collect();
        if candidates.is_empty() {
            println!(
                "\nNo listed reason has errcode {errcode}; the category comes from the fallback rules."
            );
        } else {
            println!("\nListed reasons it could be:");
            for r in candidates {
                println!(
                    "  {:>3}/{:<3} {:<28} {}",
                    r.errcode(),
                    r.sub_errcode(),
                    r.name(),
                    r.description()
                );
            }
        }
    }
    ExitCode::SUCCESS
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
