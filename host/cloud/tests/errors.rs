//! Bad input and failures against the cloud simulator, and the typed errors the client gives
//! for them: tokens that expire (renewed without the caller noticing), refused credentials,
//! unknown ids, a backup service that is down, quotas, microversions the cloud lacks, failed
//! and overdue asynchronous operations, policy refusals and unreachable clouds. No error may
//! show a password, a token or a transfer's auth key.

mod common;

use std::time::{Duration, Instant};

use common::*;
use lifeboat_cloud::block_storage::{
    BackupSpec, BackupStatus, BlockStorage, RestoreTarget, SnapshotSpec, VolumeSource, VolumeSpec,
    VolumeStatus,
};
use lifeboat_cloud::compute::{BlockDevice, Networks, ServerSpec, ServerStatus};
use lifeboat_cloud::microversion::Microversion;
use lifeboat_cloud::{
    Cloud, CloudConfig, CloudError, Credentials, ErrorKind, ProjectScope, Secret,
};
use lifeboat_sim::cloud::Cloud as SimCloud;
use lifeboat_sim::cloud::state::{Fault, Operation};
use reqwest::Method;

/// Asserts that no error shows a fixture password or secret, or a token `clouds` issued.
fn assert_no_secrets(errors: &[&CloudError], clouds: &[&SimCloud], extra: &[&str]) {
    let mut secrets: Vec<String> = FIXTURE_SECRETS.iter().map(|s| s.to_string()).collect();
    secrets.extend(extra.iter().map(|s| s.to_string()));
    for cloud in clouds {
        secrets.extend(issued_tokens(cloud));
    }
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    for error in errors {
        assert_shows_no_secret(*error, &secrets);
    }
}

fn spec(name: &str, size: u64) -> VolumeSpec {
    VolumeSpec {
        size,
        name: Some(name.into()),
        ..VolumeSpec::default()
    }
}

fn forced_backup(volume_id: &str) -> BackupSpec {
    BackupSpec {
        volume_id: volume_id.into(),
        force: true,
        ..BackupSpec::default()
    }
}

async fn backup_and_wait(storage: &BlockStorage, volume_id: &str) -> String {
    let id = storage
        .create_backup(&forced_backup(volume_id))
        .await
        .unwrap();
    storage
        .wait_for_backup(&id, &BackupStatus::Available, &[BackupStatus::Error], WAIT)
        .await
        .unwrap();
    id
}

/// A Keystone whose tokens are all revoked at once: the next call is refused with 401, the
/// client authenticates again and repeats it, and the caller sees only the success. Calls
/// that see the same token refused together authenticate once.
#[tokio::test]
async fn revoked_tokens_are_replaced_without_the_caller_noticing() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let admin = east_admin(&sim).await;
    let storage = admin.block_storage();
    let data_id = east.volume_id("web-1-data").unwrap();
    storage.get_volume(&data_id).await.unwrap();
    let first = issued_tokens(east);
    assert_eq!(first.len(), 1, "one token so far");

    east.arm(&Fault::ExpireTokens);
    assert!(issued_tokens(east).is_empty(), "every token is revoked");
    let volume = storage
        .get_volume(&data_id)
        .await
        .expect("the client authenticates again and repeats the call");
    assert_eq!(volume.name.as_deref(), Some("web-1-data"));
    let second = issued_tokens(east);
    assert_eq!(second.len(), 1, "one new token: {second:?}");
    assert_ne!(second, first);
    // Compute, on the same session, goes on with the new token.
    admin.compute().list_flavors().await.unwrap();
    assert_eq!(issued_tokens(east), second, "no further authentication");

    east.arm(&Fault::ExpireTokens);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (storage, id) = (storage.clone(), data_id.clone());
        calls.spawn(async move { storage.get_volume(&id).await });
    }
    for answer in calls.join_all().await {
        answer.expect("every call succeeds after the revocation");
    }
    assert_eq!(
        issued_tokens(east).len(),
        1,
        "six calls refused together authenticate once"
    );

    // An application credential authenticates again the same way.
    let member = Cloud::connect(application_credential_config(east))
        .await
        .unwrap();
    east.arm(&Fault::ExpireTokens);
    member.block_storage().get_volume(&data_id).await.unwrap();
    assert_eq!(issued_tokens(east).len(), 1);
}

