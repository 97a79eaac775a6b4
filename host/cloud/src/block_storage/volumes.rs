//! Cinder volumes: create (blank, from a snapshot or from a backup), read, list, rename,
//! delete, and the actions a restore needs (bootable flag, image metadata, status reset).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{BlockStorage, SERVICE, VOLUMES};
use crate::error::Result;
use crate::microversion::Microversion;
use crate::poll::{self, Polled};
use crate::session::{Reply, Request};
use crate::wire::{self, status_enum};

status_enum! {
    /// A volume's status.
    pub enum VolumeStatus {
        Creating = "creating",
        Available = "available",
        Reserved = "reserved",
        Attaching = "attaching",
        Detaching = "detaching",
        InUse = "in-use",
        Maintenance = "maintenance",
        Deleting = "deleting",
        AwaitingTransfer = "awaiting-transfer",
        Error = "error",
        ErrorDeleting = "error_deleting",
        BackingUp = "backing-up",
        RestoringBackup = "restoring-backup",
        ErrorBackingUp = "error_backing-up",
        ErrorRestoring = "error_restoring",
        ErrorExtending = "error_extending",
        Downloading = "downloading",
        Uploading = "uploading",
        Retyping = "retyping",
        Extending = "extending",
        Managing = "managing",
        ErrorManaging = "error_managing",
    }
}

/// A volume.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Volume {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// GiB.
    pub size: u64,
    pub status: VolumeStatus,
    /// Cinder sends the string `"true"` or `"false"`.
    #[serde(default, deserialize_with = "wire::flag")]
    pub bootable: bool,
    /// The type's name.
    #[serde(default)]
    pub volume_type: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default, deserialize_with = "wire::nullable")]
    pub encrypted: bool,
    #[serde(default, deserialize_with = "wire::nullable")]
    pub multiattach: bool,
    #[serde(default, deserialize_with = "wire::string_map")]
    pub metadata: BTreeMap<String, String>,
    /// The image the volume was made from (`image_id`, `min_ram`, `hw_*`…), which Nova reads
    /// when it boots from the volume.
    #[serde(default, deserialize_with = "wire::string_map")]
    pub volume_image_metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "wire::nullable")]
    pub attachments: Vec<VolumeAttachment>,
    #[serde(default)]
    pub snapshot_id: Option<String>,
    #[serde(default)]
    pub source_volid: Option<String>,
    #[serde(default, deserialize_with = "wire::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
}

/// A server a volume is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VolumeAttachment {
    pub server_id: String,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub attachment_id: Option<String>,
}

impl Polled for Volume {
    type Status = VolumeStatus;
    const KIND: &'static str = "volume";
    fn status(&self) -> &VolumeStatus {
        &self.status
    }
}

/// What a new volume is made from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VolumeSource {
    #[default]
    Blank,
    /// A snapshot's id.
    Snapshot(String),
    /// A backup's id: the backup is restored into the new volume (microversion 3.47).
    Backup(String),
}

/// A volume to create.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeSpec {
    /// GiB.
    pub size: u64,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The type's name or id.
    pub volume_type: Option<String>,
    pub availability_zone: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub source: VolumeSource,
}

#[derive(Serialize)]
struct CreateVolume<'a> {
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    volume_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    availability_zone: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_id: Option<&'a str>,
}

impl VolumeSpec {
    fn body(&self) -> serde_json::Value {
        let (snapshot_id, backup_id) = match &self.source {
            VolumeSource::Blank => (None, None),
            VolumeSource::Snapshot(id) => (Some(id.as_str()), None),
            VolumeSource::Backup(id) => (None, Some(id.as_str())),
        };
        json!({"volume": CreateVolume {
            size: self.size,
            name: self.name.as_deref(),
            description: self.description.as_deref(),
            volume_type: self.volume_type.as_deref(),
            availability_zone: self.availability_zone.as_deref(),
            metadata: &self.metadata,
            snapshot_id,
            backup_id,
        }})
    }
}

/// New values for a volume's name and description; `None` leaves one as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct VolumeUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Which volumes to list; `None` matches any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeFilter {
    pub name: Option<String>,
    pub status: Option<VolumeStatus>,
}

/// Creating a volume from a backup.
const FROM_BACKUP: Microversion = Microversion::new(3, 47);

impl BlockStorage {
    /// Starts creating a volume; it is `creating` until it is `available` (or `error`).
    pub async fn create_volume(&self, spec: &VolumeSpec) -> Result<Volume> {
        let mut wanted = VOLUMES;
        if matches!(spec.source, VolumeSource::Backup(_)) {
            wanted = wanted.at_least(FROM_BACKUP);
        }
        let request = Request::new("create volume", SERVICE, Method::POST, &["volumes"])
            .microversion(wanted)
            .json(&spec.body())?;
        self.session.send(&request).await?.member("volume")
    }

    pub async fn get_volume(&self, id: &str) -> Result<Volume> {
        let request = Request::new("get volume", SERVICE, Method::GET, &["volumes", id])
            .microversion(VOLUMES);
        self.session.send(&request).await?.member("volume")
    }

    /// The project's volumes matching `filter`, all pages.
    pub async fn list_volumes(&self, filter: &VolumeFilter) -> Result<Vec<Volume>> {
        let request = Request::new("list volumes", SERVICE, Method::GET, &["volumes", "detail"])
            .microversion(VOLUMES)
            .query("name", filter.name.clone())
            .query(
                "status",
                filter.status.as_ref().map(VolumeStatus::to_string),
            );
        self.session.list(&request, "volumes").await
    }

