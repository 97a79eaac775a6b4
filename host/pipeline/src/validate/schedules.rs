//! Schedules: ids (stable defaults), cron expressions (croner: 5 fields, seconds optional) and
//! IANA time zones.

use std::collections::BTreeMap;

use croner::parser::{CronParser, Seconds, Year};

use super::{Report, names};
use crate::diagnostic::Diagnostic;
use crate::document;
use crate::ids::default_schedule_id;
use crate::location::{Located, Location};
use crate::model::Schedule;

pub(super) fn check(
    report: &mut Report,
    schedules: BTreeMap<Located<String>, document::Schedule>,
    job_id: &str,
) -> BTreeMap<String, Schedule> {
    let mut checked = BTreeMap::new();
    let mut ids: BTreeMap<String, Option<Location>> = BTreeMap::new();
    for (name, schedule) in schedules {
        let name_ok = names::check(report, "schedule", &name);
        let id = match &schedule.id {
            Some(id) if id.value.trim().is_empty() => {
                report.error(id.location, "a schedule's `id` cannot be empty");
                None
            }
            Some(id) => Some((id.value.clone(), id.location)),
            None => Some((default_schedule_id(job_id, &name.value), name.location)),
        };
        if let Some((id, location)) = &id {
            if ids.contains_key(id) {
                report.push(
                    Diagnostic::new(*location, format!("schedule id `{id}` is used twice"))
                        .with_hint("retention keeps each schedule's backups apart by id; give each its own"),
                );
            } else {
                ids.insert(id.clone(), *location);
            }
        }
        let cron = cron(report, &schedule.cron);
        let timezone = match &schedule.timezone {
            Some(timezone) => timezone_of(report, timezone),
            None => Some(chrono_tz::UTC),
        };
        if let (true, Some((id, _)), Some(cron), Some(timezone)) = (name_ok, id, cron, timezone) {
            checked.insert(name.value, Schedule { id, cron, timezone });
        }
    }
    checked
}

fn cron(report: &mut Report, text: &Located<String>) -> Option<croner::Cron> {
    // Crontab's 5 fields, or 6 with seconds first; no year field (not crontab's).
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build();
    match parser.parse(&text.value) {
        Ok(cron) => Some(cron),
        Err(error) => {
            report.push(
                Diagnostic::new(text.location, format!("`{}` is not a cron expression: {error}", text.value))
                    .with_hint("5 fields: minute hour day-of-month month day-of-week, e.g. `0 2 * * *` (02:00 daily)"),
            );
            None
        }
    }
}

fn timezone_of(report: &mut Report, text: &Located<String>) -> Option<chrono_tz::Tz> {
    match text.value.parse() {
        Ok(timezone) => Some(timezone),
        Err(_) => {
            report.push(
                Diagnostic::new(text.location, format!("unknown time zone `{}`", text.value))
                    .with_hint("an IANA time zone name, such as `Europe/Paris` or `UTC`"),
            );
            None
        }
    }
}