/// A password changed under a running session: the session goes on with its token until the
/// token is refused, then cannot authenticate again and fails as Unauthorized.
#[tokio::test]
async fn a_password_changed_under_a_session_ends_it() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let alice = connect(east, "alice", ALICE_PASSWORD, "production").await;
    let storage = alice.block_storage();
    let data_id = east.volume_id("web-1-data").unwrap();
    east.with(|state| {
        let user = state.identity.users.iter_mut().find(|u| u.name == "alice");
        user.unwrap().password = Secret::new("alice-new-secret");
    });
    storage
        .get_volume(&data_id)
        .await
        .expect("the token still works");
    let tokens = issued_tokens(east);
    east.arm(&Fault::ExpireTokens);
    let error = storage.get_volume(&data_id).await.unwrap_err();
    assert_eq!(error.call, "authenticate", "{error}");
    assert_eq!(error.kind, ErrorKind::Unauthorized);
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    assert_no_secrets(&[&error], &[east], &tokens);
}

/// Tokens that outlive their lifetime on the cloud's clock (moved on by `advance`) are refused
/// and replaced; a token close to its expiry on the client's clock is replaced before use.
#[tokio::test]
async fn expired_tokens_are_replaced() {
    let fixture = fixture_edited(|text| {
        text.replacen(
            "    region: RegionOne\n",
            "    region: RegionOne\n    token_seconds: 2\n",
            1,
        )
    });
    let sim = start_with(&fixture).await;
    let east = cloud(&sim, "east");
    let admin = east_admin(&sim).await;
    let storage = admin.block_storage();
    let data_id = east.volume_id("web-1-data").unwrap();
    storage.get_volume(&data_id).await.unwrap();
    assert_eq!(issued_tokens(east).len(), 1);

    // The cloud's clock jumps past the token's expiry; the client's does not.
    east.advance(Duration::from_secs(3));
    storage
        .get_volume(&data_id)
        .await
        .expect("the expired token is replaced");
    assert_eq!(issued_tokens(east).len(), 2, "a second token");

    // A token of 2 s is used for half its life: after 1.2 s the client asks for a new one
    // before the call, while the cloud would still take the old one.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    storage.get_volume(&data_id).await.unwrap();
    assert_eq!(
        issued_tokens(east).len(),
        3,
        "renewed ahead of its expiry, without a refusal"
    );
}

/// Refused credentials are Unauthorized errors of `authenticate`, showing no password.
#[tokio::test]
async fn refused_credentials_are_unauthorized() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let wrong_password = "not-the-east-admin-secret";
    let config = password_config(
        east,
        &east.auth_url(),
        "admin",
        wrong_password,
        "production",
    );
    let error = Cloud::connect(config).await.unwrap_err();
    assert_eq!(error.call, "authenticate");
    assert_eq!(error.kind, ErrorKind::Unauthorized);
    assert!(error.request_id.is_some(), "{error:?}");

    let unknown_user = password_config(east, &east.auth_url(), "mallory", "x", "production");
    let unknown = Cloud::connect(unknown_user).await.unwrap_err();
    assert_eq!(
        (unknown.call.as_str(), &unknown.kind),
        ("authenticate", &ErrorKind::Unauthorized)
    );

    // Bob has no role on production.
    let no_role = password_config(east, &east.auth_url(), "bob", BOB_PASSWORD, "production");
    let no_access = Cloud::connect(no_role).await.unwrap_err();
    assert_eq!(no_access.kind, ErrorKind::Unauthorized);

    let mut config = application_credential_config(east);
    let Credentials::ApplicationCredential { secret, .. } = &mut config.credentials else {
        unreachable!("an application credential");
    };
    *secret = "not-the-dr-backup-secret".into();
    let bad_secret = Cloud::connect(config).await.unwrap_err();
    assert_eq!(
        (bad_secret.call.as_str(), &bad_secret.kind),
        ("authenticate", &ErrorKind::Unauthorized)
    );

    // An application credential is bound to its project: configured for another, the
    // connection is refused instead of working in the credential's project.
    let elsewhere =
        application_credential_config(east).with_project(ProjectScope::name("recovery", "Default"));
    let refused = Cloud::connect(elsewhere).await.unwrap_err();
    assert!(
        matches!(&refused.kind, ErrorKind::Config(m) if m.contains("recovery")),
        "{refused:?}"
    );
    let own = application_credential_config(east)
        .with_project(ProjectScope::name("production", "Default"));
    let member = Cloud::connect(own).await.unwrap();
    assert_eq!(member.project().id, east.project_id("production").unwrap());

    assert_no_secrets(
        &[&error, &unknown, &no_access, &bad_secret],
        &[east],
        &[wrong_password, "not-the-dr-backup-secret"],
    );
}

