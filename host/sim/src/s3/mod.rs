//! A real S3 server on loopback, for tests and the demo: s3s-fs (an implementation of the S3
//! protocol that keeps each bucket as a folder) served over HTTP/1.1 with signed requests
//! checked. It records the requests it answers, so that tests can see how a client used it (a
//! multipart upload, a ranged read).

mod store;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hyper::service::{Service, service_fn};
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The server's access key.
pub const ACCESS_KEY: &str = "lifeboat";
/// The server's secret key.
pub const SECRET_KEY: &str = "lifeboat-test-secret";

/// One request the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Request {
    pub method: String,
    /// The request's path: `/BUCKET/KEY`.
    pub path: String,
    /// The query string (`uploadId=…&partNumber=2`), empty if none.
    pub query: String,
}

impl S3Request {
    /// Whether this request uploaded one part of a multipart upload.
    pub fn is_upload_part(&self) -> bool {
        self.method == "PUT" && self.query.contains("partNumber=")
    }
}

/// A running S3 server; stopped when dropped.
pub struct S3Server {
    address: std::net::SocketAddr,
    root: PathBuf,
    requests: Arc<Mutex<Vec<S3Request>>>,
    shutdown: watch::Sender<bool>,
}

impl S3Server {
    /// Serves the buckets under the folder `root` on an ephemeral loopback port.
    pub async fn start(root: &Path) -> std::io::Result<S3Server> {
        let store = s3s_fs::FileSystem::new(root).map_err(|error| {
            std::io::Error::other(format!("S3 server over {}: {error:?}", root.display()))
        })?;
        let mut builder = S3ServiceBuilder::new(store::PrunedFileSystem {
            inner: store,
            root: root.to_owned(),
        });
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (shutdown, stop) = watch::channel(false);
        let log = requests.clone();
        tokio::spawn(async move {
            loop {
                let mut stopped = stop.clone();
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stopped.wait_for(|stop| *stop) => return,
                };
                let Ok((stream, _)) = accepted else { continue };
                let (service, log) = (service.clone(), log.clone());
                tokio::spawn(async move {
                    let recorded =
                        service_fn(move |request: http::Request<hyper::body::Incoming>| {
                            log.lock()
                                .unwrap_or_else(|poisoned| poisoned.into_inner())
                                .push(S3Request {
                                    method: request.method().to_string(),
                                    path: request.uri().path().to_owned(),
                                    query: request.uri().query().unwrap_or("").to_owned(),
                                });
                            Service::call(&service, request)
                        });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), recorded);
                    tokio::select! {
                        _ = connection => {}
                        _ = stopped.wait_for(|stop| *stop) => {}
                    }
                });
            }
        });
        Ok(S3Server {
            address,
            root: root.to_owned(),
            requests,
            shutdown,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The remote URL of `prefix` in `bucket`, in Xen Orchestra's form for plain HTTP, without
    /// credentials (`s3+http://127.0.0.1:PORT/BUCKET/PREFIX`).
    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        let url = format!("s3+http://{}/{bucket}", self.address);
        if prefix.is_empty() {
            url
        } else {
            format!("{url}/{prefix}")
        }
    }

    /// Creates an empty bucket.
    pub fn create_bucket(&self, name: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(self.root.join(name))
    }

    /// The requests answered so far, oldest first.
    pub fn requests(&self) -> Vec<S3Request> {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
