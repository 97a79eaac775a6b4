//! The `cloud` interface: a component's granted OpenStack projects, over `lifeboat-cloud`.
//!
//! Calls that start a long operation wait for its end here, in the host, so that components
//! never poll. Calls that update or delete an object, or hand it to another project, pass the
//! guard first ([`guard`]): the object was created by this run (the run's [`RunObjects`]), or
//! it carries the job's mark. What a component creates is marked by the host, and recorded as
//! the run's.
//!
//! [`RunObjects`]: crate::RunObjects

mod convert;
mod guard;

use std::sync::Arc;
use std::time::Duration;

use lifeboat_cloud::block_storage::{
    BackupStatus, SnapshotStatus, VolumeSource, VolumeStatus, VolumeTransfer,
};
use lifeboat_cloud::compute::{ServerFilter, ServerStatus};
use lifeboat_cloud::microversion::Microversion;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::bindings::cloud::{self as wit};
use crate::bindings::types::Error;
use crate::grants::CloudConnection;
use crate::host::errors;
use crate::state::{StepEnv, StepState};
use guard::Kind;

/// How long the host waits for a volume, a snapshot or a server.
const WAIT: Duration = Duration::from_secs(3600);
/// How long the host waits for a backup or a restore, which move a whole volume.
const LONG_WAIT: Duration = Duration::from_secs(24 * 3600);
/// The first Cinder microversion that keeps backup metadata (where the job's mark goes).
const BACKUP_METADATA: Microversion = Microversion::new(3, 43);

/// A granted project, as the component holds it.
pub struct ProjectGrant {
    connection: Arc<CloudConnection>,
}

/// A volume offered to another project; its key stays here. An offer still open when the
/// component drops it, or when the run ends however it ends (the store and its table are
/// dropped then), is withdrawn: without the key, nobody else could accept it, and the volume
/// would stay `awaiting-transfer`.
pub struct OfferedTransfer {
    connection: Arc<CloudConnection>,
    transfer: VolumeTransfer,
    /// Accepted or withdrawn.
    closed: bool,
}

impl OfferedTransfer {
    /// Withdraws the offer if it is still open.
    async fn close(mut self) {
        if !std::mem::replace(&mut self.closed, true) {
            withdraw(&self.connection, &self.transfer).await;
        }
    }
}

impl Drop for OfferedTransfer {
    fn drop(&mut self) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        let (connection, transfer) = (self.connection.clone(), self.transfer.clone());
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move {
                withdraw(&connection, &transfer).await;
            })),
            Err(_) => tracing::warn!(
                connection = %connection.name,
                "the offer of volume {} stays open: no runtime to withdraw it on",
                transfer.volume_id
            ),
        }
    }
}

/// Withdraws an offer; a failure is logged, as the component that could act on it is gone.
async fn withdraw(connection: &CloudConnection, transfer: &VolumeTransfer) {
    let storage = connection.cloud.block_storage();
    if let Err(failure) = storage.delete_volume_transfer(&transfer.id).await {
        tracing::warn!(
            connection = %connection.name,
            "could not withdraw the offer of volume {}: {failure}",
            transfer.volume_id
        );
    }
}

type Answer<T> = wasmtime::Result<Result<T, Error>>;

/// The value of a cloud call, or the component's error for its failure.
macro_rules! cloud {
    ($connection:expr, $call:expr) => {
        match $call {
            Ok(value) => value,
            Err(failure) => return Ok(Err(errors::from_cloud(&$connection.name, &failure))),
        }
    };
}

/// The value of a check, or its refusal.
macro_rules! checked {
    ($check:expr) => {
        match $check {
            Ok(value) => value,
            Err(refused) => return Ok(Err(refused)),
        }
    };
}

/// What the `cloud` host functions need from a store: its resource table (projects and
/// offers are the cloud's own resources) and the run's environment (grants, job, objects).
pub struct CloudView<'a> {
    table: &'a mut ResourceTable,
    env: &'a StepEnv,
}

/// Selects [`CloudView`] as the data the `cloud` bindings work on.
struct CloudData;

impl HasData for CloudData {
    type Data<'a> = CloudView<'a>;
}

/// Links the `cloud` interface, through its view of the store's state.
pub(crate) fn link(linker: &mut Linker<StepState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<_, CloudData>(linker, |state| CloudView {
        table: &mut state.table,
        env: &state.env,
    })
}

