//! A remote in an S3 bucket (or an S3-compatible store) through `object_store`: path-style
//! requests to the configured endpoint, credentials from the caller (a pipeline's secrets),
//! multipart uploads for streamed files, ranged reads, and object_store's retries with backoff.
//!
//! S3 has no folders and no rename: a folder is the prefix its objects share, and renaming
//! copies then deletes, object by object (not atomic for a folder, as in Xen Orchestra).

mod lock;
mod upload;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use lifeboat_formats::secret::Secret;
use lifeboat_net::TlsPolicy;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpClient, HttpConnector};
use object_store::path::Path as Key;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload,
};

use crate::backend::{Backend, Entry, EntryKind, Opened, Upload};
use crate::error::{RemoteError, Result};
use crate::lock::FolderLock;
use crate::path::RemotePath;
use crate::url::S3Location;

/// Credentials of an S3 remote.
#[derive(Clone, Debug)]
pub struct S3Credentials {
    pub access_key: String,
    pub secret_key: Secret,
}

/// A remote in an S3 bucket, under a prefix.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Bucket>,
}

pub(crate) struct Bucket {
    name: String,
    location: S3Location,
    store: AmazonS3,
}

/// Size of the parts of a multipart upload: S3 wants at least 5 MiB but for the last part.
pub const PART_SIZE: usize = 8 << 20;

/// object_store's HTTP transport: a reqwest client with Lifeboat's TLS policy.
#[derive(Debug)]
struct Transport(reqwest::Client);

impl HttpConnector for Transport {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(self.0.clone()))
    }
}

impl S3Store {
    /// Opens the remote `name` at `location`. Credentials written in the URL are used only
    /// when `credentials` is `None`.
    pub fn open(
        name: &str,
        location: &S3Location,
        credentials: Option<S3Credentials>,
        tls: &TlsPolicy,
    ) -> Result<Self> {
        let config = |problem: String| RemoteError::Config {
            remote: name.to_owned(),
            problem,
        };
        let credentials = match (credentials, &location.access_key, &location.secret_key) {
            (Some(credentials), _, _) => credentials,
            (None, Some(access_key), Some(secret_key)) => S3Credentials {
                access_key: access_key.clone(),
                secret_key: secret_key.clone(),
            },
            _ => {
                return Err(config(
                    "an S3 remote needs an access key and a secret key".to_owned(),
                ));
            }
        };
        let tls = if location.allow_unauthorized {
            &TlsPolicy::Insecure
        } else {
            tls
        };
        let http = lifeboat_net::tls::apply(reqwest::Client::builder(), tls)
            .map_err(|error| config(error.to_string()))?
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| config(format!("HTTP client: {error}")))?;
        let store = AmazonS3Builder::new()
            .with_endpoint(&location.endpoint)
            .with_allow_http(location.endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false)
            .with_region(&location.region)
            .with_bucket_name(&location.bucket)
            .with_access_key_id(&credentials.access_key)
            .with_secret_access_key(credentials.secret_key.expose())
            .with_http_connector(Transport(http))
            .build()
            .map_err(|error| config(error.to_string()))?;
        Ok(S3Store {
            inner: Arc::new(Bucket {
                name: name.to_owned(),
                location: location.clone(),
                store,
            }),
        })
    }
}

impl Bucket {
    /// The object key of `path`, as written: never percent-encoded, so that it is the key a
    /// listing returns for the same name.
    pub(crate) fn key(&self, path: &RemotePath) -> Key {
        let key = match (self.location.prefix.is_empty(), path.is_root()) {
            (true, _) => path.as_str().to_owned(),
            (false, true) => self.location.prefix.clone(),
            (false, false) => format!("{}/{}", self.location.prefix, path.as_str()),
        };
        // `Key::parse` refuses only empty names, `.`, `..` and control characters, which a
        // `RemotePath` never holds (nor a prefix read from a URL, whose names it checks alike).
        Key::parse(&key).unwrap_or_else(|_| Key::from(key.as_str()))
    }

    /// The prefix of a folder's objects, `None` for the bucket's root.
    fn folder(&self, dir: &RemotePath) -> Option<Key> {
        let key = self.key(dir);
        (!key.as_ref().is_empty()).then_some(key)
    }

