//! Lines from a file in reused chunks: memory stays at one chunk plus the
//! longest line, whatever the file's size. A line longer than `max_line` is
//! handed over in pieces (the parser reports it as overlong), so even a
//! file of NULs without a newline cannot exhaust memory.

use std::io::{self, Read};

/// One physical line (or a piece of an overlong one).
#[derive(Clone, Copy, Debug)]
pub struct RawLine<'a> {
    /// Its bytes, without the newline.
    pub bytes: &'a [u8],
    /// File offset of its first byte.
    pub offset: u64,
    /// A piece of a line that was longer than the reader keeps.
    pub overlong: bool,
    /// This piece continues the previous one (same physical line).
    pub continues: bool,
    /// The line (or piece) before it, as given the time before: the parser
    /// copies a record's head from here only when a continuation line
    /// turns out to need it, which most records never do.
    pub prev: &'a [u8],
}

/// Chunk size of a reader: big enough that `read` calls cost nothing,
/// small enough to sit in L2/L3 cache.
pub const CHUNK: usize = 256 << 10;

/// The longest line kept whole; longer ones are cut into pieces.
pub const MAX_LINE: usize = 16 << 20;

/// The length of a UTF-8 byte order mark at the start of `text` (3 or 0).
/// Windows editors write one; it is no part of the first line's head, so
/// every reader skips it rather than have the parser see an unprefixed
/// line with a record glued to it.
pub fn bom_len(text: &[u8]) -> usize {
    if text.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    }
}

