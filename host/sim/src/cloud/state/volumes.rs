//! Cinder volumes, snapshots and transfers: creation from nothing, a snapshot, another volume, an
//! image or (3.47) a backup; the status rules of deletion and snapshots (`force` for in-use
//! volumes); bootability and image metadata; quotas; and transfers between projects.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lifeboat_formats::secret::Secret;

use super::quotas::Kind;
use super::{Caller, Changes, CloudState, Fail, Operation, Outcome, Pending, new_id};
use crate::cloud::content::BlockMap;
use crate::cloud::microversion::Microversion;

#[derive(Debug, Clone)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    pub encrypted: bool,
}

#[derive(Debug, Clone)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub min_ram_mib: u64,
    pub min_disk_gib: u64,
    pub disk_format: String,
    pub properties: BTreeMap<String, String>,
}

impl Image {
    /// What Cinder copies into `volume_image_metadata` for a volume made from this image.
    pub fn volume_metadata(&self) -> BTreeMap<String, String> {
        let mut metadata = self.properties.clone();
        metadata.insert("image_id".into(), self.id.clone());
        metadata.insert("image_name".into(), self.name.clone());
        metadata.insert("min_ram".into(), self.min_ram_mib.to_string());
        metadata.insert("min_disk".into(), self.min_disk_gib.to_string());
        metadata.insert("disk_format".into(), self.disk_format.clone());
        metadata.insert("container_format".into(), "bare".into());
        metadata
    }
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: String,
    pub server_id: String,
    pub device: String,
    pub attached_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub size: u64,
    pub status: String,
    pub previous_status: Option<String>,
    pub bootable: bool,
    pub volume_type: String,
    pub availability_zone: String,
    pub encrypted: bool,
    pub metadata: BTreeMap<String, String>,
    pub image_metadata: BTreeMap<String, String>,
    pub attachments: Vec<Attachment>,
    pub snapshot_id: Option<String>,
    pub source_volid: Option<String>,
    pub backup_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub content: BlockMap,
}

impl Volume {
    /// The volume's capacity in bytes.
    pub fn capacity(&self) -> u64 {
        self.size.saturating_mul(1 << 30)
    }
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: String,
    pub project_id: String,
    pub volume_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub size: u64,
    pub status: String,
    pub metadata: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    /// The volume's blocks when the snapshot was taken.
    pub content: BlockMap,
}

/// A volume offered to another project.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: String,
    pub name: Option<String>,
    pub volume_id: String,
    pub auth_key: Secret,
    pub created_at: DateTime<Utc>,
}

/// What a volume is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    Blank,
    Snapshot(String),
    Volume(String),
    Image(String),
    Backup(String),
}

/// A `POST /volumes` request.
#[derive(Debug, Clone)]
pub struct NewVolume {
    pub size: Option<u64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub volume_type: Option<String>,
    pub availability_zone: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub source: VolumeSource,
}

/// The largest volume the simulator makes, in GiB (a PiB): sizes stay far from overflowing.
pub const MAX_VOLUME_GIB: u64 = 1 << 20;

/// Statuses from which Cinder lets a volume be deleted.
const DELETABLE: &[&str] = &[
    "available",
    "error",
    "error_restoring",
    "error_extending",
    "error_managing",
];

pub fn not_found(kind: &str, id: &str) -> Fail {
    Fail::NotFound(format!("{kind} {id} could not be found."))
}

impl CloudState {
    /// A volume the caller may see: its project's, or any for an administrator.
    pub fn volume(&self, caller: &Caller, id: &str) -> Outcome<&Volume> {
        match self.volumes.get(id) {
            Some(v) if v.project_id == caller.project_id || caller.is_admin() => Ok(v),
            _ => Err(not_found("Volume", id)),
        }
    }

    pub fn volume_mut(&mut self, caller: &Caller, id: &str) -> Outcome<&mut Volume> {
        self.volume(caller, id)?;
        Ok(self.volumes.get_mut(id).expect("just found"))
    }

    pub fn snapshot(&self, caller: &Caller, id: &str) -> Outcome<&Snapshot> {
        match self.snapshots.get(id) {
            Some(s) if s.project_id == caller.project_id || caller.is_admin() => Ok(s),
            _ => Err(not_found("Snapshot", id)),
        }
    }

