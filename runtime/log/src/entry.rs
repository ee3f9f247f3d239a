//! What the parser gives out: one [`Entry`] per line (two when a line holds
//! two glued records), and the owned copy of a record's header that its
//! continuation lines carry.
//!
//! Text fields are bytes: the head's fields are ASCII by the lexer's
//! construction, and a message may hold anything; consumers convert where
//! they print (`Entry::str`), so a 200 MB parse never validates UTF-8.

use crate::damage::Damage;
use crate::format::{Format, Kind, Level};

/// How a line joins the record above it when the record's text is rebuilt.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Join {
    /// It starts a record (or stands alone).
    Start,
    /// After a newline: a multi-line message.
    Newline,
    /// After a space: the tail of a mailer's wrap.
    Space,
    /// Directly, dropping the `=` before it: a quoted-printable soft break.
    SoftBreak,
    /// Directly: the next piece of an overlong line.
    Piece,
}

/// One line (or one of the records glued on a line) as parsed.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The file it came from.
    pub file: &'a str,
    /// The format of its record.
    pub format: Format,
    /// What the line is.
    pub kind: Kind,
    /// Physical line number (1-based).
    pub line: u64,
    /// File offset of the entry's first byte.
    pub offset: u64,
    /// Record number in the file (1-based; 0: outside any record).
    pub record: u64,
    /// The line continues the record started above.
    pub continuation: bool,
    /// How it joins that record.
    pub join: Join,
    /// The record's header fields.
    pub fields: Fields<'a>,
    /// This line's own frame symbol (a call-trace frame), if any.
    pub func: Option<&'a [u8]>,
    /// The message: the line after its head, repaired.
    pub message: &'a [u8],
    /// Damage on this entry, with file offsets.
    pub damage: &'a [Damage],
    /// The whole physical line (for reports).
    pub raw: &'a [u8],
    /// File offset of `raw`.
    pub raw_offset: u64,
}

/// A record's header fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fields<'a> {
    /// Time as written (without brackets).
    pub time: Option<&'a [u8]>,
    /// Process id.
    pub pid: Option<u32>,
    /// Thread id or name (xend's vendor form).
    pub thread: Option<&'a [u8]>,
    /// Logger name (xend's old and stderr forms) or libxl's program.
    pub logger: Option<&'a [u8]>,
    /// Host (syslog, journal).
    pub host: Option<&'a [u8]>,
    /// Level.
    pub level: Option<Level>,
    /// Module, subsystem, program or source file.
    pub module: Option<&'a [u8]>,
    /// Source line (xend, libxl).
    pub lineno: Option<u32>,
    /// Function (libxl's position; a frame record's symbol).
    pub func: Option<&'a [u8]>,
}

impl Entry<'_> {
    /// A field as text (head fields are ASCII; anything else reads as `None`).
    pub fn str(b: Option<&[u8]>) -> Option<&str> {
        b.and_then(|b| std::str::from_utf8(b).ok())
    }
}

type Span = Option<(u32, u32)>;

/// The header of the record being read. Its fields are spans of the head;
/// the head's bytes are copied out of the line only when a continuation
/// line needs them (`materialize`, from the reader's `prev`), which most
/// records of a big log never do.
#[derive(Default)]
pub(crate) struct Current {
    pub open: bool,
    pub format: Option<Format>,
    bytes: Vec<u8>,
    /// Where the head lies in its physical line, until it is copied.
    pending: Option<(usize, usize)>,
    time: Span,
    thread: Span,
    logger: Span,
    host: Span,
    module: Span,
    func: Span,
    pid: Option<u32>,
    level: Option<Level>,
    lineno: Option<u32>,
}

/// Where `field` sits in `base` (it is a subslice of it, or it is dropped).
fn span_in(base: &[u8], field: Option<&[u8]>) -> Span {
    let f = field?;
    let start = (f.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
    let end = start.checked_add(f.len())?;
    (end <= base.len()).then_some((u32::try_from(start).ok()?, u32::try_from(end).ok()?))
}

impl Current {
    /// Opens a record whose head is `seg[..end]`, `seg` starting at byte
    /// `seg_at` of its physical line.
    pub fn open(&mut self, seg: &[u8], seg_at: usize, end: usize, format: Format, f: &Fields<'_>) {
        let head = seg.get(..end).unwrap_or(seg);
        self.open = true;
        self.format = Some(format);
        self.pending = Some((seg_at, seg_at + head.len()));
        self.time = span_in(head, f.time);
        self.thread = span_in(head, f.thread);
        self.logger = span_in(head, f.logger);
        self.host = span_in(head, f.host);
        self.module = span_in(head, f.module);
        self.func = span_in(head, f.func);
        self.pid = f.pid;
        self.level = f.level;
        self.lineno = f.lineno;
    }

    /// Copies the head out of `line`, the physical line it was read from,
    /// if that has not happened yet.
    #[inline]
    pub fn materialize(&mut self, line: &[u8]) {
        if let Some((a, b)) = self.pending.take() {
            self.bytes.clear();
            self.bytes
                .extend_from_slice(line.get(a..b).unwrap_or_default());
        }
    }

    fn get(&self, s: Span) -> Option<&[u8]> {
        let (a, b) = s?;
        if self.pending.is_some() {
            return None;
        }
        self.bytes.get(a as usize..b as usize)
    }

    /// The fields continuation lines carry.
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            time: self.get(self.time),
            pid: self.pid,
            thread: self.get(self.thread),
            logger: self.get(self.logger),
            host: self.get(self.host),
            level: self.level,
            module: self.get(self.module),
            lineno: self.lineno,
            func: self.get(self.func),
        }
    }
}