/// What the reader feeds.
pub trait LineSink {
    /// The first chunk of the file (up to 64 KiB), before any line: for
    /// sniffing its format.
    fn first(&mut self, chunk: &[u8]);
    /// The next line.
    fn line(&mut self, line: RawLine<'_>);
}

/// Reads `src` to its end, giving `sink` the first chunk, then every line
/// in order. Returns the number of bytes read.
pub fn for_each_line<R: Read, S: LineSink>(
    mut src: R,
    max_line: usize,
    sink: &mut S,
) -> io::Result<u64> {
    let max_line = max_line.max(64);
    let mut buf = vec![0u8; CHUNK.min(max_line)];
    let mut fill = 0usize;
    let mut base = 0u64; // file offset of buf[0]
    let mut total = 0u64;
    let mut sniffed = false;
    let mut piece_open = false;
    // The line before the next one: in `buf`, or copied out before `buf`
    // is reused.
    let mut prev_copy: Vec<u8> = Vec::new();
    let mut prev_in_buf: Option<(usize, usize)> = None;
    // A byte order mark in front of the first line, skipped once sniffed.
    let mut skip = 0usize;
    loop {
        if fill == buf.len() {
            // No newline in a full buffer: grow up to the line limit, then cut.
            if buf.len() < max_line {
                let n = (buf.len() * 2).min(max_line);
                buf.resize(n, 0);
            } else {
                keep_prev(&buf, &mut prev_in_buf, &mut prev_copy);
                sink.line(RawLine {
                    bytes: &buf[..fill],
                    offset: base,
                    overlong: true,
                    continues: piece_open,
                    prev: &prev_copy,
                });
                prev_copy.clear();
                prev_copy.extend_from_slice(&buf[..fill]);
                piece_open = true;
                base += fill as u64;
                fill = 0;
            }
        }
        let n = read_some(&mut src, &mut buf[fill..])?;
        total += n as u64;
        fill += n;
        if !sniffed && (n == 0 || fill >= 64 << 10 || fill == buf.len()) {
            skip = bom_len(&buf[..fill]);
            sink.first(&buf[skip..fill]);
            sniffed = true;
        }
        if !sniffed {
            continue;
        }
        let mut start = std::mem::take(&mut skip);
        for nl in memchr::memchr_iter(b'\n', &buf[..fill]) {
            let prev = match prev_in_buf {
                Some((a, b)) => &buf[a..b],
                None => &prev_copy[..],
            };
            sink.line(RawLine {
                bytes: &buf[start..nl],
                offset: base + start as u64,
                overlong: piece_open,
                continues: piece_open,
                prev,
            });
            prev_in_buf = Some((start, nl));
            piece_open = false;
            start = nl + 1;
        }
        keep_prev(&buf, &mut prev_in_buf, &mut prev_copy);
        buf.copy_within(start..fill, 0);
        fill -= start;
        base += start as u64;
        if n == 0 {
            if fill > 0 {
                sink.line(RawLine {
                    bytes: &buf[..fill],
                    offset: base,
                    overlong: piece_open,
                    continues: piece_open,
                    prev: &prev_copy,
                });
            }
            return Ok(total);
        }
    }
}

/// Copies the previous line out of a buffer about to be reused.
fn keep_prev(buf: &[u8], prev_in_buf: &mut Option<(usize, usize)>, prev_copy: &mut Vec<u8>) {
    if let Some((a, b)) = prev_in_buf.take() {
        prev_copy.clear();
        prev_copy.extend_from_slice(buf.get(a..b).unwrap_or_default());
    }
}

fn read_some<R: Read>(src: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match src.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The lines of an in-memory text, as the reader would give them: a line
/// longer than [`MAX_LINE`] comes in pieces, so that `explain`, `diff` and
/// scripts see (and report) the same overlong damage as `parse`.
pub fn lines_of(text: &[u8], f: impl FnMut(RawLine<'_>)) {
    lines_of_max(text, MAX_LINE, f)
}

/// [`lines_of`] with lines cut at `max_line` bytes.
pub fn lines_of_max(text: &[u8], max_line: usize, mut f: impl FnMut(RawLine<'_>)) {
    let max_line = max_line.max(64);
    let mut start = bom_len(text);
    let mut prev: &[u8] = &[];
    let ends = memchr::memchr_iter(b'\n', text).chain(
        // The last line, when the text does not end with a newline.
        (text.last().is_some_and(|&b| b != b'\n')).then_some(text.len()),
    );
    for end in ends {
        let line = &text[start..end];
        if line.len() <= max_line {
            f(RawLine {
                bytes: line,
                offset: start as u64,
                overlong: false,
                continues: false,
                prev,
            });
            prev = line;
        } else {
            for (k, piece) in line.chunks(max_line).enumerate() {
                f(RawLine {
                    bytes: piece,
                    offset: (start + k * max_line) as u64,
                    overlong: true,
                    continues: k > 0,
                    prev,
                });
                prev = piece;
            }
        }
        start = end + 1;
    }
}

/// Bytes mapped at a time by [`for_each_line_mapped`]: resident memory
/// stays near this, whatever the file's size.
pub const WINDOW: usize = 8 << 20;

/// Like [`for_each_line`] for a regular file, reading it through windows of
/// a memory mapping instead of `read` copies. Falls back to `read` when the
/// file cannot be mapped (a pipe, a special file).
pub fn for_each_line_mapped<S: LineSink>(
    file: &std::fs::File,
    max_line: usize,
    sink: &mut S,
) -> io::Result<u64> {
    let meta = file.metadata()?;
    if meta.len() == 0 || !meta.is_file() {
        return for_each_line(file, max_line, sink);
    }
    for_range_mapped(file, 0..meta.len(), max_line, sink)
}

/// The lines of `range` of a regular file (the range should start at a
/// line's start), through windows of a memory mapping.
///
/// The windows end at multiples of [`WINDOW`] in the file, wherever the
/// range starts: a line too long to keep whole is cut into the same pieces
/// when the file is read from a later line as when it is read from its
/// start, so a file counted in parts (split.rs) counts what it does whole.
pub fn for_range_mapped<S: LineSink>(
    file: &std::fs::File,
    range: std::ops::Range<u64>,
    max_line: usize,
    sink: &mut S,
) -> io::Result<u64> {
    let len = range.end;
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_off = range.start;
    let mut at = range.start;
    let mut sniffed = false;
    let mut piece_open = false;
    // The line before the next one, once its window is gone.
    let mut prev_copy: Vec<u8> = Vec::new();
    while at < len {
        let to_boundary = WINDOW as u64 - at % WINDOW as u64;
        let n = (len - at).min(to_boundary) as usize;
        // SAFETY: the mapping is read-only and private; a log that another
        // process truncates while it is read is the one hazard, as for
        // every tool that maps its input (ripgrep does the same).
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(at)
                .len(n)
                .populate()
                .map(file)?
        };
        let buf: &[u8] = &map;
        // A byte order mark in front of the file's first line is skipped.
        let mut start = if at == 0 { bom_len(buf) } else { 0 };
        if !sniffed {
            sink.first(&buf[start..buf.len().min(64 << 10)]);
            sniffed = true;
        }
        let mut prev_in_buf: Option<(usize, usize)> = None;
        for nl in memchr::memchr_iter(b'\n', buf) {
            let prev = match prev_in_buf {
                Some((a, b)) => &buf[a..b],
                None => &prev_copy[..],
            };
            if carry.is_empty() {
                sink.line(RawLine {
                    bytes: &buf[start..nl],
                    offset: at + start as u64,
                    overlong: piece_open,
                    continues: piece_open,
                    prev,
                });
                prev_in_buf = Some((start, nl));
            } else {
                // A line that began in the window before.
                carry.extend_from_slice(&buf[start..nl]);
                sink.line(RawLine {
                    bytes: &carry,
                    offset: carry_off,
                    overlong: piece_open,
                    continues: piece_open,
                    prev,
                });
                std::mem::swap(&mut carry, &mut prev_copy);
                carry.clear();
            }
            piece_open = false;
            start = nl + 1;
        }
        keep_prev(buf, &mut prev_in_buf, &mut prev_copy);
        // The line that runs past this window is carried into the next
        // (cut into pieces if it outgrows `max_line`).
        if carry.is_empty() {
            carry_off = at + start as u64;
        }
        carry.extend_from_slice(&buf[start..]);
        if carry.len() >= max_line.max(64) {
            sink.line(RawLine {
                bytes: &carry,
                offset: carry_off,
                overlong: true,
                continues: piece_open,
                prev: &prev_copy,
            });
            piece_open = true;
            carry_off += carry.len() as u64;
            std::mem::swap(&mut carry, &mut prev_copy);
            carry.clear();
        }
        at += n as u64;
    }
    if !carry.is_empty() {
        sink.line(RawLine {
            bytes: &carry,
            offset: carry_off,
            overlong: piece_open,
            continues: piece_open,
            prev: &prev_copy,
        });
    }
    Ok(len - range.start)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lines(Vec<(u64, usize, bool, bool)>);

    impl LineSink for Lines {
        fn first(&mut self, _: &[u8]) {}
        fn line(&mut self, l: RawLine<'_>) {
            self.0
                .push((l.offset, l.bytes.len(), l.overlong, l.continues));
        }
    }

    /// A line longer than the reader keeps, read from the file's start and
    /// from a line before it: the same pieces at the same offsets, though
    /// the second read's windows begin elsewhere.
    #[test]
    fn a_long_lines_pieces_do_not_depend_on_where_the_read_starts() {
        let path = std::env::temp_dir().join(format!("xsh-pieces-{}", std::process::id()));
        let head = b"first line\nsecond line\n";
        let mut text = head.to_vec();
        text.extend(std::iter::repeat_n(b'x', WINDOW + 5000));
        text.extend_from_slice(b"\nlast line\n");
        std::fs::write(&path, &text).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let len = text.len() as u64;
        let mut whole = Lines(Vec::new());
        for_range_mapped(&f, 0..len, 1 << 20, &mut whole).unwrap();
        let from = b"first line\n".len() as u64;
        let mut part = Lines(Vec::new());
        for_range_mapped(&f, from..len, 1 << 20, &mut part).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            whole.0.iter().any(|l| l.2),
            "the long line is cut: {:?}",
            whole.0
        );
        assert_eq!(&whole.0[1..], &part.0[..]);
    }

    #[test]
    fn in_memory_lines_are_cut_like_the_reader_cuts_them() {
        let text = [b"short\n".to_vec(), vec![b'x'; 150], b"\nend".to_vec()].concat();
        let mut got = Vec::new();
        lines_of_max(&text, 64, |l| {
            got.push((l.offset, l.bytes.len(), l.overlong, l.continues))
        });
        assert_eq!(
            got,
            vec![
                (0, 5, false, false),
                (6, 64, true, false),
                (70, 64, true, true),
                (134, 22, true, true),
                (157, 3, false, false),
            ]
        );
    }
}
