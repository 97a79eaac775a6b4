//! Xen Orchestra's layered settings: a job's `settings` object holds one object of settings
//! per scope, keyed by `""` for the whole job, by a schedule's id, by a VM's uuid and by a
//! target's id (an SR's uuid or a remote's id). The settings that apply to one VM sent to one
//! target are these objects merged in that order, each key of a later one replacing the same
//! key of an earlier one.

use crate::json::params;
use crate::types::Error;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Where settings apply: the ids whose objects are merged over the job's.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The schedule's id (`RunContext.schedule_id`).
    pub schedule: &'a str,
    /// The VM's uuid.
    pub vm: &'a str,
    /// The target's id: an SR's uuid or a remote's id.
    pub target: &'a str,
}

impl Scope<'_> {
    /// The merged settings: `""` ← schedule ← VM ← target. A scope without an object is
    /// skipped, and so is an empty id (an empty target would otherwise apply the job's
    /// settings over the VM's). An entry that is not an object is `invalid-input`.
    pub fn merge(&self, settings: &Map<String, Value>) -> Result<Map<String, Value>, Error> {
        let mut merged = Map::new();
        for (index, id) in ["", self.schedule, self.vm, self.target]
            .into_iter()
            .enumerate()
        {
            if index > 0 && id.is_empty() {
                continue;
            }
            match settings.get(id) {
                None => {}
                Some(Value::Object(layer)) => merged.extend(layer.clone()),
                Some(_) => {
                    return Err(Error::invalid_input(format!(
                        "`settings[\"{id}\"]` is not an object"
                    )));
                }
            }
        }
        Ok(merged)
    }

    /// The merged settings parsed into `T`, with errors that name the field as
    /// [`params`] does.
    pub fn resolve<T: DeserializeOwned>(&self, settings: &Map<String, Value>) -> Result<T, Error> {
        params(&Value::Object(self.merge(settings)?).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn settings(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("the tests pass objects"),
        }
    }

    const SCOPE: Scope<'static> = Scope {
        schedule: "sched",
        vm: "vm-uuid",
        target: "sr-uuid",
    };

    #[test]
    fn later_scopes_win() {
        let all = settings(json!({
            "": { "copyRetention": 1, "timeout": 10, "compression": "zstd" },
            "sched": { "copyRetention": 2, "timeout": 20 },
            "vm-uuid": { "copyRetention": 3 },
            "sr-uuid": { "timeout": 40 },
            "other-vm": { "copyRetention": 9 },
        }));
        assert_eq!(
            Value::Object(SCOPE.merge(&all).unwrap()),
            json!({ "copyRetention": 3, "timeout": 40, "compression": "zstd" })
        );
    }

    #[test]
    fn empty_ids_and_missing_scopes_are_skipped() {
        let all = settings(json!({ "": { "n": 1 }, "vm-uuid": { "n": 2 } }));
        let scope = Scope {
            target: "",
            ..SCOPE
        };
        assert_eq!(Value::Object(scope.merge(&all).unwrap()), json!({ "n": 2 }));
        assert!(SCOPE.merge(&Map::new()).unwrap().is_empty());
    }

    #[test]
    fn resolves_typed_settings() {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Retention {
            copy_retention: u32,
        }
        let all =
            settings(json!({ "": { "copyRetention": 2 }, "sched": { "copyRetention": "x" } }));
        let error = SCOPE.resolve::<Retention>(&all).err().unwrap();
        assert!(error.message.starts_with("`copyRetention`: invalid type"));
        let all = settings(json!({ "": { "copyRetention": 2 } }));
        assert_eq!(SCOPE.resolve::<Retention>(&all).unwrap().copy_retention, 2);
        let all = settings(json!({ "sched": 3 }));
        assert_eq!(
            SCOPE.merge(&all).unwrap_err().message,
            "`settings[\"sched\"]` is not an object"
        );
    }
}
