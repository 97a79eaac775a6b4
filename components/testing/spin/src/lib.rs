//! A test operation whose `run` loops forever: only the host's deadline (epoch interruption)
//! can stop it.

use lifeboat_sdk::types::{Description, Error, RunContext};
use serde_json::json;
use std::hint::black_box;

/// The operation.
struct Spin;

impl lifeboat_sdk::Operation for Spin {
    fn describe() -> Description {
        Description::new(
            "spin",
            env!("CARGO_PKG_VERSION"),
            "Loops forever.",
            json!({ "type": "object" }),
            json!({ "type": "object" }),
        )
    }

    fn run(_context: RunContext, params: String) -> Result<String, Error> {
        if let Some(vm) = victim::spared(&params) {
            return Ok(victim::spared_output(&vm));
        }
        // Real work in the loop, so that nothing may prove it idle and remove it.
        let mut turns: u64 = 0;
        loop {
            turns = black_box(turns.wrapping_add(1));
        }
    }
}

lifeboat_sdk::export_operation!(Spin);
