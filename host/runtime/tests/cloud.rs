//! The cloud interface through a real component against the OpenStack simulator on loopback:
//! what a DR backup and restore do (volumes, snapshots, full and incremental backups, an
//! exported record, a restore, a volume handed to another project, a server booted and
//! deleted), with the host marking what the component creates, and the guard refusing
//! everything that is not the job's, a copy of the job's marks included.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{JOB, Recorded, context, env, runtime, wasm};
use lifeboat_cloud::block_storage::{
    BackupSpec, BackupStatus, VolumeFilter, VolumeSpec, VolumeStatus,
};
use lifeboat_cloud::{Cloud, CloudConfig, Credentials, ProjectScope};
use lifeboat_runtime::{CloudConnection, Limits, RunObjects};
use lifeboat_sim::cloud::{CloudFixture, CloudSimulator};
use serde_json::json;
use url::Url;

const WAIT: Duration = Duration::from_secs(30);

async fn admin_of(sim: &CloudSimulator, project: &str) -> Cloud {
    let east = sim.cloud("east").expect("the fixture has cloud east");
    let config = CloudConfig::new(
        Url::parse(&east.auth_url()).unwrap(),
        Credentials::password("admin", "Default", "east-admin-secret"),
    )
    .with_project(ProjectScope::name(project, "Default"))
    .with_region(east.region.clone());
    Cloud::connect(config).await.expect("admin connects")
}

/// A 1 GiB volume with `metadata`, once available.
async fn volume_with(cloud: &Cloud, name: &str, metadata: &[(&str, &str)]) -> String {
    let storage = cloud.block_storage();
    let spec = VolumeSpec {
        size: 1,
        name: Some(name.into()),
        metadata: metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..VolumeSpec::default()
    };
    let id = storage.create_volume(&spec).await.unwrap().id;
    storage
        .wait_for_volume(&id, &VolumeStatus::Available, &[], WAIT)
        .await
        .unwrap();
    id
}

async fn volume_names(cloud: &Cloud) -> Vec<String> {
    let volumes = cloud
        .block_storage()
        .list_volumes(&VolumeFilter::default())
        .await
        .unwrap();
    volumes
        .into_iter()
        .filter_map(|volume| volume.name)
        .collect()
}

#[tokio::test]
async fn a_component_drives_a_project_and_touches_only_the_jobs_objects() {
    let sim = CloudSimulator::start(&CloudFixture::builtin(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the simulated clouds start");
    let east = sim.cloud("east").unwrap();
    let production = admin_of(&sim, "production").await;
    let recovery = admin_of(&sim, "recovery").await;

    // A volume an earlier run of the job made (marked by the host then), and a user's restore
    // of it, which carries a copy of its metadata.
    let marked = volume_with(&production, "earlier-run", &[("lifeboat:job", JOB)]).await;
    production
        .block_storage()
        .update_volume_metadata(
            &marked,
            &BTreeMap::from([("lifeboat:volume".to_owned(), marked.clone())]),
        )
        .await
        .unwrap();
    let copied = volume_with(
        &production,
        "users-restore",
        &[("lifeboat:job", JOB), ("lifeboat:volume", &marked)],
    )
    .await;

    // A backup of the user's, of a volume attached to their server.
    let user_volume = east.volume_id("web-1-data").unwrap();
    let storage = production.block_storage();
    let user_backup = storage
        .create_backup(&BackupSpec {
            volume_id: user_volume.clone(),
            force: true,
            ..BackupSpec::default()
        })
        .await
        .unwrap();
    storage
        .wait_for_backup(&user_backup, &BackupStatus::Available, &[], WAIT)
        .await
        .unwrap();

    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let events = Arc::new(Recorded::default());
    let mut env = env(
        "cloud-probe",
        context(0),
        &[],
        Arc::new(RunObjects::default()),
        events.clone(),
    );
    for (name, cloud) in [
        ("east", production.clone()),
        ("east-recovery", recovery.clone()),
    ] {
        env.grants.grant_cloud(Arc::new(CloudConnection {
            name: name.into(),
            cloud,
        }));
    }
    let (probe, _) = runtime
        .load_operation("cloud-probe", &wasm("cloud_probe"))
        .expect("the component loads");
    let server = east.server_id("web-1").unwrap();
    let params = json!({
        "cloud": "east",
        "other": "east-recovery",
        "server": server,
        "user_volume": user_volume,
        "marked_volume": marked,
        "copied_volume": copied,
        "user_backup": user_backup,
    });
    let outputs = probe
        .run(env, &params, Limits::default())
        .await
        .expect("the probe runs");

    assert_eq!(outputs["project"], "production");
    assert_eq!(outputs["admin"], true);
    assert_eq!(outputs["server"], "web-1");
    assert_eq!(outputs["attached"].as_array().unwrap().len(), 3);
    assert_eq!(outputs["flavors"], 3);
    assert!(outputs["networks"].as_u64().unwrap() >= 1, "{outputs}");
    assert!(
        outputs["security_groups"].as_u64().unwrap() >= 1,
        "{outputs}"
    );
    assert_eq!(
        outputs["marks"],
        json!({ "job": true, "volume": true, "kept": "probe", "restored_names_itself": true, "backup": true })
    );
    assert_eq!(outputs["host_key"], json!({ "error": "invalid-input" }));
    assert_eq!(outputs["incremental"], true);
    assert_eq!(outputs["listed_backups"], 2);
    assert!(
        (outputs["record_service"].as_str().unwrap()).starts_with("cinder.backup.drivers."),
        "{outputs}"
    );
    assert_eq!(outputs["restored_size"], 1);
    assert_eq!(outputs["transferred"], true);
    assert_eq!(outputs["booted"], "ACTIVE");
    for (call, answer) in outputs["refused"].as_object().unwrap() {
        assert_eq!(answer, &json!({ "error": "permission-denied" }), "{call}");
    }
    assert_eq!(outputs["marked_volume"], json!({ "ok": null }));

    // The offer the component left open was withdrawn when the run ended.
    let offered = storage
        .list_volumes(&VolumeFilter {
            name: Some("probe-offered".into()),
            status: None,
        })
        .await
        .unwrap();
    let offered = &offered
        .first()
        .expect("the offered volume is still there")
        .id;
    storage
        .wait_for_volume(offered, &VolumeStatus::Available, &[], WAIT)
        .await
        .expect("the offer is withdrawn");
    storage.delete_volume(offered).await.unwrap();
    storage
        .wait_for_volume_deleted(offered, WAIT)
        .await
        .unwrap();
    assert!(storage.get_backup(&user_backup).await.is_ok());

    // The user's objects are untouched; the run's own are gone, and so is the marked volume.
    let names = volume_names(&production).await;
    for kept in ["web-1-system", "web-1-data", "web-1-logs", "users-restore"] {
        assert!(names.iter().any(|name| name == kept), "{kept}: {names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|name| name.starts_with("probe") || name == "earlier-run"),
        "{names:?}"
    );
    assert!(volume_names(&recovery).await.is_empty());
    let data = production.block_storage().get_volume(&user_volume).await;
    assert_eq!(data.unwrap().name.as_deref(), Some("web-1-data"));
    let web = production.compute().get_server(&server).await.unwrap();
    assert_eq!(web.name, "web-1");

    // Each refusal is on the step's task, naming the object and the missing mark.
    let warnings = events.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&copied) && w.contains("lifeboat:volume")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("not-granted") && w.contains("allow.clouds")),
        "{warnings:#?}"
    );
}
