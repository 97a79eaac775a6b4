//! The copy itself, Xen Orchestra's writer model: one XVA export of the source VM (or of its
//! snapshot) streamed by the host into an import on every target SR. Per SR, an `export` task
//! holds a `clean` task (interrupted copies, and old copies first with `deleteFirst`, once the
//! export has started), the `transfer` task that ends with the bytes it moved, and after it the
//! old copies' `retention`. An SR whose cleaning or import fails is dropped with a warning and
//! the others complete; the copy fails only when every SR failed.
//!
//! Each imported VM is a replica from its first moment: name, tags, HA off, `start` blocked
//! and the job's marks are written into it as the archive streams past, so a copy cut short is
//! either removed by xapi or recognisable as this job's interrupted copy. Once the import is
//! complete, its disks are marked and `xo:backup:sr` is written last.

use lifeboat_sdk::policy::Candidate;
use lifeboat_sdk::tasks::{self, Status, Task};
use lifeboat_sdk::transfers;
use lifeboat_sdk::types::{Error, RunContext};
use lifeboat_sdk::xapi::{Compression, Pool, SrRecord, VdiChanges, VmChanges, VmRecord};
use serde_json::{Value, json};

use crate::marks;
use crate::params::SrSettings;
use crate::replicas;

/// What one target SR needs for this run.
pub struct Target {
    pub sr: SrRecord,
    pub settings: SrSettings,
    /// The settings the retention policy reads.
    pub retention: String,
}

/// What is copied, from where, and how it is stamped.
pub struct Copy<'a> {
    pub source: &'a Pool,
    pub target: &'a Pool,
    pub context: &'a RunContext,
    /// The VM being protected.
    pub vm: &'a VmRecord,
    /// What is exported: `vm` itself or its snapshot, read just before the export.
    pub exported: &'a VmRecord,
    pub compression: Compression,
    pub stamp_ms: u64,
}

/// The outcome of a copy to every target.
pub struct Copied {
    /// A description of each replica made.
    pub replicas: Vec<Value>,
    /// The uuids of the copies removed (interrupted and old).
    pub removed: Vec<String>,
}

