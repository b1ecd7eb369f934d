//! `triage`: count stream events in JSON-lines logs.
//!
//! Split as input (files, stdin, gzip), tally (counting, with the library's line reader,
//! records and deduper) and report (text and JSON). What a line is, what its record says and
//! what counts as a redelivery are the library's answers, not this module's.
//!
//! Memory is bounded whatever the input: lines longer than the reader's limit are skipped as
//! they are read, the deduper has a fixed size, and every map is capped.

mod input;
mod report;
mod tally;

use std::path::PathBuf;
use std::process::ExitCode;

use tencent_css_errcode::events::{Line, LineReader, NumberedLine};

use input::Input;
use tally::Counting;

/// Parses `--since`/`--until`: Unix seconds or `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    tencent_css_errcode::events::parse_utc_time(text).map_err(|_| {
        format!("`{text}` is neither Unix seconds nor a time like 2024-01-31T00:00:00Z")
    })
}

/// Reads every input, counts, prints the report.
///
/// Exit codes: 0; 1 when some lines were malformed or were API errors (the report is complete
/// for the rest); 2 when an input could not be read to the end: the report of everything that
/// was read is still printed, and stderr says which input failed where.
pub fn run(
    files: &[PathBuf],
    json_output: bool,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<ExitCode, String> {
    if let (Some(since), Some(until)) = (since, until) {
        if since > until {
            return Err(format!(
                "--since ({since}) is after --until ({until}): no event could be in the window"
            ));
        }
    }
    let inputs = Input::from_args(files);
    let bar = input::progress_bar(&inputs);
    let mut counting = Counting::new(since, until);
    for input in &inputs {
        let name = input.name();
        let reader = match input.open(bar.as_ref()) {
            Ok(reader) => reader,
            Err(e) => {
                counting.tally.unreadable.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut last = 0;
        for item in LineReader::new(reader) {
            match item {
                Ok(numbered) => {
                    last = numbered.number;
                    count_line(&mut counting, &name, numbered);
                }
                Err(e) => {
                    counting
                        .tally
                        .unreadable
                        .push(format!("{name}: {e} (after line {last})"));
                }
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    let tally = counting.finish();
    report::problems_to_stderr(&tally);
    let text = if json_output {
        report::json(&tally)
    } else {
        report::text(&tally)
    };
    crate::print(&text)?;
    for failure in &tally.unreadable {
        eprintln!(
            "css-errcode: warning: could not read {failure}; the report covers what was read"
        );
    }
    Ok(if !tally.unreadable.is_empty() {
        ExitCode::from(2)
    } else if tally.malformed > 0 || tally.api_errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn count_line(counting: &mut Counting, file: &str, numbered: NumberedLine) {
    let number = numbered.number;
    match numbered.line {
        Ok(Line::Callback(event)) => counting.record(event.record()),
        Ok(Line::Page(page)) => {
            for info in page.events() {
                match info.record() {
                    Ok(record) => counting.record(record),
                    Err(e) => counting.malformed(file, number, format!("StreamEndTime {e}")),
                }
            }
        }
        Ok(Line::ApiError(error)) => counting.api_error(file, number, error.to_string()),
        Ok(_) => counting.malformed(
            file,
            number,
            "a kind of line triage does not count".to_owned(),
        ),
        Err(e) => counting.malformed(file, number, e.to_string()),
    }
}
