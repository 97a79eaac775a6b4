//! Cinder backups: creation (full, incremental, forced, from a snapshot) with Cinder's status and
//! parent rules, the objects a chunked driver writes to the backup store, deletion refused while
//! incremental children exist, and the administrator's force-delete and status reset.
//!
//! A backup's objects live under its prefix (`service_metadata`): one object per block it stores
//! (`PREFIX-00003`), the sha256 of every block of the volume (`PREFIX_sha256file`) and the
//! volume's metadata (`PREFIX_metadata`). An incremental stores only the blocks whose hash differs
//! from its parent's, so a restore replays the chain from the full backup down.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::quotas::Kind;
use super::volumes::{forbidden, not_found};
use super::{Caller, Changes, CloudState, Fail, Operation, Outcome, Pending, new_id};
use crate::cloud::content::{BLOCK_SIZE, BlockMap, block_hash};

/// The container Cinder's Swift driver uses unless told otherwise.
pub const DEFAULT_CONTAINER: &str = "volumebackups";

#[derive(Debug, Clone)]
pub struct Backup {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub volume_id: String,
    pub snapshot_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub size: u64,
    pub container: String,
    /// The object prefix: `volume_<volume>/<YYYYmmddHHMMSS>/az_<az>_backup_<id>`.
    pub service_metadata: String,
    pub service: String,
    pub parent_id: Option<String>,
    pub data_timestamp: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub object_count: u64,
    pub availability_zone: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub fail_reason: Option<String>,
    /// The store account its objects are read from and written to.
    pub account: String,
    /// Soft-deleted: gone for the API, revived by an import of its record.
    pub deleted: bool,
    /// What a running backup copies, taken when it started.
    pub capture: Option<Captured>,
    /// Why a running import will end in `error`.
    pub import_problem: Option<String>,
}

/// The part of a volume a backup keeps.
#[derive(Debug, Clone)]
pub struct Captured {
    pub content: BlockMap,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub image_metadata: BTreeMap<String, String>,
}

/// A `POST /backups` request.
#[derive(Debug, Clone, Default)]
pub struct NewBackup {
    pub volume_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub container: Option<String>,
    pub incremental: bool,
    pub force: bool,
    pub snapshot_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub availability_zone: Option<String>,
}

impl Backup {
    pub fn is_incremental(&self) -> bool {
        self.parent_id.is_some()
    }

    /// The names of its objects.
    pub fn block_object(&self, index: u64) -> String {
        format!("{}-{:05}", self.service_metadata, index)
    }

    pub fn hash_object(&self) -> String {
        format!("{}_sha256file", self.service_metadata)
    }

    pub fn metadata_object(&self) -> String {
        format!("{}_metadata", self.service_metadata)
    }
}

impl CloudState {
    /// A backup the caller may see: its project's, or any for an administrator.
    pub fn backup(&self, caller: &Caller, id: &str) -> Outcome<&Backup> {
        match self.backups.get(id) {
            Some(b) if !b.deleted && (b.project_id == caller.project_id || caller.is_admin()) => {
                Ok(b)
            }
            _ => Err(not_found("Backup", id)),
        }
    }

    fn backup_mut(&mut self, caller: &Caller, id: &str) -> Outcome<&mut Backup> {
        self.backup(caller, id)?;
        Ok(self.backups.get_mut(id).expect("just found"))
    }

    /// Whether live incremental backups name `id` as their parent.
    pub fn has_dependents(&self, id: &str) -> bool {
        self.backups
            .values()
            .any(|b| !b.deleted && b.parent_id.as_deref() == Some(id))
    }

