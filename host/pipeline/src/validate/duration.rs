//! Durations as the file writes them (`90s`, `30m`, `6h`, `7d`), read with humantime.

use std::time::Duration;

use super::Report;
use crate::diagnostic::Diagnostic;
use crate::location::Located;

/// The duration `text` says, or `None` (reported).
pub(super) fn parse(report: &mut Report, text: &Located<String>) -> Option<Duration> {
    match humantime::parse_duration(&text.value) {
        Ok(duration) => Some(duration),
        Err(error) => {
            report.push(
                Diagnostic::new(
                    text.location,
                    format!("`{}` is not a duration: {error}", text.value),
                )
                .with_hint("write a number and a unit: `90s`, `30m`, `6h`, `7d`"),
            );
            None
        }
    }
}

/// Like [`parse`], and the duration must not be zero (a limit of nothing).
pub(super) fn parse_limit(report: &mut Report, text: &Located<String>) -> Option<Duration> {
    let duration = parse(report, text)?;
    if duration.is_zero() {
        report.error(
            text.location,
            "a timeout of zero would stop every run at once",
        );
        return None;
    }
    Some(duration)
}
