//! A test operation that drives the `cloud` interface on the project named in its parameters
//! the way a DR backup and restore would — it reads a server and its volumes, creates a volume,
//! snapshots it, backs it up fully and incrementally, exports a record, restores, offers a
//! volume to another project, boots a server — and then tries what the guards must refuse; it
//! reports what each call answered.

use lifeboat_sdk::cloud::{
    BackupFilter, BackupSpec, BlockDevice, Flavor, Networks, Project, RestoreTarget, ServerSpec,
    SnapshotSpec, VolumeSource, VolumeSpec,
};
use lifeboat_sdk::types::{Description, Error, RunContext};
use serde::Deserialize;
use serde_json::{Value, json};

/// The operation.
struct CloudProbe;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The project to work in.
    cloud: String,
    /// A project to offer a volume to, if granted.
    other: Option<String>,
    /// A server to read.
    server: String,
    /// A volume of the user's.
    user_volume: String,
    /// A volume a previous run of the job made (it carries the job's marks).
    marked_volume: String,
    /// A volume that carries a copy of the job's marks (a user's restore of one).
    copied_volume: String,
    /// A backup of the user's.
    user_backup: String,
}

/// What a call answered: its value, or its error's kind.
fn answer<T: Into<Value>>(result: Result<T, Error>) -> Value {
    match result {
        Ok(value) => json!({ "ok": value.into() }),
        Err(error) => json!({ "error": error.kind.as_str() }),
    }
}

fn value(metadata: &[(String, String)], key: &str) -> Option<String> {
    lifeboat_sdk::string_map::get(metadata, key).map(str::to_owned)
}

fn volume(name: &str, metadata: Vec<(String, String)>) -> VolumeSpec {
    VolumeSpec {
        size_gib: 1,
        name: Some(name.to_owned()),
        description: None,
        volume_type: None,
        availability_zone: None,
        metadata,
        source: VolumeSource::Blank,
    }
}

/// A server of the first flavor, booted from `volume` alone, on no network.
fn boot(name: &str, volume: &str, delete_on_termination: bool, flavors: &[Flavor]) -> ServerSpec {
    ServerSpec {
        name: name.to_owned(),
        flavor_id: flavors.first().map(|f| f.id.clone()).unwrap_or_default(),
        block_devices: vec![BlockDevice {
            volume_id: volume.to_owned(),
            boot_index: Some(0),
            delete_on_termination,
            device_name: None,
        }],
        networks: Networks::None,
        security_groups: Vec::new(),
        key_name: None,
        user_data: None,
        availability_zone: None,
        metadata: Vec::new(),
        tags: Vec::new(),
        description: None,
    }
}

impl lifeboat_sdk::Operation for CloudProbe {
    fn describe() -> Description {
        Description::new(
            "cloud-probe",
            env!("CARGO_PKG_VERSION"),
            "Exercises the cloud interface.",
            json!({ "type": "object", "required": ["cloud", "server"] }),
            json!({ "type": "object" }),
        )
    }

