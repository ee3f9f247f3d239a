//! Virtual time. Nothing in xsh reads a wall clock: the world starts at
//! `SimTime::ZERO`, and the wall-clock epoch the logs show (`sim.start_time`)
//! is a separate number added only when a log line is formatted.

use std::fmt;

/// A point in virtual time, in nanoseconds since the world started.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct SimTime(pub u64);

/// A span of virtual time in nanoseconds.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The instant the world starts.
    pub const ZERO: SimTime = SimTime(0);

    /// Seconds since the world started, as a float (what `sim.now()` returns).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// This instant plus `d`, saturating at the end of time.
    pub fn after(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// The time elapsed from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// `n` nanoseconds.
    pub const fn nanos(n: u64) -> Self {
        SimDuration(n)
    }
    /// `n` microseconds.
    pub const fn micros(n: u64) -> Self {
        SimDuration(n * 1_000)
    }
    /// `n` milliseconds.
    pub const fn millis(n: u64) -> Self {
        SimDuration(n * 1_000_000)
    }
    /// `n` seconds.
    pub const fn secs(n: u64) -> Self {
        SimDuration(n * 1_000_000_000)
    }
    /// Seconds as a float, rounded to the nanosecond; negative and NaN are zero.
    pub fn from_secs_f64(s: f64) -> Self {
        if s.is_nan() || s <= 0.0 {
            SimDuration(0)
        } else if s >= (u64::MAX / 1_000_000_000) as f64 {
            SimDuration(u64::MAX)
        } else {
            SimDuration((s * 1e9).round() as u64)
        }
    }
    /// The span in seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// `self * k`, saturating.
    pub fn times(self, k: u64) -> Self {
        SimDuration(self.0.saturating_mul(k))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0 / 1_000_000_000,
            (self.0 % 1_000_000_000) / 1_000
        )
    }
}

/// The wall-clock reading (seconds since 1970, in the host's local time as
/// the logs print it) at `SimTime::ZERO`.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Epoch(pub i64);

impl Default for Epoch {
    /// 2019-06-05 09:23:27, the moment the seed's `xm shutdown` was typed.
    fn default() -> Self {
        Epoch(1_559_726_607)
    }
}

impl Epoch {
    /// Parses `YYYY-MM-DD HH:MM:SS`.
    pub fn parse(s: &str) -> Result<Epoch, String> {
        let bad = || format!("start time must look like \"2019-06-05 09:23:27\", got {s:?}");
        let b = s.as_bytes();
        if b.len() != 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b' '
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
            s[r].parse::<i64>().map_err(|_| bad())
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1970..=9999).contains(&y)
            || !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month(y, mo)
        {
            return Err(bad());
        }
        if h > 23 || mi > 59 || se > 59 {
            return Err(bad());
        }
        Ok(Epoch(
            days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se,
        ))
    }

    /// Wall-clock seconds at virtual time `t` (whole seconds, truncated as
    /// Python's `time.strftime` of `record.created` truncates).
    pub fn wall_secs(self, t: SimTime) -> i64 {
        self.0 + (t.0 / 1_000_000_000) as i64
    }

    /// Wall-clock seconds at `t` as a float (what `time.time()` returns in xend).
    pub fn wall_f64(self, t: SimTime) -> f64 {
        self.0 as f64 + t.as_secs_f64()
    }

    /// `YYYY-MM-DD HH:MM:SS` at virtual time `t`.
    pub fn format(self, t: SimTime) -> String {
        format_datetime(self.wall_secs(t))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD HH:MM:SS` of a count of seconds since 1970.
pub fn format_datetime(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MMDD-HHMM.SS`, the stamp xend puts in core-dump file names.
pub fn format_dump_stamp(secs: i64) -> String {
    let full = format_datetime(secs);
    // "2019-06-05 09:23:27" -> "2019-0605-0923.27"
    format!(
        "{}-{}{}-{}{}.{}",
        &full[0..4],
        &full[5..7],
        &full[8..10],
        &full[11..13],
        &full[14..16],
        &full[17..19]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_round_trips_the_seed_start() {
        let e = Epoch::parse("2019-06-05 09:23:27").unwrap();
        assert_eq!(e, Epoch::default());
        assert_eq!(e.format(SimTime(1_500_000_000)), "2019-06-05 09:23:28");
    }

    #[test]
    fn leap_days_and_year_ends_format() {
        for s in [
            "2020-02-29 23:59:59",
            "1999-12-31 00:00:00",
            "2100-03-01 12:34:56",
        ] {
            assert_eq!(Epoch::parse(s).unwrap().format(SimTime::ZERO), s);
        }
        assert!(Epoch::parse("2019-02-29 00:00:00").is_err());
        assert!(Epoch::parse("2019-06-05T09:23:27").is_err());
    }

    #[test]
    fn dump_stamp_matches_xend() {
        assert_eq!(format_dump_stamp(Epoch::default().0), "2019-0605-0923.27");
    }
}
