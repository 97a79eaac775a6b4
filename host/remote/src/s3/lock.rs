//! Folder locks on S3: `<dir>.lock` is an object holding its holder's token, created only if
//! absent and renewed or taken over only if unchanged (conditional PUTs on its ETag), whose
//! modification time is the lease. Xen Orchestra takes no lock on S3; Lifeboat does, so that
//! two of its jobs never work in one folder. The lease is compared with the server's clock, so
//! a clock far off the server's shortens or lengthens it.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::Bucket;
use crate::error::Result;
use crate::lock::{Holder, LockEntry};
use crate::path::RemotePath;

pub(super) struct LockObject(pub(super) Arc<Bucket>);

impl LockObject {
    async fn put(&self, path: &RemotePath, token: &str, mode: PutMode) -> object_store::Result<()> {
        let bucket = &self.0;
        bucket
            .store
            .put_opts(
                &bucket.key(path),
                PutPayload::from_bytes(Bytes::from(token.to_owned())),
                PutOptions::from(mode),
            )
            .await
            .map(drop)
    }

    /// `Ok(false)` for the answers that mean the entry is not as expected.
    fn conditional(
        &self,
        path: &RemotePath,
        what: &'static str,
        result: object_store::Result<()>,
    ) -> Result<bool> {
        match result {
            Ok(()) => Ok(true),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. }
                | object_store::Error::NotFound { .. },
            ) => Ok(false),
            Err(error) => Err(self.0.error(what, path, error)),
        }
    }
}

#[async_trait]
impl LockEntry for LockObject {
    async fn create(&self, path: &RemotePath, token: &str) -> Result<bool> {
        let created = self.put(path, token, PutMode::Create).await;
        self.conditional(path, "create the lock", created)
    }

    async fn holder(&self, path: &RemotePath) -> Result<Option<Holder>> {
        let bucket = &self.0;
        let got = match bucket.store.get(&bucket.key(path)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(bucket.error("read the lock", path, error)),
        };
        let (renewed_at, version) = (got.meta.last_modified.into(), got.meta.e_tag.clone());
        let token = got
            .bytes()
            .await
            .map_err(|error| bucket.error("read the lock", path, error))?;
        Ok(Some(Holder {
            token: String::from_utf8_lossy(&token).into_owned(),
            renewed_at,
            version,
        }))
    }

    async fn renew(&self, path: &RemotePath, token: &str) -> Result<bool> {
        match self.holder(path).await? {
            Some(holder) if holder.token == token => {
                let renewed = self.put(path, token, update(&holder)).await;
                self.conditional(path, "renew the lock", renewed)
            }
            _ => Ok(false),
        }
    }

    async fn take_over(&self, path: &RemotePath, stale: &Holder, token: &str) -> Result<bool> {
        let taken = self.put(path, token, update(stale)).await;
        self.conditional(path, "take over the lock", taken)
    }

    async fn release(&self, path: &RemotePath, token: &str) -> Result<()> {
        let bucket = &self.0;
        match self.holder(path).await? {
            Some(holder) if holder.token == token => {
                match bucket.store.delete(&bucket.key(path)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(error) => Err(bucket.error("release the lock", path, error)),
                }
            }
            _ => Ok(()),
        }
    }
}

/// A write that succeeds only over `holder`'s version of the entry.
fn update(holder: &Holder) -> PutMode {
    PutMode::Update(UpdateVersion {
        e_tag: holder.version.clone(),
        version: None,
    })
}