    /// Starts a backup; it is `available` (or `error`) when [`Pending::BackupCreated`] completes.
    pub fn create_backup(&mut self, caller: &Caller, request: NewBackup) -> Outcome<String> {
        let store = self.backup_store()?;
        let volume = self.volume(caller, &request.volume_id)?;
        // A backup of a snapshot reads the snapshot, not the in-use volume: no force needed.
        let forced = request.force || request.snapshot_id.is_some();
        match (volume.status.as_str(), forced) {
            ("available", _) | ("in-use", true) => {}
            ("in-use", false) => {
                return Err(Fail::BadRequest(
                    "Invalid volume: Backing up an in-use volume must use the force flag.".into(),
                ));
            }
            (status, _) => {
                return Err(Fail::BadRequest(format!(
                    "Invalid volume: Volume to be backed up must be available or in-use, but the \
                     current status is \"{status}\"."
                )));
            }
        }
        let (content, data_timestamp) = match &request.snapshot_id {
            Some(snapshot_id) => {
                let snapshot = self.snapshot(caller, snapshot_id)?;
                if snapshot.volume_id != request.volume_id {
                    return Err(Fail::BadRequest(format!(
                        "Invalid snapshot: Snapshot {snapshot_id} is not a snapshot of volume \
                         {}.",
                        request.volume_id
                    )));
                }
                if snapshot.status != "available" {
                    return Err(Fail::BadRequest(format!(
                        "Invalid snapshot: Snapshot to be backed up must be available, but the \
                         current status is \"{}\".",
                        snapshot.status
                    )));
                }
                (snapshot.content.clone(), snapshot.created_at)
            }
            None => (volume.content.clone(), self.now()),
        };
        let capture = Captured {
            content,
            name: volume.name.clone(),
            description: volume.description.clone(),
            metadata: volume.metadata.clone(),
            image_metadata: volume.image_metadata.clone(),
        };
        // The backup belongs to the caller's project, as Cinder's context decides, even when an
        // administrator backs up another project's volume.
        let (size, volume_az, project_id) = (
            volume.size,
            volume.availability_zone.clone(),
            caller.project_id.clone(),
        );
        let parent_id = if request.incremental {
            let parent = self
                .backups
                .values()
                .filter(|b| {
                    !b.deleted
                        && b.volume_id == request.volume_id
                        && b.project_id == project_id
                        && b.status == "available"
                        && (request.snapshot_id.is_none() || b.data_timestamp < data_timestamp)
                })
                .max_by_key(|b| b.data_timestamp)
                .ok_or_else(|| {
                    Fail::BadRequest(
                        "Invalid backup: No backups available to do an incremental backup.".into(),
                    )
                })?;
            Some(parent.id.clone())
        } else {
            None
        };
        self.check_quota(Kind::Backups, &project_id, size)?;
        let id = new_id();
        let now = self.now();
        let availability_zone = request.availability_zone.unwrap_or(volume_az);
        let backup = Backup {
            id: id.clone(),
            project_id: project_id.clone(),
            user_id: caller.user_id.clone(),
            volume_id: request.volume_id.clone(),
            snapshot_id: request.snapshot_id.clone(),
            name: request.name,
            description: request.description,
            status: "creating".into(),
            size,
            container: request
                .container
                .unwrap_or_else(|| DEFAULT_CONTAINER.to_owned()),
            service_metadata: format!(
                "volume_{}/{}/az_{availability_zone}_backup_{id}",
                request.volume_id,
                now.format("%Y%m%d%H%M%S")
            ),
            service: store.service.clone(),
            parent_id,
            data_timestamp,
            created_at: now,
            updated_at: None,
            object_count: 0,
            availability_zone: Some(availability_zone),
            metadata: request.metadata,
            fail_reason: None,
            account: store.account(&project_id),
            deleted: false,
            capture: Some(capture),
            import_problem: None,
        };
        self.backups.insert(id.clone(), backup);
        match &request.snapshot_id {
            Some(snapshot) => {
                if let Some(s) = self.snapshots.get_mut(snapshot) {
                    s.status = "backing-up".into();
                }
            }
            None => {
                let volume = self
                    .volumes
                    .get_mut(&request.volume_id)
                    .expect("found above");
                volume.previous_status = Some(volume.status.clone());
                volume.status = "backing-up".into();
            }
        }
        self.schedule(self.timings.backup_ms, Pending::BackupCreated(id.clone()));
        Ok(id)
    }

    pub(super) fn backup_created(&mut self, id: &str) {
        let failure = self.faults.take_failure(Operation::Backup);
        let Some(backup) = self.backups.get_mut(id) else {
            return;
        };
        let capture = backup.capture.take();
        let backup = &self.backups[id];
        let (volume_id, snapshot_id) = (backup.volume_id.clone(), backup.snapshot_id.clone());
        let outcome = match (failure, capture, self.store.clone()) {
            (Some(reason), _, _) => Err(reason),
            (None, Some(capture), Some(store)) => {
                let parent = backup.parent_id.as_ref().and_then(|p| self.backups.get(p));
                let parent_hashes = parent.and_then(|p| {
                    let text = store.get(&p.account, &p.container, &p.hash_object())?;
                    read_hashes(&text)
                });
                Ok(write_objects(
                    &store,
                    backup,
                    &capture,
                    parent_hashes.as_ref(),
                ))
            }
            (None, _, _) => Err("the backup service has no store".to_owned()),
        };
        let now = self.now();
        let backup = self.backups.get_mut(id).expect("found above");
        backup.updated_at = Some(now);
        match outcome {
            Ok(objects) => {
                backup.status = "available".into();
                backup.object_count = objects;
            }
            Err(reason) => {
                backup.status = "error".into();
                backup.fail_reason = Some(reason);
            }
        }
        match snapshot_id {
            Some(snapshot) => {
                if let Some(s) = self.snapshots.get_mut(&snapshot) {
                    s.status = "available".into();
                }
            }
            None => {
                if let Some(volume) = self.volumes.get_mut(&volume_id)
                    && volume.status == "backing-up"
                {
                    volume.status = volume
                        .previous_status
                        .take()
                        .unwrap_or_else(|| "available".into());
                }
            }
        }
    }

