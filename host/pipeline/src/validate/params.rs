//! A step's `with`: every `${{ … }}` must name something a step's parameters may use; secrets
//! never (components must not see them), the VM only in a `for_each` step.

use std::collections::BTreeMap;

use super::Report;
use crate::diagnostic::Diagnostic;
use crate::document::{self, ParamValue};
use crate::location::{Located, Location};
use crate::model::{Param, ParamPlaces, Params, Template, TemplatePart, ValueReference};
use crate::template::{Segment, segments};

/// The checked parameters of a step (`for_each`: whether the step runs per VM), and where
/// each value is written.
pub(super) fn check(
    report: &mut Report,
    with: document::Params,
    for_each: bool,
) -> (Params, ParamPlaces) {
    let mut reader = Reader {
        report,
        for_each,
        places: ParamPlaces::default(),
    };
    let params = Params(reader.entries(with, ""));
    (params, reader.places)
}

/// Converts values, recording each one's place under its JSON Pointer.
struct Reader<'a> {
    report: &'a mut Report,
    for_each: bool,
    places: ParamPlaces,
}

impl Reader<'_> {
    fn entries(
        &mut self,
        entries: BTreeMap<String, Located<ParamValue>>,
        pointer: &str,
    ) -> BTreeMap<String, Param> {
        entries
            .into_iter()
            .map(|(key, value)| {
                let pointer = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                let param = self.param(value, &pointer);
                (key, param)
            })
            .collect()
    }

    fn param(&mut self, value: Located<ParamValue>, pointer: &str) -> Param {
        if let Some(location) = value.location {
            self.places.0.insert(pointer.to_owned(), location);
        }
        match value.value {
            ParamValue::Null => Param::Null,
            ParamValue::Bool(value) => Param::Bool(value),
            ParamValue::Number(value) => Param::Number(value),
            ParamValue::String(text) => {
                Param::Text(template(self.report, &text, value.location, self.for_each))
            }
            ParamValue::List(items) => Param::List(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(index, item)| self.param(item, &format!("{pointer}/{index}")))
                    .collect(),
            ),
            ParamValue::Map(map) => Param::Map(self.entries(map, pointer)),
        }
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
