//! A test operation that grows a vector to 1 GiB: under the host's memory limit the growth
//! fails, Rust aborts and the component traps; without a limit it answers how much it held.

use lifeboat_sdk::types::{Description, Error, RunContext};
use serde_json::json;
use std::hint::black_box;

/// What the operation tries to hold.
const GOAL: usize = 1 << 30;
/// How much it adds at a time; the vector's capacity doubles as it grows.
const STEP: usize = 1 << 20;

/// The operation.
struct MemoryHog;

impl lifeboat_sdk::Operation for MemoryHog {
    fn describe() -> Description {
        Description::new(
            "memory-hog",
            env!("CARGO_PKG_VERSION"),
            "Allocates 1 GiB.",
            json!({ "type": "object" }),
            json!({ "type": "object", "properties": { "allocated": { "type": "integer" } } }),
        )
    }

    fn run(_context: RunContext, params: String) -> Result<String, Error> {
        if let Some(vm) = victim::spared(&params) {
            return Ok(victim::spared_output(&vm));
        }
        let mut hog: Vec<u8> = Vec::new();
        while hog.len() < GOAL {
            // Written bytes, so that the pages are really used.
            hog.resize(hog.len() + STEP, 0xA5);
            black_box(hog.as_ptr());
        }
        lifeboat_sdk::output(&json!({ "allocated": hog.len() }))
    }
}

lifeboat_sdk::export_operation!(MemoryHog);
