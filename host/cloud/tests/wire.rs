//! What the client sends, and where, seen through a recording proxy in front of the cloud
//! simulator: version documents that fail for a while are not taken as missing, `self` links
//! to another origin are not followed, restore and export_record go without a microversion
//! header, a Keystone outage does not stop a session whose token is still valid, and error
//! bodies that echo a secret across the cut of their excerpt show none of it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::proxy::{Canned, Proxy, Seen};
use common::*;
use lifeboat_cloud::block_storage::{BackupSpec, BackupStatus, RestoreTarget, VolumeStatus};
use lifeboat_cloud::microversion::Microversion;
use lifeboat_cloud::{Cloud, ErrorKind};
use lifeboat_sim::cloud::Cloud as SimCloud;
use lifeboat_sim::cloud::state::Fault;
use serde_json::json;

/// East's admin on production, connected through `proxy`.
async fn admin_through(east: &SimCloud, proxy: &Proxy) -> Cloud {
    let config = password_config(
        east,
        &proxy.auth_url(),
        "admin",
        EAST_ADMIN_PASSWORD,
        "production",
    );
    Cloud::connect(config)
        .await
        .unwrap_or_else(|error| panic!("the admin connects through the proxy: {error}"))
}

/// A switch a hook reads and the test flips.
fn switch(on: bool) -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(on))
}

/// The `OpenStack-API-Version` header of the requests to `path`.
fn versions_sent(proxy: &Proxy, method: &str, path: &str) -> Vec<Option<String>> {
    proxy
        .seen_at(method, path)
        .iter()
        .map(|seen| seen.header("openstack-api-version").map(str::to_owned))
        .collect()
}

/// Whether `seen` fetches one of Cinder's version documents.
fn volume_document(seen: &Seen) -> bool {
    seen.method == "GET" && matches!(seen.path(), "/volume/v3/" | "/volume/v3" | "/volume/")
}

/// Whether `seen` fetches one of Nova's version documents.
fn compute_document(seen: &Seen) -> bool {
    seen.method == "GET"
        && matches!(
            seen.path(),
            "/compute/v2.1" | "/compute/v2.1/" | "/compute/"
        )
}