    pub fn update_backup(&mut self, caller: &Caller, id: &str, changes: Changes) -> Outcome<()> {
        let now = self.now();
        let backup = self.backup_mut(caller, id)?;
        changes.apply(
            &mut backup.name,
            &mut backup.description,
            &mut backup.metadata,
        );
        backup.updated_at = Some(now);
        Ok(())
    }

    /// Deletes a backup: only `available` or `error` ones unless `force`, never one with live
    /// incremental children.
    pub fn delete_backup(&mut self, caller: &Caller, id: &str, force: bool) -> Outcome<()> {
        if force && !caller.is_admin() {
            return Err(forbidden("backup:force_delete"));
        }
        self.backup_store()?;
        let dependents = self.has_dependents(id);
        let backup = self.backup(caller, id)?;
        if !force && !["available", "error"].contains(&backup.status.as_str()) {
            return Err(Fail::BadRequest(format!(
                "Invalid backup: Backup status must be available or error, but is {}.",
                backup.status
            )));
        }
        if dependents {
            return Err(Fail::BadRequest(
                "Invalid backup: Incremental backups exist for this backup.".into(),
            ));
        }
        let backup = self.backups.get_mut(id).expect("just found");
        backup.status = "deleting".into();
        self.schedule(
            self.timings.backup_delete_ms,
            Pending::BackupDeleted(id.into()),
        );
        Ok(())
    }

    pub(super) fn backup_deleted(&mut self, id: &str) {
        let failure = self.faults.take_failure(Operation::BackupDelete);
        let store = self.store.clone();
        let Some(backup) = self.backups.get_mut(id) else {
            return;
        };
        if let Some(reason) = failure {
            backup.status = "error_deleting".into();
            backup.fail_reason = Some(reason);
            return;
        }
        if let Some(store) = store {
            store.delete_prefix(&backup.account, &backup.container, &backup.service_metadata);
        }
        backup.status = "deleted".into();
        backup.deleted = true;
    }

    /// `os-reset_status` (administrators only).
    pub fn reset_backup_status(
        &mut self,
        caller: &Caller,
        id: &str,
        status: String,
    ) -> Outcome<()> {
        if !caller.is_admin() {
            return Err(forbidden("backup:backup-reset_status"));
        }
        if !["available", "error"].contains(&status.as_str()) {
            return Err(Fail::BadRequest(format!(
                "Invalid backup: status {status:?} must be available or error."
            )));
        }
        self.backup_mut(caller, id)?.status = status;
        Ok(())
    }
}

/// Writes a finished backup's objects: the blocks that differ from the parent's hashes (all of
/// them for a full backup), the hash file and the metadata. Returns how many objects it wrote.
fn write_objects(
    store: &crate::cloud::store::BackupStore,
    backup: &Backup,
    capture: &Captured,
    parent_hashes: Option<&BTreeMap<u64, String>>,
) -> u64 {
    let mut hashes = BTreeMap::new();
    let mut objects = 0;
    for (index, data) in capture.content.blocks() {
        let hash = block_hash(data);
        if parent_hashes.and_then(|p| p.get(&index)) != Some(&hash) {
            store.put(
                &backup.account,
                &backup.container,
                &backup.block_object(index),
                data.clone(),
            );
            objects += 1;
        }
        hashes.insert(index.to_string(), hash);
    }
    let hash_file = json!({"chunk_size": BLOCK_SIZE, "sha256s": hashes});
    store.put(
        &backup.account,
        &backup.container,
        &backup.hash_object(),
        Arc::from(hash_file.to_string().into_bytes()),
    );
    let metadata = json!({
        "version": 2,
        "backup_id": backup.id,
        "volume_base": {
            "display_name": capture.name,
            "display_description": capture.description,
        },
        "volume_metadata": capture.metadata,
        "volume_glance_metadata": capture.image_metadata,
    });
    store.put(
        &backup.account,
        &backup.container,
        &backup.metadata_object(),
        Arc::from(metadata.to_string().into_bytes()),
    );
    objects + 2
}

/// The block hashes of a backup's hash file.
pub fn read_hashes(text: &[u8]) -> Option<BTreeMap<u64, String>> {
    let value: serde_json::Value = serde_json::from_slice(text).ok()?;
    value
        .get("sha256s")?
        .as_object()?
        .iter()
        .map(|(index, hash)| Some((index.parse().ok()?, hash.as_str()?.to_owned())))
        .collect()
}
