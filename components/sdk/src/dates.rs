//! Dates as Xen Orchestra writes them, in UTC, from a time in milliseconds since the Unix
//! epoch (the run's `RunContext.now_ms`, or the host's `clock::now_ms()`).
//!
//! - [`filename_date`]: `20240102T030405Z`, the form of backup file names and replica names.
//! - [`xapi_datetime`]: `20240102T03:04:05Z`, XAPI's DateTime (`snapshot_time`) and the form
//!   of the marks Xen Orchestra writes into `other_config`.
//!
//! [`parse_date`] reads either form back.

use crate::civil::{civil_from_days, days_from_civil};
use crate::types::Error;

const MS_PER_SECOND: u64 = 1000;
const SECONDS_PER_DAY: u64 = 86_400;

/// `20240102T030405Z`: the UTC date and time of `ms` (milliseconds since the Unix epoch), to
/// the second.
pub fn filename_date(ms: u64) -> String {
    let (date, hour, minute, second) = split(ms);
    format!("{date}T{hour:02}{minute:02}{second:02}Z")
}

/// `20240102T03:04:05Z`: the UTC date and time of `ms` in XAPI's DateTime form.
pub fn xapi_datetime(ms: u64) -> String {
    let (date, hour, minute, second) = split(ms);
    format!("{date}T{hour:02}:{minute:02}:{second:02}Z")
}

/// Milliseconds since the Unix epoch of a date in either form (`20240102T030405Z` or
/// `20240102T03:04:05Z`); anything else, or a date before 1970, is `invalid-input`.
pub fn parse_date(text: &str) -> Result<u64, Error> {
    let invalid = || {
        Error::invalid_input(format!(
            "`{text}` is not a UTC date like 20240102T030405Z or 20240102T03:04:05Z"
        ))
    };
    let bytes = text.as_bytes();
    let time: [u8; 6] = match *bytes {
        [_, _, _, _, _, _, _, _, b'T', h1, h2, m1, m2, s1, s2, b'Z'] => [h1, h2, m1, m2, s1, s2],
        [
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            b'T',
            h1,
            h2,
            b':',
            m1,
            m2,
            b':',
            s1,
            s2,
            b'Z',
        ] => [h1, h2, m1, m2, s1, s2],
        _ => return Err(invalid()),
    };
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0, |value, digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    let fields = (
        number(&bytes[..4]),
        number(&bytes[4..6]),
        number(&bytes[6..8]),
        number(&time[..2]),
        number(&time[2..4]),
        number(&time[4..]),
    );
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = fields
    else {
        return Err(invalid());
    };
    let year = i64::from(year);
    let days = days_from_civil(year, month, day);
    let is_real_day = (1..=12).contains(&month) && civil_from_days(days) == (year, month, day);
    if !is_real_day || days < 0 || hour > 23 || minute > 59 || second > 59 {
        return Err(invalid());
    }
    let seconds = days as u64 * SECONDS_PER_DAY
        + u64::from(hour) * 3600
        + u64::from(minute) * 60
        + u64::from(second);
    Ok(seconds * MS_PER_SECOND)
}

/// The `YYYYMMDD` date and the hour, minute and second of `ms`.
fn split(ms: u64) -> (String, u64, u64, u64) {
    let seconds = ms / MS_PER_SECOND;
    let days = (seconds / SECONDS_PER_DAY) as i64;
    let of_day = seconds % SECONDS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    (
        format!("{year:04}{month:02}{day:02}"),
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-02 03:04:05.678 UTC.
    const MS: u64 = 1_704_164_645_678;

    #[test]
    fn formats_like_xen_orchestra() {
        assert_eq!(filename_date(MS), "20240102T030405Z");
        assert_eq!(xapi_datetime(MS), "20240102T03:04:05Z");
        assert_eq!(xapi_datetime(0), "19700101T00:00:00Z");
        assert_eq!(filename_date(951_782_400_000), "20000229T000000Z");
    }

    #[test]
    fn parses_both_forms_to_the_second() {
        assert_eq!(parse_date("20240102T030405Z").unwrap(), MS - 678);
        assert_eq!(parse_date("20240102T03:04:05Z").unwrap(), MS - 678);
        assert_eq!(parse_date("19700101T00:00:00Z").unwrap(), 0);
        for ms in [0, MS, 4_102_444_799_000] {
            assert_eq!(parse_date(&filename_date(ms)).unwrap(), ms / 1000 * 1000);
            assert_eq!(parse_date(&xapi_datetime(ms)).unwrap(), ms / 1000 * 1000);
        }
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for text in [
            "",
            "2024-01-02T03:04:05Z",
            "20240102T030405",
            "20240230T000000Z",
            "20241301T000000Z",
            "20240102T240000Z",
            "20240102T03:04:5xZ",
            "19691231T235959Z",
            "20240102T03:0405Z",
        ] {
            assert!(parse_date(text).is_err(), "{text}");
        }
    }
}
