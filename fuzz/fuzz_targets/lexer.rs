//! Any bytes, as every kind of file xsh reads: the lexer, the parser, the
//! damage scan, the record assembly, explain, diff and the token snapshot
//! must neither panic nor report a span outside the input, and every line
//! must give an entry. The reader runs with a tiny line limit so that its
//! overlong-line path is reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xsh_log::reader::{for_each_line, LineSink, RawLine};

struct Count(u64, u64);

impl LineSink for Count {
    fn first(&mut self, _: &[u8]) {}
    fn line(&mut self, l: RawLine<'_>) {
        self.0 += 1;
        self.1 += l.bytes.len() as u64;
        assert!(l.offset + l.bytes.len() as u64 <= u64::MAX / 2);
    }
}

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    for name in [
        "xend.log",
        "qemu-dm-x.log",
        "xen.log",
        "console-x.log",
        "xl-x.log",
        "any.log",
    ] {
        let mut entries = 0u64;
        let sum = xsh_log::parse_bytes(data, name, None, |e| {
            entries += 1;
            assert!(e.offset <= len);
            for d in e.damage {
                assert!(d.start <= d.end && d.end <= len, "{d:?} outside {len}");
            }
        });
        assert!(entries >= sum.lines);
    }
    let recs = xsh_log::records_of(data, "xend.log", None);
    let _ = xsh_log::explain::explain(&recs);
    let _ = xsh_log::diff::diff(&recs, &recs);
    let _ = xsh_log::snapshot::tokens_of(data);
    let mut c = Count(0, 0);
    let n = for_each_line(data, 64, &mut c).expect("reading a slice cannot fail");
    assert_eq!(n, len);
    assert!(c.1 <= len);
});
