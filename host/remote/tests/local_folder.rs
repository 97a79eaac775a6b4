//! What only a local folder does: links that lead outside the root are refused, and its locks
//! are Xen Orchestra's (a `<dir>.lock` folder, as proper-lockfile makes it).

mod support;

use bytes::Bytes;
use lifeboat_remote::{RemoteErrorKind, RemotePath};

#[tokio::test]
async fn no_path_leaves_the_root_through_a_link() {
    let remote = support::local();
    let root = remote.dir.path().join("remote");
    let outside = remote.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret"), "private").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), root.join("secret-link")).unwrap();
    let backend = &remote.backend;
    for path in ["escape/secret", "secret-link"] {
        let error = backend
            .read(&RemotePath::parse(path).unwrap(), 100)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), RemoteErrorKind::Denied, "{path}: {error}");
    }
    let error = backend
        .write(
            &RemotePath::parse("escape/planted").unwrap(),
            Bytes::from_static(b"x"),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), RemoteErrorKind::Denied, "{error}");
    assert!(!outside.join("planted").exists());
    assert!(
        backend
            .list(&RemotePath::parse("escape").unwrap())
            .await
            .is_err()
    );
    // Deleting the link removes the link, never what it points to.
    backend
        .delete(&RemotePath::parse("escape").unwrap())
        .await
        .unwrap();
    assert!(outside.join("secret").exists());
}

#[tokio::test]
async fn a_lock_is_a_lock_folder_beside_the_vm_folder() {
    let remote = support::local();
    let root = remote.dir.path().join("remote");
    let lock = remote
        .backend
        .lock(
            &RemotePath::parse("xo-vm-backups/vm1").unwrap(),
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert!(root.join("xo-vm-backups/vm1.lock").is_dir());
    // Empty, as Xen Orchestra (proper-lockfile) removes a stale lock with `rmdir`; the holder
    // is named in a hidden file, which Xen Orchestra's listings skip.
    std::fs::remove_dir(root.join("xo-vm-backups/vm1.lock")).unwrap();
    std::fs::create_dir(root.join("xo-vm-backups/vm1.lock")).unwrap();
    assert!(root.join("xo-vm-backups/.vm1.lock.holder").is_file());
    lock.release().await.unwrap();
    assert!(!root.join("xo-vm-backups/vm1.lock").exists());
    assert!(!root.join("xo-vm-backups/.vm1.lock.holder").exists());
}