/// Application credentials are bound to their project, and Keystone ignores another scope:
/// `connect_to` another project refuses them as a configuration error, without
/// authenticating, instead of staying in the credential's project. Their own project is fine,
/// and a password reaches the other project.
#[tokio::test]
async fn application_credentials_cannot_connect_to_another_project() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let production = east.project_id("production").unwrap();
    let member = Cloud::connect(application_credential_config(east))
        .await
        .unwrap();
    assert_eq!(member.project().id, production);
    let tokens = issued_tokens(east).len();

    let error = member
        .connect_to(ProjectScope::name("recovery", "Default"))
        .await
        .unwrap_err();
    assert_eq!(error.call, "connect to project");
    let ErrorKind::Config(message) = &error.kind else {
        panic!("a configuration error expected: {error:?}");
    };
    assert!(
        message.contains("application credentials are bound to their project")
            && message.contains(&production)
            && message.contains("recovery"),
        "{message}"
    );
    assert_eq!(issued_tokens(east).len(), tokens, "no authentication");
    let recovery_id = east.project_id("recovery").unwrap();
    let by_id = member
        .connect_to(ProjectScope::id(recovery_id.clone()))
        .await
        .unwrap_err();
    assert!(matches!(by_id.kind, ErrorKind::Config(_)), "{by_id:?}");
    assert_no_secrets(&[&error, &by_id], &[east], &[]);

    let same = member
        .connect_to(ProjectScope::name("production", "Default"))
        .await
        .expect("the credential's own project");
    assert_eq!(same.project().id, production);
    let same = member
        .connect_to(ProjectScope::id(production.clone()))
        .await
        .unwrap();
    assert_eq!(same.project().id, production);

    let admin = east_admin(&sim).await;
    let recovery = admin
        .connect_to(ProjectScope::id(recovery_id.clone()))
        .await
        .unwrap();
    assert_eq!(recovery.project().id, recovery_id);
}

/// Unknown ids are NotFound errors with the cloud's message, naming the call.
#[tokio::test]
async fn unknown_ids_are_not_found() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let admin = east_admin(&sim).await;
    let storage = admin.block_storage();
    let compute = admin.compute();
    let missing = "00000000-0000-4000-8000-000000000000";

    let mut errors = Vec::new();
    let mut expect = |error: CloudError, call: &str, message: String| {
        assert_eq!(error.call, call, "{error}");
        assert_eq!(error.kind, ErrorKind::NotFound(message), "{error}");
        assert!(error.is_not_found());
        assert!(
            error
                .request_id
                .as_deref()
                .is_some_and(|id| id.starts_with("req-")),
            "{error:?}"
        );
        errors.push(error);
    };
    let volume = format!("Volume {missing} could not be found.");
    let backup = format!("Backup {missing} could not be found.");
    let instance = format!("Instance {missing} could not be found.");
    expect(
        storage.get_volume(missing).await.unwrap_err(),
        "get volume",
        volume.clone(),
    );
    expect(
        storage.delete_volume(missing).await.unwrap_err(),
        "delete volume",
        volume.clone(),
    );
    expect(
        storage.set_bootable(missing, true).await.unwrap_err(),
        "set volume bootable",
        volume.clone(),
    );
    expect(
        storage.get_backup(missing).await.unwrap_err(),
        "get backup",
        backup.clone(),
    );
    expect(
        storage.delete_backup(missing).await.unwrap_err(),
        "delete backup",
        backup.clone(),
    );
    expect(
        storage
            .restore_backup(missing, &RestoreTarget::NewVolume { name: None })
            .await
            .unwrap_err(),
        "restore backup",
        backup.clone(),
    );
    expect(
        storage.export_backup_record(missing).await.unwrap_err(),
        "export backup record",
        backup.clone(),
    );
    expect(
        storage
            .create_backup(&forced_backup(missing))
            .await
            .unwrap_err(),
        "create backup",
        volume.clone(),
    );
    expect(
        compute.get_server(missing).await.unwrap_err(),
        "get server",
        instance.clone(),
    );
    expect(
        compute.delete_server(missing).await.unwrap_err(),
        "delete server",
        instance.clone(),
    );
    expect(
        compute.volume_attachments(missing).await.unwrap_err(),
        "list server volume attachments",
        instance,
    );
    expect(
        compute.get_flavor("no-such-flavor").await.unwrap_err(),
        "get flavor",
        "Flavor no-such-flavor could not be found.".into(),
    );

    // Waiting for something that does not exist ends at once with the NotFound.
    let started = Instant::now();
    let waited = storage
        .wait_for_volume(missing, &VolumeStatus::Available, &[], WAIT)
        .await
        .unwrap_err();
    assert!(waited.is_not_found(), "{waited}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // …while waiting for its deletion is already done.
    storage
        .wait_for_volume_deleted(missing, WAIT)
        .await
        .unwrap();
    storage
        .wait_for_backup_deleted(missing, WAIT)
        .await
        .unwrap();
    compute
        .wait_for_server_deleted(missing, WAIT)
        .await
        .unwrap();

    errors.push(waited);
    let errors: Vec<&CloudError> = errors.iter().collect();
    assert_no_secrets(&errors, &[east], &[]);
}

