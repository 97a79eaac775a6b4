//! The storage interface through a real component, on a local folder and on an S3 bucket of a
//! real S3 server on loopback: atomic writes, reads, listings, renames, copies in the host,
//! deletes, and (0.1.1) stat, times, ranged reads and folder locks; and no way out of the
//! root. A component built against the contract's 0.1.0 (a copy of the probe as built then,
//! `fixtures/storage-probe-plugin-0.1.0.wasm`) still runs.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{context, env, runtime, wasm};
use lifeboat_net::TlsPolicy;
use lifeboat_remote::{RemoteUrl, S3Credentials, S3Store};
use lifeboat_runtime::{Limits, RemoteConnection, RunObjects};
use lifeboat_sim::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use serde_json::json;

/// Runs the probe `wasm` on `remote`, whose files are stored as plain files under `files`, and
/// checks what every version of the probe does; returns its outputs.
async fn probe(remote: RemoteConnection, files: &Path, wasm: &[u8]) -> serde_json::Value {
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let mut env = env(
        "storage-probe",
        context(0),
        &[],
        Arc::new(RunObjects::default()),
        Arc::default(),
    );
    env.grants.grant_remote(Arc::new(remote));
    let (probe, _) = runtime
        .load_operation("storage-probe", wasm)
        .expect("the component loads");
    let outputs = probe
        .run(env, &json!({ "remote": "backups" }), Limits::default())
        .await
        .unwrap();
    assert_eq!(outputs["read"], r#"{"n":1}"#);
    assert_eq!(outputs["listed"], json!(["b.json:7"]));
    assert_eq!(outputs["copied_bytes"], 7);
    assert_eq!(outputs["after_delete"], 0);
    for refused in ["escape_read", "escape_write", "ungranted"] {
        assert_eq!(
            outputs[refused],
            json!({ "error": "permission-denied" }),
            "{refused}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(files.join("copies/c.json")).unwrap(),
        r#"{"n":1}"#
    );
    assert!(!files.join("dir").exists());
    assert!(!Path::new("/tmp/lifeboat-escape").exists());
    let leftovers: Vec<_> = std::fs::read_dir(files.join("copies"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file is left: {leftovers:?}"
    );
    outputs
}

/// Runs today's probe and checks 0.1.1's calls too.
async fn probe_today(remote: RemoteConnection, files: &Path) {
    let outputs = probe(remote, files, &wasm("storage_probe")).await;
    assert_eq!(
        outputs["stat"],
        json!({ "name": "b.json", "size": 7, "timed": true })
    );
    assert_eq!(outputs["listed_with_times"], true);
    assert_eq!(outputs["ranged_bytes"], 3);
    assert_eq!(
        std::fs::read_to_string(files.join("copies/range")).unwrap(),
        r#""n""#
    );
    assert_eq!(outputs["second_lock"], json!({ "error": "internal" }));
    assert_eq!(outputs["relocked"], json!({ "ok": 0 }));
    assert_eq!(outputs["missing"], json!({ "error": "not-found" }));
}

#[tokio::test]
async fn a_local_remote_is_usable_inside_its_root_and_only_there() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("remote");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(parent.path().join("outside.txt"), "not yours").unwrap();
    probe_today(RemoteConnection::local("backups", &root).unwrap(), &root).await;
}

#[tokio::test]
async fn a_component_built_against_0_1_0_still_runs() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("remote");
    std::fs::create_dir(&root).unwrap();
    let old = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/storage-probe-plugin-0.1.0.wasm"),
    )
    .unwrap();
    let outputs = probe(
        RemoteConnection::local("backups", &root).unwrap(),
        &root,
        &old,
    )
    .await;
    assert!(
        outputs.get("stat").is_none(),
        "the old probe knows no 0.1.1 call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_remote_is_usable_inside_its_prefix_and_only_there() {
    let store = tempfile::tempdir().unwrap();
    let server = S3Server::start(store.path()).await.unwrap();
    server.create_bucket("backups").unwrap();
    let RemoteUrl::S3(location) = RemoteUrl::parse(&server.url("backups", "lifeboat")).unwrap()
    else {
        panic!("an S3 URL")
    };
    let credentials = S3Credentials {
        access_key: ACCESS_KEY.to_owned(),
        secret_key: SECRET_KEY.into(),
    };
    let backend = S3Store::open(
        "backups",
        &location,
        Some(credentials),
        &TlsPolicy::SystemRoots,
    )
    .unwrap();
    let remote = RemoteConnection {
        name: "backups".to_owned(),
        backend: Arc::new(backend),
    };
    // s3s-fs keeps each object as a file under its bucket's folder.
    probe_today(remote, &store.path().join("backups/lifeboat")).await;
}
