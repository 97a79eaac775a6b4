//! A process killed (`kill -9`) in the middle of an upload leaves nothing under the file's
//! name, on every backend: the upload runs in a child process (this test binary again) that
//! the test kills once parts of the file have reached the remote.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use lifeboat_remote::{Backend, LocalFolder, RemoteErrorKind, RemotePath};

/// Tells the child which remote to upload to: `local:ROOT` or `s3:URL`.
const REMOTE: &str = "LIFEBOAT_KILLED_UPLOAD_REMOTE";
const TARGET: &str = "xo-vm-backups/vm/20260101T000000Z.xva";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child of killed_uploads_leave_nothing_under_the_final_name"]
async fn upload_until_killed() {
    let Ok(remote) = std::env::var(REMOTE) else {
        return;
    };
    let backend: Arc<dyn Backend> = match remote.split_once(':') {
        Some(("local", root)) => Arc::new(LocalFolder::open("nightly", root.as_ref()).unwrap()),
        Some(("s3", url)) => support::s3_backend(url),
        _ => panic!("{REMOTE}={remote}"),
    };
    let mut upload = backend
        .create(&RemotePath::parse(TARGET).unwrap())
        .await
        .unwrap();
    loop {
        upload
            .write(Bytes::from(vec![0x5a; 4 << 20]))
            .await
            .unwrap();
        println!("written");
    }
}

/// Runs the child against `remote` and kills it after it has written 24 MiB.
fn kill_an_upload(remote: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "upload_until_killed", "--ignored", "--nocapture"])
        .env(REMOTE, remote)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let written = lines
        .map_while(Result::ok)
        .filter(|line| line == "written")
        .take(6)
        .count();
    assert_eq!(written, 6, "the child wrote 24 MiB before it was killed");
    child.kill().unwrap();
    child.wait().unwrap();
}

async fn nothing_under_the_name(backend: &dyn Backend) {
    let error = backend
        .stat(&RemotePath::parse(TARGET).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), RemoteErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_uploads_leave_nothing_under_the_final_name() {
    let local = support::local();
    let root = local.dir.path().join("remote");
    tokio::task::spawn_blocking({
        let remote = format!("local:{}", root.display());
        move || kill_an_upload(&remote)
    })
    .await
    .unwrap();
    nothing_under_the_name(&*local.backend).await;
    let left: Vec<String> = local
        .backend
        .list(&RemotePath::parse("xo-vm-backups/vm").unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.name)
        .collect();
    assert!(
        left.iter()
            .all(|name| name.starts_with(".20260101T000000Z.xva.") && name.ends_with(".partial")),
        "only the hidden partial file may remain: {left:?}"
    );

    let s3 = support::s3().await;
    let server = s3.server.as_ref().unwrap();
    let url = server.url("backups", "lifeboat/remote");
    tokio::task::spawn_blocking(move || kill_an_upload(&format!("s3:{url}")))
        .await
        .unwrap();
    nothing_under_the_name(&*s3.backend).await;
    let requests = server.requests();
    assert!(requests.iter().any(|request| request.is_upload_part()));
    assert!(
        !requests
            .iter()
            .any(|request| request.method == "POST" && request.query.starts_with("uploadId=")),
        "the upload was never completed"
    );
}