impl CloudView<'_> {
    fn project(&self, grant: &Resource<ProjectGrant>) -> wasmtime::Result<Arc<CloudConnection>> {
        Ok(self.table.get(grant)?.connection.clone())
    }
}

/// Passes if `id` is the job's (see the module's doc); the refusal otherwise.
async fn owned(
    env: &StepEnv,
    connection: &CloudConnection,
    kind: Kind,
    id: &str,
) -> Result<(), Error> {
    if env.objects.contains(&connection.name, id) {
        return Ok(());
    }
    let storage = connection.cloud.block_storage();
    let metadata = match kind {
        Kind::Volume => storage.get_volume(id).await.map(|found| found.metadata),
        Kind::Snapshot => storage.get_snapshot(id).await.map(|found| found.metadata),
        Kind::Backup => storage.get_backup(id).await.map(|found| found.metadata),
        Kind::Server => {
            (connection.cloud.compute().get_server(id).await).map(|found| found.metadata)
        }
    }
    .map_err(|failure| errors::from_cloud(&connection.name, &failure))?;
    let job = &env.context.job_id;
    if guard::is_marked(kind, id, &metadata, job) {
        return Ok(());
    }
    let proof = match kind {
        Kind::Volume => format!(
            "`{}: {job}` and `{}: {id}`",
            guard::JOB_MARK,
            guard::VOLUME_MARK
        ),
        _ => format!("`{}: {job}`", guard::JOB_MARK),
    };
    Err(env.refuse(&format!(
        "{}: {} {id} is not this job's: this run did not create it, and its metadata lacks {proof}",
        connection.name,
        kind.as_str()
    )))
}

/// Refuses a component's metadata that sets one of the host's keys.
fn component_metadata(metadata: &[(String, String)]) -> Result<(), Error> {
    match guard::host_key(metadata) {
        Some(key) => Err(errors::invalid_input(format!(
            "metadata key `{key}`: keys starting `lifeboat:` are written by the host only"
        ))),
        None => Ok(()),
    }
}

/// Marks volume `id`, just created, as the job's at once (so that a later run may delete it
/// even if it never becomes `available`; Cinder may refuse while it is being created), then
/// again once it is `available` (a restore merges the backed-up volume's metadata over the
/// marks), and reads it back.
async fn mark_volume(
    env: &StepEnv,
    connection: &CloudConnection,
    id: &str,
    failures: &[VolumeStatus],
    wait: Duration,
) -> Result<wit::Volume, Error> {
    let storage = connection.cloud.block_storage();
    let fail = |failure| errors::from_cloud(&connection.name, &failure);
    let marks = guard::volume_marks(id, &env.context.job_id);
    if let Err(failure) = storage.update_volume_metadata(id, &marks).await {
        tracing::debug!(connection = %connection.name, "volume {id} not marked while created: {failure}");
    }
    (storage.wait_for_volume(id, &VolumeStatus::Available, failures, wait))
        .await
        .map_err(fail)?;
    (storage.update_volume_metadata(id, &marks))
        .await
        .map_err(fail)?;
    let volume = storage.get_volume(id).await.map_err(fail)?;
    Ok(convert::volume(volume))
}

impl wit::Host for CloudView<'_> {}

