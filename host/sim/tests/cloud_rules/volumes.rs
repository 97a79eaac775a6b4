//! Cinder volumes, snapshots and transfers (reference §2.5): statuses that move with time,
//! `bootable` as a string, `force` for in-use snapshots, delete rules, quotas, transfers.

use std::time::Duration;

use lifeboat_sim::cloud::CloudFixture;
use reqwest::Method;
use serde_json::json;

use super::{Session, example, settle, start};

#[tokio::test]
async fn a_volume_is_creating_until_its_time_has_come() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let timings = json!({"volume_create_ms": 60_000});
    let control = format!("{}/_sim/timings", admin.cloud.base_url);
    assert_eq!(
        reqwest::Client::new()
            .post(&control)
            .json(&timings)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let answer = admin
        .volume(
            Method::POST,
            "/volumes",
            "3.71",
            Some(json!({"volume": {"size": 1, "name": "slow"}})),
        )
        .await;
    assert_eq!(answer.status, 202);
    assert_eq!(answer.body["volume"]["status"], "creating");
    let id = answer.body["volume"]["id"].as_str().unwrap();
    admin.cloud.advance(Duration::from_secs(59));
    assert_eq!(admin.get_volume(id).await["status"], "creating");
    admin.cloud.advance(Duration::from_secs(2));
    let volume = admin.get_volume(id).await;
    assert_eq!(volume["status"], "available");
    assert_eq!(volume["bootable"], "false", "bootable is a string");
}

#[tokio::test]
async fn bootable_and_image_metadata_are_set_by_actions() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let system = admin
        .get_volume(&admin.cloud.volume_id("web-1-system").unwrap())
        .await;
    assert_eq!(system["bootable"], "true");
    assert_eq!(system["volume_image_metadata"]["hw_firmware_type"], "uefi");
    assert_eq!(system["volume_image_metadata"]["image_name"], "debian-12");
    let id = admin.blank_volume("plain", 1).await;
    let path = format!("/volumes/{id}/action");
    let set = admin
        .volume(
            Method::POST,
            &path,
            "3.71",
            Some(json!({"os-set_bootable": {"bootable": "True"}})),
        )
        .await;
    assert_eq!(set.status, 200, "{set:?}");
    let metadata = json!({"os-set_image_metadata": {"metadata": {"hw_machine_type": "q35"}}});
    assert_eq!(
        admin
            .volume(Method::POST, &path, "3.71", Some(metadata))
            .await
            .status,
        200
    );
    let volume = admin.get_volume(&id).await;
    assert_eq!(volume["bootable"], "true");
    assert_eq!(
        volume["volume_image_metadata"],
        json!({"hw_machine_type": "q35"})
    );
    let bad = admin
        .volume(
            Method::POST,
            &path,
            "3.71",
            Some(json!({"os-set_bootable": {"bootable": "maybe"}})),
        )
        .await;
    bad.error(400, "badRequest");
    let unknown = admin
        .volume(Method::POST, &path, "3.71", Some(json!({"os-explode": {}})))
        .await;
    unknown.error(400, "badRequest");
    let metadata = format!("/volumes/{id}/metadata");
    let merged = admin
        .volume(
            Method::POST,
            &metadata,
            "3.71",
            Some(json!({"metadata": {"a": "1"}})),
        )
        .await;
    assert_eq!(merged.body["metadata"], json!({"a": "1"}));
    admin
        .volume(
            Method::POST,
            &metadata,
            "3.71",
            Some(json!({"metadata": {"b": "2"}})),
        )
        .await;
    let read = admin.volume(Method::GET, &metadata, "3.71", None).await;
    assert_eq!(
        read.body["metadata"],
        json!({"a": "1", "b": "2"}),
        "metadata is merged"
    );
}

