//! Backup records: `export_record` encodes a backup's row as base64 JSON, `import_record` makes a
//! row of it again — with the same id, refused while a live row has that id, and administrators
//! only, as Cinder's default policy has it. The imported row shares the original's objects, so
//! deleting either breaks the other (reference/openstack.md §0.5).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::backups::Backup;
use super::quotas::Kind;
use super::volumes::forbidden;
use super::{Caller, CloudState, Fail, Operation, Outcome, Pending};
use crate::cloud::clock::timestamp;

/// What an exported record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRecord {
    pub backup_service: String,
    pub backup_url: String,
}

/// The fields Cinder's import needs in a record before it will make a usable backup of it.
const REQUIRED: &[&str] = &[
    "display_name",
    "display_description",
    "container",
    "size",
    "service_metadata",
    "object_count",
    "id",
];

impl CloudState {
    pub fn export_backup(&self, caller: &Caller, id: &str) -> Outcome<BackupRecord> {
        if !caller.is_admin() {
            return Err(forbidden("backup:export-import"));
        }
        let backup = self.backup(caller, id)?;
        if backup.status != "available" {
            return Err(Fail::BadRequest(format!(
                "Invalid backup: Backup status must be available and not restoring, but is {}.",
                backup.status
            )));
        }
        let dependents = self
            .backups
            .values()
            .filter(|b| !b.deleted && b.parent_id.as_deref() == Some(id))
            .count();
        let record = record_json(backup, dependents);
        Ok(BackupRecord {
            backup_service: backup.service.clone(),
            backup_url: STANDARD.encode(record.to_string()),
        })
    }

    /// Makes a backup of an exported record in the caller's project, keeping the record's id.
    pub fn import_backup(&mut self, caller: &Caller, record: &BackupRecord) -> Outcome<String> {
        if !caller.is_admin() {
            return Err(forbidden("backup:backup-import"));
        }
        let store = self.backup_store()?;
        let unparsable =
            || Fail::BadRequest("Invalid input received: Can't parse backup record.".into());
        let decoded = STANDARD
            .decode(record.backup_url.trim())
            .map_err(|_| unparsable())?;
        let fields: Value = serde_json::from_slice(&decoded).map_err(|_| unparsable())?;
        if !fields.is_object() {
            return Err(unparsable());
        }
        let text = |key: &str| fields[key].as_str().map(str::to_owned);
        let (Some(id), Some(size)) = (text("id"), fields["size"].as_u64()) else {
            return Err(Fail::BadRequest(
                "Invalid input received: Backup record is missing id or size.".into(),
            ));
        };
        if text("parent_id").as_deref() == Some(id.as_str()) {
            return Err(Fail::BadRequest(
                "Invalid input received: a backup cannot be its own parent.".into(),
            ));
        }
        if self.backups.get(&id).is_some_and(|b| !b.deleted) {
            return Err(Fail::BadRequest(
                "Invalid backup: Backup already exists in database.".into(),
            ));
        }
        self.check_quota(Kind::Backups, &caller.project_id, size)?;
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|key| fields.get(*key).is_none())
            .collect();
        let import_problem = if !missing.is_empty() {
            Some(format!("Backup record is missing {}.", missing.join(", ")))
        } else if record.backup_service != store.service {
            Some(format!(
                "Backup service {} is not the service of this cloud ({}).",
                record.backup_service, store.service
            ))
        } else {
            None
        };
        let parse_time = |key: &str| {
            text(key).and_then(|t| {
                chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|n| n.and_utc())
            })
        };
        let now = self.now();
        let metadata = fields["metadata"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let backup = Backup {
            id: id.clone(),
            project_id: caller.project_id.clone(),
            user_id: caller.user_id.clone(),
            volume_id: text("volume_id").unwrap_or_default(),
            snapshot_id: text("snapshot_id"),
            name: text("display_name"),
            description: text("display_description"),
            status: "creating".into(),
            size,
            container: text("container").unwrap_or_default(),
            service_metadata: text("service_metadata").unwrap_or_default(),
            service: record.backup_service.clone(),
            parent_id: text("parent_id"),
            data_timestamp: parse_time("data_timestamp").unwrap_or(now),
            created_at: now,
            updated_at: None,
            object_count: fields["object_count"].as_u64().unwrap_or_default(),
            availability_zone: text("availability_zone"),
            metadata,
            fail_reason: None,
            // The objects are looked for in the importing project's account: with per-user
            // store auth that is not where the source project wrote them.
            account: store.account(&caller.project_id),
            deleted: false,
            capture: None,
            import_problem,
        };
        self.backups.insert(id.clone(), backup);
        self.schedule(self.timings.import_ms, Pending::BackupImported(id.clone()));
        Ok(id)
    }

    pub(super) fn backup_imported(&mut self, id: &str) {
        let failure = self.faults.take_failure(Operation::Import);
        let Some(backup) = self.backups.get_mut(id) else {
            return;
        };
        match failure.or_else(|| backup.import_problem.take()) {
            Some(reason) => {
                backup.status = "error".into();
                backup.fail_reason = Some(reason);
            }
            None => backup.status = "available".into(),
        }
    }
}

/// The row of a backup as an exported record carries it.
fn record_json(backup: &Backup, dependents: usize) -> Value {
    json!({
        "id": backup.id,
        "user_id": backup.user_id,
        "project_id": backup.project_id,
        "volume_id": backup.volume_id,
        "host": "cinder-backup@simulator",
        "availability_zone": backup.availability_zone,
        "container": backup.container,
        "parent_id": backup.parent_id,
        "status": backup.status,
        "fail_reason": backup.fail_reason,
        "size": backup.size,
        "display_name": backup.name,
        "display_description": backup.description,
        "service_metadata": backup.service_metadata,
        "service": backup.service,
        "object_count": backup.object_count,
        "temp_volume_id": null,
        "temp_snapshot_id": null,
        "num_dependent_backups": dependents,
        "snapshot_id": backup.snapshot_id,
        "data_timestamp": timestamp(backup.data_timestamp),
        "restore_volume_id": null,
        "metadata": backup.metadata,
        "encryption_key_id": null,
        "created_at": timestamp(backup.created_at),
        "driver_info": {},
    })
}