/// A backup service that is down answers 503: Unavailable, until it is back.
#[tokio::test]
async fn a_backup_service_that_is_down_is_unavailable() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let admin = east_admin(&sim).await;
    let storage = admin.block_storage();
    let data_id = east.volume_id("web-1-data").unwrap();
    let backup_id = backup_and_wait(&storage, &data_id).await;

    east.arm(&Fault::BackupServiceDown);
    let unavailable = "Service cinder-backup could not be found.".to_owned();
    let create = storage
        .create_backup(&forced_backup(&data_id))
        .await
        .unwrap_err();
    assert_eq!(create.call, "create backup");
    assert_eq!(create.kind, ErrorKind::Unavailable(unavailable.clone()));
    let restore = storage
        .restore_backup(&backup_id, &RestoreTarget::NewVolume { name: None })
        .await
        .unwrap_err();
    assert_eq!(restore.call, "restore backup");
    assert_eq!(restore.kind, ErrorKind::Unavailable(unavailable.clone()));
    let delete = storage.delete_backup(&backup_id).await.unwrap_err();
    assert_eq!(delete.kind, ErrorKind::Unavailable(unavailable));
    // Reading a backup needs no backup service.
    storage.get_backup(&backup_id).await.unwrap();

    let (status, _) = control(east, Method::DELETE, "faults", None).await;
    assert_eq!(status, 204);
    backup_and_wait(&storage, &data_id).await;
    assert_no_secrets(&[&create, &restore, &delete], &[east], &[]);
}

/// Over quota is OverLimit (413), for the creation it was armed for only.
#[tokio::test]
async fn over_quota_is_over_limit() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let admin = east_admin(&sim).await;
    let storage = admin.block_storage();
    let before = east.state_json()["volumes"].as_array().unwrap().len();

    east.arm(&Fault::OverQuota { count: 1 });
    let error = storage.create_volume(&spec("over", 1)).await.unwrap_err();
    assert_eq!(error.call, "create volume");
    assert!(
        matches!(&error.kind, ErrorKind::OverLimit(m) if m.contains("VolumeLimitExceeded")),
        "{error:?}"
    );
    assert_eq!(
        east.state_json()["volumes"].as_array().unwrap().len(),
        before,
        "no volume was made"
    );
    let volume = storage.create_volume(&spec("within", 1)).await.unwrap();
    assert_eq!(volume.name.as_deref(), Some("within"));

    east.arm(&Fault::OverQuota { count: 1 });
    let data_id = east.volume_id("web-1-data").unwrap();
    let backup = storage
        .create_backup(&forced_backup(&data_id))
        .await
        .unwrap_err();
    assert!(
        matches!(&backup.kind, ErrorKind::OverLimit(m) if m.contains("BackupLimitExceeded")),
        "{backup:?}"
    );
    assert_no_secrets(&[&error, &backup], &[east], &[]);
}

