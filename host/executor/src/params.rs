//! Checks each step's `with` against the JSON Schema of parameters that its component
//! describes (`describe()`), so that `lifeboat validate` finds a misspelt or mistyped
//! parameter at its line and column instead of the component failing at run time.
//!
//! The values a run fills in (`${{ item.uuid }}`, `${{ job.id }}` …) are strings, so they are
//! checked as sample strings of their kind: a UUID where a UUID comes.

use std::collections::HashMap;

use jsonschema::Draft;
use jsonschema::error::ValidationErrorKind;
use lifeboat_pipeline::model::{ItemContext, Pipeline, Step, SubstitutionContext};
use lifeboat_pipeline::{Diagnostic, ids};
use lifeboat_runtime::Runtime;
use serde_json::Value;

use super::components;

/// A UUID that stands for the run's and the VM's ids.
const SAMPLE_UUID: &str = "00000000-0000-4000-8000-000000000000";

/// The problems of every step's `with`, each at the place of the value at fault (or of the
/// step, for a parameter that is missing), and of components that cannot describe themselves.
pub async fn check_params(runtime: &Runtime, pipeline: &Pipeline) -> Vec<Diagnostic> {
    let mut schemas: HashMap<String, Result<Value, String>> = HashMap::new();
    let mut found = Vec::new();
    for step in pipeline.steps.iter().chain(&pipeline.finally) {
        let key = format!("{:?}", step.uses);
        if !schemas.contains_key(&key) {
            let schema = params_schema(runtime, pipeline, step).await;
            schemas.insert(key.clone(), schema);
        }
        match &schemas[&key] {
            Ok(schema) => found.extend(check_step(pipeline, step, schema)),
            Err(problem) => found.push(Diagnostic::new(
                step.location,
                format!("step `{}`: {problem}", step.id),
            )),
        }
    }
    found
}

/// The schema of parameters of the component `step` uses.
async fn params_schema(
    runtime: &Runtime,
    pipeline: &Pipeline,
    step: &Step,
) -> Result<Value, String> {
    let wasm = components::bytes(pipeline, &step.uses).map_err(|error| error.to_string())?;
    let name = components::name(&step.uses);
    let (operation, _) = runtime
        .load_operation(name, &wasm)
        .map_err(|error| format!("component `{name}` does not load: {error}"))?;
    let description = operation
        .describe()
        .await
        .map_err(|error| format!("component `{name}` cannot describe itself: {error}"))?;
    Ok(description.params_schema)
}

fn check_step(pipeline: &Pipeline, step: &Step, schema: &Value) -> Vec<Diagnostic> {
    let name = components::name(&step.uses);
    // The contract's schemas are draft-07 (`types.description`); one that names its draft
    // in `$schema` is read as that draft.
    let built = if schema.get("$schema").is_some() {
        jsonschema::validator_for(schema)
    } else {
        jsonschema::options()
            .with_draft(Draft::Draft7)
            .build(schema)
    };
    let validator = match built {
        Ok(validator) => validator,
        Err(error) => {
            return vec![Diagnostic::new(
                step.location,
                format!(
                    "step `{}`: component `{name}` describes its parameters with an invalid schema: {error}",
                    step.id
                ),
            )];
        }
    };
    let schedule = pipeline.schedules.values().next().map_or_else(
        || ids::default_schedule_id(&pipeline.id, "manual"),
        |schedule| schedule.id.clone(),
    );
    let context = SubstitutionContext {
        job_id: &pipeline.id,
        job_name: &pipeline.name,
        run_id: SAMPLE_UUID,
        schedule_id: Some(&schedule),
        item: step.for_each.as_ref().map(|selection| ItemContext {
            uuid: SAMPLE_UUID,
            name_label: "VM",
            pool: &selection.pool,
        }),
    };
    let instance = match step.with.substitute(&context) {
        Ok(instance) => instance,
        // The file's checks already refuse references a step has no value for.
        Err(error) => return vec![Diagnostic::new(step.location, error.to_string())],
    };
    validator
        .iter_errors(&instance)
        .map(|error| {
            let mut pointer = error.instance_path().as_str().to_owned();
            // A key that is not allowed is shown where it is written, not at its object.
            if let ValidationErrorKind::AdditionalProperties { unexpected } = error.kind()
                && let Some(key) = unexpected.first()
            {
                pointer = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
            }
            let pointer = pointer.as_str();
            let at = if pointer.is_empty() {
                "`with`".to_owned()
            } else {
                format!("`with{pointer}`")
            };
            Diagnostic::new(
                step.with_places.find(pointer).or(step.location),
                format!("step `{}`: {at}: {error}", step.id),
            )
            .with_hint(format!(
                "the parameters of `{name}` are described by the JSON Schema its `describe()` returns"
            ))
        })
        .collect()
}
