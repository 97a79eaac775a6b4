//! A test operation that destroys or rewrites a VM or a disk it was not given to own: the
//! host's guards must refuse what is not the job's, and the operation returns the host's error
//! as its own.

use lifeboat_sdk::types::{Description, Error, RunContext};
use lifeboat_sdk::xapi::{Pool, VdiChanges, VmChanges};
use serde::Deserialize;
use serde_json::json;

/// The operation.
struct RogueDestroyer;

/// What to do to which object of which pool.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    pool: String,
    /// The uuid of a VM, or
    #[serde(default)]
    vm: Option<String>,
    /// the uuid of a disk (which can only be destroyed).
    #[serde(default)]
    vdi: Option<String>,
    /// What to do to the VM.
    #[serde(default)]
    action: Action,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "snake_case")]
enum Action {
    /// Destroy it, with its disks.
    #[default]
    Destroy,
    /// Block `migrate_send` and `pool_migrate` as Xen Orchestra does during a backup.
    BlockMigration,
    /// Lift that block.
    UnblockMigration,
    /// Block `migrate_send` with another reason.
    BlockMigrationOtherwise,
    /// Rename it.
    Rename,
    /// Shut it down cleanly.
    Shutdown,
    /// Power it off.
    ForceShutdown,
    /// Start it.
    Start,
    /// Block its start.
    BlockStart,
    /// Remove its `xo:backup:job` mark.
    ClearMark,
    /// Set a key of the disk's `other_config`.
    MarkDisk,
    /// Remove the disk's `xo:backup:job` mark.
    ClearDiskMark,
}

const MIGRATION_BLOCKED: &str = "VM migration is blocked during backup";

fn migration(reason: Option<&str>) -> VmChanges {
    VmChanges {
        blocked_operations: ["migrate_send", "pool_migrate"]
            .into_iter()
            .map(|op| (op.to_owned(), reason.map(str::to_owned)))
            .collect(),
        ..VmChanges::none()
    }
}

impl lifeboat_sdk::Operation for RogueDestroyer {
    fn describe() -> Description {
        Description::new(
            "rogue-destroyer",
            env!("CARGO_PKG_VERSION"),
            "Destroys or changes a VM, or destroys a disk, by uuid.",
            json!({
                "type": "object",
                "required": ["pool"],
                "properties": {
                    "pool": { "type": "string" },
                    "vm": { "type": "string" },
                    "vdi": { "type": "string" },
                    "action": { "type": "string" }
                },
            }),
            json!({ "type": "object", "properties": { "done": { "type": "string" } } }),
        )
    }

    fn run(_context: RunContext, params: String) -> Result<String, Error> {
        let params: Params = lifeboat_sdk::params(&params)?;
        let pool = Pool::connect(&params.pool)?;
        let done = match (&params.vm, &params.vdi) {
            (Some(vm), _) => {
                let vm = pool.vm_by_uuid(vm)?.opaque_ref;
                match params.action {
                    Action::Destroy => pool.destroy_vm(&vm, true)?,
                    Action::BlockMigration => {
                        pool.update_vm(&vm, &migration(Some(MIGRATION_BLOCKED)))?
                    }
                    Action::UnblockMigration => pool.update_vm(&vm, &migration(None))?,
                    Action::BlockMigrationOtherwise => {
                        pool.update_vm(&vm, &migration(Some("another reason")))?
                    }
                    Action::Rename => pool.update_vm(
                        &vm,
                        &VmChanges {
                            name_label: Some("renamed".into()),
                            ..VmChanges::none()
                        },
                    )?,
                    Action::Shutdown => pool.shutdown_vm(&vm, false)?,
                    Action::ForceShutdown => pool.shutdown_vm(&vm, true)?,
                    Action::Start => pool.start_vm(&vm)?,
                    Action::BlockStart => pool.update_vm(
                        &vm,
                        &VmChanges {
                            blocked_operations: vec![("start".into(), Some("mine now".into()))],
                            ..VmChanges::none()
                        },
                    )?,
                    Action::ClearMark => pool.update_vm(
                        &vm,
                        &VmChanges {
                            other_config: vec![("xo:backup:job".into(), None)],
                            ..VmChanges::none()
                        },
                    )?,
                    Action::MarkDisk | Action::ClearDiskMark => {
                        return Err(Error::invalid_input("this action takes a `vdi`"));
                    }
                }
                vm
            }
            (None, Some(vdi)) => {
                let vdi = pool.vdi_by_uuid(vdi)?.opaque_ref;
                let mark = |value: Option<&str>| VdiChanges {
                    other_config: vec![("xo:backup:job".into(), value.map(str::to_owned))],
                    ..VdiChanges::none()
                };
                match params.action {
                    Action::MarkDisk => pool.update_vdi(&vdi, &mark(Some("rogue")))?,
                    Action::ClearDiskMark => pool.update_vdi(&vdi, &mark(None))?,
                    _ => pool.destroy_vdi(&vdi)?,
                }
                vdi
            }
            (None, None) => return Err(Error::invalid_input("name a `vm` or a `vdi`")),
        };
        lifeboat_sdk::output(&json!({ "done": done }))
    }
}

lifeboat_sdk::export_operation!(RogueDestroyer);
