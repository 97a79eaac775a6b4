//! Backup records (reference §0 and §2.4): export and import are for administrators, the record
//! is base64 JSON of the backup's row, an import keeps the id and refuses a duplicate, chains
//! must be imported parent first, the data is shared (so a delete breaks the other side), and a
//! per-user store keeps another project from reaching it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lifeboat_sim::cloud::CloudFixture;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Answer, Session, example, settle, start};

async fn export(session: &Session, backup: &str) -> Answer {
    session
        .volume(
            Method::GET,
            &format!("/backups/{backup}/export_record"),
            "3.0",
            None,
        )
        .await
}

async fn import(session: &Session, record: &Value) -> Answer {
    session
        .volume(
            Method::POST,
            "/backups/import_record",
            "3.64",
            Some(json!({"backup-record": record})),
        )
        .await
}

async fn west_admin(sim: &lifeboat_sim::cloud::CloudSimulator) -> Session {
    Session::login(
        sim.cloud("west").unwrap(),
        "admin",
        "west-admin-secret",
        "dr-site",
    )
    .await
}

#[tokio::test]
async fn export_is_for_administrators_and_carries_the_row_as_base64_json() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let data = admin.cloud.volume_id("web-1-data").unwrap();
    let backup = admin
        .backup(json!({"volume_id": data, "force": true, "name": "nightly"}))
        .await;
    export(&admin, &backup).await.error(400, "badRequest");
    settle(&admin.cloud);
    let alice = Session::login(&admin.cloud, "alice", "alice-secret", "production").await;
    assert!(
        export(&alice, &backup)
            .await
            .error(403, "forbidden")
            .contains("backup:export-import")
    );
    let answer = export(&admin, &backup).await;
    assert_eq!(answer.status, 200);
    let record = &answer.body["backup-record"];
    assert_eq!(record["backup_service"], "cinder.backup.drivers.swift");
    let decoded: Value = serde_json::from_slice(
        &STANDARD
            .decode(record["backup_url"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(decoded["id"], backup.as_str());
    assert_eq!(decoded["display_name"], "nightly");
    assert_eq!(decoded["volume_id"], data.as_str());
    assert_eq!(decoded["parent_id"], Value::Null);
    assert_eq!(decoded["object_count"], 6);
    let prefix = decoded["service_metadata"].as_str().unwrap();
    assert!(
        prefix.starts_with(&format!("volume_{data}/"))
            && prefix.ends_with(&format!("az_nova_backup_{backup}")),
        "{prefix}"
    );
}

#[tokio::test]
async fn an_import_keeps_the_id_refuses_a_duplicate_and_restores_on_another_cloud() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let data = admin.cloud.volume_id("web-1-data").unwrap();
    let backup = admin
        .backup(json!({"volume_id": data, "force": true}))
        .await;
    settle(&admin.cloud);
    let record = export(&admin, &backup).await.body["backup-record"].clone();
    let same_cloud = import(&admin, &record).await;
    assert_eq!(
        same_cloud.error(400, "badRequest"),
        "Invalid backup: Backup already exists in database."
    );

    let west = west_admin(&sim).await;
    let answer = import(&west, &record).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body["backup"]["id"], backup.as_str());
    assert_eq!(answer.body["backup"]["name"], Value::Null);
    assert_eq!(west.get_backup(&backup).await["status"], "creating");
    settle(&west.cloud);
    assert_eq!(west.get_backup(&backup).await["status"], "available");
    assert_eq!(
        import(&west, &record).await.error(400, "badRequest"),
        "Invalid backup: Backup already exists in database."
    );
    let restored = west
        .volume(
            Method::POST,
            &format!("/backups/{backup}/restore"),
            "3.0",
            Some(json!({"restore": {"name": "far"}})),
        )
        .await;
    let target = restored.body["restore"]["volume_id"]
        .as_str()
        .unwrap()
        .to_owned();
    settle(&west.cloud);
    assert_eq!(west.get_volume(&target).await["status"], "available");
    assert_eq!(
        west.cloud.volume_content(&target).unwrap(),
        admin.cloud.volume_content(&data).unwrap()
    );

    // The records share the objects: deleting the original breaks the import.
    assert_eq!(
        admin
            .volume(Method::DELETE, &format!("/backups/{backup}"), "3.64", None)
            .await
            .status,
        202
    );
    settle(&admin.cloud);
    west.volume(
        Method::POST,
        &format!("/backups/{backup}/restore"),
        "3.0",
        Some(json!({"restore": {"volume_id": target}})),
    )
    .await;
    settle(&west.cloud);
    assert_eq!(west.get_volume(&target).await["status"], "error_restoring");
    // On the source cloud the deleted row is revived by an import of its record.
    let revived = import(&admin, &record).await;
    assert_eq!(revived.status, 201, "{revived:?}");
}

