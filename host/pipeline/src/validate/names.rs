//! The syntax of names (secrets, connections, components, schedules, step ids) and the hints
//! that list what a reference could have named.

use super::Report;
use crate::diagnostic::Diagnostic;
use crate::location::Located;
use crate::template::is_name;

/// Whether `name` is a valid name for a `what` (reported if not).
pub(super) fn check(report: &mut Report, what: &str, name: &Located<String>) -> bool {
    let ok = is_name(&name.value);
    if !ok {
        report.push(
            Diagnostic::new(
                name.location,
                format!("`{}` is not a valid {what} name", name.value),
            )
            .with_hint("a name starts with a letter or `_`, then letters, digits, `_` or `-`"),
        );
    }
    ok
}

/// Whether `id` is a valid step id (reported if not).
pub(super) fn check_step_id(report: &mut Report, id: &Located<String>) -> bool {
    let mut chars = id.value.chars();
    let ok = chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        report.push(
            Diagnostic::new(id.location, format!("`{}` is not a valid step id", id.value)).with_hint(
                "a step id starts with a lowercase letter, then lowercase letters, digits, `_` or `-`",
            ),
        );
    }
    ok
}

/// "`a`, `b`" for a hint, or "none".
pub(super) fn listed<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let listed: Vec<String> = names.into_iter().map(|name| format!("`{name}`")).collect();
    if listed.is_empty() {
        "none".to_owned()
    } else {
        listed.join(", ")
    }
}
