//! Restoring a backup onto a volume (an existing one, or one created for the purpose), with
//! Cinder's checks and what its restore copies onto the target (reference/openstack.md §2.6):
//! the blocks of the whole incremental chain, the name and description only onto an auto-created
//! or nameless volume, the volume metadata merged, the image metadata replaced — which makes the
//! volume bootable — and `src_backup_id`.

use std::collections::BTreeMap;

use super::backups::{Backup, read_hashes};
use super::volumes::{NewVolume, VolumeSource};
use super::{Caller, CloudState, Fail, Operation, Outcome, Pending};
use crate::cloud::content::{BlockMap, block_hash};

/// The description Cinder gives a volume it creates for a restore.
const AUTO_CREATED: &str = "auto-created_from_restore_from_backup";

/// What `POST /backups/{id}/restore` answers.
#[derive(Debug, Clone)]
pub struct Restore {
    pub backup_id: String,
    pub volume_id: String,
    pub volume_name: Option<String>,
}

impl CloudState {
    /// Starts restoring `backup_id` onto `volume_id`, or onto a new volume named `name` (or
    /// `restore_backup_<id>`).
    pub fn restore_backup(
        &mut self,
        caller: &Caller,
        backup_id: &str,
        volume_id: Option<&str>,
        name: Option<String>,
    ) -> Outcome<Restore> {
        self.backup_store()?;
        let backup = self.backup(caller, backup_id)?;
        if backup.status != "available" {
            return Err(Fail::BadRequest(format!(
                "Invalid backup: Backup status must be available, but is {}.",
                backup.status
            )));
        }
        let size = backup.size;
        let created = volume_id.is_none();
        let volume_id = match volume_id {
            Some(id) => {
                let volume = self.volume(caller, id)?;
                if volume.status != "available" {
                    return Err(Fail::BadRequest(format!(
                        "Invalid volume: Volume to be restored to must be available, but is {}.",
                        volume.status
                    )));
                }
                if volume.size < size {
                    return Err(Fail::BadRequest(format!(
                        "Invalid volume: volume size {} is too small to restore backup of size \
                         {size}.",
                        volume.size
                    )));
                }
                id.to_owned()
            }
            None => {
                let request = NewVolume {
                    size: Some(size),
                    name: Some(name.unwrap_or_else(|| format!("restore_backup_{backup_id}"))),
                    description: Some(AUTO_CREATED.into()),
                    volume_type: None,
                    availability_zone: None,
                    metadata: BTreeMap::new(),
                    source: VolumeSource::Blank,
                };
                let id = self.create_volume(caller, request)?;
                // The new volume goes straight to the restore, not through its own creation.
                self.cancel_volume_creation(&id);
                id
            }
        };
        let volume = self.volumes.get_mut(&volume_id).expect("found or created");
        volume.status = "restoring-backup".into();
        let volume_name = volume.name.clone();
        self.backups.get_mut(backup_id).expect("found").status = "restoring".into();
        self.schedule(
            self.timings.restore_ms,
            Pending::Restored {
                backup: backup_id.into(),
                volume: volume_id.clone(),
                created,
            },
        );
        Ok(Restore {
            backup_id: backup_id.into(),
            volume_id,
            volume_name,
        })
    }

    fn cancel_volume_creation(&mut self, id: &str) {
        self.pending
            .retain(|(_, _, work)| !matches!(work, Pending::VolumeCreated(v) if v == id));
    }

    pub(super) fn restored(&mut self, backup_id: &str, volume_id: &str, created: bool) {
        let outcome = match self.faults.take_failure(Operation::Restore) {
            Some(reason) => Err(reason),
            None => self.read_chain(backup_id),
        };
        if let Some(backup) = self.backups.get_mut(backup_id) {
            backup.status = "available".into();
        }
        let now = self.now();
        let Some(volume) = self.volumes.get_mut(volume_id) else {
            return;
        };
        volume.updated_at = Some(now);
        let (content, metadata) = match outcome {
            Ok(restored) => restored,
            Err(_) => {
                volume.status = if created { "error" } else { "error_restoring" }.into();
                return;
            }
        };
        volume.content = content;
        let base = &metadata["volume_base"];
        let renameable = volume
            .name
            .as_deref()
            .is_none_or(|n| n.is_empty() || n.starts_with("restore_backup_"));
        if renameable {
            volume.name = base["display_name"].as_str().map(str::to_owned);
            volume.description = base["display_description"].as_str().map(str::to_owned);
        }
        volume
            .metadata
            .extend(strings(&metadata["volume_metadata"]));
        let glance = strings(&metadata["volume_glance_metadata"]);
        if !glance.is_empty() {
            volume.image_metadata = glance;
            volume.bootable = true;
        }
        volume
            .metadata
            .insert("src_backup_id".into(), backup_id.to_owned());
        volume.status = "available".into();
    }

    /// The blocks and metadata of a backup, replayed from the full backup at the root of its
    /// chain; an error names the missing parent or object.
    fn read_chain(&self, backup_id: &str) -> Result<(BlockMap, serde_json::Value), String> {
        let store = self
            .store
            .clone()
            .ok_or("the backup service has no store")?;
        let mut chain: Vec<&Backup> = Vec::new();
        let mut next = Some(backup_id.to_owned());
        while let Some(id) = next {
            // Imported records name their parents as they like: a loop ends the walk.
            if chain.iter().any(|b| b.id == id) {
                return Err(format!("the chain of backup {backup_id} loops at {id}"));
            }
            let backup = self
                .backups
                .get(&id)
                .filter(|b| !b.deleted)
                .ok_or_else(|| format!("parent backup {id} is not in this cloud"))?;
            next = backup.parent_id.clone();
            chain.push(backup);
        }
        let mut content = BlockMap::default();
        for backup in chain.iter().rev() {
            let missing =
                |object: &str| format!("object {object} not found in {}", backup.container);
            let hash_object = backup.hash_object();
            let hashes = store
                .get(&backup.account, &backup.container, &hash_object)
                .and_then(|text| read_hashes(&text))
                .ok_or_else(|| missing(&hash_object))?;
            let mut replayed = BlockMap::default();
            for (index, hash) in hashes {
                let object = backup.block_object(index);
                let data = store
                    .get(&backup.account, &backup.container, &object)
                    .or_else(|| content.block(index).cloned())
                    .ok_or_else(|| missing(&object))?;
                if block_hash(&data) != hash {
                    return Err(format!("object {object} does not match its hash"));
                }
                replayed.set(index, data);
            }
            content = replayed;
        }
        // The walk starts at the backup itself, so the chain is never empty.
        let leaf = chain[0];
        let object = leaf.metadata_object();
        let metadata = store
            .get(&leaf.account, &leaf.container, &object)
            .and_then(|text| serde_json::from_slice(&text).ok())
            .ok_or_else(|| format!("object {object} not found in {}", leaf.container))?;
        Ok((content, metadata))
    }
}

fn strings(value: &serde_json::Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}
