//! One suite, every backend: each behaviour of the `Backend` trait is checked on a local folder
//! and on a bucket of a real S3 server on loopback.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lifeboat_remote::{Backend, EntryKind, RemoteErrorKind, RemotePath};
use tokio::io::AsyncReadExt;

fn path(text: &str) -> RemotePath {
    RemotePath::parse(text).unwrap()
}

async fn read_all(backend: &dyn Backend, at: &str, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let mut opened = backend.open(&path(at), range).await.unwrap();
    let mut data = Vec::new();
    opened.stream.read_to_end(&mut data).await.unwrap();
    assert_eq!(data.len() as u64, opened.size, "{at}: the announced size");
    data
}

async fn writes_read_back_and_list_sorted(backend: Arc<dyn Backend>) {
    let backend = &*backend;
    backend
        .write(
            &path("xo-vm-backups/vm1/b.json"),
            Bytes::from_static(b"{\"b\":1}"),
        )
        .await
        .unwrap();
    backend
        .write(&path("xo-vm-backups/vm1/a.json"), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    backend
        .write(
            &path("xo-vm-backups/vm1/vdis/x.vhd"),
            Bytes::from(vec![7; 1000]),
        )
        .await
        .unwrap();
    assert_eq!(
        backend
            .read(&path("xo-vm-backups/vm1/b.json"), 1 << 20)
            .await
            .unwrap(),
        Bytes::from_static(b"{\"b\":1}")
    );
    let entries = backend.list(&path("xo-vm-backups/vm1")).await.unwrap();
    let names: Vec<(&str, EntryKind, u64)> = entries
        .iter()
        .map(|entry| (entry.name.as_str(), entry.kind, entry.size))
        .collect();
    assert_eq!(
        names,
        [
            ("a.json", EntryKind::File, 2),
            ("b.json", EntryKind::File, 7),
            ("vdis", EntryKind::Dir, 0)
        ]
    );
    assert!(entries[0].modified.is_some());
    assert_eq!(
        backend.list(&RemotePath::root()).await.unwrap()[0].name,
        "xo-vm-backups"
    );
    assert!(backend.list(&path("nowhere")).await.unwrap().is_empty());
    let stat = backend
        .stat(&path("xo-vm-backups/vm1/vdis/x.vhd"))
        .await
        .unwrap();
    assert_eq!(
        (stat.name.as_str(), stat.kind, stat.size),
        ("x.vhd", EntryKind::File, 1000)
    );
    let folder = backend.stat(&path("xo-vm-backups/vm1")).await.unwrap();
    assert_eq!(folder.kind, EntryKind::Dir);
    let missing = backend.stat(&path("xo-vm-backups/vm2")).await.unwrap_err();
    assert_eq!(missing.kind(), RemoteErrorKind::NotFound);
    assert!(
        missing.to_string().contains("xo-vm-backups/vm2 on nightly"),
        "{missing}"
    );
    // Overwriting replaces the whole content.
    backend
        .write(&path("xo-vm-backups/vm1/b.json"), Bytes::from_static(b"[]"))
        .await
        .unwrap();
    assert_eq!(
        backend
            .read(&path("xo-vm-backups/vm1/b.json"), 100)
            .await
            .unwrap(),
        Bytes::from_static(b"[]")
    );
}

async fn reads_are_bounded_and_ranged(backend: Arc<dyn Backend>) {
    let backend = &*backend;
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    backend
        .write(&path("big.bin"), Bytes::from(data.clone()))
        .await
        .unwrap();
    let error = backend.read(&path("big.bin"), 99_999).await.unwrap_err();
    assert!(error.to_string().contains("100000 bytes"), "{error}");
    assert_eq!(read_all(backend, "big.bin", None).await, data);
    assert_eq!(
        read_all(backend, "big.bin", Some(1000..1010)).await,
        data[1000..1010]
    );
    assert_eq!(
        read_all(backend, "big.bin", Some(99_990..200_000)).await,
        data[99_990..]
    );
    assert!(
        read_all(backend, "big.bin", Some(200_000..200_010))
            .await
            .is_empty()
    );
    let missing = backend.open(&path("none.bin"), None).await.err().unwrap();
    assert_eq!(missing.kind(), RemoteErrorKind::NotFound);
}

async fn renames_and_deletes_files_and_trees(backend: Arc<dyn Backend>) {
    let backend = &*backend;
    for name in ["tree/a", "tree/sub/b", "tree/sub/c", "keep"] {
        backend
            .write(&path(name), Bytes::from(name.to_owned()))
            .await
            .unwrap();
    }
    backend
        .rename(&path("keep"), &path("moved/keep"))
        .await
        .unwrap();
    assert_eq!(backend.read(&path("moved/keep"), 10).await.unwrap(), "keep");
    assert_eq!(
        backend.stat(&path("keep")).await.unwrap_err().kind(),
        RemoteErrorKind::NotFound
    );
    backend
        .rename(&path("tree"), &path("renamed"))
        .await
        .unwrap();
    assert_eq!(
        backend.read(&path("renamed/sub/c"), 20).await.unwrap(),
        "tree/sub/c"
    );
    assert!(backend.list(&path("tree")).await.unwrap().is_empty());
    backend.delete(&path("renamed/a")).await.unwrap();
    backend.delete(&path("renamed")).await.unwrap();
    assert!(backend.list(&path("renamed")).await.unwrap().is_empty());
    // Deleting what is not there is done already.
    backend.delete(&path("renamed")).await.unwrap();
    let refused = backend.delete(&RemotePath::root()).await.unwrap_err();
    assert_eq!(refused.kind(), RemoteErrorKind::Denied);
    assert_eq!(backend.read(&path("moved/keep"), 10).await.unwrap(), "keep");
}

async fn uploads_appear_only_when_committed(backend: Arc<dyn Backend>) {
    let backend = &*backend;
    let target = path("xo-vm-backups/vm/20260101T000000Z.xva");
    let mut upload = backend.create(&target).await.unwrap();
    for chunk in 0..10u8 {
        upload
            .write(Bytes::from(vec![chunk; 100_000]))
            .await
            .unwrap();
    }
    assert_eq!(
        backend.stat(&target).await.unwrap_err().kind(),
        RemoteErrorKind::NotFound,
        "an upload in progress is not visible under its name"
    );
    let committed = upload.commit().await.unwrap();
    assert_eq!(committed.size, 1_000_000);
    let data = read_all(backend, target.as_str(), None).await;
    assert_eq!(data.len(), 1_000_000);
    assert!(
        data[..100_000].iter().all(|&byte| byte == 0)
            && data[900_000..].iter().all(|&byte| byte == 9)
    );

    let aborted = path("xo-vm-backups/vm/aborted.xva");
    let mut upload = backend.create(&aborted).await.unwrap();
    upload.write(Bytes::from(vec![1; 1000])).await.unwrap();
    upload.abort().await.unwrap();
    let dropped = path("xo-vm-backups/vm/dropped.xva");
    let mut upload = backend.create(&dropped).await.unwrap();
    upload.write(Bytes::from(vec![1; 1000])).await.unwrap();
    drop(upload);
    let names: Vec<String> = backend
        .list(&path("xo-vm-backups/vm"))
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.name)
        .collect();
    assert_eq!(
        names,
        ["20260101T000000Z.xva"],
        "nothing of the aborted uploads is left"
    );
}