/// A cloud whose newest microversions are older than a call needs: the call fails as
/// Unsupported before anything is sent, while the calls that work with older versions go on
/// (transfers through the pre-3.55 `os-volume-transfer`). A cloud that stops accepting the
/// version it advertised when the client discovered it answers 406: NotAcceptable.
#[tokio::test]
async fn microversions_the_cloud_lacks_are_unsupported() {
    let fixture = fixture_edited(|text| {
        text.replacen(
            "    region: RegionOne\n",
            "    region: RegionOne\n    microversions: {volume: \"3.40\", compute: \"2.30\"}\n",
            1,
        )
    });
    let sim = start_with(&fixture).await;
    let east = cloud(&sim, "east");
    let admin = east_admin(&sim).await;
    let storage = admin.block_storage();
    let range = storage.versions().await.unwrap().unwrap();
    assert_eq!(range.max, Microversion::new(3, 40));
    let data_id = east.volume_id("web-1-data").unwrap();
    let backup_id = backup_and_wait(&storage, &data_id).await;
    let volumes_before = east.state_json()["volumes"].as_array().unwrap().len();

    let from_backup = storage
        .create_volume(&VolumeSpec {
            source: VolumeSource::Backup(backup_id.clone()),
            ..spec("from-backup", 1)
        })
        .await
        .unwrap_err();
    assert_eq!(from_backup.call, "create volume");
    assert!(from_backup.is_unsupported(), "{from_backup:?}");
    let ErrorKind::Unsupported(message) = &from_backup.kind else {
        unreachable!()
    };
    assert!(
        message.contains("3.47") && message.contains("3.40"),
        "the message says what is needed and what the cloud has: {message}"
    );
    assert_eq!(
        east.state_json()["volumes"].as_array().unwrap().len(),
        volumes_before,
        "nothing was sent"
    );

    let with_metadata = storage
        .create_backup(&BackupSpec {
            metadata: [("k".to_owned(), "v".to_owned())].into(),
            ..forced_backup(&data_id)
        })
        .await
        .unwrap_err();
    assert!(with_metadata.is_unsupported(), "{with_metadata:?}");

    // Calls that need no newer version work at the cloud's newest.
    let volume = storage.create_volume(&spec("plain", 1)).await.unwrap();
    let volume = storage
        .wait_for_volume(&volume.id, &VolumeStatus::Available, &[], WAIT)
        .await
        .unwrap();
    let transfer = storage
        .create_volume_transfer(&volume.id, None)
        .await
        .expect("transfers before 3.55 go to os-volume-transfer");
    let bob = connect(east, "bob", BOB_PASSWORD, "recovery").await;
    let accepted = bob
        .block_storage()
        .accept_volume_transfer(&transfer.id, &transfer.auth_key)
        .await
        .unwrap();
    assert_eq!(accepted.volume_id, volume.id);

    // Before 3.66 an attached volume is snapshotted only with `force`.
    let unforced = storage
        .create_snapshot(&SnapshotSpec {
            volume_id: data_id.clone(),
            ..SnapshotSpec::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&unforced.kind, ErrorKind::BadRequest(m) if m.contains("in-use")),
        "{unforced:?}"
    );
    let forced = storage
        .create_snapshot(&SnapshotSpec {
            volume_id: data_id.clone(),
            force: true,
            ..SnapshotSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(forced.volume_id, data_id);

    let compute = admin.compute();
    let flavors = compute.list_flavors().await.unwrap();
    let small = flavors.iter().find(|f| f.name == "m1.small").unwrap();
    assert!(
        small.extra_specs.is_empty(),
        "no extra_specs in flavor lists before 2.61"
    );
    // Before 2.61 `get_flavor` reads the extra specs from `flavors/{id}/os-extra_specs`.
    let medium = flavors.iter().find(|f| f.name == "m1.medium").unwrap();
    let medium = compute.get_flavor(&medium.id).await.unwrap();
    assert_eq!(
        medium.extra_specs.get("hw:cpu_policy").map(String::as_str),
        Some("shared")
    );
    let server_id = east.server_id("web-1").unwrap();
    let server = compute.get_server(&server_id).await.unwrap();
    assert!(
        matches!(
            server.flavor,
            lifeboat_cloud::compute::ServerFlavor::Reference { .. }
        ),
        "a flavor reference before 2.47: {:?}",
        server.flavor
    );
    let boot = compute
        .create_server(&ServerSpec {
            name: "needs-2.37".into(),
            flavor_id: small.id.clone(),
            block_devices: vec![BlockDevice {
                volume_id: volume.id.clone(),
                boot_index: Some(0),
                ..BlockDevice::default()
            }],
            networks: Networks::None,
            ..ServerSpec::default()
        })
        .await
        .unwrap_err();
    assert_eq!(boot.call, "create server");
    assert!(
        boot.is_unsupported(),
        "networks \"none\" needs 2.37: {boot:?}"
    );

    // The cloud is downgraded under a client that discovered 3.40: it now refuses 3.40.
    east.with(|state| {
        state.volume_max = lifeboat_sim::cloud::microversion::Microversion::new(3, 30)
    });
    let refused = storage.get_volume(&data_id).await.unwrap_err();
    assert_eq!(refused.call, "get volume");
    assert!(
        matches!(&refused.kind, ErrorKind::NotAcceptable(m) if m.contains("3.40")),
        "{refused:?}"
    );
    assert_no_secrets(
        &[&from_backup, &with_metadata, &unforced, &boot, &refused],
        &[east],
        &[],
    );
}

/// Asynchronous operations that fail end the wait with a Failed error carrying the status and,
/// for backups and servers, the reason the cloud gives.
#[tokio::test]
async fn failed_operations_end_the_wait_with_their_reason() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let admin = east_admin(&sim).await;
    let storage = admin.block_storage();
    let data_id = east.volume_id("web-1-data").unwrap();

    east.arm(&Fault::Fail {
        operation: Operation::Backup,
        count: 1,
        reason: "the backup store is full".into(),
    });
    let backup_id = storage
        .create_backup(&forced_backup(&data_id))
        .await
        .unwrap();
    let failed = storage
        .wait_for_backup(
            &backup_id,
            &BackupStatus::Available,
            &[BackupStatus::Error],
            WAIT,
        )
        .await
        .unwrap_err();
    assert_eq!(
        failed.kind,
        ErrorKind::Failed {
            resource: "backup",
            status: "error".into(),
            reason: Some("the backup store is full".into()),
        }
    );
    assert_eq!(
        failed.to_string(),
        format!(
            "wait for backup {backup_id} to be available: the backup is error: the backup store \
             is full"
        )
    );
    let errored = storage.get_backup(&backup_id).await.unwrap();
    assert_eq!(
        errored.fail_reason.as_deref(),
        Some("the backup store is full")
    );
    assert_eq!(
        storage.get_volume(&data_id).await.unwrap().status,
        VolumeStatus::InUse,
        "the volume is in use again"
    );

    // An incremental needs an available parent: the failed backup is none.
    let no_parent = storage
        .create_backup(&BackupSpec {
            incremental: true,
            ..forced_backup(&data_id)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&no_parent.kind, ErrorKind::BadRequest(m) if m.contains("No backups available")),
        "{no_parent:?}"
    );

    // A backup in error can be deleted; a deletion that fails ends in error_deleting.
    east.arm(&Fault::Fail {
        operation: Operation::BackupDelete,
        count: 1,
        reason: "the store refused".into(),
    });
    storage.delete_backup(&backup_id).await.unwrap();
    let undeleted = storage
        .wait_for_backup_deleted(&backup_id, WAIT)
        .await
        .unwrap_err();
    assert_eq!(
        undeleted.kind,
        ErrorKind::Failed {
            resource: "backup",
            status: "error_deleting".into(),
            reason: Some("the store refused".into()),
        }
    );

    east.arm(&Fault::Fail {
        operation: Operation::VolumeCreate,
        count: 1,
        reason: "no space".into(),
    });
    let volume = storage.create_volume(&spec("doomed", 1)).await.unwrap();
    let not_created = storage
        .wait_for_volume(
            &volume.id,
            &VolumeStatus::Available,
            &[VolumeStatus::Error],
            WAIT,
        )
        .await
        .unwrap_err();
    assert_eq!(
        not_created.kind,
        ErrorKind::Failed {
            resource: "volume",
            status: "error".into(),
            reason: None,
        }
    );

    let boot_volume = storage.create_volume(&spec("boot", 1)).await.unwrap();
    storage
        .wait_for_volume(&boot_volume.id, &VolumeStatus::Available, &[], WAIT)
        .await
        .unwrap();
    let flavors = admin.compute().list_flavors().await.unwrap();
    let small = flavors.iter().find(|f| f.name == "m1.small").unwrap();
    east.arm(&Fault::Fail {
        operation: Operation::ServerBuild,
        count: 1,
        reason: "No valid host was found.".into(),
    });
    let server_id = admin
        .compute()
        .create_server(&ServerSpec {
            name: "doomed".into(),
            flavor_id: small.id.clone(),
            block_devices: vec![BlockDevice {
                volume_id: boot_volume.id.clone(),
                boot_index: Some(0),
                ..BlockDevice::default()
            }],
            networks: Networks::Auto,
            ..ServerSpec::default()
        })
        .await
        .unwrap();
    let not_built = admin
        .compute()
        .wait_for_server(
            &server_id,
            &ServerStatus::Active,
            &[ServerStatus::Error],
            WAIT,
        )
        .await
        .unwrap_err();
    assert_eq!(
        not_built.kind,
        ErrorKind::Failed {
            resource: "server",
            status: "ERROR".into(),
            reason: Some("No valid host was found.".into()),
        }
    );
    assert_no_secrets(
        &[&failed, &no_parent, &undeleted, &not_created, &not_built],
        &[east],
        &[],
    );
}

/// A wait that outlasts its deadline is a Timeout with the status seen last; the operation
/// goes on.
#[tokio::test]
async fn a_deadline_is_a_timeout() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let admin = east_admin(&sim).await;
    let storage = admin.block_storage();
    let (status, body) = control(
        east,
        Method::POST,
        "timings",
        Some(serde_json::json!({"backup_ms": 600_000})),
    )
    .await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));

    let data_id = east.volume_id("web-1-data").unwrap();
    let backup_id = storage
        .create_backup(&forced_backup(&data_id))
        .await
        .unwrap();
    let deadline = Duration::from_millis(400);
    let started = Instant::now();
    let error = storage
        .wait_for_backup(
            &backup_id,
            &BackupStatus::Available,
            &[BackupStatus::Error],
            deadline,
        )
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(
        error.call,
        format!("wait for backup {backup_id} to be available")
    );
    let ErrorKind::Timeout {
        waited,
        last_status,
    } = &error.kind
    else {
        panic!("a timeout expected: {error:?}");
    };
    assert_eq!(last_status.as_deref(), Some("creating"));
    assert!(*waited >= deadline, "waited {waited:?}");
    assert!(
        elapsed >= deadline && elapsed < Duration::from_secs(5),
        "the wait ends at its deadline, not later: {elapsed:?}"
    );
    assert_eq!(
        storage.get_backup(&backup_id).await.unwrap().status,
        BackupStatus::Creating,
        "the backup goes on"
    );
    // The cloud's clock jumps over the backup: it completes.
    east.advance(Duration::from_secs(601));
    storage
        .wait_for_backup(&backup_id, &BackupStatus::Available, &[], WAIT)
        .await
        .unwrap();
    assert_no_secrets(&[&error], &[east], &[]);
}

