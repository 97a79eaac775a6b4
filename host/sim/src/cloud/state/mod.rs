//! The state of one simulated cloud — identity, block storage, compute, network — and the rules
//! of reference/openstack.md §2 that change it. Asynchronous work (a volume being created, a
//! backup running, a server booting) is a [`Pending`] transition due at a simulated instant;
//! every request first settles the transitions that are due, so time alone moves statuses on.

pub mod backups;
pub mod compute;
pub mod export;
pub mod faults;
pub mod identity;
pub mod network;
mod quotas;
mod restore;
pub mod volumes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::clock::Clock;
use super::fixture::Timings;
use super::microversion::Microversion;
use super::store::BackupStore;
pub use backups::Backup;
pub use compute::{Flavor, Server};
pub use faults::{Fault, Faults, Operation};
pub use identity::{Caller, Identity};
pub use network::{Network, SecurityGroup};
pub use volumes::{Image, Snapshot, Volume, VolumeType};

/// Why a request is refused; the HTTP layer gives each its status and OpenStack's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fail {
    BadRequest(String),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    OverLimit(String),
    NotAcceptable(String),
    Unavailable(String),
}

pub type Outcome<T> = Result<T, Fail>;

/// What a `PUT` of a volume or a backup changes: each field given replaces the old one.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Changes {
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
}

impl Changes {
    fn apply(
        self,
        name: &mut Option<String>,
        description: &mut Option<String>,
        metadata: &mut BTreeMap<String, String>,
    ) {
        if let Some(new) = self.name {
            *name = Some(new);
        }
        if let Some(new) = self.description {
            *description = Some(new);
        }
        if let Some(new) = self.metadata {
            *metadata = new;
        }
    }
}

/// Work that completes at a simulated instant.
#[derive(Debug, Clone)]
pub enum Pending {
    VolumeCreated(String),
    VolumeDeleted(String),
    SnapshotCreated(String),
    SnapshotDeleted(String),
    BackupCreated(String),
    BackupDeleted(String),
    BackupImported(String),
    /// A restore onto `volume`, which the restore itself created when `created`.
    Restored {
        backup: String,
        volume: String,
        created: bool,
    },
    ServerBuilt(String),
    ServerDeleted(String),
}

/// One cloud's state.
#[derive(Debug)]
pub struct CloudState {
    pub name: String,
    pub region: String,
    pub availability_zone: String,
    pub clock: Arc<Clock>,
    pub identity: Identity,
    pub volume_types: Vec<VolumeType>,
    pub images: Vec<Image>,
    pub volumes: BTreeMap<String, Volume>,
    pub snapshots: BTreeMap<String, Snapshot>,
    /// Deleted backups stay, marked, as Cinder's soft-deleted rows do: an import revives them.
    pub backups: BTreeMap<String, Backup>,
    pub transfers: BTreeMap<String, volumes::Transfer>,
    pub flavors: Vec<Flavor>,
    pub servers: BTreeMap<String, Server>,
    pub networks: Vec<Network>,
    pub security_groups: Vec<SecurityGroup>,
    pub store: Option<Arc<BackupStore>>,
    pub timings: Timings,
    pub faults: Faults,
    pub volume_max: Microversion,
    pub compute_max: Microversion,
    pending: Vec<(Duration, u64, Pending)>,
    sequence: u64,
}

impl CloudState {
    pub fn new(name: &str, region: &str, clock: Arc<Clock>) -> CloudState {
        CloudState {
            name: name.into(),
            region: region.into(),
            availability_zone: "nova".into(),
            clock,
            identity: Identity::default(),
            volume_types: Vec::new(),
            images: Vec::new(),
            volumes: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            backups: BTreeMap::new(),
            transfers: BTreeMap::new(),
            flavors: Vec::new(),
            servers: BTreeMap::new(),
            networks: Vec::new(),
            security_groups: Vec::new(),
            store: None,
            timings: Timings::default(),
            faults: Faults::default(),
            volume_max: Microversion::new(3, 71),
            compute_max: Microversion::new(2, 96),
            pending: Vec::new(),
            sequence: 0,
        }
    }

    /// The wall-clock time now, in simulated time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.wall(self.clock.now())
    }

    /// Schedules `work` to complete `millis` of simulated time from now.
    pub fn schedule(&mut self, millis: u64, work: Pending) {
        self.sequence += 1;
        let due = self
            .clock
            .now()
            .saturating_add(Duration::from_millis(millis));
        self.pending.push((due, self.sequence, work));
    }

    /// Completes every transition that is due, oldest first.
    pub fn settle(&mut self) {
        let now = self.clock.now();
        loop {
            let next = self
                .pending
                .iter()
                .enumerate()
                .filter(|(_, (due, _, _))| *due <= now)
                .min_by_key(|(_, (due, sequence, _))| (*due, *sequence))
                .map(|(position, _)| position);
            let Some(position) = next else { return };
            let (_, _, work) = self.pending.remove(position);
            self.complete(work);
        }
    }

    /// How many transitions are still under way.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    fn complete(&mut self, work: Pending) {
        match work {
            Pending::VolumeCreated(id) => self.volume_created(&id),
            Pending::VolumeDeleted(id) => {
                self.volumes.remove(&id);
            }
            Pending::SnapshotCreated(id) => self.snapshot_created(&id),
            Pending::SnapshotDeleted(id) => {
                self.snapshots.remove(&id);
            }
            Pending::BackupCreated(id) => self.backup_created(&id),
            Pending::BackupDeleted(id) => self.backup_deleted(&id),
            Pending::BackupImported(id) => self.backup_imported(&id),
            Pending::Restored {
                backup,
                volume,
                created,
            } => self.restored(&backup, &volume, created),
            Pending::ServerBuilt(id) => self.server_built(&id),
            Pending::ServerDeleted(id) => self.server_deleted(&id),
        }
    }

    /// The backup store, or Cinder's 503 when the cloud has no backup service.
    pub fn backup_store(&self) -> Outcome<Arc<BackupStore>> {
        if self.faults.backup_service_down {
            return Err(Fail::Unavailable(
                "Service cinder-backup could not be found.".into(),
            ));
        }
        self.store
            .clone()
            .ok_or_else(|| Fail::Unavailable("Service cinder-backup could not be found.".into()))
    }
}

/// A fresh random id in OpenStack's dashed uuid form.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