    /// Creates a volume in `creating`; it becomes `available` when [`Pending::VolumeCreated`]
    /// (or, from a backup, the restore) completes.
    pub fn create_volume(&mut self, caller: &Caller, request: NewVolume) -> Outcome<String> {
        let (source_size, content, image_metadata, bootable) = match &request.source {
            VolumeSource::Blank => (None, BlockMap::default(), BTreeMap::new(), false),
            VolumeSource::Snapshot(id) => {
                let snapshot = self.snapshot(caller, id)?;
                if snapshot.status != "available" {
                    return Err(Fail::BadRequest(format!(
                        "Originating snapshot status must be one of 'available' values, but is \
                         {}.",
                        snapshot.status
                    )));
                }
                let source = self.volumes.get(&snapshot.volume_id);
                (
                    Some(snapshot.size),
                    snapshot.content.clone(),
                    source.map(|v| v.image_metadata.clone()).unwrap_or_default(),
                    source.is_some_and(|v| v.bootable),
                )
            }
            VolumeSource::Volume(id) => {
                let source = self.volume(caller, id)?;
                if !["available", "in-use"].contains(&source.status.as_str()) {
                    return Err(Fail::BadRequest(format!(
                        "Source volume status must be available or in-use, but is {}.",
                        source.status
                    )));
                }
                (
                    Some(source.size),
                    source.content.clone(),
                    source.image_metadata.clone(),
                    source.bootable,
                )
            }
            VolumeSource::Image(id) => {
                let image =
                    self.images.iter().find(|i| &i.id == id).ok_or_else(|| {
                        Fail::BadRequest(format!("Image {id} could not be found."))
                    })?;
                (
                    Some(image.min_disk_gib.max(1)),
                    BlockMap::default(),
                    image.volume_metadata(),
                    true,
                )
            }
            VolumeSource::Backup(id) => {
                let backup = self.backup(caller, id)?;
                if backup.status != "available" {
                    return Err(Fail::BadRequest(format!(
                        "Backup status must be available, but is {}.",
                        backup.status
                    )));
                }
                (
                    Some(backup.size),
                    BlockMap::default(),
                    BTreeMap::new(),
                    false,
                )
            }
        };
        let size = match (request.size, source_size) {
            (Some(size), Some(source)) if size < source => {
                return Err(Fail::BadRequest(format!(
                    "Volume size '{size}' must be an integer and greater than or equal to the \
                     size of its source ({source} GB)."
                )));
            }
            (Some(size), _) => size,
            (None, Some(source)) => source,
            (None, None) => {
                return Err(Fail::BadRequest(
                    "Volume size '' must be an integer and greater than 0.".into(),
                ));
            }
        };
        if size == 0 || size > MAX_VOLUME_GIB {
            return Err(Fail::BadRequest(format!(
                "Volume size '{size}' must be an integer and greater than 0 (and at most \
                 {MAX_VOLUME_GIB} in the simulator)."
            )));
        }
        let kind = match &request.volume_type {
            Some(name) => self
                .volume_types
                .iter()
                .find(|t| &t.name == name || &t.id == name)
                .ok_or_else(|| Fail::NotFound(format!("Volume type {name} could not be found.")))?
                .clone(),
            None => self.volume_types.first().cloned().unwrap_or(VolumeType {
                id: new_id(),
                name: "__DEFAULT__".into(),
                encrypted: false,
            }),
        };
        self.check_quota(Kind::Volumes, &caller.project_id, size)?;
        let id = new_id();
        let (snapshot_id, source_volid, backup_id) = match &request.source {
            VolumeSource::Snapshot(s) => (Some(s.clone()), None, None),
            VolumeSource::Volume(v) => (None, Some(v.clone()), None),
            VolumeSource::Backup(b) => (None, None, Some(b.clone())),
            _ => (None, None, None),
        };
        let volume = Volume {
            id: id.clone(),
            project_id: caller.project_id.clone(),
            user_id: caller.user_id.clone(),
            name: request.name,
            description: request.description,
            size,
            status: "creating".into(),
            previous_status: None,
            bootable,
            volume_type: kind.name,
            availability_zone: request
                .availability_zone
                .unwrap_or_else(|| self.availability_zone.clone()),
            encrypted: kind.encrypted,
            metadata: request.metadata,
            image_metadata,
            attachments: Vec::new(),
            snapshot_id,
            source_volid,
            backup_id: backup_id.clone(),
            created_at: self.now(),
            updated_at: None,
            content,
        };
        self.volumes.insert(id.clone(), volume);
        match backup_id {
            Some(backup) => {
                if let Some(b) = self.backups.get_mut(&backup) {
                    b.status = "restoring".into();
                }
                self.schedule(
                    self.timings.restore_ms,
                    Pending::Restored {
                        backup,
                        volume: id.clone(),
                        created: true,
                    },
                );
            }
            None => self.schedule(
                self.timings.volume_create_ms,
                Pending::VolumeCreated(id.clone()),
            ),
        }
        Ok(id)
    }

