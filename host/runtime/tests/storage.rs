//! The storage interface over a local directory, through a real component: atomic writes,
//! reads, listings, renames, copies in the host, deletes; and no way out of the root.

mod common;

use std::sync::Arc;

use common::{context, env, operation, runtime};
use lifeboat_runtime::{Limits, RemoteConnection, RunObjects};
use serde_json::json;

#[tokio::test]
async fn a_remote_is_usable_inside_its_root_and_only_there() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("remote");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(parent.path().join("outside.txt"), "not yours").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let runtime = runtime(cache.path());
    let mut env = env(
        "storage-probe",
        context(0),
        &[],
        Arc::new(RunObjects::default()),
        Arc::default(),
    );
    env.grants.grant_remote(Arc::new(RemoteConnection {
        name: "backups".into(),
        root: root.clone(),
    }));
    let outputs = operation(&runtime, "storage_probe")
        .run(env, &json!({ "remote": "backups" }), Limits::default())
        .await
        .unwrap();
    assert_eq!(outputs["read"], r#"{"n":1}"#);
    assert_eq!(outputs["listed"], json!(["b.json:7"]));
    assert_eq!(outputs["copied_bytes"], 7);
    assert_eq!(outputs["after_delete"], 0);
    assert_eq!(
        outputs["escape_read"],
        json!({ "error": "permission-denied" })
    );
    assert_eq!(
        outputs["escape_write"],
        json!({ "error": "permission-denied" })
    );
    assert_eq!(
        outputs["ungranted"],
        json!({ "error": "permission-denied" })
    );
    assert_eq!(
        std::fs::read_to_string(root.join("copies/c.json")).unwrap(),
        r#"{"n":1}"#
    );
    assert!(!root.join("dir").exists());
    assert!(!std::path::Path::new("/tmp/lifeboat-escape").exists());
    let leftovers: Vec<_> = std::fs::read_dir(root.join("copies"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left: {leftovers:?}"
    );
}