    pub(crate) fn error(
        &self,
        operation: &'static str,
        path: &RemotePath,
        error: object_store::Error,
    ) -> RemoteError {
        match error {
            object_store::Error::NotFound { .. } => RemoteError::NotFound {
                remote: self.name.clone(),
                path: path.clone(),
            },
            error => RemoteError::Store {
                remote: self.name.clone(),
                operation,
                path: path.clone(),
                error: Box::new(error),
            },
        }
    }

    /// Whether some object lies under `path` as under a folder.
    async fn is_folder(&self, path: &RemotePath) -> Result<bool> {
        let mut under = self.store.list(self.folder(path).as_ref());
        match under.next().await {
            Some(Ok(_)) => Ok(true),
            Some(Err(error)) => Err(self.error("list", path, error)),
            None => Ok(false),
        }
    }

    async fn delete_key(&self, path: &RemotePath, key: &Key) -> Result<()> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(self.error("delete", path, error)),
        }
    }

    /// Every object under the folder `dir`, at any depth.
    async fn objects_under(&self, dir: &RemotePath) -> Result<Vec<Key>> {
        let prefix = self.folder(dir);
        self.store
            .list(prefix.as_ref())
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|error| self.error("list", dir, error))
    }

    /// `path` relative to the remote's root, from an object's key under `dir`.
    fn relative(&self, dir: &RemotePath, key: &Key) -> Result<RemotePath> {
        let folder = self.key(dir);
        let rest = key
            .as_ref()
            .strip_prefix(folder.as_ref())
            .unwrap_or(key.as_ref());
        dir.join(rest.trim_start_matches('/'))
    }
}

#[async_trait]
impl Backend for S3Store {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn location(&self) -> String {
        self.inner.location.to_string()
    }

