//! A record's time, normalised: the stamp as its format writes it, read
//! into a wall-clock time (ISO 8601 beside the raw) or a time since boot.
//!
//! One host's logs stamp its local time: xend's formatter (`asctime`),
//! syslog, journalctl's `short-iso` (which adds the offset), xl's
//! `XTL_STDIOSTREAM_SHOW_DATE`. So times are compared as written, in that
//! local time; an offset, where a stamp has one, is kept for display and
//! not applied. Printk's `[ 1234.567890]` and Xen's `console_timestamps=boot`
//! are seconds since that kernel's boot, placed on the wall clock only by an
//! anchor the user gives (`xsh logs timeline --anchor`). Syslog's RFC 3164
//! stamp has no year: it takes one from elsewhere, said where it is used.

/// Nanoseconds in a second.
const NS: i64 = 1_000_000_000;

/// A normalised time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Local wall-clock time: nanoseconds since 1970-01-01T00:00:00 as
    /// written, the digits of its fraction, and the UTC offset (seconds)
    /// if the stamp gave one.
    Wall {
        /// Nanoseconds since the epoch, in the stamp's own time.
        ns: i64,
        /// Digits of the fraction as written (0: none).
        frac: u8,
        /// The stamp's offset from UTC, in seconds.
        offset: Option<i32>,
    },
    /// A syslog stamp without a year: month (1–12), day, nanoseconds into
    /// the day.
    NoYear {
        /// Month, 1–12.
        month: u8,
        /// Day of the month.
        day: u8,
        /// Nanoseconds since midnight.
        ns: i64,
    },
    /// Nanoseconds since boot (printk time, Xen's uptime stamps).
    Uptime(i64),
}

impl When {
    /// The time placed on the wall clock, as nanoseconds since the epoch:
    /// a wall time as it is, a year-less one in `year`, an uptime after
    /// `boot` (nanoseconds since the epoch).
    pub fn place(self, year: Option<i32>, boot: Option<i64>) -> Option<i64> {
        match self {
            When::Wall { ns, .. } => Some(ns),
            When::NoYear { month, day, ns } => {
                Some(days_from_civil(year?, month as u32, day as u32) * 86_400 * NS + ns)
            }
            When::Uptime(ns) => Some(boot? + ns),
        }
    }

    /// ISO 8601, where the time is on the wall clock: `2019-06-05T09:23:27`,
    /// with the fraction as written and the offset if there was one.
    pub fn iso(self) -> Option<String> {
        match self {
            When::Wall { ns, frac, offset } => {
                let mut s = iso(ns, frac);
                if let Some(o) = offset {
                    let (sign, a) = if o < 0 { ('-', -o) } else { ('+', o) };
                    s.push_str(&format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60));
                }
                Some(s)
            }
            _ => None,
        }
    }

    /// Seconds since boot, for an uptime stamp.
    pub fn uptime(self) -> Option<f64> {
        match self {
            When::Uptime(ns) => Some(ns as f64 / NS as f64),
            _ => None,
        }
    }
}

/// `ns` since the epoch as `YYYY-MM-DDTHH:MM:SS` and `frac` digits of fraction.
pub fn iso(ns: i64, frac: u8) -> String {
    let secs = ns.div_euclid(NS);
    let sub = ns.rem_euclid(NS);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        t / 3600,
        t / 60 % 60,
        t % 60
    );
    if frac > 0 {
        let digits = format!("{sub:09}");
        s.push('.');
        s.push_str(&digits[..(frac as usize).min(9)]);
    }
    s
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count from 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A fixed-width decimal at `b[at..at + n]`.
fn num(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0i64, |v, &c| {
        c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0'))
    })
}

/// Reads a stamp as the lexer found it (a record's `time` field):
/// `2019-06-05 09:23:27`, `…,041` (xend vendor), `2019-06-05T09:23:27.123456+0000`,
/// `Jun  5 09:23:27`, or an uptime `1234.567890`.
pub fn parse(raw: &[u8]) -> Option<When> {
    let raw = raw.strip_prefix(b"[").unwrap_or(raw);
    if raw.get(4) == Some(&b'-') {
        return wall(raw);
    }
    if raw.first().is_some_and(u8::is_ascii_alphabetic) {
        return syslog(raw);
    }
    uptime(raw)
}

