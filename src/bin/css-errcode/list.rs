use crate::csv_field;
use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;
use tencent_css_errcode::{Category, Lang, Reason};

use crate::Format;

/// Table width: fits an 80-column terminal.
const WIDTH: usize = 80;

pub fn run(category: Option<Category>, format: Format) -> Result<ExitCode, String> {
    let rows: Vec<Reason> = Reason::ALL
        .iter()
        .copied()
        .filter(|r| category.is_none_or(|c| r.category() == c))
        .collect();
    let text = match format {
        Format::Table => table(&rows),
        Format::Json => {
            let value: Vec<_> = rows
                .iter()
                .map(|r| {
                    json!({
                        "errcode": r.errcode(), "sub_errcode": r.sub_errcode(), "reason": r.name(),
                        "category": r.category().name(), "en": r.message(Lang::En),
                        "zh": r.message(Lang::Zh), "ko": r.message(Lang::Ko),
                    })
                })
                .collect();
            format!("{:#}\n", json!(value))
        }
        Format::Csv => {
            let mut out = String::from("errcode,sub_errcode,reason,category,en,zh,ko\n");
            for r in &rows {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{}",
                    r.errcode(),
                    r.sub_errcode(),
                    r.name(),
                    r.category().name(),
                    csv_field(r.message(Lang::En)),
                    csv_field(r.message(Lang::Zh)),
                    csv_field(r.message(Lang::Ko)),
                );
            }
            out
        }
    };
    crate::print(&text).map(|()| ExitCode::SUCCESS)
}

fn table(rows: &[Reason]) -> String {
    let mut out = format!(
        "{:<7} {:<27} {:<14} {}\n",
        "CODE", "REASON", "CATEGORY", "DESCRIPTION"
    );
    for r in rows {
        let head = format!(
            "{:<7} {:<27} {:<14} ",
            format!("{}/{}", r.errcode(), r.sub_errcode()),
            r.name(),
            r.category().name()
        );
        let indent = head.chars().count();
        // Descriptions wrap under their column rather than being cut.
        for (i, line) in wrap(r.description(), WIDTH.saturating_sub(indent))
            .iter()
            .enumerate()
        {
            let lead = if i == 0 {
                head.clone()
            } else {
                " ".repeat(indent)
            };
            let _ = writeln!(out, "{lead}{line}");
        }
    }
    out
}

/// Greedy word wrap; a word longer than `width` gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}
