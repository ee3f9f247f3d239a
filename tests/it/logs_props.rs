//! Properties of the log parser on inputs nobody wrote by hand: it never
//! panics, its spans stay inside the input, it accounts for every line;
//! and what xend's formatter writes, it reads back exactly, with no damage.
//! (The fuzz target in `fuzz/` runs the first property without limits.)

use proptest::prelude::*;
use xsh_log::{Format, Kind};

/// Pieces real logs and their damage are made of, so that random inputs
/// reach the parser's branches rather than stopping at the first byte.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:568) ".to_vec()),
        Just(b"[2019-06-05 09:23:27,041 2164 Thread-9] INFO (image:741  ) ".to_vec()),
        Just(b"[2019-06-05 09:2".to_vec()),
        Just(b"(XEN) ".to_vec()),
        Just(
            b"(XEN)    [<ffff82d08020ddde>] domain.c#__domain_finalise_shutdown+0x5e/0xa0".to_vec()
        ),
        Just(b"[3426413.833096] ".to_vec()),
        Just(b"<4>".to_vec()),
        Just(b"Traceback (most recent call last):".to_vec()),
        Just(b"  File \"/x.py\", line 3, in f".to_vec()),
        Just(b"libxl: error: libxl.c:12:f: ".to_vec()),
        Just(b"Jun  5 09:23:27 host systemd[1]: ".to_vec()),
        Just(b"[  OK  ] ".to_vec()),
        Just(b"[code]".to_vec()),
        Just(b"[/quote]".to_vec()),
        Just(b"=3D".to_vec()),
        Just(b"=".to_vec()),
        Just(b"=E2=80".to_vec()),
        Just(b"=0A".to_vec()),
        Just(b"=0A=".to_vec()),
        Just(b"(XEN)    [<ffff82d040206d7d>] R domain_kill+0x6d/0x1a0".to_vec()),
        Just(b"(XEN)    [Fault on access]".to_vec()),
        Just(b"(XEN)  VTTBR_EL2: 00010083fce8e000".to_vec()),
        Just(b"(XEN) Xen WARN at common/domain.c:781".to_vec()),
        Just(b"Domain ubuntu-kdump (8) name=web-1 ".to_vec()),
        Just(b"2019-06-05T09:23:27.5+02:00 ".to_vec()),
        Just(b"> ".to_vec()),
        Just(b"-- Reboot --".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(vec![0u8, 0, 0]),
        Just(vec![0xff, 0xc3]),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..16),
    ]
}

fn log_like() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..40).prop_map(|v| v.concat())
}