impl Copy<'_> {
    /// Copies to every target; see the module documentation.
    pub fn run(&self, targets: &[Target]) -> Result<Copied, Error> {
        let exports: Vec<Task> = targets
            .iter()
            .map(|t| {
                let data = json!({ "type": "SR", "id": t.sr.uuid, "name_label": t.sr.name_label, "isFull": true });
                tasks::start("export", Some(&data.to_string()))
            })
            .collect();
        let fail_all = |error: Error| {
            for export in &exports {
                export.end(Status::Failure, Some(&error.to_json().to_string()));
            }
            error
        };
        let stream = self
            .source
            .export_vm(&self.exported.opaque_ref, self.compression)
            .map_err(fail_all)?;
        stream.open().map_err(fail_all)?;

        // Per SR, its cleaning, then its import; an SR whose cleaning fails is dropped, as one
        // whose import fails, so that the others still get their copy.
        let mut removed = Vec::new();
        let mut failures = Vec::new();
        let mut live = Vec::new();
        let mut sinks = Vec::new();
        let born_as = self.born_as();
        for (t, export) in targets.iter().zip(&exports) {
            let ready = self.clean(t, export).and_then(|gone| {
                removed.extend(gone);
                self.target.import_vm_with(&t.sr.opaque_ref, &born_as)
            });
            match ready {
                Ok(sink) => {
                    sinks.push(sink);
                    live.push((t, export));
                }
                Err(error) => failures.push(dropped(t, export, error)),
            }
        }
        if sinks.is_empty() {
            return Err(all_failed(failures));
        }
        let transfers: Vec<Task> = live
            .iter()
            .map(|(_, export)| export.start("transfer", None))
            .collect();
        let outcomes = transfers::copy(stream, sinks, transfers.first());

        let mut replicas = Vec::new();
        for (((t, export), transfer), outcome) in live.iter().zip(&transfers).zip(outcomes) {
            let finished = outcome.and_then(|delivered| {
                transfer.end(
                    Status::Success,
                    Some(&json!({ "size": delivered.bytes }).to_string()),
                );
                let imported = delivered
                    .created
                    .first()
                    .cloned()
                    .ok_or_else(|| Error::internal("the import created no VM"))?;
                self.complete(&imported, t)
            });
            match finished {
                Ok(replica) => replicas.push(replica),
                Err(error) => {
                    transfer.end(Status::Failure, Some(&error.to_json().to_string()));
                    failures.push(dropped(t, export, error));
                }
            }
        }
        if replicas.is_empty() {
            return Err(all_failed(failures));
        }
        let made_now: Vec<String> = replicas
            .iter()
            .filter_map(|replica| replica["vm"].as_str().map(str::to_owned))
            .collect();
        for (t, export) in targets.iter().zip(&exports) {
            let done = replicas
                .iter()
                .any(|replica| replica["sr"].as_str() == Some(t.sr.uuid.as_str()));
            if !done {
                continue;
            }
            let retained = if t.settings.delete_first {
                Ok(Vec::new())
            } else {
                self.retention(t, export, &made_now)
            };
            match retained {
                Ok(gone) => {
                    removed.extend(gone);
                    export.end(Status::Success, None);
                }
                Err(error) => {
                    export.end(Status::Failure, Some(&error.to_json().to_string()));
                    return Err(error);
                }
            }
        }
        Ok(Copied { replicas, removed })
    }

    /// The `clean` task of one SR: the job's interrupted copies of the VM go (on every SR:
    /// they are not complete, so they name none), and with `deleteFirst` the old copies beyond
    /// the retention, keeping room for the new one.
    fn clean(&self, t: &Target, export: &Task) -> Result<Vec<String>, Error> {
        export.run("clean", None, |task| {
            let existing = replicas::of_vm(self.target, self.context, &self.vm.uuid)?;
            let mut removed = replicas::remove_interrupted(self.target, &existing, task);
            if t.settings.delete_first {
                let mut candidates = replicas::candidates(&existing, &t.sr.uuid, &[]);
                candidates.push(Candidate {
                    id: replicas::UPCOMING.into(),
                    timestamp_ms: self.stamp_ms,
                    schedule: self.context.schedule_id.clone(),
                    size: 0,
                    tags: Vec::new(),
                });
                removed.extend(replicas::apply_retention(
                    self.target,
                    &existing,
                    candidates,
                    &t.retention,
                    task,
                )?);
            }
            Ok(removed)
        })
    }

    /// The `retention` task of one SR after its copy: the copies beyond the retention go.
    fn retention(
        &self,
        t: &Target,
        export: &Task,
        made_now: &[String],
    ) -> Result<Vec<String>, Error> {
        export.run("retention", None, |task| {
            let existing = replicas::of_vm(self.target, self.context, &self.vm.uuid)?;
            let candidates = replicas::candidates(&existing, &t.sr.uuid, made_now);
            replicas::apply_retention(self.target, &existing, candidates, &t.retention, task)
        })
    }

    /// What the imported VM is from its creation: a replica of this job (name, tag, HA off
    /// with its tag, blocked only from starting, the job's marks) that is not complete yet
    /// (`xo:backup:sr` absent).
    fn born_as(&self) -> VmChanges {
        let had_ha = !self.exported.ha_restart_priority.is_empty();
        let mut tags = vec![marks::TAG.to_owned()];
        if had_ha {
            tags.push(marks::HA_DISABLED_TAG.to_owned());
        }
        let mut other_config: Vec<(String, Option<String>)> =
            marks::job_marks(self.context, &self.vm.uuid, self.stamp_ms)
                .into_iter()
                .map(|(key, value)| (key, Some(value)))
                .collect();
        other_config.push((marks::SR.into(), None));
        VmChanges {
            name_label: Some(marks::replica_name(
                &self.vm.name_label,
                &self.context.job_name,
                self.stamp_ms,
            )),
            other_config,
            blocked_operations: replica_blocks(self.exported),
            add_tags: tags,
            ha_restart_priority: had_ha.then(String::new),
            is_a_template: Some(false),
            ..VmChanges::none()
        }
    }

    /// Completes an imported replica: the job's marks and `xo:backup:sr` on its disks, then
    /// `xo:backup:sr` on the VM, last. An import that cannot be completed is removed rather
    /// than left for the next run.
    fn complete(&self, imported: &str, t: &Target) -> Result<Value, Error> {
        let completed = (|| {
            let record = self.target.vm(imported)?;
            let mut disk_marks: Vec<(String, Option<String>)> =
                marks::job_marks(self.context, &self.vm.uuid, self.stamp_ms)
                    .into_iter()
                    .map(|(key, value)| (key, Some(value)))
                    .collect();
            disk_marks.push((marks::SR.into(), Some(t.sr.uuid.clone())));
            for disk in crate::disks::of(self.target, &record)? {
                self.target.update_vdi(
                    &disk.opaque_ref,
                    &VdiChanges {
                        other_config: disk_marks.clone(),
                        ..VdiChanges::none()
                    },
                )?;
            }
            self.target.update_vm(
                imported,
                &VmChanges {
                    other_config: vec![(marks::SR.into(), Some(t.sr.uuid.clone()))],
                    ..VmChanges::none()
                },
            )?;
            Ok(json!({ "sr": t.sr.uuid, "vm": record.uuid, "name_label": record.name_label }))
        })();
        if completed.is_err() {
            let _ = self.target.destroy_vm(imported, true);
        }
        completed
    }
}

