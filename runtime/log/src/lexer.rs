//! The tokens that open a log line, as one logos DFA over bytes.
//!
//! Only the head of a line is tokenised: the stamp, pid, level and
//! `(module:line)` of xend, the `(XEN) ` prefix, a printk time, a syslog
//! stamp, a `libxl: error: file.c:N:fn:` prefix, a stack frame's address and
//! `symbol+0x5e/0xa0`. Everything after the head is one message, found by
//! the parser without tokenising it: a message is free text whose bytes only
//! matter to the damage scan (`damage.rs`), and skipping them is what makes a
//! 200 MB xend.log parse in a fraction of a second.
//!
//! The source is `[u8]`, not `str`: real logs carry NUL runs, Latin-1 and
//! backspaces (xc_save's progress lines), and none of that may stop the
//! lexer. A byte no token matches is an `Err(())` from logos, which the
//! parser treats as the start of plain text.

use logos::Logos;

/// A token of a line's head.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[logos(utf8 = false)]
pub enum Tok {
    /// `[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:568) `: the whole
    /// head exactly as xend's formatter writes it, as one token. Nearly every
    /// line of a xend.log has it, and one DFA pass over it is what keeps the
    /// parser above 1 GB/s; its fields are read back from the token's bytes
    /// (as an `Int`'s value is). Every other shape of the head (vendor,
    /// old, padded, broken) is lexed token by token from `BracketStamp`.
    #[regex(r"\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{1,10}\] (DEBUG|INFO|WARNING|ERROR|CRITICAL|TRACE) \([A-Za-z_][A-Za-z0-9_]*:[0-9]{1,9}\) ?")]
    XendHead,
    /// `[2019-06-05 09:23:27` (xend), with `,123` milliseconds in the vendor
    /// form; also the date stamp of a Xen console with `console_timestamps`.
    #[regex(r"\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}([,.][0-9]{1,9})?")]
    BracketStamp,
    /// `[ 1234.567890]`: printk time (Linux) or `console_timestamps=boot` (Xen).
    #[regex(r"\[ *[0-9]+\.[0-9]+\]")]
    Uptime,
    /// `<6>`: a kmsg level in front of a kernel line.
    #[regex(r"<[0-7]>")]
    KmsgLevel,
    /// `(XEN)`: every line of the hypervisor's console.
    #[token("(XEN)")]
    XenPrefix,
    /// `(d8)`: a guest's debug output (hvmloader) through the Xen console.
    #[regex(r"\(d[0-9]+\)")]
    GuestPrefix,
    /// `[<ffff82d08020ddde>]`: a stack frame's address.
    #[regex(r"\[<[0-9a-fA-F]+>\]")]
    Addr,
    /// `domain.c#__domain_finalise_shutdown+0x5e/0xa0`: a symbol with offset and size.
    #[regex(r"[A-Za-z_.$][A-Za-z0-9_.$#]*\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+")]
    SymOff,
    /// `[  OK  ]`, `[FAILED]` (systemd) or `[ ok ]`, `[info]` (sysvinit LSB).
    #[regex(r"\[ *(OK|FAILED|DEPEND|TIME|ok|info|warn|FAIL|\.\.\.\.) *\]")]
    Status,
    /// `Jun  5 09:23:27`: a syslog stamp.
    #[regex(
        r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}"
    )]
    SyslogStamp,
    /// `2019-06-05T09:23:27.123456+0000`: journalctl's iso stamps, xl's own.
    #[regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?")]
    IsoStamp,
    /// `systemd-shutdown[1]:`: a process and its pid.
    #[regex(r"[A-Za-z_][A-Za-z0-9_.\-/@]*\[[0-9]+\]:")]
    ProcTag,
    /// `libxl:`, `xc:`, `xl:`: the program prefix of xl and libxl messages.
    #[regex(r"(libxl|libxl-save-helper|libxlu|xc|xl|xenstore):")]
    ProgTag,
    /// `error:`: libxl's lower-case levels.
    #[regex(r"(debug|verbose|detail|progress|info|notice|warning|error|critical):")]
    XlLevel,
    /// `libxl.c:1234:libxl_domain_shutdown:`: libxl's source position.
    #[regex(r"[A-Za-z0-9_\-]+\.[ch]:[0-9]+:[A-Za-z0-9_]*:")]
    XlWhere,
    /// A Python logging level name.
    #[regex("DEBUG|INFO|WARNING|ERROR|CRITICAL|TRACE|WARN|FATAL", priority = 10)]
    Level,
    /// `(XendDomainInfo:1348)`, also padded: `(image:741  )`.
    #[regex(r"\([A-Za-z_<][A-Za-z0-9_<>\-]*:[0-9]+ *\)")]
    Where,
    /// `Traceback (most recent call last):`.
    #[token("Traceback (most recent call last):")]
    Traceback,
    /// `File "/usr/lib64/python2.6/threading.py", line 504, in __bootstrap`.
    #[regex(r#"File "[^"\n]*", line [0-9]+"#)]
    PyFile,
    /// A decimal number.
    #[regex(r"[0-9]+")]
    Int,
    /// A name: a logger, a thread, a host, a word of text.
    #[regex(r"[A-Za-z_][A-Za-z0-9_.\-]*")]
    Word,
    /// `[`.
    #[token("[")]
    Open,
    /// `]`.
    #[token("]")]
    Close,
    /// `:`.
    #[token(":")]
    Colon,
    /// `?`: an unreliable frame of a Linux stack scan.
    #[token("?")]
    Question,
    /// Spaces and tabs.
    #[regex(r"[ \t]+")]
    Space,
}