#[tokio::test]
async fn an_imported_incremental_needs_its_parent_imported_first() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let data = admin.cloud.volume_id("web-1-data").unwrap();
    let full = admin
        .backup(json!({"volume_id": data, "force": true}))
        .await;
    settle(&admin.cloud);
    admin.cloud.write_volume(&data, 5, b"changed").unwrap();
    let incremental = admin
        .backup(json!({"volume_id": data, "force": true, "incremental": true}))
        .await;
    settle(&admin.cloud);
    let west = west_admin(&sim).await;
    let parent = export(&admin, &full).await.body["backup-record"].clone();
    let decoded = STANDARD
        .decode(parent["backup_url"].as_str().unwrap())
        .unwrap();
    let decoded: Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(decoded["num_dependent_backups"], 1);
    let child = export(&admin, &incremental).await.body["backup-record"].clone();
    assert_eq!(import(&west, &child).await.status, 201);
    settle(&west.cloud);
    let restore = json!({"restore": {"name": "orphan"}});
    let orphan = west
        .volume(
            Method::POST,
            &format!("/backups/{incremental}/restore"),
            "3.0",
            Some(restore),
        )
        .await;
    let orphan = orphan.body["restore"]["volume_id"]
        .as_str()
        .unwrap()
        .to_owned();
    settle(&west.cloud);
    assert_eq!(
        west.get_volume(&orphan).await["status"],
        "error",
        "the parent is missing"
    );
    assert_eq!(import(&west, &parent).await.status, 201);
    settle(&west.cloud);
    let target = west.blank_volume("chain", 1).await;
    let restore = json!({"restore": {"volume_id": target}});
    west.volume(
        Method::POST,
        &format!("/backups/{incremental}/restore"),
        "3.0",
        Some(restore),
    )
    .await;
    settle(&west.cloud);
    assert_eq!(west.get_volume(&target).await["status"], "available");
    assert_eq!(
        west.cloud.volume_content(&target).unwrap(),
        admin.cloud.volume_content(&data).unwrap()
    );
}

#[tokio::test]
async fn bad_records_are_refused_or_end_in_error() {
    let sim = example().await;
    let west = west_admin(&sim).await;
    let garbage =
        json!({"backup_service": "cinder.backup.drivers.swift", "backup_url": "not base64!"});
    assert!(
        import(&west, &garbage)
            .await
            .error(400, "badRequest")
            .contains("Can't parse backup record")
    );
    let no_size = json!({"backup_service": "cinder.backup.drivers.swift",
                         "backup_url": STANDARD.encode(json!({"id": "x"}).to_string())});
    import(&west, &no_size).await.error(400, "badRequest");
    let thin = json!({"backup_service": "cinder.backup.drivers.swift",
                      "backup_url": STANDARD.encode(json!({"id": "thin-1", "size": 1}).to_string())});
    assert_eq!(import(&west, &thin).await.status, 201);
    settle(&west.cloud);
    let backup = west.get_backup("thin-1").await;
    assert_eq!(backup["status"], "error");
    assert!(
        backup["fail_reason"]
            .as_str()
            .unwrap()
            .contains("display_name")
    );
    let wrapped = west
        .volume(
            Method::POST,
            "/backups/import_record",
            "3.64",
            Some(json!({"record": {}})),
        )
        .await;
    wrapped.error(400, "badRequest");
}