    fn run(context: RunContext, params: String) -> Result<String, Error> {
        let params: Params = lifeboat_sdk::params(&params)?;
        let project = Project::connect(&params.cloud)?;
        let info = project.info();

        // Reading what a DR backup reads.
        let server = project.server(&params.server)?;
        let attached = project.server_volumes(&params.server)?;
        let flavors = project.flavors()?;
        let networks = project.networks(None)?;
        let groups = project.security_groups(None)?;

        // A volume of the run's own: created, marked, snapshotted, backed up, restored.
        let made = project.create_volume(&volume(
            "probe-data",
            vec![("purpose".into(), "probe".into())],
        ))?;
        let host_key = answer(
            project.set_volume_metadata(&made.id, &[("lifeboat:job".into(), "another".into())]),
        );
        project.update_volume(&made.id, Some("probe-data-renamed"), None)?;
        let snapshot = project.create_snapshot(&SnapshotSpec {
            volume_id: made.id.clone(),
            name: Some("probe-snapshot".into()),
            description: None,
            force: false,
            metadata: Vec::new(),
        })?;
        project.delete_snapshot(&snapshot.id)?;
        let backup = |incremental: bool| BackupSpec {
            volume_id: made.id.clone(),
            name: Some("probe-backup".into()),
            description: None,
            container: None,
            incremental,
            force: false,
            snapshot_id: None,
            metadata: Vec::new(),
            availability_zone: None,
        };
        let full = project.create_backup(&backup(false))?;
        let incremental = project.create_backup(&backup(true))?;
        let listed = project.backups(&BackupFilter {
            volume_id: Some(made.id.clone()),
            name: None,
            status: None,
        })?;
        let record = project.export_backup_record(&full.id)?;
        let restored = project.restore_backup(&full.id, &RestoreTarget::NewVolume(None))?;
        let restore_over_user_volume = answer(
            project
                .restore_backup(
                    &full.id,
                    &RestoreTarget::ExistingVolume(params.user_volume.clone()),
                )
                .map(|_| ()),
        );
        project.delete_volume(&restored.id)?;
        project.delete_backup(&incremental.id)?;
        project.delete_backup(&full.id)?;

        // Offered to another project, and taken there.
        let transferred = match &params.other {
            Some(other) => {
                let other = Project::connect(other)?;
                let offered = project.create_volume(&volume("probe-moving", Vec::new()))?;
                let offer = project.offer_volume(&offered.id, Some("probe"))?;
                let accepted = other.accept_volume(&offer)?;
                other.delete_volume(&accepted)?;
                json!(accepted == offered.id)
            }
            None => Value::Null,
        };

        // An offer the component never closes: the host withdraws it when the run ends.
        let forgotten = project.create_volume(&volume("probe-offered", Vec::new()))?;
        std::mem::forget(project.offer_volume(&forgotten.id, None)?);

        // A server booted from the run's volume, then deleted with it.
        project.set_bootable(&made.id, true)?;
        let booted = project.create_server(&boot("probe-server", &made.id, false, &flavors))?;
        project.delete_server(&booted.id)?;
        project.delete_volume(&made.id)?;

        // What the guards refuse, and what they let through.
        let user_boot = |delete_on_termination: bool| {
            boot(
                "probe-thief",
                &params.user_volume,
                delete_on_termination,
                &flavors,
            )
        };
        let refused = json!({
            "delete_user_volume": answer(project.delete_volume(&params.user_volume)),
            "rename_user_volume": answer(project.update_volume(&params.user_volume, Some("mine"), None)),
            "boot_user_volume": answer(project.create_server(&user_boot(false)).map(|s| s.id)),
            "boot_user_volume_deleted_with_server": answer(project.create_server(&user_boot(true)).map(|s| s.id)),
            "restore_over_user_volume": restore_over_user_volume,
            "offer_user_volume": answer(project.offer_volume(&params.user_volume, None).map(|_| ())),
            "set_user_volume_bootable": answer(project.set_bootable(&params.user_volume, true)),
            "set_user_image_metadata": answer(project.set_image_metadata(&params.user_volume, &[("hw_machine_type".into(), "q35".into())])),
            "delete_user_backup": answer(project.delete_backup(&params.user_backup)),
            "delete_user_server": answer(project.delete_server(&params.server)),
            "delete_copied_volume": answer(project.delete_volume(&params.copied_volume)),
            "ungranted": answer(Project::connect("not-granted").map(|_| ())),
        });
        let allowed = answer(project.delete_volume(&params.marked_volume));

        lifeboat_sdk::output(&json!({
            "project": info.name,
            "admin": info.roles.iter().any(|role| role == "admin"),
            "server": server.name,
            "attached": attached.iter().map(|a| a.volume_id.clone()).collect::<Vec<_>>(),
            "flavors": flavors.len(),
            "networks": networks.len(),
            "security_groups": groups.len(),
            "marks": {
                "job": value(&made.metadata, "lifeboat:job") == Some(context.job_id.clone()),
                "volume": value(&made.metadata, "lifeboat:volume") == Some(made.id.clone()),
                "kept": value(&made.metadata, "purpose"),
                "restored_names_itself": value(&restored.metadata, "lifeboat:volume") == Some(restored.id.clone()),
                "backup": value(&full.metadata, "lifeboat:job") == Some(context.job_id.clone()),
            },
            "host_key": host_key,
            "incremental": incremental.is_incremental,
            "listed_backups": listed.len(),
            "record_service": record.backup_service,
            "restored_size": restored.size_gib,
            "transferred": transferred,
            "booted": booted.status,
            "refused": refused,
            "marked_volume": allowed,
        }))
    }
}

lifeboat_sdk::export_operation!(CloudProbe);
