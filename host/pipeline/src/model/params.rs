//! A step's `with`, checked: JSON-shaped values whose strings may hold references to the run
//! (`${{ item.uuid }}`, `${{ run.id }}` …), and their substitution into the JSON a component
//! receives.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// A step's parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params(pub BTreeMap<String, Param>);

/// Where each value of a step's `with` is written, by its JSON Pointer (`/sr`, `/srs/0`), so
/// that a problem a component's schema finds in the JSON can be shown in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParamPlaces(pub BTreeMap<String, crate::Location>);

impl ParamPlaces {
    /// The place of the value at `pointer`, or of its nearest parent that has one.
    pub fn find(&self, pointer: &str) -> Option<crate::Location> {
        let mut pointer = pointer;
        loop {
            if let Some(location) = self.0.get(pointer) {
                return Some(*location);
            }
            let (parent, _) = pointer.rsplit_once('/')?;
            pointer = parent;
        }
    }
}

/// One parameter value.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Text(Template),
    List(Vec<Param>),
    Map(BTreeMap<String, Param>),
}

/// A string value: literal text and references, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(pub Vec<TemplatePart>);

/// A piece of a [`Template`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    Reference(ValueReference),
}

/// What a `${{ … }}` in `with` may name. Secrets are not among them: components never see
/// secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueReference {
    /// `item.uuid`: the UUID of the VM this run of a `for_each` step is for.
    ItemUuid,
    /// `item.name_label`: that VM's name.
    ItemNameLabel,
    /// `item.pool`: the connection name of that VM's pool.
    ItemPool,
    /// `job.id`
    JobId,
    /// `job.name`
    JobName,
    /// `schedule.id`: the schedule that started the run.
    ScheduleId,
    /// `run.id`: this run of the pipeline.
    RunId,
}

impl ValueReference {
    /// Every reference, as written between `${{` and `}}`.
    pub const ALL: [ValueReference; 7] = [
        ValueReference::ItemUuid,
        ValueReference::ItemNameLabel,
        ValueReference::ItemPool,
        ValueReference::JobId,
        ValueReference::JobName,
        ValueReference::ScheduleId,
        ValueReference::RunId,
    ];

    /// The reference of a dotted path (`["item", "uuid"]`), if it is one.
    pub fn from_path(path: &[&str]) -> Option<Self> {
        Self::ALL.into_iter().find(|reference| {
            let written = reference.as_str();
            written.split('.').eq(path.iter().copied())
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ValueReference::ItemUuid => "item.uuid",
            ValueReference::ItemNameLabel => "item.name_label",
            ValueReference::ItemPool => "item.pool",
            ValueReference::JobId => "job.id",
            ValueReference::JobName => "job.name",
            ValueReference::ScheduleId => "schedule.id",
            ValueReference::RunId => "run.id",
        }
    }

    /// Whether the reference needs the VM of a `for_each` step.
    pub fn needs_item(self) -> bool {
        matches!(
            self,
            ValueReference::ItemUuid | ValueReference::ItemNameLabel | ValueReference::ItemPool
        )
    }
}

impl fmt::Display for ValueReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The values references stand for in one run of a step.
#[derive(Clone, Copy, Debug)]
pub struct SubstitutionContext<'a> {
    pub job_id: &'a str,
    pub job_name: &'a str,
    pub run_id: &'a str,
    /// The schedule that started the run; `None` for a run started by hand.
    pub schedule_id: Option<&'a str>,
    /// The VM of this run of a `for_each` step.
    pub item: Option<ItemContext<'a>>,
}

/// The VM a run of a `for_each` step is for.
#[derive(Clone, Copy, Debug)]
pub struct ItemContext<'a> {
    pub uuid: &'a str,
    pub name_label: &'a str,
    /// The connection name of the VM's pool.
    pub pool: &'a str,
}

/// A reference that the run has no value for.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubstitutionError {
    #[error("`${{{{ {0} }}}}` needs a VM, and this run of the step is not for one")]
    NoItem(ValueReference),
    #[error("`${{{{ schedule.id }}}}` needs a schedule, and this run was not started by one")]
    NoSchedule,
}

impl Params {
    /// The JSON object the component receives: every reference replaced by its value.
    ///
    /// Every value is a string, so a string that is exactly `${{ x }}` and one that splices
    /// `${{ x }}` into other text both stay strings.
    pub fn substitute(
        &self,
        context: &SubstitutionContext<'_>,
    ) -> Result<Value, SubstitutionError> {
        substitute_map(&self.0, context)
    }
}

fn substitute_map(
    entries: &BTreeMap<String, Param>,
    context: &SubstitutionContext<'_>,
) -> Result<Value, SubstitutionError> {
    let mut object = Map::new();
    for (key, param) in entries {
        object.insert(key.clone(), param.substitute(context)?);
    }
    Ok(Value::Object(object))
}

