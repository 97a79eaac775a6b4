//! What an operation says of itself, built from JSON values rather than text.

use crate::types::Description;
use serde_json::Value;

impl Description {
    /// A description named `name` at `version` (pass `env!("CARGO_PKG_VERSION")`), with a
    /// one-sentence `summary` and the JSON Schemas (draft-07) of its parameters and outputs.
    pub fn new(
        name: &str,
        version: &str,
        summary: &str,
        params_schema: Value,
        outputs_schema: Value,
    ) -> Self {
        Description {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            params_schema: params_schema.to_string(),
            outputs_schema: outputs_schema.to_string(),
        }
    }
}
