//! Cinder backups (reference §2.4): status preconditions and round trips, `force`, incremental
//! parents chosen by `data_timestamp`, the blocks an incremental stores, deletes refused while
//! dependents live, and faults.

use std::time::Duration;

use lifeboat_sim::cloud::state::{Fault, Operation};
use reqwest::Method;
use serde_json::json;

use super::{Session, backup_row, example, settle};

#[tokio::test]
async fn an_in_use_volume_needs_force_and_returns_to_in_use() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let data = admin.cloud.volume_id("web-1-data").unwrap();
    let refused = admin
        .volume(
            Method::POST,
            "/backups",
            "3.64",
            Some(json!({"backup": {"volume_id": data}})),
        )
        .await;
    assert_eq!(
        refused.error(400, "badRequest"),
        "Invalid volume: Backing up an in-use volume must use the force flag."
    );
    let answer = admin
        .volume(
            Method::POST,
            "/backups",
            "3.64",
            Some(json!({"backup": {"volume_id": data, "force": true, "name": "b"}})),
        )
        .await;
    assert_eq!(answer.status, 202);
    let keys: Vec<&String> = answer.body["backup"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["id", "links", "name"],
        "the create answer has no status"
    );
    let id = answer.body["backup"]["id"].as_str().unwrap();
    assert_eq!(admin.get_volume(&data).await["status"], "backing-up");
    assert_eq!(admin.get_backup(id).await["status"], "creating");
    // A second backup of a volume that is backing up is refused.
    let busy = admin
        .volume(
            Method::POST,
            "/backups",
            "3.64",
            Some(json!({"backup": {"volume_id": data, "force": true}})),
        )
        .await;
    assert!(busy.error(400, "badRequest").contains("backing-up"));
    settle(&admin.cloud);
    assert_eq!(admin.get_volume(&data).await["status"], "in-use");
    let backup = admin.get_backup(id).await;
    assert_eq!(backup["status"], "available");
    assert_eq!(
        (backup["size"].as_u64(), backup["is_incremental"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(backup["container"], "volumebackups");
    assert!(
        backup.get("parent_id").is_none(),
        "Cinder does not expose parent_id"
    );
    assert!(
        backup.get("metadata").is_some() && backup.get("user_id").is_some(),
        "3.43 and 3.56 fields"
    );
    let old = admin
        .volume(Method::GET, &format!("/backups/{id}"), "3.42", None)
        .await;
    assert!(old.body["backup"].get("metadata").is_none());
}

#[tokio::test]
async fn incrementals_chain_on_the_latest_backup_and_store_only_changed_blocks() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let data = admin.cloud.volume_id("web-1-data").unwrap();
    let incremental = json!({"volume_id": data, "force": true, "incremental": true});
    let none = admin
        .volume(
            Method::POST,
            "/backups",
            "3.64",
            Some(json!({"backup": incremental})),
        )
        .await;
    assert_eq!(
        none.error(400, "badRequest"),
        "Invalid backup: No backups available to do an incremental backup."
    );
    let full = admin
        .backup(json!({"volume_id": data, "force": true}))
        .await;
    settle(&admin.cloud);
    admin
        .cloud
        .write_volume(&data, 3 * 65536 + 10, b"one block changes")
        .unwrap();
    let first = admin.backup(incremental.clone()).await;
    settle(&admin.cloud);
    let second = admin.backup(incremental.clone()).await;
    settle(&admin.cloud);
    let row = |id: &str| backup_row(&admin.cloud, id);
    assert_eq!(row(&first)["parent_id"], full.as_str());
    assert_eq!(
        row(&second)["parent_id"],
        first.as_str(),
        "the parent is the latest by data_timestamp"
    );
    // 4 blocks + hash file + metadata; then 1 changed block + 2; then nothing changed + 2.
    let counts: Vec<u64> = [&full, &first, &second]
        .iter()
        .map(|id| row(id)["object_count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [6, 3, 2]);
    let objects = admin.cloud.state_json()["store"]["objects"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(objects, 11);
    let parent = admin.get_backup(&full).await;
    assert_eq!(parent["has_dependent_backups"], true);
    assert_eq!(admin.get_backup(&second).await["is_incremental"], true);

    let refused = admin
        .volume(Method::DELETE, &format!("/backups/{full}"), "3.64", None)
        .await;
    assert_eq!(
        refused.error(400, "badRequest"),
        "Invalid backup: Incremental backups exist for this backup."
    );
    for id in [&second, &first, &full] {
        let answer = admin
            .volume(Method::DELETE, &format!("/backups/{id}"), "3.64", None)
            .await;
        assert_eq!(answer.status, 202, "newest first: {answer:?}");
        assert_eq!(admin.get_backup(id).await["status"], "deleting");
        settle(&admin.cloud);
        admin
            .volume(Method::GET, &format!("/backups/{id}"), "3.64", None)
            .await
            .error(404, "itemNotFound");
    }
    assert_eq!(
        admin.cloud.state_json()["store"]["objects"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "a delete removes the objects"
    );
}

#[tokio::test]
async fn a_snapshot_backup_chains_on_the_latest_backup_older_than_the_snapshot() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let data = admin.cloud.volume_id("web-1-data").unwrap();
    let older = admin
        .backup(json!({"volume_id": data, "force": true}))
        .await;
    settle(&admin.cloud);
    let snapshot = admin
        .volume(
            Method::POST,
            "/snapshots",
            "3.71",
            Some(json!({"snapshot": {"volume_id": data, "force": true}})),
        )
        .await;
    let snapshot = snapshot.body["snapshot"]["id"].as_str().unwrap().to_owned();
    settle(&admin.cloud);
    let newer = admin
        .backup(json!({"volume_id": data, "force": true, "incremental": true}))
        .await;
    settle(&admin.cloud);
    let from_snapshot = admin
        .backup(json!({"volume_id": data, "snapshot_id": snapshot, "incremental": true}))
        .await;
    settle(&admin.cloud);
    let row = |id: &str| backup_row(&admin.cloud, id);
    assert_eq!(row(&newer)["parent_id"], older.as_str());
    assert_eq!(
        row(&from_snapshot)["parent_id"],
        older.as_str(),
        "the newer backup postdates the snapshot"
    );
    assert_eq!(
        admin.get_backup(&from_snapshot).await["snapshot_id"],
        snapshot.as_str()
    );
    // A snapshot of another volume is refused.
    let other = admin.cloud.volume_id("web-1-logs").unwrap();
    let wrong = admin
        .volume(
            Method::POST,
            "/backups",
            "3.64",
            Some(json!({"backup": {"volume_id": other, "force": true, "snapshot_id": snapshot}})),
        )
        .await;
    wrong.error(400, "badRequest");
}

#[tokio::test]
async fn unknown_keys_are_refused_from_3_53_and_deletes_need_a_settled_status() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let logs = admin.cloud.volume_id("web-1-logs").unwrap();
    let body = json!({"backup": {"volume_id": logs, "force": true, "colour": "blue"}});
    let strict = admin
        .volume(Method::POST, "/backups", "3.53", Some(body.clone()))
        .await;
    assert!(
        strict
            .error(400, "badRequest")
            .contains("'colour' was unexpected")
    );
    let lax = admin
        .volume(Method::POST, "/backups", "3.52", Some(body))
        .await;
    assert_eq!(lax.status, 202);
    let id = lax.body["backup"]["id"].as_str().unwrap();
    let early = admin
        .volume(Method::DELETE, &format!("/backups/{id}"), "3.64", None)
        .await;
    assert!(early.error(400, "badRequest").contains("creating"));
    // Only an administrator may force a delete.
    let alice = Session::login(&admin.cloud, "alice", "alice-secret", "production").await;
    let forced = alice
        .volume(
            Method::POST,
            &format!("/backups/{id}/action"),
            "3.64",
            Some(json!({"os-force_delete": {}})),
        )
        .await;
    forced.error(403, "forbidden");
    let admin_forced = admin
        .volume(
            Method::POST,
            &format!("/backups/{id}/action"),
            "3.64",
            Some(json!({"os-force_delete": {}})),
        )
        .await;
    assert_eq!(admin_forced.status, 202);
}

#[tokio::test]
async fn faults_fail_backups_take_the_service_down_and_exhaust_quotas() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let logs = admin.cloud.volume_id("web-1-logs").unwrap();
    admin.cloud.arm(&Fault::Fail {
        operation: Operation::Backup,
        count: 1,
        reason: "swift is full".into(),
    });
    let failed = admin
        .backup(json!({"volume_id": logs, "force": true}))
        .await;
    settle(&admin.cloud);
    let backup = admin.get_backup(&failed).await;
    assert_eq!(
        (backup["status"].as_str(), backup["fail_reason"].as_str()),
        (Some("error"), Some("swift is full"))
    );
    assert_eq!(
        admin.get_volume(&logs).await["status"],
        "in-use",
        "the volume returns to its status"
    );
    assert_eq!(
        admin
            .volume(Method::DELETE, &format!("/backups/{failed}"), "3.64", None)
            .await
            .status,
        202,
        "an errored backup can be deleted"
    );

    admin.cloud.arm(&Fault::OverQuota { count: 1 });
    let over = admin
        .volume(
            Method::POST,
            "/backups",
            "3.64",
            Some(json!({"backup": {"volume_id": logs, "force": true}})),
        )
        .await;
    over.error(413, "overLimit");
    admin.cloud.arm(&Fault::BackupServiceDown);
    admin.cloud.arm(&Fault::Fail {
        operation: Operation::Restore,
        count: 2,
        reason: "later".into(),
    });
    let faults = format!("{}/_sim/faults", admin.cloud.base_url);
    let armed: serde_json::Value = reqwest::Client::new()
        .get(&faults)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(armed["backup_service_down"], true, "{armed}");
    assert_eq!(armed["failures"]["restore"], json!([2, "later"]), "{armed}");
    let down = admin
        .volume(
            Method::POST,
            "/backups",
            "3.64",
            Some(json!({"backup": {"volume_id": logs, "force": true}})),
        )
        .await;
    down.error(503, "serviceUnavailable");
    let zero = json!({"kind": "fail", "operation": "backup", "count": 0});
    let refused = reqwest::Client::new()
        .post(&faults)
        .json(&zero)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        400,
        "a count of zero arms nothing and is refused"
    );
    assert_eq!(
        reqwest::Client::new()
            .delete(&faults)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let timings = format!("{}/_sim/timings", admin.cloud.base_url);
    let slow = reqwest::Client::new()
        .post(&timings)
        .json(&json!({"backup_ms": 60_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), 204);
    let up = admin
        .backup(json!({"volume_id": logs, "force": true}))
        .await;
    admin.cloud.advance(Duration::from_secs(59));
    assert_eq!(admin.get_backup(&up).await["status"], "creating");
    admin.cloud.advance(Duration::from_secs(2));
    assert_eq!(admin.get_backup(&up).await["status"], "available");
    let listed = admin
        .volume(
            Method::GET,
            &format!("/backups/detail?volume_id={logs}&status=available"),
            "3.64",
            None,
        )
        .await;
    assert_eq!(listed.body["backups"].as_array().unwrap().len(), 1);
}

/// The backup is the caller's project's, also when an administrator backs up another project's
/// volume; its availability zone is read from 3.51 on.
#[tokio::test]
async fn a_backup_belongs_to_the_callers_project_and_reads_its_zone_from_3_51() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let bob = Session::login(&admin.cloud, "bob", "bob-secret", "recovery").await;
    let volume = bob.blank_volume("bobs", 1).await;
    let early = json!({"backup": {"volume_id": volume, "availability_zone": "far"}});
    let early = admin
        .volume(Method::POST, "/backups", "3.50", Some(early))
        .await;
    let early = early.body["backup"]["id"].as_str().unwrap().to_owned();
    settle(&admin.cloud);
    let row = backup_row(&admin.cloud, &early);
    assert_eq!(row["project_id"], admin.project_id.as_str());
    assert!(
        row["service_metadata"]
            .as_str()
            .unwrap()
            .contains("az_nova_"),
        "{row}"
    );
    let late = admin
        .backup(json!({"volume_id": volume, "availability_zone": "far"}))
        .await;
    settle(&admin.cloud);
    assert_eq!(admin.get_backup(&late).await["availability_zone"], "far");
}
