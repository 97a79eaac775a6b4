//! Cinder snapshots: the point-in-time copy a backup can be taken from.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{BlockStorage, SERVICE, VOLUMES};
use crate::error::Result;
use crate::poll::{self, Polled};
use crate::session::Request;
use crate::wire::{self, status_enum};

status_enum! {
    /// A snapshot's status.
    pub enum SnapshotStatus {
        Creating = "creating",
        Available = "available",
        Updating = "updating",
        BackingUp = "backing-up",
        Restoring = "restoring",
        Deleting = "deleting",
        Deleted = "deleted",
        Unmanaging = "unmanaging",
        Error = "error",
        ErrorDeleting = "error_deleting",
    }
}

/// A snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Snapshot {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub volume_id: String,
    /// GiB.
    pub size: u64,
    pub status: SnapshotStatus,
    #[serde(default, deserialize_with = "wire::string_map")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "wire::timestamp")]
    pub created_at: Option<DateTime<Utc>>,
}

impl Polled for Snapshot {
    type Status = SnapshotStatus;
    const KIND: &'static str = "snapshot";
    fn status(&self) -> &SnapshotStatus {
        &self.status
    }
}

/// A snapshot to take.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SnapshotSpec {
    pub volume_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Snapshot a volume that is attached (needed before microversion 3.66). Sent only when
    /// set: from 3.66 Cinder snapshots attached volumes without it and answers 400 to an
    /// explicit `"force": false`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl BlockStorage {
    /// Starts taking a snapshot; it is `creating` until it is `available` (or `error`).
    pub async fn create_snapshot(&self, spec: &SnapshotSpec) -> Result<Snapshot> {
        let request = Request::new("create snapshot", SERVICE, Method::POST, &["snapshots"])
            .microversion(VOLUMES)
            .json(&json!({"snapshot": spec}))?;
        self.session.send(&request).await?.member("snapshot")
    }

    pub async fn get_snapshot(&self, id: &str) -> Result<Snapshot> {
        let request = Request::new("get snapshot", SERVICE, Method::GET, &["snapshots", id])
            .microversion(VOLUMES);
        self.session.send(&request).await?.member("snapshot")
    }

    /// Starts deleting a snapshot; it is `deleting` until it is gone.
    pub async fn delete_snapshot(&self, id: &str) -> Result<()> {
        let request = Request::new(
            "delete snapshot",
            SERVICE,
            Method::DELETE,
            &["snapshots", id],
        )
        .microversion(VOLUMES);
        self.session.send(&request).await.map(drop)
    }

    /// Waits until a snapshot is `wanted`, failing early if it reaches one of `failures`.
    pub async fn wait_for_snapshot(
        &self,
        id: &str,
        wanted: &SnapshotStatus,
        failures: &[SnapshotStatus],
        timeout: Duration,
    ) -> Result<Snapshot> {
        poll::wait_for(id, wanted, failures, timeout, || self.get_snapshot(id)).await
    }

    /// Waits until a snapshot is gone (or `deleted`), failing early if it reaches `error_deleting`.
    pub async fn wait_for_snapshot_deleted(&self, id: &str, timeout: Duration) -> Result<()> {
        let failures = [SnapshotStatus::ErrorDeleting];
        let gone = [SnapshotStatus::Deleted];
        poll::wait_for_deletion(id, &gone, &failures, timeout, || self.get_snapshot(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_body_and_answer() {
        let spec = SnapshotSpec {
            volume_id: "v1".into(),
            name: Some("tmp".into()),
            force: true,
            ..SnapshotSpec::default()
        };
        assert_eq!(
            json!({"snapshot": spec}),
            json!({"snapshot": {"volume_id": "v1", "name": "tmp", "force": true}})
        );
        let unforced = SnapshotSpec {
            volume_id: "v1".into(),
            ..SnapshotSpec::default()
        };
        assert_eq!(
            json!({"snapshot": unforced}),
            json!({"snapshot": {"volume_id": "v1"}}),
            "no explicit false, which Cinder refuses from 3.66"
        );
        let snapshot: Snapshot = serde_json::from_str(
            r#"{"id": "s1", "name": null, "description": null, "volume_id": "v1", "size": 10,
                "status": "backing-up", "metadata": {}, "created_at": "2024-05-01T10:00:00.000000",
                "updated_at": null}"#,
        )
        .unwrap();
        assert_eq!(snapshot.status, SnapshotStatus::BackingUp);
        assert_eq!(snapshot.size, 10);
    }
}