impl Param {
    fn substitute(&self, context: &SubstitutionContext<'_>) -> Result<Value, SubstitutionError> {
        Ok(match self {
            Param::Null => Value::Null,
            Param::Bool(value) => Value::Bool(*value),
            Param::Number(value) => Value::Number(value.clone()),
            Param::Text(template) => Value::String(template.substitute(context)?),
            Param::List(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.substitute(context))
                    .collect::<Result<_, _>>()?,
            ),
            Param::Map(entries) => substitute_map(entries, context)?,
        })
    }
}

impl Template {
    fn substitute(&self, context: &SubstitutionContext<'_>) -> Result<String, SubstitutionError> {
        let mut text = String::new();
        for part in &self.0 {
            match part {
                TemplatePart::Text(literal) => text.push_str(literal),
                TemplatePart::Reference(reference) => {
                    text.push_str(reference.value(context)?);
                }
            }
        }
        Ok(text)
    }
}

impl ValueReference {
    fn value<'a>(self, context: &SubstitutionContext<'a>) -> Result<&'a str, SubstitutionError> {
        let item = || context.item.ok_or(SubstitutionError::NoItem(self));
        Ok(match self {
            ValueReference::ItemUuid => item()?.uuid,
            ValueReference::ItemNameLabel => item()?.name_label,
            ValueReference::ItemPool => item()?.pool,
            ValueReference::JobId => context.job_id,
            ValueReference::JobName => context.job_name,
            ValueReference::ScheduleId => {
                context.schedule_id.ok_or(SubstitutionError::NoSchedule)?
            }
            ValueReference::RunId => context.run_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(parts: Vec<TemplatePart>) -> Param {
        Param::Text(Template(parts))
    }

    fn literal(text: &str) -> TemplatePart {
        TemplatePart::Text(text.to_owned())
    }

    fn params() -> Params {
        Params(BTreeMap::from([
            (
                "vm".to_owned(),
                text(vec![TemplatePart::Reference(ValueReference::ItemUuid)]),
            ),
            (
                "label".to_owned(),
                text(vec![
                    literal("copy of "),
                    TemplatePart::Reference(ValueReference::ItemNameLabel),
                    literal(" by "),
                    TemplatePart::Reference(ValueReference::JobName),
                ]),
            ),
            (
                "nested".to_owned(),
                Param::Map(BTreeMap::from([(
                    "runs".to_owned(),
                    Param::List(vec![
                        text(vec![TemplatePart::Reference(ValueReference::RunId)]),
                        Param::Number(2.into()),
                        Param::Bool(true),
                        Param::Null,
                    ]),
                )])),
            ),
        ]))
    }

    const ITEM: ItemContext<'static> = ItemContext {
        uuid: "0b1e4a8e-6f7c-4a1d-9c51-2d3e4f5a6b7c",
        name_label: "web01",
        pool: "production",
    };

    fn context(item: Option<ItemContext<'static>>) -> SubstitutionContext<'static> {
        SubstitutionContext {
            job_id: "job-1",
            job_name: "nightly",
            run_id: "run-7",
            schedule_id: None,
            item,
        }
    }

    #[test]
    fn replaces_whole_and_spliced_references_at_any_depth() {
        assert_eq!(
            params().substitute(&context(Some(ITEM))).unwrap(),
            json!({
                "vm": "0b1e4a8e-6f7c-4a1d-9c51-2d3e4f5a6b7c",
                "label": "copy of web01 by nightly",
                "nested": { "runs": ["run-7", 2, true, null] },
            })
        );
    }

    #[test]
    fn a_missing_item_or_schedule_is_an_error() {
        assert_eq!(
            params().substitute(&context(None)),
            Err(SubstitutionError::NoItem(ValueReference::ItemNameLabel))
        );
        let schedule = Params(BTreeMap::from([(
            "s".to_owned(),
            text(vec![TemplatePart::Reference(ValueReference::ScheduleId)]),
        )]));
        assert_eq!(
            schedule.substitute(&context(None)),
            Err(SubstitutionError::NoSchedule)
        );
        let scheduled = SubstitutionContext {
            schedule_id: Some("sched-1"),
            ..context(None)
        };
        assert_eq!(
            schedule.substitute(&scheduled).unwrap(),
            json!({ "s": "sched-1" })
        );
        assert_eq!(
            SubstitutionError::NoSchedule.to_string(),
            "`${{ schedule.id }}` needs a schedule, and this run was not started by one"
        );
    }

    #[test]
    fn references_read_back_from_their_paths() {
        for reference in ValueReference::ALL {
            let path: Vec<&str> = reference.as_str().split('.').collect();
            assert_eq!(ValueReference::from_path(&path), Some(reference));
        }
        assert_eq!(ValueReference::from_path(&["item", "name"]), None);
        assert_eq!(ValueReference::from_path(&["item"]), None);
        assert_eq!(ValueReference::from_path(&["item", "uuid", "x"]), None);
    }
}
