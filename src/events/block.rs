//! Reading a JSON-lines log in blocks of whole lines, for parsing them on several threads.

use std::io;

use super::LineError;

/// The longest line the readers accept by default: 1 MiB. A callback body is well under a
/// kilobyte, and a page of 100 API records about 40 KiB.
pub const DEFAULT_LINE_LIMIT: usize = 1 << 20;

/// A run of whole lines, or one line too long to keep: what [`BlockReader`] yields.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Block {
    /// Whole lines, each ending in `\n` but perhaps the input's last.
    Lines(Vec<u8>),
    /// One line longer than the limit, whose bytes were skipped as they were read.
    TooLong {
        /// The line's length in bytes, without its newline.
        len: u64,
    },
}

impl Block {
    /// The block's lines, in order, each as [`Line::parse`](super::Line::parse) or
    /// [`RecordLine::parse`](super::RecordLine::parse) takes it, or the error of a line over
    /// `limit` bytes. Every line counts, blank ones included, so that line numbers add up.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{Block, LineError};
    /// let block = Block::Lines(b"a\n\nbcdef\n".to_vec());
    /// let lines: Vec<_> = block.lines(3).collect();
    /// assert_eq!(lines[0], Ok(&b"a"[..]));
    /// assert_eq!(lines[1], Ok(&b""[..]));
    /// assert_eq!(lines[2], Err(LineError::TooLong { len: 5, limit: 3 }));
    /// ```
    pub fn lines(&self, limit: usize) -> BlockLines<'_> {
        match self {
            Block::Lines(bytes) => BlockLines {
                rest: Some(bytes.strip_suffix(b"\n").unwrap_or(bytes)),
                too_long: None,
                limit,
            },
            Block::TooLong { len } => BlockLines {
                rest: None,
                too_long: Some(*len),
                limit,
            },
        }
    }
}

/// The lines of a [`Block`]: see [`Block::lines`].
#[derive(Clone, Debug)]
pub struct BlockLines<'a> {
    rest: Option<&'a [u8]>,
    too_long: Option<u64>,
    limit: usize,
}

impl<'a> Iterator for BlockLines<'a> {
    type Item = Result<&'a [u8], LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let limit = self.limit;
        if let Some(len) = self.too_long.take() {
            return Some(Err(LineError::TooLong { len, limit }));
        }
        let rest = self.rest?;
        let (line, consumed) = first_line(rest);
        // A newline is always followed by one more line, perhaps empty.
        self.rest = (consumed > line.len()).then(|| &rest[consumed..]);
        Some(within(line, limit))
    }
}

/// The first line of `bytes` and how many bytes it takes with its newline.
pub(super) fn first_line(bytes: &[u8]) -> (&[u8], usize) {
    match memchr::memchr(b'\n', bytes) {
        Some(i) => (&bytes[..i], i + 1),
        None => (bytes, bytes.len()),
    }
}

/// The line, or the error of a line over the limit.
pub(super) fn within(line: &[u8], limit: usize) -> Result<&[u8], LineError> {
    if line.len() > limit {
        Err(LineError::TooLong {
            len: line.len() as u64,
            limit,
        })
    } else {
        Ok(line)
    }
}

/// Reads a JSON-lines log in blocks of whole lines, for parsing them on several threads, in
/// bounded memory: a line longer than the limit is skipped as it is read and yields
/// [`Block::TooLong`]. An I/O error ends the iteration after it is returned.
///
/// # Example
/// ```
/// use tencent_css_errcode::events::{Block, BlockReader};
/// let blocks: Vec<Block> = BlockReader::new(&b"one\ntwo\nthree"[..], 8, 6).collect::<Result<_, _>>()?;
/// assert_eq!(blocks, [Block::Lines(b"one\ntwo\n".to_vec()), Block::Lines(b"three".to_vec())]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct BlockReader<R> {
    inner: R,
    block_size: usize,
    limit: usize,
    /// The start of the next block: a partial line, never longer than the limit.
    carry: Vec<u8>,
    /// A too-long line met after a block's lines, to yield next.
    pending: Option<Block>,
    /// Buffers given back by `recycle`.
    spare: Vec<Vec<u8>>,
    done: bool,
}

