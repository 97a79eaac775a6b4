//! Cinder backups: create (full or incremental, of a volume or a snapshot), read, list,
//! delete, restore, and the admin-only export and import of backup records.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{BACKUPS, BlockStorage, SERVICE};
use crate::error::Result;
use crate::microversion::Microversion;
use crate::poll::{self, Polled};
use crate::session::Request;
use crate::wire::{self, status_enum};

status_enum! {
    /// A backup's status.
    pub enum BackupStatus {
        Creating = "creating",
        Available = "available",
        Restoring = "restoring",
        Deleting = "deleting",
        Deleted = "deleted",
        Error = "error",
        ErrorDeleting = "error_deleting",
    }
}

/// A backup.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Backup {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub volume_id: String,
    /// The snapshot the backup was taken from, if it was.
    #[serde(default)]
    pub snapshot_id: Option<String>,
    /// GiB: the size of the volume backed up.
    #[serde(default, deserialize_with = "wire::nullable")]
    pub size: u64,
    pub status: BackupStatus,
    #[serde(default, deserialize_with = "wire::nullable")]
    pub is_incremental: bool,
    /// Whether incremental backups depend on this one (it cannot be deleted before them).
    #[serde(default, deserialize_with = "wire::nullable")]
    pub has_dependent_backups: bool,
    /// When the data was captured: the creation of the backup, or of its snapshot.
    #[serde(default, deserialize_with = "wire::timestamp")]
    pub data_timestamp: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "wire::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub container: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default, deserialize_with = "wire::nullable")]
    pub object_count: u64,
    #[serde(default)]
    pub fail_reason: Option<String>,
    /// Sent from microversion 3.43.
    #[serde(default, deserialize_with = "wire::string_map")]
    pub metadata: BTreeMap<String, String>,
}

impl Polled for Backup {
    type Status = BackupStatus;
    const KIND: &'static str = "backup";
    fn status(&self) -> &BackupStatus {
        &self.status
    }
    fn fail_reason(&self) -> Option<&str> {
        self.fail_reason.as_deref()
    }
}

/// A backup to create.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct BackupSpec {
    pub volume_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the backup driver stores the data (Swift's default is `volumebackups`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Only the blocks changed since the volume's latest backup.
    pub incremental: bool,
    /// Back up an attached (`in-use`) volume.
    pub force: bool,
    /// Back up this snapshot of the volume instead of the volume itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Needs microversion 3.43.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Needs microversion 3.51.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

/// Which backups to list; `None` matches any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupFilter {
    pub volume_id: Option<String>,
    pub name: Option<String>,
    pub status: Option<BackupStatus>,
}

/// Where to restore a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreTarget {
    /// An `available` volume at least as large as the backup; its data is replaced.
    ExistingVolume(String),
    /// A new volume of the backup's size, named `name` (Cinder's default is
    /// `restore_backup_<backup id>`).
    NewVolume { name: Option<String> },
}

/// A restore that has started: the volume is `restoring-backup` until it is `available`
/// (or `error_restoring`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Restore {
    pub backup_id: String,
    pub volume_id: String,
    #[serde(default)]
    pub volume_name: Option<String>,
}

/// A backup's exported record: what another Cinder that reaches the same backup storage
/// needs to import the backup. Opaque: store it, never parse it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRecord {
    /// The driver, such as `cinder.backup.drivers.swift`.
    pub backup_service: String,
    pub backup_url: String,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// Backup metadata.
const METADATA: Microversion = Microversion::new(3, 43);
/// A backup's availability zone.
const AVAILABILITY_ZONE: Microversion = Microversion::new(3, 51);

impl BlockStorage {
    /// Starts a backup and returns its id; it is `creating` until it is `available` (or
    /// `error`, with a `fail_reason`).
    pub async fn create_backup(&self, spec: &BackupSpec) -> Result<String> {
        let mut wanted = BACKUPS;
        if !spec.metadata.is_empty() {
            wanted = wanted.at_least(METADATA);
        }
        if spec.availability_zone.is_some() {
            wanted = wanted.at_least(AVAILABILITY_ZONE);
        }
        let request = Request::new("create backup", SERVICE, Method::POST, &["backups"])
            .microversion(wanted)
            .json(&json!({"backup": spec}))?;
        let created: Created = self.session.send(&request).await?.member("backup")?;
        Ok(created.id)
    }

