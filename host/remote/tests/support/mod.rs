//! The remotes every suite runs against: a local folder, and a bucket of a real S3 server on
//! loopback.
#![allow(dead_code, reason = "each test binary uses the parts it needs")]

use std::sync::Arc;

use lifeboat_net::TlsPolicy;
use lifeboat_remote::{Backend, LocalFolder, RemoteUrl, S3Credentials, S3Store};
use lifeboat_sim::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use tempfile::TempDir;

/// A remote and what keeps it alive.
#[allow(
    dead_code,
    reason = "each test binary reads the parts it needs; the rest keeps the remote alive"
)]
pub struct Remote {
    pub backend: Arc<dyn Backend>,
    pub server: Option<S3Server>,
    pub dir: TempDir,
}

pub fn local() -> Remote {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("remote");
    std::fs::create_dir(&root).unwrap();
    Remote {
        backend: Arc::new(LocalFolder::open("nightly", &root).unwrap()),
        server: None,
        dir,
    }
}

pub async fn s3() -> Remote {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(dir.path()).await.unwrap();
    server.create_bucket("backups").unwrap();
    let backend = s3_backend(&server.url("backups", "lifeboat/remote"));
    Remote {
        backend,
        server: Some(server),
        dir,
    }
}

pub fn s3_backend(url: &str) -> Arc<dyn Backend> {
    let RemoteUrl::S3(location) = RemoteUrl::parse(url).unwrap() else {
        panic!("{url} is an S3 URL")
    };
    let credentials = S3Credentials {
        access_key: ACCESS_KEY.to_owned(),
        secret_key: SECRET_KEY.into(),
    };
    Arc::new(
        S3Store::open(
            "nightly",
            &location,
            Some(credentials),
            &TlsPolicy::SystemRoots,
        )
        .unwrap(),
    )
}
