//! A test operation that returns `{}` at once: what a step costs the host beyond the
//! operation's own work.

use lifeboat_sdk::types::{Description, Error, RunContext};
use serde_json::json;

/// The operation.
struct Noop;

impl lifeboat_sdk::Operation for Noop {
    fn describe() -> Description {
        Description::new(
            "noop",
            env!("CARGO_PKG_VERSION"),
            "Does nothing.",
            json!({ "type": "object" }),
            json!({ "type": "object" }),
        )
    }

    fn run(_context: RunContext, _params: String) -> Result<String, Error> {
        Ok("{}".into())
    }
}

lifeboat_sdk::export_operation!(Noop);