#[tokio::test]
async fn a_per_user_store_keeps_another_project_from_the_data() {
    let fixture = CloudFixture::parse(
        "backup_stores: [{name: swift, auth: per-user}]
clouds:
  - name: one
    backup_store: swift
    projects: [{name: a}]
    users: [{name: admin, password: pw, roles: {a: admin}}]
    volumes: [{name: v, project: a, size_gib: 1, data: {seed: 9, blocks: 2}}]
  - name: two
    backup_store: swift
    projects: [{name: b}]
    users: [{name: admin, password: pw, roles: {b: admin}}]
",
        "per-user fixture",
    )
    .unwrap();
    let sim = start(&fixture).await;
    let (one, two) = (sim.cloud("one").unwrap(), sim.cloud("two").unwrap());
    let a = Session::login(one, "admin", "pw", "a").await;
    let backup = a
        .backup(json!({"volume_id": one.volume_id("v").unwrap()}))
        .await;
    settle(one);
    let record = export(&a, &backup).await.body["backup-record"].clone();
    let b = Session::login(two, "admin", "pw", "b").await;
    assert_eq!(import(&b, &record).await.status, 201);
    settle(two);
    assert_eq!(
        b.get_backup(&backup).await["status"],
        "available",
        "Cinder does not read the data on import"
    );
    let target = b.blank_volume("t", 1).await;
    let restore = json!({"restore": {"volume_id": target}});
    b.volume(
        Method::POST,
        &format!("/backups/{backup}/restore"),
        "3.0",
        Some(restore),
    )
    .await;
    settle(two);
    assert_eq!(
        b.get_volume(&target).await["status"],
        "error_restoring",
        "project b's account holds nothing"
    );
    let accounts: Vec<Value> = one.state_json()["store"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["account"].clone())
        .collect();
    let project = one.project_id("a").unwrap();
    assert!(
        accounts.iter().all(|a| *a == format!("AUTH_{project}")),
        "{accounts:?}"
    );
}

/// A record may name any parent: one naming itself is refused, and two naming each other make
/// a restore fail instead of walking the loop for ever.
#[tokio::test]
async fn records_whose_parents_loop_are_refused_or_fail_to_restore() {
    let sim = example().await;
    let west = west_admin(&sim).await;
    let record = |id: &str, parent: &str| {
        let row = json!({"id": id, "parent_id": parent, "size": 1, "display_name": id,
                         "display_description": "", "container": "volumebackups",
                         "service_metadata": format!("volume_x/1/az_nova_backup_{id}"),
                         "object_count": 2, "volume_id": "x"});
        json!({"backup_service": "cinder.backup.drivers.swift",
               "backup_url": STANDARD.encode(row.to_string())})
    };
    let own = import(&west, &record("self-1", "self-1")).await;
    assert!(own.error(400, "badRequest").contains("its own parent"));
    assert_eq!(import(&west, &record("loop-a", "loop-b")).await.status, 201);
    assert_eq!(import(&west, &record("loop-b", "loop-a")).await.status, 201);
    settle(&west.cloud);
    let target = west.blank_volume("t", 1).await;
    let restore = json!({"restore": {"volume_id": target}});
    let answer = west
        .volume(
            Method::POST,
            "/backups/loop-a/restore",
            "3.0",
            Some(restore),
        )
        .await;
    assert_eq!(answer.status, 202);
    settle(&west.cloud);
    assert_eq!(west.get_volume(&target).await["status"], "error_restoring");
}