    /// Renames a volume or changes its description.
    pub async fn update_volume(&self, id: &str, update: &VolumeUpdate) -> Result<Volume> {
        let request = Request::new("update volume", SERVICE, Method::PUT, &["volumes", id])
            .microversion(VOLUMES)
            .json(&json!({"volume": update}))?;
        self.session.send(&request).await?.member("volume")
    }

    /// Starts deleting a volume; it is `deleting` until it is gone.
    pub async fn delete_volume(&self, id: &str) -> Result<()> {
        let request = Request::new("delete volume", SERVICE, Method::DELETE, &["volumes", id])
            .microversion(VOLUMES);
        self.session.send(&request).await.map(drop)
    }

    /// Adds to a volume's metadata, replacing the values of the keys given.
    pub async fn update_volume_metadata(
        &self,
        id: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<()> {
        let request = Request::new(
            "update volume metadata",
            SERVICE,
            Method::POST,
            &["volumes", id, "metadata"],
        )
        .microversion(VOLUMES)
        .json(&json!({"metadata": metadata}))?;
        self.session.send(&request).await.map(drop)
    }

    /// Marks a volume bootable or not.
    pub async fn set_bootable(&self, id: &str, bootable: bool) -> Result<()> {
        let body = json!({"os-set_bootable": {"bootable": bootable}});
        self.volume_action("set volume bootable", id, &body)
            .await
            .map(drop)
    }

    /// Sets image metadata on a volume (it cannot be given at creation), adding to what it
    /// has.
    pub async fn set_image_metadata(
        &self,
        id: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<()> {
        let body = json!({"os-set_image_metadata": {"metadata": metadata}});
        self.volume_action("set volume image metadata", id, &body)
            .await
            .map(drop)
    }

    /// Forces a volume's status (admin only), to recover one stuck in a transient status.
    pub async fn reset_volume_status(&self, id: &str, status: &VolumeStatus) -> Result<()> {
        let body = json!({"os-reset_status": {"status": status.as_str()}});
        self.volume_action("reset volume status", id, &body)
            .await
            .map(drop)
    }

    async fn volume_action(
        &self,
        name: &'static str,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<Reply> {
        let request = Request::new(name, SERVICE, Method::POST, &["volumes", id, "action"])
            .microversion(VOLUMES)
            .json(body)?;
        self.session.send(&request).await
    }

    /// Waits until a volume is `wanted`, failing early if it reaches one of `failures`.
    pub async fn wait_for_volume(
        &self,
        id: &str,
        wanted: &VolumeStatus,
        failures: &[VolumeStatus],
        timeout: Duration,
    ) -> Result<Volume> {
        poll::wait_for(id, wanted, failures, timeout, || self.get_volume(id)).await
    }

    /// Waits until a volume is gone, failing early if it reaches `error_deleting`.
    pub async fn wait_for_volume_deleted(&self, id: &str, timeout: Duration) -> Result<()> {
        let failures = [VolumeStatus::ErrorDeleting];
        poll::wait_for_deletion(id, &[], &failures, timeout, || self.get_volume(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_from_cinder() {
        let volume: Volume = serde_json::from_str(
            r#"{"id": "v1", "name": "boot", "description": null, "size": 10,
                "status": "in-use", "bootable": "true", "encrypted": false,
                "volume_type": "lvmdriver-1", "availability_zone": "nova", "multiattach": false,
                "metadata": {"readonly": "False"},
                "volume_image_metadata": {"image_id": "i1", "min_ram": "512"},
                "attachments": [{"id": "a1", "attachment_id": "a1", "server_id": "s1",
                                 "volume_id": "v1", "device": "/dev/vda", "host_name": null,
                                 "attached_at": "2024-05-01T10:00:00.000000"}],
                "snapshot_id": null, "source_volid": null, "links": [],
                "created_at": "2024-05-01T09:00:00.000000", "updated_at": null,
                "os-vol-tenant-attr:tenant_id": "p1", "replication_status": null}"#,
        )
        .unwrap();
        assert!(volume.bootable);
        assert_eq!(volume.status, VolumeStatus::InUse);
        assert_eq!(volume.description, None);
        assert_eq!(volume.volume_image_metadata["min_ram"], "512");
        assert_eq!(volume.attachments[0].server_id, "s1");
        assert_eq!(volume.attachments[0].device.as_deref(), Some("/dev/vda"));
        assert!(volume.created_at.is_some());

        let minimal: Volume = serde_json::from_str(
            r#"{"id": "v2", "size": 1, "status": "creating", "bootable": "false",
                "attachments": [], "metadata": {}}"#,
        )
        .unwrap();
        assert!(!minimal.bootable);
        assert_eq!(minimal.status, VolumeStatus::Creating);
    }

    #[test]
    fn create_bodies_skip_what_is_not_set() {
        let blank = VolumeSpec {
            size: 10,
            name: Some("data".into()),
            ..VolumeSpec::default()
        };
        assert_eq!(
            blank.body(),
            json!({"volume": {"size": 10, "name": "data"}})
        );
        let from_backup = VolumeSpec {
            size: 20,
            volume_type: Some("ssd".into()),
            metadata: [("k".to_owned(), "v".to_owned())].into(),
            source: VolumeSource::Backup("b1".into()),
            ..VolumeSpec::default()
        };
        assert_eq!(
            from_backup.body(),
            json!({"volume": {"size": 20, "volume_type": "ssd", "metadata": {"k": "v"},
                              "backup_id": "b1"}})
        );
        let update = VolumeUpdate {
            description: Some("d".into()),
            ..VolumeUpdate::default()
        };
        assert_eq!(json!(update), json!({"description": "d"}));
    }
}