/// Ends the `export` task of an SR that failed, with a warning on the VM's task: the copy goes on
/// to the other SRs.
fn dropped(t: &Target, export: &Task, error: Error) -> Error {
    export.end(Status::Failure, Some(&error.to_json().to_string()));
    tasks::warning(
        &format!(
            "the copy to SR {} ({}) failed and is dropped: {}",
            t.sr.name_label, t.sr.uuid, error.message
        ),
        Some(&error.to_json().to_string()),
    );
    error
}

/// The error of a copy that every SR failed, in Xen Orchestra's words, with the first SR's
/// reason.
fn all_failed(failures: Vec<Error>) -> Error {
    match failures.into_iter().next() {
        Some(first) => Error {
            message: format!(
                "all targets have failed, step: writer.run(): {}",
                first.message
            ),
            ..first
        },
        None => Error::internal("all targets have failed, step: writer.run()"),
    }
}

/// A replica is blocked from `start` and `start_on` and from nothing else: blocks it would
/// inherit from what was exported (a `destroy` block, the migration block of the run) would
/// keep its own job's retention from removing it.
fn replica_blocks(exported: &VmRecord) -> Vec<(String, Option<String>)> {
    let mut blocks: Vec<(String, Option<String>)> = exported
        .blocked_operations
        .iter()
        .filter(|(operation, _)| operation != "start" && operation != "start_on")
        .map(|(operation, _)| (operation.clone(), None))
        .collect();
    blocks.push(("start".into(), Some(marks::START_BLOCKED.into())));
    blocks.push(("start_on".into(), Some(marks::START_BLOCKED.into())));
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_sdk::string_map;

    #[test]
    fn a_replica_is_blocked_only_from_starting() {
        let mut exported = crate::marks::tests::vm("web01");
        exported.blocked_operations = vec![
            ("destroy".into(), "protected".into()),
            (
                "migrate_send".into(),
                "VM migration is blocked during backup".into(),
            ),
            ("start".into(), "the source's own reason".into()),
        ];
        let blocks = replica_blocks(&exported);
        assert_eq!(
            blocks,
            [
                ("destroy".to_owned(), None),
                ("migrate_send".to_owned(), None),
                ("start".to_owned(), Some(marks::START_BLOCKED.to_owned())),
                ("start_on".to_owned(), Some(marks::START_BLOCKED.to_owned())),
            ]
        );
        assert!(string_map::get(&exported.blocked_operations, "start").is_some());
    }
}