    async fn list(&self, dir: &RemotePath) -> Result<Vec<Entry>> {
        let bucket = &self.inner;
        let listed = bucket
            .store
            .list_with_delimiter(bucket.folder(dir).as_ref())
            .await
            .map_err(|error| bucket.error("list", dir, error))?;
        let folders = listed.common_prefixes.iter().filter_map(|key| {
            Some(Entry {
                name: key.filename()?.to_owned(),
                kind: EntryKind::Dir,
                size: 0,
                modified: None,
            })
        });
        let files = listed.objects.iter().filter_map(|meta| {
            Some(Entry {
                name: meta.location.filename()?.to_owned(),
                kind: EntryKind::File,
                size: meta.size,
                modified: Some(meta.last_modified.into()),
            })
        });
        let mut entries: Vec<Entry> = folders.chain(files).collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    async fn stat(&self, path: &RemotePath) -> Result<Entry> {
        let bucket = &self.inner;
        let name = path.file_name().unwrap_or("").to_owned();
        // Folders first: some servers fail (rather than answer 404) a HEAD on a folder's key.
        if path.is_root() || bucket.is_folder(path).await? {
            return Ok(Entry {
                name,
                kind: EntryKind::Dir,
                size: 0,
                modified: None,
            });
        }
        let meta = bucket
            .store
            .head(&bucket.key(path))
            .await
            .map_err(|error| bucket.error("stat", path, error))?;
        Ok(Entry {
            name,
            kind: EntryKind::File,
            size: meta.size,
            modified: Some(meta.last_modified.into()),
        })
    }

    async fn read(&self, path: &RemotePath, limit: u64) -> Result<Bytes> {
        let bucket = &self.inner;
        let got = bucket
            .store
            .get(&bucket.key(path))
            .await
            .map_err(|error| bucket.error("read", path, error))?;
        if got.meta.size > limit {
            return Err(RemoteError::TooLarge {
                remote: bucket.name.clone(),
                path: path.clone(),
                size: got.meta.size,
                limit,
            });
        }
        got.bytes()
            .await
            .map_err(|error| bucket.error("read", path, error))
    }

    async fn write(&self, path: &RemotePath, data: Bytes) -> Result<()> {
        // One PUT: S3 shows an object whole or not at all.
        let bucket = &self.inner;
        bucket
            .store
            .put_opts(
                &bucket.key(path),
                PutPayload::from_bytes(data),
                PutOptions::from(PutMode::Overwrite),
            )
            .await
            .map(drop)
            .map_err(|error| bucket.error("write", path, error))
    }

    async fn rename(&self, from: &RemotePath, to: &RemotePath) -> Result<()> {
        let bucket = &self.inner;
        if !bucket.is_folder(from).await? {
            return bucket
                .store
                .rename(&bucket.key(from), &bucket.key(to))
                .await
                .map_err(|error| bucket.error("rename", from, error));
        }
        for key in bucket.objects_under(from).await? {
            let source = bucket.relative(from, &key)?;
            let rest = source
                .as_str()
                .strip_prefix(from.as_str())
                .unwrap_or(source.as_str());
            let target = to.join(rest.trim_start_matches('/'))?;
            bucket
                .store
                .rename(&key, &bucket.key(&target))
                .await
                .map_err(|error| bucket.error("rename", &source, error))?;
        }
        Ok(())
    }

    async fn delete(&self, path: &RemotePath) -> Result<()> {
        let bucket = &self.inner;
        if path.is_root() {
            return Err(RemoteError::Denied {
                remote: bucket.name.clone(),
                path: path.clone(),
                reason: "the root itself may not be deleted".to_owned(),
            });
        }
        if !bucket.is_folder(path).await? {
            return bucket.delete_key(path, &bucket.key(path)).await;
        }
        for key in bucket.objects_under(path).await? {
            bucket.delete_key(path, &key).await?;
        }
        Ok(())
    }

    async fn open(&self, path: &RemotePath, range: Option<Range<u64>>) -> Result<Opened> {
        let bucket = &self.inner;
        let key = bucket.key(path);
        let range = match range {
            None => None,
            Some(range) => {
                // Clamped to the object's size as a local file would be: S3 refuses a range that
                // starts at or past the end.
                let size = bucket
                    .store
                    .head(&key)
                    .await
                    .map_err(|error| bucket.error("open", path, error))?
                    .size;
                let start = range.start.min(size);
                let end = range.end.clamp(start, size);
                if start == end {
                    return Ok(Opened {
                        stream: Box::pin(tokio::io::empty()),
                        size: 0,
                    });
                }
                Some(GetRange::Bounded(start..end))
            }
        };
        let options = GetOptions {
            range,
            ..GetOptions::default()
        };
        let got = bucket
            .store
            .get_opts(&key, options)
            .await
            .map_err(|error| bucket.error("open", path, error))?;
        let size = got.range.end - got.range.start;
        let stream = got.into_stream().map_err(std::io::Error::other);
        Ok(Opened {
            stream: Box::pin(tokio_util::io::StreamReader::new(stream)),
            size,
        })
    }

    async fn create(&self, path: &RemotePath) -> Result<Box<dyn Upload>> {
        Ok(Box::new(
            upload::S3Upload::start(self.inner.clone(), path.clone()).await?,
        ))
    }

    async fn lock(&self, dir: &RemotePath, lease: Duration) -> Result<FolderLock> {
        crate::lock::acquire(
            &self.inner.name,
            Arc::new(lock::LockObject(self.inner.clone())),
            dir,
            lease,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lifeboat_sim::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

    use super::*;
    use crate::url::RemoteUrl;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_objects_keep_their_holders_apart() {
        let dir = tempfile::tempdir().unwrap();
        let server = S3Server::start(dir.path()).await.unwrap();
        server.create_bucket("backups").unwrap();
        let RemoteUrl::S3(location) = RemoteUrl::parse(&server.url("backups", "p")).unwrap() else {
            panic!("an S3 URL")
        };
        let credentials = S3Credentials {
            access_key: ACCESS_KEY.to_owned(),
            secret_key: SECRET_KEY.into(),
        };
        let store = S3Store::open(
            "nightly",
            &location,
            Some(credentials),
            &TlsPolicy::SystemRoots,
        )
        .unwrap();
        crate::lock::check_ownership(Arc::new(lock::LockObject(store.inner.clone()))).await;
    }
}
