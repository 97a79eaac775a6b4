//! Cinder v3: volumes, snapshots, backups and volume transfers.
//!
//! The microversions follow what openstacksdk sends, which is what clouds are tested with:
//! volume calls up to 3.71, backup calls up to 3.64, except restoring a backup and exporting
//! its record, which go without a microversion header and so run at the base version 3.0
//! (their requests and answers are the same there). Calls that need a newer feature raise
//! their minimum (a volume from a backup needs 3.47) and fail as unsupported on older clouds.

mod backups;
mod snapshots;
mod transfers;
mod volumes;

use std::sync::Arc;

use crate::error::Result;
use crate::microversion::{Microversion, VersionRange, Wanted};
use crate::service::ServiceType;
use crate::session::Session;
pub use backups::{
    Backup, BackupFilter, BackupRecord, BackupSpec, BackupStatus, Restore, RestoreTarget,
};
pub use snapshots::{Snapshot, SnapshotSpec, SnapshotStatus};
pub use transfers::{AcceptedTransfer, VolumeTransfer};
pub use volumes::{
    Volume, VolumeAttachment, VolumeFilter, VolumeSource, VolumeSpec, VolumeStatus, VolumeUpdate,
};

const SERVICE: ServiceType = ServiceType::BlockStorage;
const BASE: Microversion = Microversion::new(3, 0);
/// Volume and snapshot calls.
const VOLUMES: Wanted = Wanted::new(BASE, Microversion::new(3, 71));
/// Backup calls.
const BACKUPS: Wanted = Wanted::new(BASE, Microversion::new(3, 64));

/// The block-storage service of a [`Cloud`](crate::Cloud); cheap to clone.
#[derive(Clone)]
pub struct BlockStorage {
    session: Arc<Session>,
}

impl BlockStorage {
    pub(crate) fn new(session: Arc<Session>) -> Self {
        BlockStorage { session }
    }

    /// The microversions the service accepts (`None` if it advertises none).
    pub async fn versions(&self) -> Result<Option<VersionRange>> {
        self.session
            .versions(SERVICE, "discover block-storage API")
            .await
    }
}

impl std::fmt::Debug for BlockStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockStorage")
            .field("project", &self.session.project().id)
            .finish_non_exhaustive()
    }
}
