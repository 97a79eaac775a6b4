//! Fuzzes pipeline files: any bytes load to a checked pipeline or to located errors, never a
//! panic or a hang; whatever loads must substitute every step's parameters, and every error
//! must render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat_pipeline::Pipeline;
use lifeboat_pipeline::model::{ItemContext, SubstitutionContext};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Pipeline::parse(text, "fuzz.yaml", &["dr-copy", "keep-last"]) {
        Ok(pipeline) => {
            let context = SubstitutionContext {
                job_id: &pipeline.id,
                job_name: &pipeline.name,
                run_id: "run",
                schedule_id: Some("schedule"),
                item: Some(ItemContext {
                    uuid: "0f5d5f1e-3c2b-4a1d-9e8f-7a6b5c4d3e2f",
                    name_label: "vm",
                    pool: "pool",
                }),
            };
            for step in pipeline.steps.iter().chain(&pipeline.finally) {
                // Validation proved every reference resolvable with an item and a schedule.
                assert!(step.with.substitute(&context).is_ok());
            }
        }
        Err(invalid) => {
            assert!(!invalid.diagnostics.is_empty());
            let _ = invalid.to_string();
        }
    }
});
