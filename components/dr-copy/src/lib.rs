//! Lifeboat's built-in Disaster Recovery copy, with Xen Orchestra's semantics
//! (reference/xen-orchestra.md §2 and §4): for one VM and each target SR, remove this job's
//! interrupted copies, snapshot the VM (or export it directly if it is halted and no snapshot
//! is kept), stream its XVA from the source pool into the target SR (one export, one import
//! per SR, all in the host), name, tag, block and mark the replica, write `xo:backup:sr` last,
//! remove the source snapshot unless snapshot retention keeps it, and apply rolling retention
//! through the step's retention policy (before the transfer with `deleteFirst`).

mod marks;
mod params;
mod replicas;
mod snapshots;
mod transfer;

use lifeboat_sdk::settings::Scope;
use lifeboat_sdk::string_map;
use lifeboat_sdk::types::{Description, Error, RunContext};
use lifeboat_sdk::xapi::{Pool, VmRecord};
use serde_json::{Value, json};

use params::{Params, Settings};

struct DrCopy;

/// What one target SR needs for this run.
struct Target {
    sr: lifeboat_sdk::xapi::SrRecord,
    settings: Settings,
    /// The settings the retention policy reads.
    retention: String,
}

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
                    "settings": {
                        "type": "object",
                        "description": "Xen Orchestra's layered settings: \"\" (job), a schedule id, a VM uuid or an SR uuid → { copyRetention, deleteFirst, snapshotRetention, … }.",
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
        refuse_own_replica(&vm, &context)?;

        fn scope<'a>(context: &'a RunContext, vm: &'a VmRecord, target: &'a str) -> Scope<'a> {
            Scope {
                schedule: &context.schedule_id,
                vm: &vm.uuid,
                target,
            }
        }
        let vm_settings: Settings = scope(&context, &vm, "").resolve(&params.settings)?;
        let mut targets = Vec::new();
        for sr_uuid in params.target_srs()? {
            let merged = scope(&context, &vm, &sr_uuid).merge(&params.settings)?;
            let settings: Settings = scope(&context, &vm, &sr_uuid).resolve(&params.settings)?;
            if settings.copy_retention == 0 {
                lifeboat_sdk::tasks::warning(
                    &format!("SR {sr_uuid} skipped: its copyRetention is 0"),
                    None,
                );
                continue;
            }
            targets.push(Target {
                sr: target.sr_by_uuid(&sr_uuid)?,
                retention: params::copy_retention_settings(&merged, settings.copy_retention),
                settings,
            });
        }

        let mut removed = Vec::new();
        let existing = replicas::of_vm(&target, &context, &vm.uuid)?;
        lifeboat_sdk::tasks::run("clean", None, |task| {
            removed.extend(replicas::remove_interrupted(&target, &existing, task)?);
            Ok(())
        })?;
        for t in targets.iter().filter(|t| t.settings.delete_first) {
            let existing = replicas::of_vm(&target, &context, &vm.uuid)?;
            let mut candidates = replicas::candidates(&existing, &t.sr.uuid, &[]);
            candidates.push(lifeboat_sdk::policy::Candidate {
                id: replicas::UPCOMING.into(),
                timestamp_ms: context.now_ms,
                schedule: context.schedule_id.clone(),
                size: 0,
                tags: Vec::new(),
            });
            lifeboat_sdk::tasks::run("clean", None, |task| {
                removed.extend(replicas::apply_retention(
                    &target,
                    &existing,
                    candidates,
                    &t.retention,
                    task,
                )?);
                Ok(())
            })?;
        }

        let snapshot = snapshots::take(&source, &vm, &context, vm_settings.snapshot_retention)?;
        let exported = snapshot.as_ref().map_or(&vm.opaque_ref, |s| &s.opaque_ref);
        let copied = transfer::copy(&source, exported, &target, &targets, &vm, &context);
        let snapshot_uuid = match &snapshot {
            Some(snapshot) => snapshots::settle(
                &source,
                &vm,
                snapshot,
                &context,
                vm_settings.snapshot_retention,
            )?,
            None => None,
        };
        let replicas = copied?;
        let made_now: Vec<String> = replicas
            .iter()
            .filter_map(|replica| replica["vm"].as_str().map(str::to_owned))
            .collect();

        for t in targets.iter().filter(|t| !t.settings.delete_first) {
            let existing = replicas::of_vm(&target, &context, &vm.uuid)?;
            let candidates = replicas::candidates(&existing, &t.sr.uuid, &made_now);
            lifeboat_sdk::tasks::run("clean", None, |task| {
                removed.extend(replicas::apply_retention(
                    &target,
                    &existing,
                    candidates,
                    &t.retention,
                    task,
                )?);
                Ok(())
            })?;
        }

        lifeboat_sdk::output(&json!({
            "vm": vm.uuid,
            "replicas": replicas,
            "removed": removed,
            "snapshot": snapshot_uuid.map_or(Value::Null, Value::String),
        }))
    }
}

/// Xen Orchestra refuses to copy a VM that this very job created (a replica, recognised by
/// the job's mark and its blocked start).
fn refuse_own_replica(vm: &VmRecord, context: &RunContext) -> Result<(), Error> {
    let own = string_map::get(&vm.other_config, marks::JOB) == Some(context.job_id.as_str());
    let blocked = string_map::get(&vm.blocked_operations, "start").is_some();
    if own && blocked {
        return Err(Error::invalid_input(format!(
            "VM {} ({}) is a replica made by this job: a job does not copy its own copies",
            vm.uuid, vm.name_label
        )));
    }
    Ok(())
}

lifeboat_sdk::export_operation!(DrCopy);
