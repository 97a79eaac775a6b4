//! What only S3 does: large files go up in parts, and credentials the server refuses give an
//! error that names the remote and never the secret.

mod support;

use bytes::Bytes;
use lifeboat_remote::RemotePath;
use lifeboat_sim::s3::S3Server;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_is_multipart_and_reads_back_whole_and_by_range() {
    let remote = support::s3().await;
    let backend = &remote.backend;
    let target = RemotePath::parse("xo-vm-backups/vm/big.xva").unwrap();
    let mut upload = backend.create(&target).await.unwrap();
    let mut sent = Sha256::new();
    // 20 MiB in 1 MiB writes of varying bytes: three parts of at most 8 MiB.
    for chunk in 0..20u32 {
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i ^ chunk) as u8).collect();
        sent.update(&data);
        upload.write(Bytes::from(data)).await.unwrap();
    }
    let committed = upload.commit().await.unwrap();
    assert_eq!((committed.size, committed.parts), (20 << 20, 3));
    let server = remote.server.as_ref().unwrap();
    let parts = server
        .requests()
        .iter()
        .filter(|request| request.is_upload_part() && request.path.ends_with("/big.xva"))
        .count();
    assert_eq!(parts, 3, "the server received the file in 3 parts");

    let mut opened = backend.open(&target, None).await.unwrap();
    let mut received = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let read = opened.stream.read(&mut buffer).await.unwrap();
        if read == 0 {
            break;
        }
        received.update(&buffer[..read]);
    }
    assert_eq!(received.finalize(), sent.finalize());
    let mut tail = Vec::new();
    backend
        .open(&target, Some((20 << 20) - 10..(20 << 20) + 100))
        .await
        .unwrap()
        .stream
        .read_to_end(&mut tail)
        .await
        .unwrap();
    assert_eq!(tail.len(), 10);
    let ranged = server
        .requests()
        .iter()
        .filter(|request| request.method == "GET" && request.path.ends_with("/big.xva"))
        .count();
    assert_eq!(ranged, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_name_the_remote_and_not_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(dir.path()).await.unwrap();
    server.create_bucket("backups").unwrap();
    let url = server
        .url("backups", "")
        .replace("s3+http://", "s3+http://lifeboat:wrong-secret-7391@");
    let lifeboat_remote::RemoteUrl::S3(location) = lifeboat_remote::RemoteUrl::parse(&url).unwrap()
    else {
        panic!("an S3 URL")
    };
    let backend = lifeboat_remote::S3Store::open(
        "offsite",
        &location,
        None,
        &lifeboat_net::TlsPolicy::SystemRoots,
    )
    .unwrap();
    let error = lifeboat_remote::Backend::write(
        &backend,
        &RemotePath::parse("a.json").unwrap(),
        Bytes::from_static(b"{}"),
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("a.json on offsite"), "{message}");
    assert!(!message.contains("wrong-secret-7391"), "{message}");
    assert!(!format!("{error:?}").contains("wrong-secret-7391"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_upload_is_aborted_on_the_server() {
    let remote = support::s3().await;
    let target = RemotePath::parse("xo-vm-backups/vm/dropped.xva").unwrap();
    let mut upload = remote.backend.create(&target).await.unwrap();
    upload.write(Bytes::from(vec![1; 9 << 20])).await.unwrap();
    drop(upload);
    let server = remote.server.as_ref().unwrap();
    let aborted = || {
        server.requests().iter().any(|request| {
            request.method == "DELETE"
                && request.path.ends_with("/dropped.xva")
                && request.query.starts_with("uploadId=")
        })
    };
    // The abort runs in the background: a drop cannot wait.
    for _ in 0..100 {
        if aborted() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(aborted(), "AbortMultipartUpload was sent");
    assert!(remote.backend.stat(&target).await.is_err());
}