fn wall(b: &[u8]) -> Option<When> {
    let (y, mo, d) = (num(b, 0, 4)?, num(b, 5, 2)?, num(b, 8, 2)?);
    if b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b' ' | b'T')) {
        return None;
    }
    let (h, mi, s) = (num(b, 11, 2)?, num(b, 14, 2)?, num(b, 17, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut at = 19;
    let (mut sub, mut frac) = (0i64, 0u8);
    if matches!(b.get(at), Some(b'.' | b',')) {
        at += 1;
        let digits = b
            .get(at..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        for (k, &c) in b[at..at + digits].iter().enumerate().take(9) {
            sub += i64::from(c - b'0') * 10i64.pow(8 - k as u32);
        }
        frac = digits.min(9) as u8;
        at += digits;
    }
    let offset = zone(b.get(at..).unwrap_or_default());
    let days = days_from_civil(y as i32, mo as u32, d as u32);
    Some(When::Wall {
        ns: (days * 86_400 + h * 3600 + mi * 60 + s) * NS + sub,
        frac,
        offset,
    })
}

/// `Z`, `+0000`, `+02:00`, ` UTC` (xl's date stamp names its zone; only
/// UTC's offset is known from a name).
fn zone(b: &[u8]) -> Option<i32> {
    let b = b.strip_prefix(b" ").unwrap_or(b);
    match b.first()? {
        b'Z' => Some(0),
        b'+' | b'-' => {
            let h = num(b, 1, 2)?;
            let m = num(b, if b.get(3) == Some(&b':') { 4 } else { 3 }, 2)?;
            let o = (h * 3600 + m * 60) as i32;
            Some(if b[0] == b'-' { -o } else { o })
        }
        _ if b.starts_with(b"UTC") || b.starts_with(b"GMT") => Some(0),
        _ => None,
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `Jun  5 09:23:27` (RFC 3164: no year, the day padded with a space).
fn syslog(b: &[u8]) -> Option<When> {
    let m = MONTHS.iter().position(|m| b.get(..3) == Some(&m[..]))? as u8 + 1;
    let day = match b.get(4)? {
        b' ' => num(b, 5, 1)?,
        _ => num(b, 4, 2)?,
    };
    let (h, mi, s) = (num(b, 7, 2)?, num(b, 10, 2)?, num(b, 13, 2)?);
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(When::NoYear {
        month: m,
        day: day as u8,
        ns: (h * 3600 + mi * 60 + s) * NS,
    })
}

/// `1234.567890` seconds since boot.
fn uptime(b: &[u8]) -> Option<When> {
    let b = b.strip_suffix(b"]").unwrap_or(b);
    let b = &b[b.iter().take_while(|&&c| c == b' ').count()..];
    let dot = b.iter().position(|&c| c == b'.')?;
    let whole = b[..dot].iter().try_fold(0i64, |v, &c| {
        (c.is_ascii_digit() && v < i64::MAX / 100).then(|| v * 10 + i64::from(c - b'0'))
    })?;
    let mut sub = 0i64;
    for (k, &c) in b.get(dot + 1..)?.iter().enumerate().take(9) {
        if !c.is_ascii_digit() {
            return None;
        }
        sub += i64::from(c - b'0') * 10i64.pow(8 - k as u32);
    }
    (dot > 0).then_some(When::Uptime(whole.checked_mul(NS)? + sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stamp_form_reads_back() {
        let w = parse(b"2019-06-05 09:23:27").unwrap();
        assert_eq!(w.iso().as_deref(), Some("2019-06-05T09:23:27"));
        assert_eq!(w.place(None, None), Some(1_559_726_607 * NS));
        let v = parse(b"2019-06-05 09:23:27,041").unwrap();
        assert_eq!(v.iso().as_deref(), Some("2019-06-05T09:23:27.041"));
        let j = parse(b"2019-06-05T09:23:27.123456+0000").unwrap();
        assert_eq!(j.iso().as_deref(), Some("2019-06-05T09:23:27.123456+00:00"));
        let s = parse(b"Jun  5 09:23:27").unwrap();
        assert_eq!(s.iso(), None);
        assert_eq!(s.place(Some(2019), None), w.place(None, None));
        assert_eq!(
            parse(b"Dec 31 23:59:59").unwrap().place(Some(2018), None),
            Some((1_546_300_800 - 1) * NS)
        );
        let u = parse(b"   12.482907").unwrap();
        assert_eq!(u.uptime(), Some(12.482907));
        assert_eq!(u.place(None, Some(1_000 * NS)), Some(1_012_482_907_000));
        assert_eq!(u.place(None, None), None);
        for bad in [
            &b"2019-13-05 09:23:27"[..],
            b"Foo  5 09:23:27",
            b"12",
            b"x.5",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        for days in [-1000, 0, 18_052, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i32, m, d), days);
        }
    }
}
