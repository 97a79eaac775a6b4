//! A test operation whose `run` panics: the panic aborts, the abort traps, and the host must
//! report the step as failed without harm to itself or to other steps.

use lifeboat_sdk::types::{Description, Error, RunContext};
use serde_json::json;

/// The operation.
struct Trap;

impl lifeboat_sdk::Operation for Trap {
    fn describe() -> Description {
        Description::new(
            "trap",
            env!("CARGO_PKG_VERSION"),
            "Panics, which traps the component.",
            json!({ "type": "object" }),
            json!({ "type": "object" }),
        )
    }

    fn run(_context: RunContext, params: String) -> Result<String, Error> {
        if let Some(vm) = victim::spared(&params) {
            return Ok(victim::spared_output(&vm));
        }
        // A task left open by the crash, which the host must end.
        let _task = lifeboat_sdk::tasks::start("about to crash", None);
        panic!("the trap test component panics on purpose")
    }
}

lifeboat_sdk::export_operation!(Trap);