impl<R: io::Read> BlockReader<R> {
    /// A reader of blocks of about `block_size` bytes (more than the limit), that reports lines
    /// over `limit` bytes.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::{Block, BlockReader};
    /// let mut reader = BlockReader::new(&b"0123456789\nok\n"[..], 4, 4);
    /// assert_eq!(reader.next().unwrap()?, Block::TooLong { len: 10 });
    /// assert_eq!(reader.next().unwrap()?, Block::Lines(b"ok\n".to_vec()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: R, block_size: usize, limit: usize) -> Self {
        BlockReader {
            inner,
            block_size: block_size.max(limit.saturating_add(1)),
            limit,
            carry: Vec::new(),
            pending: None,
            spare: Vec::new(),
            done: false,
        }
    }

    /// Reads into `buffer[filled..]` until it is full or the input ends; returns how much of
    /// `buffer` now holds input.
    fn fill(&mut self, buffer: &mut [u8], mut filled: usize) -> io::Result<usize> {
        while filled < buffer.len() {
            match self.inner.read(&mut buffer[filled..]) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }

    /// Gives a block's buffer back, to be filled again: a reader that gets its blocks back
    /// allocates (and zeroes) no new buffer per block.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::events::BlockReader;
    /// let mut reader = BlockReader::new(&b"a\nb\n"[..], 2, 1);
    /// let first = reader.next().unwrap()?;
    /// reader.recycle(first);
    /// assert!(reader.next().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recycle(&mut self, block: Block) {
        const KEPT: usize = 16;
        if let Block::Lines(buffer) = block {
            if self.spare.len() < KEPT {
                self.spare.push(buffer);
            }
        }
    }

    /// Reads past the rest of a too-long line of which `len` bytes are already gone, keeping
    /// what follows its newline; returns the line's length.
    fn skip_line(&mut self, mut len: u64) -> io::Result<u64> {
        let mut scratch = vec![0u8; 64 * 1024];
        loop {
            let n = match self.inner.read(&mut scratch) {
                Ok(0) => {
                    self.done = true;
                    return Ok(len);
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Some(i) = memchr::memchr(b'\n', &scratch[..n]) {
                self.carry.extend_from_slice(&scratch[i + 1..n]);
                return Ok(len + i as u64);
            }
            len += n as u64;
        }
    }

    fn next_block(&mut self) -> io::Result<Option<Block>> {
        if let Some(block) = self.pending.take() {
            return Ok(Some(block));
        }
        // A recycled buffer keeps its length, so that only what it lacks is zeroed.
        let mut buffer = self.spare.pop().unwrap_or_default();
        // What `skip_line` read past a long line may exceed a block: the block grows to hold it.
        let carried = self.carry.len();
        let size = self.block_size.max(carried);
        if buffer.len() < size {
            buffer.resize(size, 0);
        }
        buffer[..carried].copy_from_slice(&self.carry);
        self.carry.clear();
        let filled = if self.done {
            carried
        } else {
            self.fill(&mut buffer, carried)?
        };
        buffer.truncate(filled);
        if buffer.is_empty() {
            return Ok(None);
        }
        match memchr::memrchr(b'\n', &buffer) {
            Some(last) => {
                let tail_len = buffer.len() - last - 1;
                if tail_len > self.limit {
                    // The partial line after the last newline is already too long: skip it
                    // without holding it, and yield it after this block's lines.
                    buffer.truncate(last + 1);
                    let len = if self.done {
                        tail_len as u64
                    } else {
                        self.skip_line(tail_len as u64)?
                    };
                    self.pending = Some(Block::TooLong { len });
                } else if !self.done {
                    self.carry.extend_from_slice(&buffer[last + 1..]);
                    buffer.truncate(last + 1);
                }
                Ok(Some(Block::Lines(buffer)))
            }
            None if buffer.len() > self.limit => {
                let len = buffer.len() as u64;
                let len = if self.done { len } else { self.skip_line(len)? };
                Ok(Some(Block::TooLong { len }))
            }
            // The input's last line, without a newline: the buffer is short only at the end.
            None => Ok(Some(Block::Lines(buffer))),
        }
    }
}

impl<R: io::Read> Iterator for BlockReader<R> {
    type Item = io::Result<Block>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_block() {
            Ok(block) => block.map(Ok),
            Err(e) => {
                // Fused: what was read before the error has been yielded.
                self.done = true;
                self.carry.clear();
                self.pending = None;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `input`, read through blocks of `block_size`, as text or `TooLong(len)`.
    fn through_blocks(input: &[u8], block_size: usize, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        for block in BlockReader::new(input, block_size, limit) {
            for line in block.unwrap().lines(limit) {
                out.push(match line {
                    Ok(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                    Err(LineError::TooLong { len, .. }) => format!("TooLong({len})"),
                    Err(e) => panic!("{e}"),
                });
            }
        }
        out
    }

    /// The same, split by hand.
    fn expected(input: &[u8], limit: usize) -> Vec<String> {
        if input.is_empty() {
            return Vec::new();
        }
        let body = input.strip_suffix(b"\n").unwrap_or(input);
        body.split(|&b| b == b'\n')
            .map(|line| {
                if line.len() > limit {
                    format!("TooLong({})", line.len())
                } else {
                    String::from_utf8(line.to_vec()).unwrap()
                }
            })
            .collect()
    }

    #[test]
    fn blocks_keep_every_line_whatever_the_block_size() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"\n",
            b"a\n\n",
            b"a\nbb\nccc",
            b"0123456789\nok\n",
            b"ok\n0123456789",
            b"ok\n0123456789\n\nx\n",
            b"0123456789012345678901234567890123456789\n1\n22\n333\n4444\n55555\n",
        ];
        for input in inputs {
            for block_size in 1..12 {
                for limit in [0, 1, 3, 4, 6, 100] {
                    assert_eq!(
                        through_blocks(input, block_size, limit),
                        expected(input, limit),
                        "{input:?} block {block_size} limit {limit}"
                    );
                }
            }
        }
    }
}