/// What the cloud refuses by its rules or its policy: BadRequest and Forbidden, with the
/// cloud's reason.
#[tokio::test]
async fn refusals_say_why() {
    let sim = start().await;
    let east = cloud(&sim, "east");
    let admin = east_admin(&sim).await;
    let storage = admin.block_storage();
    let data_id = east.volume_id("web-1-data").unwrap();

    let in_use = storage.delete_volume(&data_id).await.unwrap_err();
    assert_eq!(in_use.call, "delete volume");
    assert!(
        matches!(&in_use.kind, ErrorKind::BadRequest(m) if m.contains("in-use")),
        "{in_use:?}"
    );
    let zero = storage.create_volume(&spec("empty", 0)).await.unwrap_err();
    assert!(
        matches!(&zero.kind, ErrorKind::BadRequest(m) if m.contains("greater than 0")),
        "{zero:?}"
    );
    let unknown_type = storage
        .create_volume(&VolumeSpec {
            volume_type: Some("platinum".into()),
            ..spec("typed", 1)
        })
        .await
        .unwrap_err();
    assert_eq!(
        unknown_type.kind,
        ErrorKind::NotFound("Volume type platinum could not be found.".into())
    );

    // A backup that is still running cannot be restored or exported.
    let running = storage
        .create_backup(&forced_backup(&data_id))
        .await
        .unwrap();
    let early = storage
        .restore_backup(&running, &RestoreTarget::NewVolume { name: None })
        .await
        .unwrap_err();
    assert!(
        matches!(&early.kind, ErrorKind::BadRequest(m) if m.contains("creating")),
        "{early:?}"
    );
    storage
        .wait_for_backup(&running, &BackupStatus::Available, &[], WAIT)
        .await
        .unwrap();

    let alice = connect(east, "alice", ALICE_PASSWORD, "production").await;
    let member = alice.block_storage();
    let force_delete = member.force_delete_backup(&running).await.unwrap_err();
    assert_eq!(force_delete.call, "force delete backup");
    assert!(
        matches!(&force_delete.kind, ErrorKind::Forbidden(m) if m.contains("backup:force_delete")),
        "{force_delete:?}"
    );
    let reset = member
        .reset_volume_status(&data_id, &VolumeStatus::Available)
        .await
        .unwrap_err();
    assert!(matches!(&reset.kind, ErrorKind::Forbidden(_)), "{reset:?}");
    let record = storage.export_backup_record(&running).await.unwrap();
    let import = member.import_backup_record(&record).await.unwrap_err();
    assert!(
        matches!(&import.kind, ErrorKind::Forbidden(m) if m.contains("backup:backup-import")),
        "{import:?}"
    );
    let garbled = lifeboat_cloud::block_storage::BackupRecord {
        backup_service: record.backup_service.clone(),
        backup_url: "not base64 at all".into(),
    };
    let unparsable = storage.import_backup_record(&garbled).await.unwrap_err();
    assert!(
        matches!(&unparsable.kind, ErrorKind::BadRequest(m) if m.contains("Can't parse")),
        "{unparsable:?}"
    );

    // A server needs its boot volume available.
    let flavors = admin.compute().list_flavors().await.unwrap();
    let small = flavors.iter().find(|f| f.name == "m1.small").unwrap();
    let busy = admin
        .compute()
        .create_server(&ServerSpec {
            name: "on-a-busy-volume".into(),
            flavor_id: small.id.clone(),
            block_devices: vec![BlockDevice {
                volume_id: data_id.clone(),
                boot_index: Some(0),
                ..BlockDevice::default()
            }],
            networks: Networks::None,
            ..ServerSpec::default()
        })
        .await
        .unwrap_err();
    assert_eq!(busy.call, "create server");
    assert!(
        matches!(&busy.kind, ErrorKind::BadRequest(m) if m.contains("available")),
        "{busy:?}"
    );
    assert_no_secrets(
        &[
            &in_use,
            &zero,
            &unknown_type,
            &early,
            &force_delete,
            &reset,
            &import,
            &unparsable,
            &busy,
        ],
        &[east],
        &[],
    );
}

