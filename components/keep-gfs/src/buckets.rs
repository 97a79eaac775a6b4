//! The bucket a backup falls in, per period, as Xen Orchestra's long-term retention names
//! them (and writes them into a backup's tags): `daily=YYYY-MM-DD`, `weekly=gggg-ww`,
//! `monthly=YYYY-MM`, `yearly=YYYY`, in the job's time zone, each shifted back by its setting
//! (a day starting at 02:00 puts 01:30 in the day before).
//!
//! Weeks are those of moment.js's default (English) locale, which Xen Orchestra uses: they
//! start on Sunday, and week 1 is the week that holds 1 January, so a week-year can differ
//! from the calendar year around New Year.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeDelta};
use chrono_tz::Tz;

/// A period of long-term retention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Period {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Period {
    pub const ALL: [Period; 4] = [
        Period::Daily,
        Period::Weekly,
        Period::Monthly,
        Period::Yearly,
    ];

    /// The period's name in the settings and in tags.
    pub fn name(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Yearly => "yearly",
        }
    }
}

/// The bucket of the instant `ms` (milliseconds since the Unix epoch) for `period`, shifted
/// back by `shift` (hours for daily, days for the others).
pub fn bucket(period: Period, ms: i64, zone: Tz, shift: i64) -> Option<String> {
    let local = DateTime::from_timestamp_millis(ms)?.with_timezone(&zone);
    let shifted = match period {
        Period::Daily => local.naive_local() - TimeDelta::try_hours(shift)?,
        _ => local.naive_local() - TimeDelta::try_days(shift)?,
    };
    let date = shifted.date();
    Some(match period {
        Period::Daily => date.format("%Y-%m-%d").to_string(),
        Period::Weekly => {
            let (year, week) = locale_week(date);
            format!("{year:04}-{week:02}")
        }
        Period::Monthly => date.format("%Y-%m").to_string(),
        Period::Yearly => date.format("%Y").to_string(),
    })
}

/// The week-year and week of `date`: weeks start on Sunday, week 1 holds 1 January.
fn locale_week(date: NaiveDate) -> (i32, u32) {
    let sunday = date - Duration::days(i64::from(date.weekday().num_days_from_sunday()));
    let saturday = sunday + Duration::days(6);
    // A week that runs into a new year holds its 1 January: it is that year's week 1.
    let year = saturday.year();
    let first_of_year = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(saturday);
    let first_sunday =
        first_of_year - Duration::days(i64::from(first_of_year.weekday().num_days_from_sunday()));
    let week = (sunday - first_sunday).num_days() / 7 + 1;
    (year, u32::try_from(week).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn days_are_local_and_shifted_by_the_first_hour() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // 23:30 UTC on 1 March is 00:30 on 2 March in Paris.
        let at = ms("2024-03-01T23:30:00Z");
        assert_eq!(bucket(Period::Daily, at, paris, 0).unwrap(), "2024-03-02");
        assert_eq!(
            bucket(Period::Daily, at, chrono_tz::UTC, 0).unwrap(),
            "2024-03-01"
        );
        // A day that starts at 02:00 puts 00:30 in the day before.
        assert_eq!(bucket(Period::Daily, at, paris, 2).unwrap(), "2024-03-01");
    }

    #[test]
    fn weeks_start_on_sunday_and_week_one_holds_new_year() {
        let utc = chrono_tz::UTC;
        // 2024-09-02 is a Monday: week 36 of 2024 (Sunday 1 September to Saturday 7).
        assert_eq!(
            bucket(Period::Weekly, ms("2024-09-02T10:00:00Z"), utc, 0).unwrap(),
            "2024-36"
        );
        assert_eq!(
            bucket(Period::Weekly, ms("2024-09-01T10:00:00Z"), utc, 0).unwrap(),
            "2024-36"
        );
        assert_eq!(
            bucket(Period::Weekly, ms("2024-08-31T10:00:00Z"), utc, 0).unwrap(),
            "2024-35"
        );
        // Sunday 29 December 2024 starts the week of 1 January 2025: week 1 of 2025.
        assert_eq!(
            bucket(Period::Weekly, ms("2024-12-29T10:00:00Z"), utc, 0).unwrap(),
            "2025-01"
        );
        assert_eq!(
            bucket(Period::Weekly, ms("2025-01-04T10:00:00Z"), utc, 0).unwrap(),
            "2025-01"
        );
        assert_eq!(
            bucket(Period::Weekly, ms("2025-01-05T10:00:00Z"), utc, 0).unwrap(),
            "2025-02"
        );
        // Shifted by one day, a Sunday belongs to the week before.
        assert_eq!(
            bucket(Period::Weekly, ms("2024-09-01T10:00:00Z"), utc, 1).unwrap(),
            "2024-35"
        );
    }

    #[test]
    fn months_and_years_shift_by_days() {
        let utc = chrono_tz::UTC;
        let at = ms("2024-03-01T10:00:00Z");
        assert_eq!(bucket(Period::Monthly, at, utc, 0).unwrap(), "2024-03");
        assert_eq!(bucket(Period::Monthly, at, utc, 1).unwrap(), "2024-02");
        assert_eq!(
            bucket(Period::Yearly, ms("2024-01-01T10:00:00Z"), utc, 1).unwrap(),
            "2023"
        );
        assert_eq!(bucket(Period::Yearly, at, utc, 0).unwrap(), "2024");
    }
}
