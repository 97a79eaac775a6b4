//! The policy's settings, as Xen Orchestra writes them in a job: the count to keep
//! (`exportRetention`, or the neutral `retention`), `longTermRetention` with a `retention` per
//! period and its shift (`firstHourOfTheDay`, `firstDayOfWeek`, `firstDayOfMonth`,
//! `firstDayOfYear`), and the IANA `timezone` the buckets are counted in. Other keys are
//! ignored, so that a step can pass its merged settings as they are.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::buckets::Period;

/// What a period keeps: the oldest backup of each of its `retention` newest non-empty buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub period: Period,
    pub retention: usize,
    /// How far back the period's buckets start: hours for `daily`, days for the others.
    pub shift: i64,
}

/// The checked settings.
#[derive(Debug, PartialEq)]
pub struct Policy {
    pub count: usize,
    pub rules: Vec<Rule>,
    pub zone: Tz,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Written {
    retention: Option<u64>,
    export_retention: Option<u64>,
    #[serde(default)]
    long_term_retention: BTreeMap<String, WrittenRule>,
    timezone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenRule {
    retention: u64,
    #[serde(default)]
    settings: Shifts,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Shifts {
    first_hour_of_the_day: Option<i64>,
    first_day_of_week: Option<i64>,
    first_day_of_month: Option<i64>,
    first_day_of_year: Option<i64>,
}

/// Reads the settings (JSON text); the error says which key is wrong and how.
pub fn read(settings: &str) -> Result<Policy, String> {
    let written: Written =
        serde_json::from_str(settings).map_err(|error| format!("keep-gfs settings: {error}"))?;
    let count = match (written.retention, written.export_retention) {
        (Some(_), Some(_)) => {
            return Err("keep-gfs takes one count, not `retention` and `exportRetention`".into());
        }
        (Some(count), None) | (None, Some(count)) => count,
        (None, None) => {
            return Err(
                "keep-gfs needs the count to keep: `exportRetention` or `retention`".into(),
            );
        }
    };
    if count == 0 {
        return Err(
            "the count must be at least 1: keep-gfs never deletes the newest backup".into(),
        );
    }
    let mut rules = Vec::new();
    for (name, rule) in written.long_term_retention {
        let Some(period) = Period::ALL.into_iter().find(|p| p.name() == name) else {
            return Err(format!(
                "`longTermRetention.{name}`: the periods are `daily`, `weekly`, `monthly` and `yearly`"
            ));
        };
        if rule.retention == 0 {
            return Err(format!(
                "`longTermRetention.{name}.retention` must be at least 1"
            ));
        }
        let shifts = rule.settings;
        let shift = match period {
            Period::Daily => shifts.first_hour_of_the_day,
            Period::Weekly => shifts.first_day_of_week,
            Period::Monthly => shifts.first_day_of_month,
            Period::Yearly => shifts.first_day_of_year,
        };
        rules.push(Rule {
            period,
            retention: usize::try_from(rule.retention).unwrap_or(usize::MAX),
            shift: shift.unwrap_or(0),
        });
    }
    rules.sort_by_key(|rule| rule.period);
    let zone = match (&written.timezone, rules.is_empty()) {
        (Some(name), _) => name
            .parse::<Tz>()
            .map_err(|_| format!("`timezone`: {name:?} is not an IANA time zone"))?,
        (None, true) => chrono_tz::UTC,
        (None, false) => {
            return Err("`longTermRetention` needs a `timezone` (IANA, e.g. Europe/Paris)".into());
        }
    };
    Ok(Policy {
        count: usize::try_from(count).unwrap_or(usize::MAX),
        rules,
        zone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_xen_orchestras_settings() {
        let policy = read(
            r#"{"exportRetention": 2, "deleteFirst": true, "timezone": "Europe/Paris",
                "longTermRetention": {"weekly": {"retention": 4, "settings": {"firstDayOfWeek": 1}},
                                      "daily": {"retention": 7}}}"#,
        )
        .unwrap();
        assert_eq!(policy.count, 2);
        assert_eq!(policy.zone, chrono_tz::Europe::Paris);
        assert_eq!(
            policy.rules,
            [
                Rule {
                    period: Period::Daily,
                    retention: 7,
                    shift: 0
                },
                Rule {
                    period: Period::Weekly,
                    retention: 4,
                    shift: 1
                },
            ]
        );
    }

    #[test]
    fn refuses_what_it_cannot_apply() {
        for (settings, expected) in [
            (r#"{}"#, "needs the count"),
            (r#"{"exportRetention": 0}"#, "at least 1"),
            (r#"{"exportRetention": 1, "retention": 2}"#, "one count"),
            (
                r#"{"exportRetention": 1, "longTermRetention": {"daily": {"retention": 3}}}"#,
                "needs a `timezone`",
            ),
            (
                r#"{"exportRetention": 1, "timezone": "Mars/Base"}"#,
                "not an IANA time zone",
            ),
            (
                r#"{"exportRetention": 1, "timezone": "UTC", "longTermRetention": {"hourly": {"retention": 3}}}"#,
                "the periods are",
            ),
            (
                r#"{"exportRetention": 1, "timezone": "UTC", "longTermRetention": {"daily": {"retention": 0}}}"#,
                "daily.retention",
            ),
        ] {
            let error = read(settings).unwrap_err();
            assert!(error.contains(expected), "{settings}: {error}");
        }
    }
}