async fn folder_locks_exclude_and_expire(backend: Arc<dyn Backend>) {
    let vm = path("xo-vm-backups/vm1");
    let lease = Duration::from_secs(2);
    let held = backend.lock(&vm, lease).await.unwrap();
    assert_eq!(held.path().as_str(), "xo-vm-backups/vm1.lock");
    let refused = backend.lock(&vm, lease).await.err().unwrap();
    assert_eq!(refused.kind(), RemoteErrorKind::Locked);
    assert!(
        refused.to_string().contains("locked by another job"),
        "{refused}"
    );
    // The holder renews its lease: still held after longer than the lease.
    tokio::time::sleep(lease + Duration::from_millis(500)).await;
    assert_eq!(
        backend.lock(&vm, lease).await.err().unwrap().kind(),
        RemoteErrorKind::Locked
    );
    held.release().await.unwrap();
    // A holder that dies stops renewing: its lock is taken over once the lease ran out.
    backend.lock(&vm, lease).await.unwrap().abandon();
    assert_eq!(
        backend.lock(&vm, lease).await.err().unwrap().kind(),
        RemoteErrorKind::Locked
    );
    tokio::time::sleep(lease + Duration::from_millis(1100)).await;
    let taken_over = backend.lock(&vm, lease).await.unwrap();
    taken_over.release().await.unwrap();
    assert!(
        !backend
            .list(&path("xo-vm-backups"))
            .await
            .unwrap()
            .iter()
            .any(|entry| entry.name.ends_with(".lock")),
        "a released lock leaves nothing"
    );
}

async fn names_round_trip_as_written(backend: Arc<dyn Backend>) {
    let backend = &*backend;
    // Characters some stores or clients encode: each name lists back exactly as written.
    let names = ["a b.json", "50%.json", "x#y[1]*?.vhd", "café~.xva"];
    for name in names {
        backend
            .write(&path(&format!("odd/{name}")), Bytes::from(name.to_owned()))
            .await
            .unwrap();
    }
    let listed: Vec<String> = backend
        .list(&path("odd"))
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.name)
        .collect();
    let mut expected: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    for name in &listed {
        let listed_path = path("odd").join(name).unwrap();
        assert_eq!(
            backend.read(&listed_path, 100).await.unwrap(),
            name.as_str()
        );
        backend.delete(&listed_path).await.unwrap();
    }
    assert!(backend.list(&path("odd")).await.unwrap().is_empty());
}

macro_rules! every_backend {
    ($($behaviour:ident),* $(,)?) => {
        mod local_folder {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    let remote = super::support::local();
                    super::$behaviour(remote.backend.clone()).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    let remote = super::support::s3().await;
                    super::$behaviour(remote.backend.clone()).await;
                }
            )*
        }
    };
}

every_backend!(
    writes_read_back_and_list_sorted,
    reads_are_bounded_and_ranged,
    renames_and_deletes_files_and_trees,
    uploads_appear_only_when_committed,
    folder_locks_exclude_and_expire,
    names_round_trip_as_written,
);
