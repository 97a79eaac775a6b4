//! Dates as xapi writes them: `YYYYMMDDTHH:MM:SSZ` in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

/// `unix_seconds` as xapi's date text, e.g. `20240101T12:34:56Z`.
pub fn xapi_datetime(unix_seconds: u64) -> String {
    let (year, month, day) = civil_date(unix_seconds / 86_400);
    let seconds = unix_seconds % 86_400;
    format!(
        "{year:04}{month:02}{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The current time as xapi's date text.
pub fn xapi_now() -> String {
    xapi_datetime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs()),
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, restricted to dates after the epoch).
pub fn civil_date(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_date_matches_known_days() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(19_723), (2024, 1, 1));
    }

    #[test]
    fn formats_like_xapi() {
        assert_eq!(xapi_datetime(0), "19700101T00:00:00Z");
        assert_eq!(xapi_datetime(1_704_112_496), "20240101T12:34:56Z");
    }
}
