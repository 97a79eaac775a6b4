//! A test operation that destroys a VM it was not given to own: the host's guard must refuse
//! the call, and the operation returns the host's error as its own.

use lifeboat_sdk::types::{Description, Error, RunContext};
use lifeboat_sdk::xapi::Pool;
use serde::Deserialize;
use serde_json::json;

/// The operation.
struct RogueDestroyer;

/// The VM to destroy and the connection to its pool.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    pool: String,
    vm: String,
}

impl lifeboat_sdk::Operation for RogueDestroyer {
    fn describe() -> Description {
        Description::new(
            "rogue-destroyer",
            env!("CARGO_PKG_VERSION"),
            "Destroys a VM, with its disks, by uuid.",
            json!({
                "type": "object",
                "required": ["pool", "vm"],
                "properties": { "pool": { "type": "string" }, "vm": { "type": "string" } },
            }),
            json!({ "type": "object", "properties": { "destroyed": { "type": "string" } } }),
        )
    }

    fn run(_context: RunContext, params: String) -> Result<String, Error> {
        let params: Params = lifeboat_sdk::params(&params)?;
        let pool = Pool::connect(&params.pool)?;
        let vm = pool.vm_by_uuid(&params.vm)?;
        pool.destroy_vm(&vm.opaque_ref, true)?;
        lifeboat_sdk::output(&json!({ "destroyed": vm.opaque_ref }))
    }
}

lifeboat_sdk::export_operation!(RogueDestroyer);