impl wit::HostProject for CloudView<'_> {
    async fn connect(&mut self, connection: String) -> Answer<Resource<ProjectGrant>> {
        let Some(granted) = self.env.grants.cloud(&connection).cloned() else {
            return Ok(Err(self.env.refuse(&format!(
                "connection {connection:?}: this step is not granted it (add it to the step's allow.clouds)"
            ))));
        };
        Ok(Ok(self.table.push(ProjectGrant {
            connection: granted,
        })?))
    }

    async fn name(&mut self, grant: Resource<ProjectGrant>) -> wasmtime::Result<String> {
        Ok(self.project(&grant)?.name.clone())
    }

    async fn info(&mut self, grant: Resource<ProjectGrant>) -> wasmtime::Result<wit::ProjectInfo> {
        let connection = self.project(&grant)?;
        let project = connection.cloud.project();
        Ok(wit::ProjectInfo {
            id: project.id.clone(),
            name: project.name.clone(),
            roles: connection
                .cloud
                .roles()
                .into_iter()
                .map(|role| role.name)
                .collect(),
        })
    }

    async fn volume(&mut self, grant: Resource<ProjectGrant>, id: String) -> Answer<wit::Volume> {
        let c = self.project(&grant)?;
        let volume = cloud!(c, c.cloud.block_storage().get_volume(&id).await);
        Ok(Ok(convert::volume(volume)))
    }

    async fn volumes(
        &mut self,
        grant: Resource<ProjectGrant>,
        name: Option<String>,
        status: Option<String>,
    ) -> Answer<Vec<wit::Volume>> {
        let c = self.project(&grant)?;
        let filter = lifeboat_cloud::block_storage::VolumeFilter {
            name,
            status: status.as_deref().map(VolumeStatus::from),
        };
        let volumes = cloud!(c, c.cloud.block_storage().list_volumes(&filter).await);
        Ok(Ok(volumes.into_iter().map(convert::volume).collect()))
    }

    async fn create_volume(
        &mut self,
        grant: Resource<ProjectGrant>,
        spec: wit::VolumeSpec,
    ) -> Answer<wit::Volume> {
        let c = self.project(&grant)?;
        checked!(component_metadata(&spec.metadata));
        let mut spec = convert::volume_spec(spec);
        guard::mark(&mut spec.metadata, &self.env.context.job_id);
        // A volume made from a backup is a restore: as long, and it fails the same way.
        let (failures, wait) = match spec.source {
            VolumeSource::Backup(_) => (
                &[VolumeStatus::Error, VolumeStatus::ErrorRestoring][..],
                LONG_WAIT,
            ),
            _ => (&[VolumeStatus::Error][..], WAIT),
        };
        let created = cloud!(c, c.cloud.block_storage().create_volume(&spec).await);
        self.env.objects.record(&c.name, &created.id);
        Ok(mark_volume(self.env, &c, &created.id, failures, wait).await)
    }

    async fn update_volume(
        &mut self,
        grant: Resource<ProjectGrant>,
        id: String,
        name: Option<String>,
        description: Option<String>,
    ) -> Answer<()> {
        let c = self.project(&grant)?;
        checked!(owned(self.env, &c, Kind::Volume, &id).await);
        let update = lifeboat_cloud::block_storage::VolumeUpdate { name, description };
        cloud!(c, c.cloud.block_storage().update_volume(&id, &update).await);
        Ok(Ok(()))
    }

    async fn set_volume_metadata(
        &mut self,
        grant: Resource<ProjectGrant>,
        id: String,
        metadata: Vec<(String, String)>,
    ) -> Answer<()> {
        let c = self.project(&grant)?;
        checked!(component_metadata(&metadata));
        checked!(owned(self.env, &c, Kind::Volume, &id).await);
        let metadata = convert::map(metadata);
        cloud!(
            c,
            (c.cloud.block_storage())
                .update_volume_metadata(&id, &metadata)
                .await
        );
        Ok(Ok(()))
    }

    async fn set_bootable(
        &mut self,
        grant: Resource<ProjectGrant>,
        id: String,
        bootable: bool,
    ) -> Answer<()> {
        let c = self.project(&grant)?;
        checked!(owned(self.env, &c, Kind::Volume, &id).await);
        cloud!(c, c.cloud.block_storage().set_bootable(&id, bootable).await);
        Ok(Ok(()))
    }

    async fn set_image_metadata(
        &mut self,
        grant: Resource<ProjectGrant>,
        id: String,
        metadata: Vec<(String, String)>,
    ) -> Answer<()> {
        let c = self.project(&grant)?;
        checked!(owned(self.env, &c, Kind::Volume, &id).await);
        let metadata = convert::map(metadata);
        cloud!(
            c,
            (c.cloud.block_storage())
                .set_image_metadata(&id, &metadata)
                .await
        );
        Ok(Ok(()))
    }

    async fn delete_volume(&mut self, grant: Resource<ProjectGrant>, id: String) -> Answer<()> {
        let c = self.project(&grant)?;
        checked!(owned(self.env, &c, Kind::Volume, &id).await);
        let storage = c.cloud.block_storage();
        cloud!(c, storage.delete_volume(&id).await);
        cloud!(c, storage.wait_for_volume_deleted(&id, WAIT).await);
        self.env.objects.forget(&c.name, &id);
        Ok(Ok(()))
    }

    async fn snapshot(
        &mut self,
        grant: Resource<ProjectGrant>,
        id: String,
    ) -> Answer<wit::Snapshot> {
        let c = self.project(&grant)?;
        let snapshot = cloud!(c, c.cloud.block_storage().get_snapshot(&id).await);
        Ok(Ok(convert::snapshot(snapshot)))
    }

    async fn create_snapshot(
        &mut self,
        grant: Resource<ProjectGrant>,
        spec: wit::SnapshotSpec,
    ) -> Answer<wit::Snapshot> {
        let c = self.project(&grant)?;
        checked!(component_metadata(&spec.metadata));
        let mut spec = convert::snapshot_spec(spec);
        guard::mark(&mut spec.metadata, &self.env.context.job_id);
        let storage = c.cloud.block_storage();
        let created = cloud!(c, storage.create_snapshot(&spec).await);
        self.env.objects.record(&c.name, &created.id);
        let failures = [SnapshotStatus::Error];
        let snapshot = cloud!(
            c,
            (storage.wait_for_snapshot(&created.id, &SnapshotStatus::Available, &failures, WAIT))
                .await
        );
        Ok(Ok(convert::snapshot(snapshot)))
    }

    async fn delete_snapshot(&mut self, grant: Resource<ProjectGrant>, id: String) -> Answer<()> {
        let c = self.project(&grant)?;
        checked!(owned(self.env, &c, Kind::Snapshot, &id).await);
        let storage = c.cloud.block_storage();
        cloud!(c, storage.delete_snapshot(&id).await);
        cloud!(c, storage.wait_for_snapshot_deleted(&id, WAIT).await);
        self.env.objects.forget(&c.name, &id);
        Ok(Ok(()))
    }

    async fn backup(&mut self, grant: Resource<ProjectGrant>, id: String) -> Answer<wit::Backup> {
        let c = self.project(&grant)?;
        let backup = cloud!(c, c.cloud.block_storage().get_backup(&id).await);
        Ok(Ok(convert::backup(backup)))
    }

    async fn backups(
        &mut self,
        grant: Resource<ProjectGrant>,
        filter: wit::BackupFilter,
    ) -> Answer<Vec<wit::Backup>> {
        let c = self.project(&grant)?;
        let filter = convert::backup_filter(filter);
        let backups = cloud!(c, c.cloud.block_storage().list_backups(&filter).await);
        Ok(Ok(backups.into_iter().map(convert::backup).collect()))
    }

    async fn create_backup(
        &mut self,
        grant: Resource<ProjectGrant>,
        spec: wit::BackupSpec,
    ) -> Answer<wit::Backup> {
        let c = self.project(&grant)?;
        checked!(component_metadata(&spec.metadata));
        let storage = c.cloud.block_storage();
        let mut spec = convert::backup_spec(spec);
        // A Cinder older than 3.43 keeps no backup metadata: its backups cannot carry the
        // job's mark, and only the run that made one may delete it.
        let versions = cloud!(c, storage.versions().await);
        let keeps_metadata = versions.is_some_and(|range| range.max >= BACKUP_METADATA);
        if keeps_metadata {
            guard::mark(&mut spec.metadata, &self.env.context.job_id);
        }
        let id = cloud!(c, storage.create_backup(&spec).await);
        self.env.objects.record(&c.name, &id);
        let failures = [BackupStatus::Error];
        let backup = cloud!(
            c,
            (storage.wait_for_backup(&id, &BackupStatus::Available, &failures, LONG_WAIT)).await
        );
        Ok(Ok(convert::backup(backup)))
    }

    async fn delete_backup(&mut self, grant: Resource<ProjectGrant>, id: String) -> Answer<()> {
        let c = self.project(&grant)?;
        checked!(owned(self.env, &c, Kind::Backup, &id).await);
        let storage = c.cloud.block_storage();
        cloud!(c, storage.delete_backup(&id).await);
        cloud!(c, storage.wait_for_backup_deleted(&id, LONG_WAIT).await);
        self.env.objects.forget(&c.name, &id);
        Ok(Ok(()))
    }

    async fn export_backup_record(
        &mut self,
        grant: Resource<ProjectGrant>,
        id: String,
    ) -> Answer<wit::BackupRecord> {
        let c = self.project(&grant)?;
        let record = cloud!(c, c.cloud.block_storage().export_backup_record(&id).await);
        Ok(Ok(wit::BackupRecord {
            backup_service: record.backup_service,
            backup_url: record.backup_url,
        }))
    }

    async fn import_backup_record(
        &mut self,
        grant: Resource<ProjectGrant>,
        record: wit::BackupRecord,
    ) -> Answer<wit::Backup> {
        let c = self.project(&grant)?;
        let record = lifeboat_cloud::block_storage::BackupRecord {
            backup_service: record.backup_service,
            backup_url: record.backup_url,
        };
        let storage = c.cloud.block_storage();
        // Not recorded as the run's: an imported backup shares its data with the backup it
        // was exported from, and deleting it would delete that data (reference/openstack.md
        // §5.2: imported records are never deleted automatically).
        let id = cloud!(c, storage.import_backup_record(&record).await);
        let failures = [BackupStatus::Error];
        let backup = cloud!(
            c,
            (storage.wait_for_backup(&id, &BackupStatus::Available, &failures, LONG_WAIT)).await
        );
        Ok(Ok(convert::backup(backup)))
    }

    async fn restore_backup(
        &mut self,
        grant: Resource<ProjectGrant>,
        id: String,
        target: wit::RestoreTarget,
    ) -> Answer<wit::Volume> {
        let c = self.project(&grant)?;
        // Restoring into a volume replaces its data.
        if let wit::RestoreTarget::ExistingVolume(volume) = &target {
            checked!(owned(self.env, &c, Kind::Volume, volume).await);
        }
        let target = convert::restore_target(target);
        let restore = cloud!(
            c,
            c.cloud.block_storage().restore_backup(&id, &target).await
        );
        self.env.objects.record(&c.name, &restore.volume_id);
        let failures = [VolumeStatus::ErrorRestoring, VolumeStatus::Error];
        Ok(mark_volume(self.env, &c, &restore.volume_id, &failures, LONG_WAIT).await)
    }

    async fn offer_volume(
        &mut self,
        grant: Resource<ProjectGrant>,
        volume_id: String,
        name: Option<String>,
    ) -> Answer<Resource<OfferedTransfer>> {
        let c = self.project(&grant)?;
        checked!(owned(self.env, &c, Kind::Volume, &volume_id).await);
        let storage = c.cloud.block_storage();
        let transfer = cloud!(
            c,
            storage
                .create_volume_transfer(&volume_id, name.as_deref())
                .await
        );
        Ok(Ok(self.table.push(OfferedTransfer {
            connection: c,
            transfer,
            closed: false,
        })?))
    }

    async fn accept_volume(
        &mut self,
        grant: Resource<ProjectGrant>,
        offer: Resource<OfferedTransfer>,
    ) -> Answer<String> {
        let c = self.project(&grant)?;
        let offered = self.table.get(&offer)?;
        let (id, key) = (
            offered.transfer.id.clone(),
            offered.transfer.auth_key.clone(),
        );
        let storage = c.cloud.block_storage();
        let accepted = cloud!(c, storage.accept_volume_transfer(&id, &key).await);
        self.table.get_mut(&offer)?.closed = true;
        self.env.objects.record(&c.name, &accepted.volume_id);
        Ok(Ok(accepted.volume_id))
    }

    async fn server(&mut self, grant: Resource<ProjectGrant>, id: String) -> Answer<wit::Server> {
        let c = self.project(&grant)?;
        let server = cloud!(c, c.cloud.compute().get_server(&id).await);
        Ok(Ok(convert::server(server)))
    }

    async fn servers(
        &mut self,
        grant: Resource<ProjectGrant>,
        name: Option<String>,
    ) -> Answer<Vec<wit::Server>> {
        let c = self.project(&grant)?;
        let filter = ServerFilter { name, status: None };
        let servers = cloud!(c, c.cloud.compute().list_servers(&filter).await);
        Ok(Ok(servers.into_iter().map(convert::server).collect()))
    }

    async fn server_volumes(
        &mut self,
        grant: Resource<ProjectGrant>,
        id: String,
    ) -> Answer<Vec<wit::ServerVolume>> {
        let c = self.project(&grant)?;
        let volumes = cloud!(c, c.cloud.compute().volume_attachments(&id).await);
        Ok(Ok(volumes
            .into_iter()
            .map(convert::server_volume)
            .collect()))
    }

    async fn create_server(
        &mut self,
        grant: Resource<ProjectGrant>,
        spec: wit::ServerSpec,
    ) -> Answer<wit::Server> {
        let c = self.project(&grant)?;
        checked!(component_metadata(&spec.metadata));
        // A server writes to its volumes (and may delete them with itself): each must be
        // the job's.
        for device in &spec.block_devices {
            checked!(owned(self.env, &c, Kind::Volume, &device.volume_id).await);
        }
        let mut spec = convert::server_spec(spec);
        guard::mark(&mut spec.metadata, &self.env.context.job_id);
        let compute = c.cloud.compute();
        let id = cloud!(c, compute.create_server(&spec).await);
        self.env.objects.record(&c.name, &id);
        let failures = [ServerStatus::Error];
        let server = cloud!(
            c,
            (compute.wait_for_server(&id, &ServerStatus::Active, &failures, WAIT)).await
        );
        Ok(Ok(convert::server(server)))
    }

    async fn delete_server(&mut self, grant: Resource<ProjectGrant>, id: String) -> Answer<()> {
        let c = self.project(&grant)?;
        checked!(owned(self.env, &c, Kind::Server, &id).await);
        let compute = c.cloud.compute();
        cloud!(c, compute.delete_server(&id).await);
        cloud!(c, compute.wait_for_server_deleted(&id, WAIT).await);
        self.env.objects.forget(&c.name, &id);
        Ok(Ok(()))
    }

    async fn flavors(&mut self, grant: Resource<ProjectGrant>) -> Answer<Vec<wit::Flavor>> {
        let c = self.project(&grant)?;
        let flavors = cloud!(c, c.cloud.compute().list_flavors().await);
        Ok(Ok(flavors.into_iter().map(convert::flavor).collect()))
    }

    async fn flavor(&mut self, grant: Resource<ProjectGrant>, id: String) -> Answer<wit::Flavor> {
        let c = self.project(&grant)?;
        let flavor = cloud!(c, c.cloud.compute().get_flavor(&id).await);
        Ok(Ok(convert::flavor(flavor)))
    }

    async fn networks(
        &mut self,
        grant: Resource<ProjectGrant>,
        name: Option<String>,
    ) -> Answer<Vec<wit::Network>> {
        let c = self.project(&grant)?;
        let networks = cloud!(c, c.cloud.network().list_networks(name.as_deref()).await);
        Ok(Ok(networks.into_iter().map(convert::network).collect()))
    }

    async fn security_groups(
        &mut self,
        grant: Resource<ProjectGrant>,
        name: Option<String>,
    ) -> Answer<Vec<wit::SecurityGroup>> {
        let c = self.project(&grant)?;
        let groups = cloud!(
            c,
            (c.cloud.network())
                .list_security_groups(name.as_deref())
                .await
        );
        Ok(Ok(groups
            .into_iter()
            .map(convert::security_group)
            .collect()))
    }

    async fn drop(&mut self, grant: Resource<ProjectGrant>) -> wasmtime::Result<()> {
        self.table.delete(grant)?;
        Ok(())
    }
}

impl wit::HostVolumeTransfer for CloudView<'_> {
    async fn id(&mut self, offer: Resource<OfferedTransfer>) -> wasmtime::Result<String> {
        Ok(self.table.get(&offer)?.transfer.id.clone())
    }

    async fn volume_id(&mut self, offer: Resource<OfferedTransfer>) -> wasmtime::Result<String> {
        Ok(self.table.get(&offer)?.transfer.volume_id.clone())
    }

    async fn withdraw(&mut self, offer: Resource<OfferedTransfer>) -> Answer<()> {
        let offered = self.table.get(&offer)?;
        if offered.closed {
            return Ok(Ok(()));
        }
        let c = offered.connection.clone();
        let id = offered.transfer.id.clone();
        cloud!(c, c.cloud.block_storage().delete_volume_transfer(&id).await);
        self.table.get_mut(&offer)?.closed = true;
        Ok(Ok(()))
    }

    async fn drop(&mut self, offer: Resource<OfferedTransfer>) -> wasmtime::Result<()> {
        self.table.delete(offer)?.close().await;
        Ok(())
    }
}