    pub(super) fn volume_created(&mut self, id: &str) {
        let failure = self.faults.take_failure(Operation::VolumeCreate);
        let now = self.now();
        if let Some(volume) = self.volumes.get_mut(id) {
            volume.status = if failure.is_some() {
                "error"
            } else {
                "available"
            }
            .into();
            volume.updated_at = Some(now);
        }
    }

    pub fn update_volume(&mut self, caller: &Caller, id: &str, changes: Changes) -> Outcome<()> {
        let now = self.now();
        let volume = self.volume_mut(caller, id)?;
        changes.apply(
            &mut volume.name,
            &mut volume.description,
            &mut volume.metadata,
        );
        volume.updated_at = Some(now);
        Ok(())
    }

    pub fn delete_volume(&mut self, caller: &Caller, id: &str) -> Outcome<()> {
        let has_snapshots = self.snapshots.values().any(|s| s.volume_id == id);
        let volume = self.volume_mut(caller, id)?;
        if !DELETABLE.contains(&volume.status.as_str())
            || !volume.attachments.is_empty()
            || has_snapshots
        {
            return Err(Fail::BadRequest(format!(
                "Invalid volume: Volume status must be available or error or error_restoring or \
                 error_extending or error_managing and must not be migrating, attached, belong \
                 to a group, have snapshots, awaiting a transfer, or be disassociated from \
                 snapshots after volume transfer. (volume {id} is {}{})",
                volume.status,
                if has_snapshots {
                    ", with snapshots"
                } else {
                    ""
                }
            )));
        }
        volume.status = "deleting".into();
        self.schedule(
            self.timings.volume_delete_ms,
            Pending::VolumeDeleted(id.into()),
        );
        Ok(())
    }

    /// `POST /volumes/{id}/metadata`: merges into the volume's metadata.
    pub fn merge_volume_metadata(
        &mut self,
        caller: &Caller,
        id: &str,
        metadata: BTreeMap<String, String>,
    ) -> Outcome<&Volume> {
        let volume = self.volume_mut(caller, id)?;
        volume.metadata.extend(metadata);
        Ok(volume)
    }

    /// `os-set_bootable`.
    pub fn set_bootable(&mut self, caller: &Caller, id: &str, bootable: bool) -> Outcome<()> {
        self.volume_mut(caller, id)?.bootable = bootable;
        Ok(())
    }

    /// `os-set_image_metadata`: merges into the volume's image metadata.
    pub fn set_image_metadata(
        &mut self,
        caller: &Caller,
        id: &str,
        metadata: BTreeMap<String, String>,
    ) -> Outcome<()> {
        let volume = self.volume_mut(caller, id)?;
        volume.image_metadata.extend(metadata);
        Ok(())
    }

    /// `os-reset_status` (administrators only).
    pub fn reset_volume_status(
        &mut self,
        caller: &Caller,
        id: &str,
        status: String,
    ) -> Outcome<()> {
        if !caller.is_admin() {
            return Err(forbidden(
                "volume_extension:volume_admin_actions:reset_status",
            ));
        }
        self.volume_mut(caller, id)?.status = status;
        Ok(())
    }

    /// Takes a snapshot: of an in-use volume only with `force` before 3.66; from 3.66 `force`
    /// is implied and an explicit `false` is refused.
    pub fn create_snapshot(
        &mut self,
        caller: &Caller,
        volume_id: &str,
        name: Option<String>,
        description: Option<String>,
        force: Option<bool>,
        version: Microversion,
    ) -> Outcome<String> {
        if force == Some(false) && version >= Microversion::new(3, 66) {
            return Err(Fail::BadRequest(
                "Since microversion 3.66 the 'force' flag is invalid for this request. For \
                 backward compatibility, however, when the 'force' flag is passed with a value \
                 evaluating to True, it is silently ignored."
                    .into(),
            ));
        }
        let force = force.unwrap_or(false);
        let volume = self.volume(caller, volume_id)?;
        let allowed = match volume.status.as_str() {
            "available" => true,
            "in-use" => force || version >= Microversion::new(3, 66),
            _ => false,
        };
        if !allowed {
            return Err(Fail::BadRequest(format!(
                "Invalid volume: Volume {volume_id} status must be available, but current status \
                 is: {}.",
                volume.status
            )));
        }
        let id = new_id();
        let snapshot = Snapshot {
            id: id.clone(),
            project_id: volume.project_id.clone(),
            volume_id: volume_id.into(),
            name,
            description,
            size: volume.size,
            status: "creating".into(),
            metadata: BTreeMap::new(),
            created_at: self.now(),
            content: volume.content.clone(),
        };
        self.snapshots.insert(id.clone(), snapshot);
        self.schedule(
            self.timings.snapshot_ms,
            Pending::SnapshotCreated(id.clone()),
        );
        Ok(id)
    }

