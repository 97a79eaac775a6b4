//! Lifeboat's built-in Disaster Recovery copy, with Xen Orchestra's semantics (reference/
//! xen-orchestra.md §1, §2 and §4): for one VM and each target SR, as its full-replication
//! runner and writer do it.
//!
//! 1. Refuse a replica of this very job and a VM being migrated; block the VM's migration for
//!    the length of the copy.
//! 2. Reset the job's marks on the VM and its disks, remove the snapshots that interrupted runs
//!    left and the job's snapshots beyond each schedule's `snapshotRetention`.
//! 3. Snapshot (or checkpoint) the VM when Xen Orchestra would, leaving `[NOBAK]` disks out,
//!    shutting it down first for an offline backup or snapshot; stamp the copy with the time
//!    right after, mark the snapshot and its disks.
//! 4. Export once, and per SR: remove the job's interrupted copies (and, with `deleteFirst`,
//!    the old ones), import into the SR a VM that is a replica from its first moment, mark its
//!    disks, write `xo:backup:sr` last; then rolling retention through the step's policy.
//! 5. Start the VM again if it was shut down, apply snapshot retention again, lift the
//!    migration block.
//!
//! Only real replicas (the job's marks and `start` blocked) are ever removed: a clone of a
//! replica, or a replica someone unblocked or started, belongs to its user.

mod disks;
mod marks;
mod params;
mod replicas;
mod snapshots;
mod source;
mod stamp;
mod transfer;

use lifeboat_sdk::tasks;
use lifeboat_sdk::types::{Description, Error, RunContext};
use lifeboat_sdk::xapi::{Pool, PowerState, VmRecord};
use serde_json::{Value, json};

use params::{Params, SrSettings, VmSettings};
use source::{MigrationBlock, Offline};
use transfer::{Copied, Copy, Target};

struct DrCopy;

impl lifeboat_sdk::Operation for DrCopy {
    fn describe() -> Description {
        Description::new(
            "dr-copy",
            env!("CARGO_PKG_VERSION"),
            "Copies a VM in full to another pool's SR as a Disaster Recovery replica, with rolling retention.",
            json!({
                "type": "object",
                "required": ["vm", "source", "target"],
                "additionalProperties": false,
                "properties": {
                    "vm": { "type": "string", "description": "The uuid of the VM to copy." },
                    "source": { "type": "string", "description": "The connection of the VM's pool." },
                    "target": { "type": "string", "description": "The connection of the pool that receives the copies." },
                    "sr": { "type": "string", "description": "The uuid of the SR that receives the copies." },
                    "srs": { "type": "array", "items": { "type": "string" }, "description": "Several SRs, fed from one export." },
                    "compression": {
                        "enum": ["native", "gzip", "zstd"],
                        "description": "How the source pool compresses the export (Xen Orchestra's job.compression; native is gzip). Lifeboat decompresses it before the target pool."
                    },
                    "settings": {
                        "type": "object",
                        "description": "Xen Orchestra's layered settings: \"\" (job), a schedule id, a VM uuid or an SR uuid → { copyRetention, deleteFirst, snapshotRetention, unconditionalSnapshot, offlineBackup, offlineSnapshot, checkpointSnapshot, … }.",
                        "additionalProperties": { "type": "object" }
                    }
                }
            }),
            json!({
                "type": "object",
                "properties": {
                    "vm": { "type": "string" },
                    "replicas": { "type": "array" },
                    "removed": { "type": "array", "items": { "type": "string" } },
                    "snapshot": { "type": ["string", "null"] }
                }
            }),
        )
    }

    fn run(context: RunContext, params: String) -> Result<String, Error> {
        let params: Params = lifeboat_sdk::params(&params)?;
        let source = Pool::connect(&params.source)?;
        let target = Pool::connect(&params.target)?;
        let vm = source.vm_by_uuid(&params.vm)?;
        source::refuse(&vm, &context)?;
        let settings = VmSettings::of(&params.settings, &context, &vm)?;
        let targets = targets(&params, &context, &vm, &target)?;
        if targets.is_empty() && settings.snapshot_retention == 0 {
            // As Xen Orchestra's runner: no target and no snapshot to keep, nothing to do.
            tasks::warning(
                "nothing to do: no SR receives a copy and no snapshot is kept",
                None,
            );
            return lifeboat_sdk::output(&json!({
                "vm": vm.uuid, "replicas": [], "removed": [], "snapshot": null,
            }));
        }

        let block = MigrationBlock::set(&source, &vm)?;
        let run = Run {
            source: &source,
            target: &target,
            context: &context,
            params: &params,
            settings: &settings,
        };
        let protected = run.protect(&vm, &targets);
        block.lift(&source, &vm);
        let (copied, snapshot) = protected?;
        lifeboat_sdk::output(&json!({
            "vm": vm.uuid,
            "replicas": copied.replicas,
            "removed": copied.removed,
            "snapshot": snapshot.map_or(Value::Null, Value::String),
        }))
    }
}