/// A version document that answers 503 or 429 is a failure of the call, not a missing
/// document: the client does not fall back to the catalog URL without microversions and
/// remember that, but discovers again on the next call. A 404 still falls back.
#[tokio::test]
async fn version_documents_that_fail_for_now_are_discovered_again() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let proxy = Proxy::start(&east.base_url).await;
    let admin = admin_through(east, &proxy).await;
    let pid = east.project_id("production").unwrap();
    let data_id = east.volume_id("web-1-data").unwrap();
    let volume_path = format!("/volume/v3/{pid}/volumes/{data_id}");

    // Cinder's version documents are down (503, every probe URL).
    let down = switch(true);
    let hook_down = down.clone();
    proxy.intercept(move |seen| {
        (hook_down.load(Ordering::SeqCst) && volume_document(seen)).then(|| {
            Canned::json(
                503,
                json!({"message": "The server is currently unavailable.", "code": 503}),
            )
        })
    });
    let storage = admin.block_storage();
    let error = storage.get_volume(&data_id).await.unwrap_err();
    assert_eq!(error.call, "get volume", "{error}");
    assert!(
        matches!(error.kind, ErrorKind::Unavailable(_)),
        "a 503 version document fails the call: {error:?}"
    );
    assert!(
        proxy.seen_at("GET", &volume_path).is_empty(),
        "no request went to the catalog URL without microversions"
    );
    let probes = proxy.seen().iter().filter(|s| volume_document(s)).count();
    assert_eq!(
        probes, 1,
        "a failure ends the discovery: nothing else is probed"
    );

    // Back up: the next call discovers again and gets the microversions.
    down.store(false, Ordering::SeqCst);
    storage.get_volume(&data_id).await.unwrap();
    let range = storage.versions().await.unwrap().expect("microversions");
    assert_eq!(range.max, Microversion::new(3, 71));
    assert_eq!(
        versions_sent(&proxy, "GET", &volume_path),
        [Some("volume 3.71".to_owned())],
        "the volume is read with a microversion"
    );

    // Nova rate-limits its version documents (429): the same.
    let limited = switch(true);
    let hook_limited = limited.clone();
    proxy.intercept(move |seen| {
        (hook_limited.load(Ordering::SeqCst) && compute_document(seen)).then(|| {
            Canned::json(
                429,
                json!({"overLimit": {"code": 429, "message": "Rate limit exceeded."}}),
            )
        })
    });
    let compute = admin.compute();
    let error = compute.list_flavors().await.unwrap_err();
    assert_eq!(
        error.kind,
        ErrorKind::OverLimit("Rate limit exceeded.".into()),
        "{error:?}"
    );
    limited.store(false, Ordering::SeqCst);
    compute.list_flavors().await.unwrap();
    assert_eq!(
        compute.versions().await.unwrap().map(|range| range.max),
        Some(Microversion::new(2, 96))
    );
    assert_eq!(
        versions_sent(&proxy, "GET", "/compute/v2.1/flavors/detail"),
        [Some("compute 2.61".to_owned())]
    );

    // A document that is not there (404 at every probe URL) is no failure: the catalog URL is
    // used without microversions, and that is remembered.
    let other = admin_through(east, &proxy).await;
    proxy.intercept(|seen| {
        volume_document(seen).then(|| Canned::text(404, "The resource could not be found."))
    });
    let before = proxy.seen().len();
    other.block_storage().get_volume(&data_id).await.unwrap();
    assert_eq!(other.block_storage().versions().await.unwrap(), None);
    let tried: Vec<String> = proxy.seen()[before..]
        .iter()
        .filter(|s| volume_document(s))
        .map(|s| s.path().to_owned())
        .collect();
    assert_eq!(tried, ["/volume/v3/", "/volume/"], "both probe URLs tried");
    proxy.clear();
    other.block_storage().get_volume(&data_id).await.unwrap();
    assert_eq!(
        versions_sent(&proxy, "GET", &volume_path)[1..],
        [None, None],
        "without microversions, as remembered"
    );
}

/// A version document, fetched without a token, whose `self` link names another origin is
/// not followed: the password goes to the auth URL and the token to the catalog URL, both
/// through the proxy here, never straight to the other address the documents name.
#[tokio::test]
async fn self_links_to_another_origin_are_not_followed() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let proxy = Proxy::start(&east.base_url).await;
    // The documents name the simulator's own address: another port than the proxy's.
    let elsewhere = east.base_url.clone();
    proxy.intercept(move |seen| {
        if seen.method != "GET" {
            return None;
        }
        match seen.path() {
            "/identity/v3" | "/identity/v3/" => Some(Canned::json(
                200,
                json!({"version": {"id": "v3.14", "status": "stable",
                    "links": [{"rel": "self", "href": format!("{elsewhere}/identity/v3/")}]}}),
            )),
            "/volume/v3/" => Some(Canned::json(
                200,
                json!({"versions": [{"id": "v3.0", "status": "CURRENT", "version": "3.71",
                    "min_version": "3.0",
                    "links": [{"rel": "self", "href": format!("{elsewhere}/volume/v3/")}]}]}),
            )),
            _ => None,
        }
    });
    let admin = admin_through(east, &proxy).await;
    let tokens = proxy.seen_at("POST", "/identity/v3/auth/tokens");
    assert_eq!(
        tokens.len(),
        1,
        "the password went to the auth URL, not to the document's self link"
    );
    assert!(
        String::from_utf8_lossy(&tokens[0].body).contains(EAST_ADMIN_PASSWORD),
        "the proxy saw the authentication"
    );

    let pid = east.project_id("production").unwrap();
    let data_id = east.volume_id("web-1-data").unwrap();
    let storage = admin.block_storage();
    let volume = storage.get_volume(&data_id).await.unwrap();
    assert_eq!(volume.name.as_deref(), Some("web-1-data"));
    let sent = proxy.seen_at("GET", &format!("/volume/v3/{pid}/volumes/{data_id}"));
    assert_eq!(sent.len(), 1, "the token went to the catalog URL");
    assert!(sent[0].header("x-auth-token").is_some());
    assert_eq!(
        sent[0].header("openstack-api-version"),
        Some("volume 3.71"),
        "the document's microversions are still used"
    );
}