    pub async fn get_backup(&self, id: &str) -> Result<Backup> {
        let request = Request::new("get backup", SERVICE, Method::GET, &["backups", id])
            .microversion(BACKUPS);
        self.session.send(&request).await?.member("backup")
    }

    /// The project's backups matching `filter`, all pages.
    pub async fn list_backups(&self, filter: &BackupFilter) -> Result<Vec<Backup>> {
        let request = Request::new("list backups", SERVICE, Method::GET, &["backups", "detail"])
            .microversion(BACKUPS)
            .query("volume_id", filter.volume_id.clone())
            .query("name", filter.name.clone())
            .query(
                "status",
                filter.status.as_ref().map(BackupStatus::to_string),
            );
        self.session.list(&request, "backups").await
    }

    /// Starts deleting a backup (`available` or `error`, without dependent incrementals).
    pub async fn delete_backup(&self, id: &str) -> Result<()> {
        let request = Request::new("delete backup", SERVICE, Method::DELETE, &["backups", id])
            .microversion(BACKUPS);
        self.session.send(&request).await.map(drop)
    }

    /// Starts deleting a backup whatever its status (admin only).
    pub async fn force_delete_backup(&self, id: &str) -> Result<()> {
        let request = Request::new(
            "force delete backup",
            SERVICE,
            Method::POST,
            &["backups", id, "action"],
        )
        .microversion(BACKUPS)
        .json(&json!({"os-force_delete": {}}))?;
        self.session.send(&request).await.map(drop)
    }

    /// Starts restoring an `available` backup. Sent without a microversion header (Cinder's
    /// base version 3.0), as openstacksdk sends it.
    pub async fn restore_backup(&self, id: &str, target: &RestoreTarget) -> Result<Restore> {
        let request = restore_request(id, target)?;
        self.session.send(&request).await?.member("restore")
    }

    /// The record of an `available` backup, to import elsewhere (admin only by default). Sent
    /// without a microversion header (Cinder's base version 3.0), as openstacksdk sends it.
    pub async fn export_backup_record(&self, id: &str) -> Result<BackupRecord> {
        let request = export_record_request(id);
        self.session.send(&request).await?.member("backup-record")
    }

    /// Imports an exported record and returns the backup's id, which is the original
    /// backup's (admin only by default). It is `creating` until it is `available`.
    pub async fn import_backup_record(&self, record: &BackupRecord) -> Result<String> {
        let request = Request::new(
            "import backup record",
            SERVICE,
            Method::POST,
            &["backups", "import_record"],
        )
        .microversion(BACKUPS)
        .json(&json!({"backup-record": record}))?;
        let created: Created = self.session.send(&request).await?.member("backup")?;
        Ok(created.id)
    }

    /// Waits until a backup is `wanted`, failing early (with the backup's `fail_reason`) if
    /// it reaches one of `failures`.
    pub async fn wait_for_backup(
        &self,
        id: &str,
        wanted: &BackupStatus,
        failures: &[BackupStatus],
        timeout: Duration,
    ) -> Result<Backup> {
        poll::wait_for(id, wanted, failures, timeout, || self.get_backup(id)).await
    }

    /// Waits until a backup is gone (or `deleted`), failing early if it reaches `error_deleting`.
    pub async fn wait_for_backup_deleted(&self, id: &str, timeout: Duration) -> Result<()> {
        let failures = [BackupStatus::ErrorDeleting];
        let gone = [BackupStatus::Deleted];
        poll::wait_for_deletion(id, &gone, &failures, timeout, || self.get_backup(id)).await
    }
}

/// `POST /backups/{id}/restore`, with no microversion: openstacksdk's `Backup.restore` sends
/// none, so clouds see it at 3.0, whose answer is the same `{"restore": {...}}`.
fn restore_request(id: &str, target: &RestoreTarget) -> Result<Request> {
    let restore = match target {
        RestoreTarget::ExistingVolume(volume_id) => json!({"volume_id": volume_id}),
        RestoreTarget::NewVolume { name: Some(name) } => json!({"name": name}),
        RestoreTarget::NewVolume { name: None } => json!({}),
    };
    Request::new(
        "restore backup",
        SERVICE,
        Method::POST,
        &["backups", id, "restore"],
    )
    .json(&json!({"restore": restore}))
}