fn check_invariants(input: &[u8], name: &str) -> Result<(), TestCaseError> {
    let mut last_line = 0;
    let mut entries = 0usize;
    let sum = xsh_log::parse_bytes(input, name, None, |e| {
        entries += 1;
        assert!(e.line >= last_line, "line numbers never go back");
        last_line = e.line;
        for d in e.damage {
            assert!(
                d.start <= d.end && d.end <= input.len() as u64,
                "span {d:?} inside the input"
            );
        }
        assert!(e.offset <= input.len() as u64);
    });
    let newlines = input.iter().filter(|&&b| b == b'\n').count() as u64;
    let expected = newlines + u64::from(!input.is_empty() && !input.ends_with(b"\n"));
    prop_assert_eq!(sum.lines, expected);
    prop_assert!(entries as u64 >= sum.lines, "every line gives an entry");
    // The record-level consumers must not panic either.
    let recs = xsh_log::records_of(input, name, None);
    let _ = xsh_log::explain::explain(&recs);
    let _ = xsh_log::diff::diff(&recs, &recs);
    let _ = xsh_log::snapshot::tokens_of(input);
    // Times, domids and the timeline read whatever the records hold.
    for r in &recs {
        let _ = r.when().map(|w| (w.iso(), w.place(Some(2019), Some(0))));
        let _ = r.domid();
    }
    let tl = xsh_log::timeline::merge(
        vec![(name.to_string(), input)],
        &xsh_log::timeline::Options::default(),
    )
    .expect("in memory");
    let _ = (tl.render(), tl.chrome_json());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_parse_without_panic(input in prop::collection::vec(any::<u8>(), 0..512)) {
        check_invariants(&input, "any.log")?;
    }

    #[test]
    fn log_like_bytes_parse_without_panic(input in log_like()) {
        check_invariants(&input, "xend.log")?;
        check_invariants(&input, "console-x.log")?;
    }

    #[test]
    fn what_xends_formatter_writes_reads_back_exactly(
        recs in prop::collection::vec((
            0u32..24, 0u32..60, 1u32..99999,
            prop::sample::select(vec!["DEBUG", "INFO", "WARNING", "ERROR"]),
            prop::sample::select(vec!["XendDomainInfo", "DevController", "image", "XendDomain"]),
            1u32..9999,
            "[a-zA-Z0-9 _.,:/(){}'-]{0,60}",
            any::<bool>(),
        ), 1..20)
    ) {
        let mut text = String::new();
        for (h, m, pid, level, module, line, msg, tb) in &recs {
            text.push_str(&format!("[2019-06-05 {h:02}:{m:02}:07 {pid}] {level} ({module}:{line}) {msg}\n"));
            if *tb {
                text.push_str("Traceback (most recent call last):\n  File \"/usr/lib64/python2.6/site-packages/xen/xend/XendDomainInfo.py\", line 2126, in destroyDomain\n    xc.domain_destroy(self.domid)\nError: (3, 'No such process')\n");
            }
        }
        let got = xsh_log::records_of(text.as_bytes(), "xend.log", None);
        prop_assert_eq!(got.len(), recs.len());
        for (r, (h, m, pid, level, module, line, msg, tb)) in got.iter().zip(&recs) {
            prop_assert_eq!(r.format, Format::Xend);
            prop_assert!(r.damage.is_empty(), "{:?}", r.damage);
            let time = format!("2019-06-05 {h:02}:{m:02}:07");
            prop_assert_eq!(r.time.as_deref(), Some(time.as_str()));
            prop_assert_eq!(r.pid, Some(*pid));
            prop_assert_eq!(r.level.map(|l| l.name()), Some(*level));
            prop_assert_eq!(r.module.as_deref(), Some(*module));
            prop_assert_eq!(r.lineno, Some(*line));
            prop_assert_eq!(r.head(), msg.as_str());
            prop_assert_eq!(r.lines.len(), if *tb { 5 } else { 1 });
            prop_assert!(r.lines[1..].iter().all(|l| l.kind == Kind::Traceback));
        }
    }
}

#[test]
fn an_overlong_line_is_cut_into_pieces_within_the_reader_s_limit() {
    struct Pieces(Vec<(usize, bool, bool)>);
    impl xsh_log::reader::LineSink for Pieces {
        fn first(&mut self, _: &[u8]) {}
        fn line(&mut self, l: xsh_log::reader::RawLine<'_>) {
            self.0.push((l.bytes.len(), l.overlong, l.continues));
        }
    }
    let mut text = vec![b'x'; 10_000];
    text.extend_from_slice(b"\nshort\n");
    let mut p = Pieces(Vec::new());
    let n = xsh_log::reader::for_each_line(&text[..], 1024, &mut p).expect("read");
    assert_eq!(n, text.len() as u64);
    assert!(p.0.iter().all(|&(len, _, _)| len <= 2048), "{:?}", p.0);
    assert_eq!(
        p.0.iter().filter(|x| x.1).map(|x| x.0).sum::<usize>(),
        10_000
    );
    assert_eq!(p.0.last(), Some(&(5, false, false)));
    assert!(
        p.0[1..p.0.len() - 1].iter().all(|x| x.2),
        "later pieces continue the first"
    );
}
