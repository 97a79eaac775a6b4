//! A step's `with`: every `${{ … }}` must name something a step's parameters may use; secrets
//! never (components must not see them), the VM only in a `for_each` step.

use std::collections::BTreeMap;

use super::Report;
use crate::diagnostic::Diagnostic;
use crate::document::{self, ParamValue};
use crate::location::{Located, Location};
use crate::model::{Param, Params, Template, TemplatePart, ValueReference};
use crate::template::{Segment, segments};

/// The checked parameters of a step (`for_each`: whether the step runs per VM).
pub(super) fn check(report: &mut Report, with: document::Params, for_each: bool) -> Params {
    Params(entries(report, with, for_each))
}

fn entries(
    report: &mut Report,
    entries: BTreeMap<String, Located<ParamValue>>,
    for_each: bool,
) -> BTreeMap<String, Param> {
    entries
        .into_iter()
        .map(|(key, value)| (key, param(report, value, for_each)))
        .collect()
}

fn param(report: &mut Report, value: Located<ParamValue>, for_each: bool) -> Param {
    match value.value {
        ParamValue::Null => Param::Null,
        ParamValue::Bool(value) => Param::Bool(value),
        ParamValue::Number(value) => Param::Number(value),
        ParamValue::String(text) => Param::Text(template(report, &text, value.location, for_each)),
        ParamValue::List(items) => Param::List(
            items
                .into_iter()
                .map(|item| param(report, item, for_each))
                .collect(),
        ),
        ParamValue::Map(map) => Param::Map(entries(report, map, for_each)),
    }
}

const AVAILABLE: &str = "`with` may use `${{ item.uuid }}`, `${{ item.name_label }}`, `${{ item.pool }}` \
    (in a `for_each` step), `${{ job.id }}`, `${{ job.name }}`, `${{ schedule.id }}` and `${{ run.id }}`";

/// The template of a string value. A bad reference is reported and left out: the template is
/// used only if nothing was reported.
fn template(
    report: &mut Report,
    text: &str,
    location: Option<Location>,
    for_each: bool,
) -> Template {
    let parts = match segments(text) {
        Ok(parts) => parts,
        Err(error) => {
            report.push(Diagnostic::new(location, error.to_string()).with_hint(AVAILABLE));
            return Template(Vec::new());
        }
    };
    let parts = parts
        .into_iter()
        .filter_map(|part| match part {
            Segment::Text(text) => Some(TemplatePart::Text(text.to_owned())),
            Segment::Reference(path) => {
                reference(report, &path, location, for_each).map(TemplatePart::Reference)
            }
        })
        .collect();
    Template(parts)
}

fn reference(
    report: &mut Report,
    path: &[&str],
    location: Option<Location>,
    for_each: bool,
) -> Option<ValueReference> {
    let written = path.join(".");
    let Some(reference) = ValueReference::from_path(path) else {
        let diagnostic = if path.first() == Some(&"secrets") {
            Diagnostic::new(
                location,
                format!(
                    "`${{{{ {written} }}}}` cannot be used in `with`: components never see secrets"
                ),
            )
            .with_hint("grant the component a connection in `allow`; connections take secrets")
        } else {
            Diagnostic::new(
                location,
                format!("unknown reference `${{{{ {written} }}}}`"),
            )
            .with_hint(AVAILABLE)
        };
        report.push(diagnostic);
        return None;
    };
    if reference.needs_item() && !for_each {
        report.push(
            Diagnostic::new(
                location,
                format!("`${{{{ {written} }}}}` needs `for_each`: this step does not run per VM"),
            )
            .with_hint("add `for_each: { vms: … }` to the step, or use another value"),
        );
        return None;
    }
    Some(reference)
}
