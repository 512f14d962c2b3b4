//! Timestamps (SPEC.md §2.4): RFC 3339 in UTC, written with a `Z` and no
//! offset, so that one instant has one spelling and byte comparison of signed
//! JSON stays meaningful.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use std::fmt;

/// An instant with microsecond precision, as the ledger records it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Truncates to whole microseconds, the precision the ledger writes.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        let micros = t.timestamp_subsec_micros() * 1_000;
        Timestamp(t.with_nanosecond(micros).unwrap_or(t))
    }

    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        DateTime::<Utc>::from_timestamp_micros(micros).map(Timestamp)
    }

    pub fn unix_micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` and nothing else: no offsets, no
    /// lowercase `t`/`z`, no leap second, no missing fields.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || b.last() != Some(&b'Z') {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            part.iter().try_fold(0u32, |acc, d| {
                acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
            })
        };
        let sep = |i: usize, c: u8| b.get(i) == Some(&c);
        if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
            return None;
        }
        let year = i32::try_from(digits(0..4)?).ok()?;
        let (month, day) = (digits(5..7)?, digits(8..10)?);
        let (hour, min, sec) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        let nanos = match b.get(19)? {
            b'Z' if b.len() == 20 => 0,
            b'.' => {
                let frac = b.get(20..b.len() - 1)?;
                if frac.is_empty() || frac.len() > 9 {
                    return None;
                }
                let v = digits(20..b.len() - 1)?;
                v.checked_mul(10u32.checked_pow(u32::try_from(9 - frac.len()).ok()?)?)?
            }
            _ => return None,
        };
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        // chrono treats second 60 as a leap second; the ledger does not.
        if sec > 59 {
            return None;
        }
        let time = NaiveTime::from_hms_nano_opt(hour, min, sec, nanos)?;
        Some(Timestamp(NaiveDateTime::new(date, time).and_utc()))
    }
}

impl Timestamp {
    /// Parses the one spelling the platform writes for its own clock (six
    /// fractional digits), so that re-serialising a parsed time gives back
    /// the signed bytes.
    pub fn parse_canonical(s: &str) -> Option<Self> {
        Self::parse(s).filter(|t| t.to_string() == s)
    }
}

impl fmt::Display for Timestamp {
    /// Always six fractional digits, so the writer has one spelling per instant.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_has_six_digits() {
        assert!(Timestamp::parse_canonical("2026-11-26T06:53:19.000000Z").is_some());
        assert!(Timestamp::parse_canonical("2026-11-26T06:53:19Z").is_none());
        assert!(Timestamp::parse_canonical("2026-11-26T06:53:19.1234567Z").is_none());
    }

    #[test]
    fn strict_format() {
        let t = Timestamp::parse("2026-11-26T06:53:19Z");
        assert!(t.is_some());
        assert_eq!(
            t.map(|t| t.to_string()).as_deref(),
            Some("2026-11-26T06:53:19.000000Z")
        );
        assert!(Timestamp::parse("2026-11-26T06:53:19.123456789Z").is_some());
        for bad in [
            "2026-11-26T06:53:19+00:00",
            "2026-11-26t06:53:19Z",
            "2026-11-26T06:53:60Z",
            "2026-02-30T06:53:19Z",
            "2026-11-26T06:53:19.Z",
            "2026-11-26T06:53:19.1234567890Z",
            "2026-11-26 06:53:19Z",
            "+026-11-26T06:53:19Z",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }
}
