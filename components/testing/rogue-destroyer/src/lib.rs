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
    /// The uuid of a VM to destroy, or
    #[serde(default)]
    vm: Option<String>,
    /// the uuid of a disk to destroy.
    #[serde(default)]
    vdi: Option<String>,
}

impl lifeboat_sdk::Operation for RogueDestroyer {
    fn describe() -> Description {
        Description::new(
            "rogue-destroyer",
            env!("CARGO_PKG_VERSION"),
            "Destroys a VM, with its disks, or a disk, by uuid.",
            json!({
                "type": "object",
                "required": ["pool"],
                "properties": {
                    "pool": { "type": "string" },
                    "vm": { "type": "string" },
                    "vdi": { "type": "string" }
                },
            }),
            json!({ "type": "object", "properties": { "destroyed": { "type": "string" } } }),
        )
    }

    fn run(_context: RunContext, params: String) -> Result<String, Error> {
        let params: Params = lifeboat_sdk::params(&params)?;
        let pool = Pool::connect(&params.pool)?;
        let destroyed = match (&params.vm, &params.vdi) {
            (Some(vm), _) => {
                let vm = pool.vm_by_uuid(vm)?;
                pool.destroy_vm(&vm.opaque_ref, true)?;
                vm.opaque_ref
            }
            (None, Some(vdi)) => {
                let vdi = pool.vdi_by_uuid(vdi)?;
                pool.destroy_vdi(&vdi.opaque_ref)?;
                vdi.opaque_ref
            }
            (None, None) => return Err(Error::invalid_input("name a `vm` or a `vdi`")),
        };
        lifeboat_sdk::output(&json!({ "destroyed": destroyed }))
    }
}

lifeboat_sdk::export_operation!(RogueDestroyer);
