//! Reading a JSON-lines log line by line, each with its number.

use std::io;

use super::block::{Block, BlockReader, DEFAULT_LINE_LIMIT, first_line, within};
use super::{Line, LineError};

/// A line read by [`LineReader`]: its 1-based number and what it holds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NumberedLine {
    /// The line's number in its input, counting blank lines.
    pub number: u64,
    /// What the line holds, or why it is malformed.
    pub line: Result<Line, LineError>,
}

/// Reads a JSON-lines log line by line in bounded memory, with [`BlockReader`] underneath: a
/// line longer than the limit is skipped as it is read and reported as [`LineError::TooLong`].
/// Blank lines are counted but not returned. An I/O error ends the iteration after it is
/// returned, so that what was read before it still counts.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::{Line, LineError, LineReader};
///
/// let log = "{\"event_type\":1,\"t\":1,\"stream_id\":\"s\",\"sequence\":\"1\",\"event_time\":1}\n\nnot json\n";
/// let lines: Vec<_> = LineReader::new(log.as_bytes()).collect::<Result<_, _>>()?;
/// assert_eq!(lines.len(), 2);
/// assert!(matches!(lines[0].line, Ok(Line::Callback(_))));
/// assert_eq!(lines[1].number, 3);
/// assert!(matches!(lines[1].line, Err(LineError::Invalid(_))));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct LineReader<R> {
    blocks: BlockReader<R>,
    block: Option<Block>,
    /// Where the next line starts in `block`, or that the block's too-long line is next.
    offset: usize,
    number: u64,
    limit: usize,
}

impl<R: io::Read> LineReader<R> {
    /// A reader with the default line limit, [`DEFAULT_LINE_LIMIT`].
    ///
    /// # Example
    /// ```
    /// let mut reader = tencent_css_errcode::events::LineReader::new(&b""[..]);
    /// assert!(reader.next().is_none());
    /// ```
    pub fn new(inner: R) -> Self {
        LineReader::with_limit(inner, DEFAULT_LINE_LIMIT)
    }

    /// A reader that reports lines longer than `limit` bytes as [`LineError::TooLong`].
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{LineError, LineReader};
    /// let mut reader = LineReader::with_limit(&b"0123456789\n"[..], 4);
    /// let line = reader.next().unwrap()?;
    /// assert_eq!(line.line, Err(LineError::TooLong { len: 10, limit: 4 }));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_limit(inner: R, limit: usize) -> Self {
        LineReader {
            blocks: BlockReader::new(inner, 256 * 1024, limit),
            block: None,
            offset: 0,
            number: 0,
            limit,
        }
    }
}

impl<R: io::Read> Iterator for LineReader<R> {
    type Item = io::Result<NumberedLine>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let block = match &self.block {
                Some(block) => block,
                None => match self.blocks.next()? {
                    Ok(block) => {
                        self.offset = 0;
                        self.block.insert(block)
                    }
                    Err(e) => return Some(Err(e)),
                },
            };
            let (line, consumed) = match block {
                Block::Lines(bytes) if self.offset < bytes.len() => {
                    let (line, consumed) = first_line(&bytes[self.offset..]);
                    (Some(line), consumed)
                }
                Block::TooLong { len } if self.offset == 0 => {
                    self.number += 1;
                    self.offset = 1;
                    return Some(Ok(NumberedLine {
                        number: self.number,
                        line: Err(LineError::TooLong {
                            len: *len,
                            limit: self.limit,
                        }),
                    }));
                }
                _ => (None, 0),
            };
            let Some(line) = line else {
                if let Some(done) = self.block.take() {
                    self.blocks.recycle(done);
                }
                continue;
            };
            self.offset += consumed;
            self.number += 1;
            let parsed = match within(line, self.limit).and_then(Line::parse) {
                Ok(None) => continue,
                Ok(Some(line)) => Ok(line),
                Err(e) => Err(e),
            };
            return Some(Ok(NumberedLine {
                number: self.number,
                line: parsed,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_reader_numbers_lines_across_blocks() {
        let log =
            b"{\"event_type\":1,\"t\":1,\"stream_id\":\"s\",\"sequence\":\"1\",\"event_time\":1}\n";
        let mut input = Vec::new();
        for _ in 0..5000 {
            input.extend_from_slice(log);
            input.extend_from_slice(b"\n");
        }
        let lines: Vec<NumberedLine> = LineReader::new(&input[..]).map(Result::unwrap).collect();
        assert_eq!(lines.len(), 5000);
        assert_eq!(lines[4999].number, 9999);
        assert!(lines.iter().all(|l| l.line.is_ok()));
    }
}