    pub(super) fn snapshot_created(&mut self, id: &str) {
        let failure = self.faults.take_failure(Operation::Snapshot);
        if let Some(snapshot) = self.snapshots.get_mut(id) {
            snapshot.status = if failure.is_some() {
                "error"
            } else {
                "available"
            }
            .into();
        }
    }

    pub fn delete_snapshot(&mut self, caller: &Caller, id: &str) -> Outcome<()> {
        let in_use = self
            .backups
            .values()
            .any(|b| !b.deleted && b.snapshot_id.as_deref() == Some(id) && b.status == "creating");
        let snapshot = self.snapshot(caller, id)?;
        if !["available", "error"].contains(&snapshot.status.as_str()) || in_use {
            return Err(Fail::BadRequest(format!(
                "Invalid snapshot: Snapshot status must be available or error, but is {}.",
                snapshot.status
            )));
        }
        let snapshot = self.snapshots.get_mut(id).expect("just found");
        snapshot.status = "deleting".into();
        self.schedule(
            self.timings.volume_delete_ms,
            Pending::SnapshotDeleted(id.into()),
        );
        Ok(())
    }

    /// Offers an available volume to another project; returns the transfer and its key.
    pub fn create_transfer(
        &mut self,
        caller: &Caller,
        volume_id: &str,
        name: Option<String>,
    ) -> Outcome<Transfer> {
        let volume = self.volume_mut(caller, volume_id)?;
        if volume.status != "available" {
            return Err(Fail::BadRequest(format!(
                "Invalid volume: status must be available, but is {}.",
                volume.status
            )));
        }
        volume.status = "awaiting-transfer".into();
        let transfer = Transfer {
            id: new_id(),
            name,
            volume_id: volume_id.into(),
            auth_key: Secret::new(uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()),
            created_at: self.now(),
        };
        self.transfers.insert(transfer.id.clone(), transfer.clone());
        Ok(transfer)
    }

    /// Accepts a transfer into the caller's project; returns the transfer.
    pub fn accept_transfer(
        &mut self,
        caller: &Caller,
        id: &str,
        auth_key: &str,
    ) -> Outcome<Transfer> {
        let transfer = self
            .transfers
            .get(id)
            .ok_or_else(|| not_found("Transfer", id))?;
        if transfer.auth_key.expose() != auth_key {
            return Err(Fail::BadRequest(format!(
                "Invalid auth key: Attempt to transfer {id} with invalid auth key."
            )));
        }
        let size = self
            .volumes
            .get(&transfer.volume_id)
            .map(|v| v.size)
            .unwrap_or_default();
        self.check_quota(Kind::Volumes, &caller.project_id, size)?;
        let transfer = self.transfers.remove(id).expect("just found");
        let volume = self
            .volumes
            .get_mut(&transfer.volume_id)
            .ok_or_else(|| not_found("Volume", &transfer.volume_id))?;
        volume.project_id = caller.project_id.clone();
        volume.user_id = caller.user_id.clone();
        volume.status = "available".into();
        Ok(transfer)
    }

    pub fn delete_transfer(&mut self, caller: &Caller, id: &str) -> Outcome<()> {
        let transfer = self
            .transfers
            .get(id)
            .ok_or_else(|| not_found("Transfer", id))?;
        let volume_id = transfer.volume_id.clone();
        let volume = self.volume_mut(caller, &volume_id)?;
        volume.status = "available".into();
        self.transfers.remove(id);
        Ok(())
    }
}

/// Cinder's 403 for a policy that refuses the caller.
pub fn forbidden(rule: &str) -> Fail {
    Fail::Forbidden(format!("Policy doesn't allow {rule} to be performed."))
}