/// `GET /backups/{id}/export_record`, with no microversion, as openstacksdk's
/// `Backup.export_record` sends it.
fn export_record_request(id: &str) -> Request {
    Request::new(
        "export backup record",
        SERVICE,
        Method::GET,
        &["backups", id, "export_record"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_from_cinder() {
        let backup: Backup = serde_json::from_str(
            r#"{"id": "b1", "name": "daily", "description": null, "status": "error",
                "size": 10, "object_count": null, "availability_zone": "nova",
                "container": "volumebackups", "created_at": "2024-05-01T10:00:00.000000",
                "updated_at": "2024-05-01T10:05:00.000000", "fail_reason": "disk full",
                "volume_id": "v1", "links": [], "is_incremental": true,
                "has_dependent_backups": false, "snapshot_id": null,
                "data_timestamp": "2024-05-01T10:00:00.000000", "metadata": {"k": "v"}}"#,
        )
        .unwrap();
        assert_eq!(backup.status, BackupStatus::Error);
        assert_eq!(backup.fail_reason.as_deref(), Some("disk full"));
        assert!(backup.is_incremental);
        assert_eq!(backup.object_count, 0);
        assert_eq!(backup.data_timestamp, backup.created_at);
        assert_eq!(backup.metadata["k"], "v");
    }

    #[test]
    fn create_body() {
        let spec = BackupSpec {
            volume_id: "v1".into(),
            name: Some("daily".into()),
            force: true,
            ..BackupSpec::default()
        };
        assert_eq!(
            json!({"backup": spec}),
            json!({"backup": {"volume_id": "v1", "name": "daily", "incremental": false,
                              "force": true}})
        );
    }

    /// openstacksdk sends restore and export_record without a microversion (reference §0.8,
    /// §2.3); the other backup calls go with up to 3.64.
    #[test]
    fn restore_and_export_go_without_a_microversion() {
        let url = url::Url::parse("http://h/volume/v3/p1/").unwrap();
        let existing = restore_request("b1", &RestoreTarget::ExistingVolume("v1".into())).unwrap();
        assert_eq!(existing.wanted, None);
        assert_eq!(existing.method, Method::POST);
        assert_eq!(
            existing.url(&url).as_str(),
            "http://h/volume/v3/p1/backups/b1/restore"
        );
        let body: serde_json::Value =
            serde_json::from_slice(existing.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, json!({"restore": {"volume_id": "v1"}}));
        let named = restore_request(
            "b1",
            &RestoreTarget::NewVolume {
                name: Some("r1".into()),
            },
        )
        .unwrap();
        assert_eq!(named.wanted, None);
        let body: serde_json::Value =
            serde_json::from_slice(named.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, json!({"restore": {"name": "r1"}}));

        let export = export_record_request("b1");
        assert_eq!(export.wanted, None);
        assert_eq!(export.method, Method::GET);
        assert_eq!(
            export.url(&url).as_str(),
            "http://h/volume/v3/p1/backups/b1/export_record"
        );
    }

    #[test]
    fn record_round_trip() {
        let record: BackupRecord = serde_json::from_str(
            r#"{"backup_service": "cinder.backup.drivers.swift", "backup_url": "eyJpZCI6ICJiMSJ9"}"#,
        )
        .unwrap();
        assert_eq!(
            json!({"backup-record": record}),
            json!({"backup-record": {"backup_service": "cinder.backup.drivers.swift",
                                     "backup_url": "eyJpZCI6ICJiMSJ9"}})
        );
        let restore: Restore = serde_json::from_str(
            r#"{"backup_id": "b1", "volume_id": "v9", "volume_name": "restore_backup_b1"}"#,
        )
        .unwrap();
        assert_eq!(restore.volume_name.as_deref(), Some("restore_backup_b1"));
    }
}
