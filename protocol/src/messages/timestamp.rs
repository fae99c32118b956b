//! `google.protobuf.Timestamp`: binary `{1: int64 seconds, 2: int32 nanos}`, JSON an RFC 3339
//! string in UTC (`2025-01-02T03:04:05.123456789Z`, 0/3/6/9 fractional digits).

use crate::message::{DecodeError, Message};
use crate::pb;
use crate::prelude::*;

/// A point in time: seconds since the Unix epoch plus nanoseconds (0..1e9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

/// Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range protobuf allows.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Appends the last `width` decimal digits of `v`, zero-padded.
fn put_digits(out: &mut Vec<u8>, v: i64, width: usize) {
    let mut buf = [b'0'; 9];
    let mut v = v.unsigned_abs();
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Timestamp {
    /// Appends the RFC 3339 form (UTC, `Z`, 0/3/6/9 fractional digits).
    pub fn write_rfc3339(&self, out: &mut Vec<u8>) {
        let (days, secs) = (
            self.seconds.div_euclid(86_400),
            self.seconds.rem_euclid(86_400),
        );
        let (y, mo, d) = civil_from_days(days);
        let parts = [
            (y, 4, b'-'),
            (mo, 2, b'-'),
            (d, 2, b'T'),
            (secs / 3600, 2, b':'),
            (secs / 60 % 60, 2, b':'),
        ];
        for (value, width, sep) in parts {
            put_digits(out, value, width);
            out.push(sep);
        }
        put_digits(out, secs % 60, 2);
        let nanos = i64::from(self.nanos);
        if nanos != 0 {
            out.push(b'.');
            if nanos % 1_000_000 == 0 {
                put_digits(out, nanos / 1_000_000, 3);
            } else if nanos % 1000 == 0 {
                put_digits(out, nanos / 1000, 6);
            } else {
                put_digits(out, nanos, 9);
            }
        }
        out.push(b'Z');
    }

    /// The RFC 3339 form as a string.
    pub fn to_rfc3339(&self) -> String {
        let mut out = Vec::with_capacity(30);
        self.write_rfc3339(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Parses RFC 3339 (`Z` or a numeric offset, up to 9 fractional digits).
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, DecodeError> {
        let bad =
            || DecodeError::new("invalid timestamp (want RFC 3339, e.g. 2025-01-02T03:04:05Z)");
        let b = text.as_bytes();
        let num = |range: core::ops::Range<usize>| -> Result<i64, DecodeError> {
            let part = b.get(range).ok_or_else(bad)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            Ok(part.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
        };
        let sep = |i: usize, want: &[u8]| {
            if b.get(i).is_some_and(|c| want.contains(c)) {
                Ok(())
            } else {
                Err(bad())
            }
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        sep(4, b"-")?;
        sep(7, b"-")?;
        sep(10, b"Tt ")?;
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        sep(13, b":")?;
        sep(16, b":")?;
        let days_in_month = match mo {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
            2 => 28,
            _ => return Err(bad()),
        };
        if d < 1 || d > days_in_month || h > 23 || mi > 59 || s > 59 {
            return Err(bad());
        }
        let mut i = 19;
        let mut nanos = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let n = i - start;
            if n == 0 || n > 9 {
                return Err(bad());
            }
            nanos = num(start..i)? * 10i64.pow((9 - n) as u32);
        }
        let offset = match b.get(i) {
            Some(b'Z' | b'z') if b.len() == i + 1 => 0,
            Some(sign @ (b'+' | b'-')) if b.len() == i + 6 => {
                sep(i + 3, b":")?;
                let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
                if oh > 23 || om > 59 {
                    return Err(bad());
                }
                let o = oh * 3600 + om * 60;
                if *sign == b'+' { o } else { -o }
            }
            _ => return Err(bad()),
        };
        let seconds = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return Err(DecodeError::new("timestamp out of range"));
        }
        Ok(Timestamp {
            seconds,
            nanos: nanos as i32,
        })
    }
}

impl Message for Timestamp {
    fn write_proto(&self, w: &mut pb::Writer<'_>) {
        if self.seconds != 0 {
            w.int64(1, self.seconds);
        }
        if self.nanos != 0 {
            w.int64(2, i64::from(self.nanos));
        }
    }

    fn merge_proto_field(
        &mut self,
        number: u32,
        value: pb::FieldValue<'_>,
    ) -> Result<(), DecodeError> {
        match number {
            1 => self.seconds = value.int64()?,
            2 => self.nanos = value.int32()?,
            _ => {}
        }
        Ok(())
    }

    #[cfg(feature = "json")]
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        self.write_rfc3339(out);
        out.push(b'"');
    }

    #[cfg(feature = "json")]
    fn merge_json(&mut self, j: &crate::json::Value) -> Result<(), DecodeError> {
        let text = j
            .as_str()
            .ok_or_else(|| DecodeError::new("expected an RFC 3339 string"))?;
        *self = Timestamp::parse_rfc3339(text)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_0_3_6_9_fraction_digits() {
        let t = |seconds, nanos| Timestamp { seconds, nanos }.to_rfc3339();
        assert_eq!(t(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(t(1_735_787_045, 123_000_000), "2025-01-02T03:04:05.123Z");
        assert_eq!(t(1_735_787_045, 123_456_000), "2025-01-02T03:04:05.123456Z");
        assert_eq!(
            t(1_735_787_045, 123_456_789),
            "2025-01-02T03:04:05.123456789Z"
        );
        assert_eq!(t(-1, 0), "1969-12-31T23:59:59Z");
        assert_eq!(t(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(t(MIN_SECONDS, 0), "0001-01-01T00:00:00Z");
        assert_eq!(
            t(MAX_SECONDS, 999_999_999),
            "9999-12-31T23:59:59.999999999Z"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let p = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        assert_eq!(
            p("2025-01-02T03:04:05.123456789Z"),
            Timestamp {
                seconds: 1_735_787_045,
                nanos: 123_456_789
            }
        );
        assert_eq!(
            p("2025-01-02T05:04:05.1+02:00"),
            Timestamp {
                seconds: 1_735_787_045,
                nanos: 100_000_000
            }
        );
        assert_eq!(
            p("2025-01-01T23:04:05-04:00"),
            Timestamp {
                seconds: 1_735_787_045,
                nanos: 0
            }
        );
        for s in [
            0,
            1,
            59,
            86_399,
            86_400,
            1_700_000_000,
            MIN_SECONDS,
            MAX_SECONDS,
            -86_401,
        ] {
            let ts = Timestamp {
                seconds: s,
                nanos: 5_000,
            };
            let text = ts.to_rfc3339();
            assert_eq!(p(&text), ts);
        }
    }

    #[test]
    fn rejects_invalid_timestamps() {
        for bad in [
            "",
            "2025-01-02",
            "2025-01-02T03:04:05",
            "2025-13-02T03:04:05Z",
            "2025-02-30T03:04:05Z",
            "2023-02-29T00:00:00Z",
            "2025-01-02T24:00:00Z",
            "2025-01-02T03:04:05.Z",
            "2025-01-02T03:04:05.1234567890Z",
            "2025-01-02T03:04:05+0200",
            "2025-01-02T03:04:05Zx",
            "0000-12-31T23:59:59Z",
            "2025-1-02T03:04:05Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad:?}");
        }
    }
}