impl Tok {
    /// The token's name in snapshots.
    pub fn name(self) -> &'static str {
        match self {
            Tok::XendHead => "XendHead",
            Tok::BracketStamp => "BracketStamp",
            Tok::Uptime => "Uptime",
            Tok::KmsgLevel => "KmsgLevel",
            Tok::XenPrefix => "XenPrefix",
            Tok::GuestPrefix => "GuestPrefix",
            Tok::Addr => "Addr",
            Tok::SymOff => "SymOff",
            Tok::Status => "Status",
            Tok::SyslogStamp => "SyslogStamp",
            Tok::IsoStamp => "IsoStamp",
            Tok::ProcTag => "ProcTag",
            Tok::ProgTag => "ProgTag",
            Tok::XlLevel => "XlLevel",
            Tok::XlWhere => "XlWhere",
            Tok::Level => "Level",
            Tok::Where => "Where",
            Tok::Traceback => "Traceback",
            Tok::PyFile => "PyFile",
            Tok::Int => "Int",
            Tok::Word => "Word",
            Tok::Open => "Open",
            Tok::Close => "Close",
            Tok::Colon => "Colon",
            Tok::Question => "Question",
            Tok::Space => "Space",
        }
    }
}

/// Receives the tokens the line parser consumes (snapshots record them; the
/// hot path passes [`NoTokens`], which compiles to nothing).
pub trait TokSink {
    /// One token of the head, or `None` for the message that follows it.
    fn tok(&mut self, tok: Option<Tok>, span: std::ops::Range<usize>);
}

/// Discards tokens.
pub struct NoTokens;

impl TokSink for NoTokens {
    #[inline(always)]
    fn tok(&mut self, _: Option<Tok>, _: std::ops::Range<usize>) {}
}

impl TokSink for Vec<(Option<Tok>, std::ops::Range<usize>)> {
    fn tok(&mut self, tok: Option<Tok>, span: std::ops::Range<usize>) {
        self.push((tok, span));
    }
}

/// A token logos returned (or `None` at the end), and its span.
type Peeked = (Option<Result<Tok, ()>>, std::ops::Range<usize>);

/// A lexer over one line's bytes that reports what it consumes and can look
/// one token ahead.
pub struct Cursor<'a, 's, S: TokSink> {
    lex: logos::Lexer<'a, Tok>,
    peeked: Option<Peeked>,
    line: &'a [u8],
    /// Where the consumed head ends.
    pub pos: usize,
    sink: &'s mut S,
}

impl<'a, 's, S: TokSink> Cursor<'a, 's, S> {
    /// A cursor at `start` of `line`.
    pub fn new(line: &'a [u8], start: usize, sink: &'s mut S) -> Self {
        let start = start.min(line.len());
        let mut lex = Tok::lexer(line);
        lex.bump(start);
        Cursor {
            lex,
            peeked: None,
            line,
            pos: start,
            sink,
        }
    }

    fn fill(&mut self) {
        if self.peeked.is_none() {
            let t = self.lex.next();
            self.peeked = Some((t, self.lex.span()));
        }
    }

    /// The next token without consuming it (`None` at the end of the line or
    /// on a byte no token matches).
    pub fn peek(&mut self) -> Option<Tok> {
        self.fill();
        match &self.peeked {
            Some((Some(Ok(t)), _)) => Some(*t),
            _ => None,
        }
    }

    /// Moves to `pos` of the line (dropping a peeked token).
    pub fn seek(&mut self, pos: usize) {
        let pos = pos.min(self.line.len());
        self.lex = Tok::lexer(self.line);
        self.lex.bump(pos);
        self.peeked = None;
        self.pos = pos;
    }

    /// Consumes the next token if it is `want`; returns its bytes.
    pub fn eat(&mut self, want: Tok) -> Option<&'a [u8]> {
        if self.peek() != Some(want) {
            return None;
        }
        let (_, span) = self.peeked.take()?;
        self.sink.tok(Some(want), span.clone());
        self.pos = span.end;
        self.line.get(span)
    }

    /// Consumes any token; returns it and its bytes.
    pub fn bump(&mut self) -> Option<(Tok, &'a [u8])> {
        let t = self.peek()?;
        self.eat(t).map(|s| (t, s))
    }

    /// Consumes spaces, if any.
    pub fn spaces(&mut self) -> usize {
        self.eat(Tok::Space).map_or(0, <[u8]>::len)
    }

    /// Ends the head: the rest of the line is the message.
    pub fn finish(self) -> usize {
        if self.pos < self.line.len() {
            self.sink.tok(None, self.pos..self.line.len());
        }
        self.pos
    }
}

/// Every token of a line's head as the parser consumes it, then the message
/// (`None`): what the lexer snapshots in `tests/lexer-inputs/` show.
pub fn tokens(line: &[u8]) -> Vec<(Option<Tok>, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let _ = crate::line::scan(line, &mut out);
    out
}
