//! Restores (reference §2.4 and §2.6): the checks, the auto-created volume, what is copied onto
//! the target (bytes, the conditional name, merged metadata, image metadata that makes a volume
//! bootable, `src_backup_id`), failures, 3.47's volume from a backup, and a restore across
//! projects.

use lifeboat_sim::cloud::state::{Fault, Operation};
use reqwest::Method;
use serde_json::json;

use super::{Session, example, settle};

/// Backs up `volume` (forced) and waits for it.
async fn backed_up(admin: &Session, volume: &str) -> String {
    let id = admin
        .backup(json!({"volume_id": volume, "force": true, "name": "b"}))
        .await;
    settle(&admin.cloud);
    id
}

async fn restore(admin: &Session, backup: &str, body: serde_json::Value) -> super::Answer {
    admin
        .volume(
            Method::POST,
            &format!("/backups/{backup}/restore"),
            "3.0",
            Some(json!({"restore": body})),
        )
        .await
}

#[tokio::test]
async fn a_restore_without_a_target_creates_the_volume_and_restores_name_and_bytes() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let data = admin.cloud.volume_id("web-1-data").unwrap();
    let backup = backed_up(&admin, &data).await;
    let answer = restore(&admin, &backup, json!({})).await;
    assert_eq!(answer.status, 202);
    let target = answer.body["restore"]["volume_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        answer.body["restore"]["volume_name"],
        format!("restore_backup_{backup}")
    );
    let during = admin.get_volume(&target).await;
    assert_eq!(during["status"], "restoring-backup");
    assert_eq!(
        during["description"],
        "auto-created_from_restore_from_backup"
    );
    assert_eq!(admin.get_backup(&backup).await["status"], "restoring");
    settle(&admin.cloud);
    let volume = admin.get_volume(&target).await;
    assert_eq!(volume["status"], "available");
    assert_eq!(
        volume["name"], "web-1-data",
        "an auto-created target takes the source's name"
    );
    assert_eq!(volume["metadata"]["mount"], "/srv");
    assert_eq!(volume["metadata"]["src_backup_id"], backup.as_str());
    assert_eq!(volume["bootable"], "false");
    assert_eq!(
        admin.cloud.volume_content(&target).unwrap(),
        admin.cloud.volume_content(&data).unwrap()
    );
    assert_eq!(admin.get_backup(&backup).await["status"], "available");
}

#[tokio::test]
async fn a_named_target_keeps_its_name_and_image_metadata_makes_a_volume_bootable() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let system = admin.cloud.volume_id("web-1-system").unwrap();
    let backup = backed_up(&admin, &system).await;
    let target = admin.blank_volume("keeps-its-name", 2).await;
    assert_eq!(
        restore(&admin, &backup, json!({"volume_id": target}))
            .await
            .status,
        202
    );
    settle(&admin.cloud);
    let volume = admin.get_volume(&target).await;
    assert_eq!(volume["name"], "keeps-its-name");
    assert_eq!(
        volume["bootable"], "true",
        "image metadata came with the backup"
    );
    assert_eq!(volume["volume_image_metadata"]["hw_firmware_type"], "uefi");

    // Bootability follows image metadata, not the source's flag.
    let flagged = admin.blank_volume("flagged", 1).await;
    let action = json!({"os-set_bootable": {"bootable": true}});
    admin
        .volume(
            Method::POST,
            &format!("/volumes/{flagged}/action"),
            "3.71",
            Some(action),
        )
        .await;
    let flagged_backup = admin.backup(json!({"volume_id": flagged})).await;
    settle(&admin.cloud);
    let plain = admin.blank_volume("plain", 1).await;
    restore(&admin, &flagged_backup, json!({"volume_id": plain})).await;
    settle(&admin.cloud);
    assert_eq!(admin.get_volume(&plain).await["bootable"], "false");
}

#[tokio::test]
async fn restores_are_checked_and_failures_leave_error_statuses() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let system = admin.cloud.volume_id("web-1-system").unwrap();
    let data = admin.cloud.volume_id("web-1-data").unwrap();
    let busy = admin
        .backup(json!({"volume_id": system, "force": true}))
        .await;
    restore(&admin, &busy, json!({}))
        .await
        .error(400, "badRequest");
    settle(&admin.cloud);
    let small = admin.blank_volume("small", 1).await;
    let refused = restore(&admin, &busy, json!({"volume_id": small})).await;
    assert!(
        refused
            .error(400, "badRequest")
            .contains("volume size 1 is too small to restore backup of size 2")
    );
    restore(&admin, &busy, json!({"volume_id": data}))
        .await
        .error(400, "badRequest");

    admin.cloud.arm(&Fault::Fail {
        operation: Operation::Restore,
        count: 2,
        reason: "injected".into(),
    });
    let existing = admin.blank_volume("existing", 2).await;
    restore(&admin, &busy, json!({"volume_id": existing})).await;
    settle(&admin.cloud);
    assert_eq!(
        admin.get_volume(&existing).await["status"],
        "error_restoring"
    );
    let created = restore(&admin, &busy, json!({"name": "new"})).await;
    settle(&admin.cloud);
    let created = created.body["restore"]["volume_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        admin.get_volume(&created).await["status"],
        "error",
        "a volume made for the restore"
    );
    assert_eq!(admin.get_backup(&busy).await["status"], "available");
}

#[tokio::test]
async fn a_volume_is_created_from_a_backup_from_3_47() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let logs = admin.cloud.volume_id("web-1-logs").unwrap();
    let backup = backed_up(&admin, &logs).await;
    let body = json!({"volume": {"backup_id": backup, "name": "from-backup"}});
    admin
        .volume(Method::POST, "/volumes", "3.46", Some(body.clone()))
        .await
        .error(400, "badRequest");
    let answer = admin
        .volume(Method::POST, "/volumes", "3.47", Some(body))
        .await;
    assert_eq!(answer.status, 202);
    let id = answer.body["volume"]["id"].as_str().unwrap();
    settle(&admin.cloud);
    let volume = admin.get_volume(id).await;
    assert_eq!(
        (volume["status"].as_str(), volume["size"].as_u64()),
        (Some("available"), Some(1))
    );
    assert_eq!(volume["backup_id"], backup.as_str());
    assert_eq!(
        admin.cloud.volume_content(id).unwrap(),
        admin.cloud.volume_content(&logs).unwrap()
    );
}

#[tokio::test]
async fn an_administrator_restores_into_another_projects_volume() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let east = admin.cloud.clone();
    let data = east.volume_id("web-1-data").unwrap();
    let backup = backed_up(&admin, &data).await;
    let bob = Session::login(&east, "bob", "bob-secret", "recovery").await;
    let target = bob.blank_volume("landing", 1).await;
    // bob cannot see production's backup; the administrator can reach bob's volume.
    restore(&bob, &backup, json!({"volume_id": target}))
        .await
        .error(404, "itemNotFound");
    assert_eq!(
        restore(&admin, &backup, json!({"volume_id": target}))
            .await
            .status,
        202
    );
    settle(&east);
    assert_eq!(bob.get_volume(&target).await["status"], "available");
    assert_eq!(
        east.volume_content(&target).unwrap(),
        east.volume_content(&data).unwrap()
    );
}