/// openstacksdk restores a backup and exports its record without a microversion header
/// (reference §0.8, §2.3); the client does the same, and both still work at the base
/// version. Backup creation goes with 3.64.
#[tokio::test]
async fn restore_and_export_record_go_without_a_microversion() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let proxy = Proxy::start(&east.base_url).await;
    let admin = admin_through(east, &proxy).await;
    let storage = admin.block_storage();
    let pid = east.project_id("production").unwrap();
    let logs_id = east.volume_id("web-1-logs").unwrap();
    let backup_id = storage
        .create_backup(&BackupSpec {
            volume_id: logs_id.clone(),
            force: true,
            ..BackupSpec::default()
        })
        .await
        .unwrap();
    storage
        .wait_for_backup(&backup_id, &BackupStatus::Available, &[], WAIT)
        .await
        .unwrap();
    assert_eq!(
        versions_sent(&proxy, "POST", &format!("/volume/v3/{pid}/backups")),
        [Some("volume 3.64".to_owned())]
    );

    let record = storage.export_backup_record(&backup_id).await.unwrap();
    assert!(!record.backup_url.is_empty());
    let restore = storage
        .restore_backup(
            &backup_id,
            &RestoreTarget::NewVolume {
                name: Some("logs-restored".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(restore.backup_id, backup_id);
    assert_eq!(restore.volume_name.as_deref(), Some("logs-restored"));
    let restored = storage
        .wait_for_volume(
            &restore.volume_id,
            &VolumeStatus::Available,
            &[VolumeStatus::Error, VolumeStatus::ErrorRestoring],
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(restored.metadata["src_backup_id"], backup_id);
    assert_eq!(content(east, &restore.volume_id), content(east, &logs_id));

    let backup_path = format!("/volume/v3/{pid}/backups/{backup_id}");
    assert_eq!(
        versions_sent(&proxy, "GET", &format!("{backup_path}/export_record")),
        [None],
        "export_record goes without a microversion"
    );
    let restores = proxy.seen_at("POST", &format!("{backup_path}/restore"));
    assert_eq!(restores.len(), 1);
    assert_eq!(
        restores[0].header("openstack-api-version"),
        None,
        "restore goes without a microversion"
    );
    assert!(restores[0].header("x-auth-token").is_some());
}

/// Keystone is down when the token is due for renewal, ahead of its expiry: the calls go on
/// with the current token, renewal is tried again a little later (not on every call), and
/// the token is renewed once Keystone is back. A token refused with 401 while Keystone is
/// down still fails the call.
#[tokio::test]
async fn a_keystone_outage_before_the_expiry_does_not_stop_the_session() {
    // Tokens of 4 s: renewed after 2 s, at most 10 s later after a failure, or at the expiry.
    let fixture = fixture_edited(|text| {
        text.replacen(
            "    region: RegionOne\n",
            "    region: RegionOne\n    token_seconds: 4\n",
            1,
        )
    });
    let sim = start_with(&fixture).await;
    let east = cloud(&sim, "east");
    let proxy = Proxy::start(&east.base_url).await;
    let admin = admin_through(east, &proxy).await;
    let storage = admin.block_storage();
    let data_id = east.volume_id("web-1-data").unwrap();
    storage.get_volume(&data_id).await.unwrap();
    let authentications = || proxy.seen_at("POST", "/identity/v3/auth/tokens").len();
    assert_eq!(authentications(), 1);

    let down = switch(true);
    let hook_down = down.clone();
    proxy.intercept(move |seen| {
        (hook_down.load(Ordering::SeqCst) && seen.is("POST", "/identity/v3/auth/tokens")).then(
            || {
                Canned::json(
                    503,
                    json!({"error": {"code": 503, "title": "Service Unavailable",
                                     "message": "Keystone is down."}}),
                )
            },
        )
    });
    tokio::time::sleep(Duration::from_millis(2300)).await;
    storage
        .get_volume(&data_id)
        .await
        .expect("the current token is still valid: the call goes on with it");
    assert_eq!(authentications(), 2, "one renewal was tried");
    for _ in 0..3 {
        storage.get_volume(&data_id).await.unwrap();
    }
    assert_eq!(
        authentications(),
        2,
        "after a failed renewal, the next try waits a little"
    );
    assert_eq!(issued_tokens(east).len(), 1);

    // Keystone is back; at the token's expiry (4 s) the client renews it.
    down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    storage.get_volume(&data_id).await.unwrap();
    assert_eq!(authentications(), 3, "renewed once Keystone answers");
    assert_eq!(issued_tokens(east).len(), 2, "a new token");

    // A token refused with 401 while Keystone is down: the call fails, as Keystone's error.
    down.store(true, Ordering::SeqCst);
    east.arm(&Fault::ExpireTokens);
    let error = storage.get_volume(&data_id).await.unwrap_err();
    assert_eq!(error.call, "authenticate", "{error}");
    assert_eq!(
        error.kind,
        ErrorKind::Unavailable("Keystone is down.".into())
    );
    assert_shows_no_secret(&error, FIXTURE_SECRETS);
}

/// Error bodies that echo the password or the token right where the excerpt of an
/// unstructured body is cut: no part of either shows in the error.
#[tokio::test]
async fn secrets_echoed_across_the_excerpts_cut_are_scrubbed() {
    // How much of an unstructured body an error keeps (fault.rs).
    const EXCERPT: usize = 500;
    let sim = start().await;
    let east = cloud(&sim, "east");
    let proxy = Proxy::start(&east.base_url).await;

    // Keystone echoes the password, its first 6 bytes before the cut.
    proxy.intercept(|seen| {
        seen.is("POST", "/identity/v3/auth/tokens").then(|| {
            Canned::text(
                400,
                format!(
                    "{}{EAST_ADMIN_PASSWORD} was refused",
                    "x".repeat(EXCERPT - 6)
                ),
            )
        })
    });
    let config = password_config(
        east,
        &proxy.auth_url(),
        "admin",
        EAST_ADMIN_PASSWORD,
        "production",
    );
    let refused = Cloud::connect(config).await.unwrap_err();
    assert_eq!(refused.call, "authenticate");
    let ErrorKind::BadRequest(message) = &refused.kind else {
        panic!("a bad request expected: {refused:?}");
    };
    assert!(message.ends_with('…'), "the body was cut: {message}");

    // A service echoes the token, its first 6 bytes before the cut.
    proxy.clear();
    let admin = admin_through(east, &proxy).await;
    let data_id = east.volume_id("web-1-data").unwrap();
    proxy.intercept(move |seen| {
        let token = seen.header("x-auth-token")?;
        seen.path().ends_with("/volumes/detail").then(|| {
            Canned::text(
                400,
                format!("{}{token} is not welcome here", "x".repeat(EXCERPT - 6)),
            )
        })
    });
    let listed = admin
        .block_storage()
        .list_volumes(&Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(listed.kind, ErrorKind::BadRequest(_)),
        "{listed:?}"
    );
    admin.block_storage().get_volume(&data_id).await.unwrap();

    let tokens = issued_tokens(east);
    for error in [&refused, &listed] {
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("***"), "the secret was scrubbed: {shown}");
        for secret in [EAST_ADMIN_PASSWORD]
            .into_iter()
            .chain(tokens.iter().map(String::as_str))
        {
            assert!(
                !shown.contains(&secret[..6]),
                "an error shows the start of a secret: {shown}"
            );
        }
    }
}