/// The target SRs of `vm` with their settings; an SR whose `copyRetention` is 0 is skipped, as
/// Xen Orchestra skips it.
fn targets(
    params: &Params,
    context: &RunContext,
    vm: &VmRecord,
    target: &Pool,
) -> Result<Vec<Target>, Error> {
    let mut targets = Vec::new();
    for sr_uuid in params.target_srs()? {
        let scope = params::scope(context, &vm.uuid, &sr_uuid);
        let settings: SrSettings = scope.resolve(&params.settings)?;
        if settings.copy_retention == 0 {
            tasks::warning(
                &format!("SR {sr_uuid} skipped: its copyRetention is 0"),
                None,
            );
            continue;
        }
        targets.push(Target {
            sr: target.sr_by_uuid(&sr_uuid)?,
            retention: params::copy_retention_settings(
                &scope.merge(&params.settings)?,
                settings.copy_retention,
            ),
            settings,
        });
    }
    Ok(targets)
}

/// What one run works with.
struct Run<'a> {
    source: &'a Pool,
    target: &'a Pool,
    context: &'a RunContext,
    params: &'a Params,
    settings: &'a VmSettings,
}

impl Run<'_> {
    /// Steps 2 to 5 of the module documentation; returns the copy and the uuid of the
    /// snapshot that snapshot retention keeps, if any.
    fn protect(
        &self,
        vm: &VmRecord,
        targets: &[Target],
    ) -> Result<(Copied, Option<String>), Error> {
        let disks = disks::of(self.source, vm)?;
        let earlier = snapshots::of_vm(self.source, vm, &disks, self.context)?;
        let mut taken: Vec<u64> = earlier.iter().map(|s| s.taken_ms).collect();
        source::reset_marks(self.source, vm, &disks, self.context)?;
        snapshots::remove_leftovers(self.source, vm)?;
        snapshots::remove_expired(self.source, &vm.uuid, earlier, &self.params.settings)?;
        taken.extend(replicas::stamps(self.target, self.context, &vm.uuid)?);

        let left_out: Vec<_> = disks
            .into_iter()
            .filter(|disk| disk.name_label.contains(marks::NO_BACKUP_DISK))
            .collect();
        let was_running = vm.power_state == PowerState::Running;
        let must_snapshot = snapshots::needed(self.settings, was_running, &left_out);
        let exports = !targets.is_empty();
        let mut offline = if (self.settings.offline_backup && exports)
            || (self.settings.offline_snapshot && must_snapshot)
        {
            Offline::shut_down(self.source, vm)?
        } else {
            None
        };

        let copied = (|| {
            let mut made = None;
            if must_snapshot {
                tasks::run("snapshot", None, |_| {
                    let snapshot = snapshots::take(self.source, vm, self.settings, &left_out)?;
                    let stamp_ms = stamp::fresh(&taken);
                    let marked =
                        snapshots::mark(self.source, &snapshot, vm, self.context, stamp_ms)?;
                    let uuid = marked.uuid.clone();
                    made = Some((marked.opaque_ref, stamp_ms));
                    Ok(uuid)
                })?;
                if !self.settings.offline_backup
                    && let Some(shut) = offline.take()
                {
                    shut.restart(self.source);
                }
            }
            let (exported, stamp_ms) =
                made.unwrap_or_else(|| (vm.opaque_ref.clone(), stamp::fresh(&taken)));
            let exported = self.source.vm(&exported)?;
            if !exports {
                let nothing = Copied {
                    replicas: Vec::new(),
                    removed: Vec::new(),
                };
                return Ok((nothing, exported));
            }
            Copy {
                source: self.source,
                target: self.target,
                context: self.context,
                vm,
                exported: &exported,
                compression: self.params.compression(),
                stamp_ms,
            }
            .run(targets)
            .map(|copied| (copied, exported))
        })();

        if let Some(shut) = offline {
            shut.restart(self.source);
        }
        // Read again: the VM has a new snapshot, and its disks new snapshot disks.
        let vm = self.source.vm(&vm.opaque_ref)?;
        let after = snapshots::of_vm(
            self.source,
            &vm,
            &disks::of(self.source, &vm)?,
            self.context,
        )?;
        let removed =
            snapshots::remove_expired(self.source, &vm.uuid, after, &self.params.settings)?;
        let (copied, exported) = copied?;
        let kept = exported.is_a_snapshot && !removed.contains(&exported.opaque_ref);
        Ok((copied, kept.then(|| exported.uuid.clone())))
    }
}

lifeboat_sdk::export_operation!(DrCopy);
