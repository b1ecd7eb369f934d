//! `triage`: count stream events in JSON-lines logs.
//!
//! Split as input (files, stdin, gzip), parse (blocks of lines into summaries, on several
//! threads: see `pipeline`), tally (counting in file order, with the library's deduper) and
//! report (text and JSON). What a line is, what its record says and what counts as a
//! redelivery are the library's answers (`RecordLine`, `Record`, `Deduper`), not this module's.
//! The report is the same whatever the number of threads: blocks are counted in file order.
//!
//! Memory is bounded whatever the input: lines longer than the reader's limit are skipped as
//! they are read, a fixed number of blocks are in flight, the deduper has a fixed size, and
//! every map is capped.

mod input;
pub mod pipeline;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

pub use input::Input;
use pipeline::Step;
use tencent_css_errcode::triage::{Tally, Triage};

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
    store: Option<Input>,
    json_output: bool,
    since: Option<i64>,
    until: Option<i64>,
    threads: usize,
) -> Result<ExitCode, String> {
    if let (Some(since), Some(until)) = (since, until) {
        if since > until {
            return Err(format!(
                "--since ({since}) is after --until ({until}): no event could be in the window"
            ));
        }
    }
    let inputs = match store {
        // The store alone, unless files are named too (stdin is not read then).
        Some(store) if files.is_empty() => vec![store],
        Some(store) => {
            let mut inputs = Input::from_args(files);
            inputs.push(store);
            inputs
        }
        None => Input::from_args(files),
    };
    report(inputs, json_output, since, until, threads)
}

fn report(
    inputs: Vec<Input>,
    json_output: bool,
    since: Option<i64>,
    until: Option<i64>,
    threads: usize,
) -> Result<ExitCode, String> {
    let bar = input::progress_bar(&inputs);
    let mut triage = Triage::new(since, until);
    triage.reserve(input::expected_events(&inputs));
    // The number of the next line of each input: blocks arrive in order.
    let mut next_line = vec![1u64; inputs.len()];
    let parser = triage.parser();
    let parse = |block: &_, parsed: &mut _| parser.parse(block, parsed);
    pipeline::run(&inputs, threads, bar.as_ref(), &parse, |step| match step {
        Step::Block(index, parsed) => {
            triage.add_block(&inputs[index].name(), next_line[index], parsed);
            next_line[index] += parsed.lines();
        }
        Step::Failed(index, message) => {
            let read = next_line[index] - 1;
            triage.unreadable(if read > 0 {
                format!("{message} (after line {read})")
            } else {
                message
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print(&triage.finish(), json_output)
}

/// Prints a tally's report (and its problems on stderr); the exit code it calls for.
pub fn print(tally: &Tally, json_output: bool) -> Result<ExitCode, String> {
    report::problems_to_stderr(tally);
    let text = if json_output {
        report::json(tally)
    } else {
        report::text(tally)
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
