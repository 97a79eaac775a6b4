//! The JSON Schema of pipeline files, generated from the file's serde types (draft-07, which
//! editors' YAML language servers understand best). `schemas/pipeline.v1.json` is a committed
//! copy; a test fails when the two differ.

use schemars::generate::SchemaSettings;

use crate::document;

/// The JSON Schema of version 1 pipeline files.
pub fn schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().for_deserialize().into_generator();
    generator
        .into_root_schema_for::<document::Pipeline>()
        .to_value()
}

/// The schema as committed: pretty JSON with a final newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const COMMITTED: &str = "../../schemas/pipeline.v1.json";

    #[test]
    fn the_committed_schema_is_the_generated_one() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
        let generated = schema_text();
        if std::env::var_os("LIFEBOAT_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "schemas/pipeline.v1.json differs from the schema the pipeline types generate; \
             regenerate it with `LIFEBOAT_BLESS=1 cargo test -p lifeboat-pipeline schema` and commit it"
        );
    }

    #[test]
    fn the_schema_is_draft_07_and_describes_the_file() {
        let schema = schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["properties"]["version"]["const"], 1);
        let required = schema["required"].as_array().unwrap();
        for field in ["version", "name", "steps"] {
            assert!(required.contains(&field.into()), "{field} is not required");
        }
        assert!(
            schema["properties"]["name"]["description"]
                .as_str()
                .unwrap()
                .starts_with("The job's name.")
        );
        assert_eq!(schema["definitions"]["Step"]["additionalProperties"], false);
    }
}