#[tokio::test]
async fn snapshots_of_in_use_volumes_need_force_and_keep_the_content_of_their_moment() {
    let sim = example().await;
    let admin = Session::east_admin(&sim).await;
    let data = admin.cloud.volume_id("web-1-data").unwrap();
    let body = |force: bool| json!({"snapshot": {"volume_id": data, "name": "s", "force": force}});
    let refused = admin
        .volume(Method::POST, "/snapshots", "3.65", Some(body(false)))
        .await;
    assert!(refused.error(400, "badRequest").contains("in-use"));
    let taken = admin
        .volume(Method::POST, "/snapshots", "3.65", Some(body(true)))
        .await;
    assert_eq!(taken.status, 202);
    // From 3.66 force is implied, and an explicit false is refused.
    let implied = json!({"snapshot": {"volume_id": data}});
    let implied = admin
        .volume(Method::POST, "/snapshots", "3.66", Some(implied))
        .await;
    assert_eq!(implied.status, 202);
    let explicit = admin
        .volume(Method::POST, "/snapshots", "3.66", Some(body(false)))
        .await;
    assert!(explicit.error(400, "badRequest").contains("3.66"));
    let snapshot = taken.body["snapshot"]["id"].as_str().unwrap().to_owned();
    let before = admin.cloud.volume_content(&data).unwrap();
    admin
        .cloud
        .write_volume(&data, 0, b"after the snapshot")
        .unwrap();
    settle(&admin.cloud);
    let from = admin
        .volume(
            Method::POST,
            "/volumes",
            "3.71",
            Some(json!({"volume": {"snapshot_id": snapshot}})),
        )
        .await;
    assert_eq!(from.status, 202);
    let copy = from.body["volume"]["id"].as_str().unwrap();
    settle(&admin.cloud);
    assert_eq!(
        admin.get_volume(copy).await["size"],
        1,
        "the snapshot's size by default"
    );
    assert_eq!(admin.cloud.volume_content(copy).unwrap(), before);
    // A volume with snapshots cannot be deleted, nor one in use.
    let detached = admin.blank_volume("d", 1).await;
    let snap = admin
        .volume(
            Method::POST,
            "/snapshots",
            "3.71",
            Some(json!({"snapshot": {"volume_id": detached}})),
        )
        .await;
    settle(&admin.cloud);
    let refused = admin
        .volume(
            Method::DELETE,
            &format!("/volumes/{detached}"),
            "3.71",
            None,
        )
        .await;
    assert!(refused.error(400, "badRequest").contains("snapshots"));
    let in_use = admin
        .volume(Method::DELETE, &format!("/volumes/{data}"), "3.71", None)
        .await;
    in_use.error(400, "badRequest");
    let snap = snap.body["snapshot"]["id"].as_str().unwrap();
    assert_eq!(
        admin
            .volume(Method::DELETE, &format!("/snapshots/{snap}"), "3.71", None)
            .await
            .status,
        202
    );
    settle(&admin.cloud);
    assert_eq!(
        admin
            .volume(
                Method::DELETE,
                &format!("/volumes/{detached}"),
                "3.71",
                None
            )
            .await
            .status,
        202
    );
    assert_eq!(admin.get_volume(&detached).await["status"], "deleting");
    settle(&admin.cloud);
    let gone = admin
        .volume(Method::GET, &format!("/volumes/{detached}"), "3.71", None)
        .await;
    gone.error(404, "itemNotFound");
}

#[tokio::test]
async fn a_volume_moves_to_another_project_by_transfer() {
    let sim = example().await;
    let east = sim.cloud("east").unwrap();
    let alice = Session::login(east, "alice", "alice-secret", "production").await;
    let bob = Session::login(east, "bob", "bob-secret", "recovery").await;
    let id = alice.blank_volume("moving", 1).await;
    let offer = alice
        .volume(
            Method::POST,
            "/volume-transfers",
            "3.55",
            Some(json!({"transfer": {"volume_id": id, "name": "to-recovery"}})),
        )
        .await;
    assert_eq!(offer.status, 202, "{offer:?}");
    assert_eq!(alice.get_volume(&id).await["status"], "awaiting-transfer");
    let transfer = offer.body["transfer"]["id"].as_str().unwrap();
    let key = offer.body["transfer"]["auth_key"].as_str().unwrap();
    let accept = |key: &str| json!({"accept": {"auth_key": key}});
    let path = format!("/volume-transfers/{transfer}/accept");
    bob.volume(Method::POST, &path, "3.55", Some(accept("wrong")))
        .await
        .error(400, "badRequest");
    let accepted = bob
        .volume(Method::POST, &path, "3.55", Some(accept(key)))
        .await;
    assert_eq!(accepted.status, 202);
    assert_eq!(accepted.body["transfer"]["volume_id"], id.as_str());
    assert_eq!(accepted.body["transfer"]["name"], "to-recovery");
    assert_eq!(bob.get_volume(&id).await["status"], "available");
    alice
        .volume(Method::GET, &format!("/volumes/{id}"), "3.71", None)
        .await
        .error(404, "itemNotFound");
    // Before 3.55 the route was os-volume-transfer.
    let old = alice
        .volume(
            Method::POST,
            "/volume-transfers",
            "3.54",
            Some(json!({"transfer": {"volume_id": id}})),
        )
        .await;
    assert_eq!(old.status, 404);
}

#[tokio::test]
async fn quotas_refuse_with_413() {
    let fixture = CloudFixture::parse(
        "clouds:
  - name: small
    projects: [{name: p, quotas: {volumes: 1, gigabytes: 3}}]
    users: [{name: u, password: pw, roles: {p: member}}]
",
        "quota fixture",
    )
    .unwrap();
    let sim = start(&fixture).await;
    let user = Session::login(sim.cloud("small").unwrap(), "u", "pw", "p").await;
    let big = user
        .volume(
            Method::POST,
            "/volumes",
            "3.71",
            Some(json!({"volume": {"size": 4}})),
        )
        .await;
    assert!(big.error(413, "overLimit").contains("gigabytes"));
    user.blank_volume("one", 1).await;
    let second = user
        .volume(
            Method::POST,
            "/volumes",
            "3.71",
            Some(json!({"volume": {"size": 1}})),
        )
        .await;
    assert!(second.error(413, "overLimit").contains("volumes"));
    // No backup store: backup calls answer 503.
    let backups = user.volume(Method::GET, "/backups", "3.64", None).await;
    assert_eq!(backups.status, 200);
    let create = user
        .volume(
            Method::POST,
            "/backups",
            "3.64",
            Some(json!({"backup": {"volume_id": "x"}})),
        )
        .await;
    create.error(503, "serviceUnavailable");
}
