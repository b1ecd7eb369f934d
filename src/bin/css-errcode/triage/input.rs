//! Where triage's bytes come from: files, stdin, gzip (by its magic bytes), a progress bar.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::PathBuf;

/// Inputs at least this large get a progress bar on a terminal.
const PROGRESS_THRESHOLD: u64 = 8 << 20;
/// The first bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One input: a file, or stdin (`-`, or no files at all).
pub enum Input {
    Stdin,
    File(PathBuf),
    /// A receiver's store, read as the JSON lines `export` writes.
    #[cfg(feature = "serve")]
    Store(tencent_css_errcode::store::Location),
}

impl Input {
    pub fn from_args(files: &[PathBuf]) -> Vec<Input> {
        if files.is_empty() {
            return vec![Input::Stdin];
        }
        files
            .iter()
            .map(|f| {
                if f.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::File(f.clone())
                }
            })
            .collect()
    }

    /// How reports name it.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_owned(),
            Input::File(path) => path.display().to_string(),
            #[cfg(feature = "serve")]
            Input::Store(location) => location.to_string(),
        }
    }

    /// Opens it, decompressing gzip whatever the name (stdin included).
    pub fn open(&self, bar: Option<&indicatif::ProgressBar>) -> io::Result<Box<dyn Read + Send>> {
        let raw: Box<dyn Read + Send> = match self {
            Input::Stdin => {
                let stdin = io::stdin();
                if stdin.is_terminal() {
                    eprintln!(
                        "css-errcode: reading events from the terminal; end with Ctrl-D, or give log files to read instead"
                    );
                }
                Box::new(stdin)
            }
            Input::File(path) => {
                if path.is_dir() {
                    return Err(io::Error::other("is a directory"));
                }
                Box::new(File::open(path)?)
            }
            #[cfg(feature = "serve")]
            Input::Store(location) => store_lines(location)?,
        };
        let counted = Counting {
            inner: raw,
            bar: bar.cloned(),
            pending: 0,
        };
        let mut buffered = BufReader::with_capacity(1 << 20, counted);
        let head = loop {
            match buffered.fill_buf() {
                Ok(head) => break head,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        Ok(if head.starts_with(&GZIP_MAGIC) {
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::bufread::MultiGzDecoder::new(buffered),
            ))
        } else {
            // The block reader reads in large pieces: after the bytes already buffered, read
            // straight from the source, not through the buffer (a copy of everything).
            let head = buffered.buffer().to_vec();
            Box::new(io::Cursor::new(head).chain(buffered.into_inner()))
        })
    }
}

#[cfg(feature = "serve")]
fn store_lines(
    location: &tencent_css_errcode::store::Location,
) -> io::Result<Box<dyn Read + Send>> {
    use tencent_css_errcode::store::{Filter, Reader};
    let reader = Reader::open_at(location).map_err(io::Error::other)?;
    Ok(Box::new(
        reader.callbacks(Filter::default()).into_json_lines(),
    ))
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    bar: Option<indicatif::ProgressBar>,
    pending: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(bar) = &self.bar {
            self.pending += n as u64;
            if self.pending >= 1 << 20 || n == 0 {
                bar.inc(self.pending);
                self.pending = 0;
            }
        }
        Ok(n)
    }
}

/// The named files' total size (stdin and a store count nothing).
fn file_bytes(inputs: &[Input]) -> u64 {
    inputs
        .iter()
        .filter_map(|input| match input {
            Input::File(path) => std::fs::metadata(path).ok(),
            Input::Stdin => None,
            #[cfg(feature = "serve")]
            Input::Store(_) => None,
        })
        .map(|m| m.len())
        .sum()
}

/// Bytes of a log per event, on the low side: Tencent's callbacks take 300 to 500 bytes a
/// line with every field, and a compressed file holds several times its size.
const BYTES_PER_EVENT: u64 = 128;

/// How many events the inputs may hold, from the files' sizes: what triage makes room for at
/// once (a guess too high costs memory the deduper's limit bounds anyway; too low, the
/// doublings it saves).
pub fn expected_events(inputs: &[Input]) -> usize {
    usize::try_from(file_bytes(inputs) / BYTES_PER_EVENT).unwrap_or(usize::MAX)
}

/// A bar over the named files' total size, on a terminal, for large inputs.
pub fn progress_bar(inputs: &[Input]) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let total = file_bytes(inputs);
    if total < PROGRESS_THRESHOLD {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}