/// Clouds that cannot be reached, auth URLs without Keystone, and regions the catalog lacks.
#[tokio::test]
async fn unreachable_and_misconfigured_clouds() {
    let sim = start().await;
    let east = cloud(&sim, "east");

    // A port nobody listens on: bind one, note it, let it go.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let config = password_config(
        east,
        &format!("http://{address}/identity/v3"),
        "admin",
        EAST_ADMIN_PASSWORD,
        "production",
    );
    let refused = Cloud::connect(config).await.unwrap_err();
    assert_eq!(refused.call, "discover identity API");
    assert!(
        matches!(refused.kind, ErrorKind::Transport(_)),
        "{refused:?}"
    );

    let not_keystone = password_config(
        east,
        &format!("{}/compute", east.base_url),
        "admin",
        EAST_ADMIN_PASSWORD,
        "production",
    );
    let no_identity = Cloud::connect(not_keystone).await.unwrap_err();
    assert_eq!(no_identity.call, "discover identity API");
    assert!(no_identity.is_unsupported(), "{no_identity:?}");

    let mut config = password_config(
        east,
        &east.auth_url(),
        "admin",
        EAST_ADMIN_PASSWORD,
        "production",
    );
    config.region = Some("RegionNowhere".into());
    let lost = Cloud::connect(config)
        .await
        .expect("authentication needs no region");
    let no_endpoint = lost
        .block_storage()
        .get_volume("anything")
        .await
        .unwrap_err();
    assert_eq!(no_endpoint.call, "get volume");
    assert!(
        matches!(&no_endpoint.kind, ErrorKind::Unsupported(m) if m.contains("RegionNowhere")),
        "{no_endpoint:?}"
    );

    // A server that takes the connection and never answers: the request timeout ends the call.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config: CloudConfig = password_config(
        east,
        &format!("http://{}/identity/v3", silent.local_addr().unwrap()),
        "admin",
        EAST_ADMIN_PASSWORD,
        "production",
    );
    config.request_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let hurried = Cloud::connect(config).await.unwrap_err();
    assert_eq!(hurried.call, "discover identity API");
    assert!(
        matches!(&hurried.kind, ErrorKind::Transport(m) if m.contains("timed out")),
        "{hurried:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);
    assert_no_secrets(
        &[&refused, &no_identity, &no_endpoint, &hurried],
        &[east],
        &[],
    );
}
