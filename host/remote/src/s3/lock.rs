//! Folder locks on S3: `<dir>.lock` is an object created only if absent (a conditional PUT),
//! whose modification time is the lease. Xen Orchestra takes no lock on S3; Lifeboat does, so
//! that two of its jobs never work in one folder. The lease is compared with the server's
//! clock, so a clock far off the server's shortens or lengthens it.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::Bucket;
use crate::error::Result;
use crate::lock::LockEntry;
use crate::path::RemotePath;

pub(super) struct LockObject(pub(super) Arc<Bucket>);

impl LockObject {
    async fn put(&self, path: &RemotePath, mode: PutMode) -> object_store::Result<()> {
        let bucket = &self.0;
        bucket
            .store
            .put_opts(
                &bucket.key(path),
                PutPayload::from_bytes(Bytes::from_static(b"lifeboat\n")),
                PutOptions::from(mode),
            )
            .await
            .map(drop)
    }
}

#[async_trait]
impl LockEntry for LockObject {
    async fn create(&self, path: &RemotePath) -> Result<bool> {
        match self.put(path, PutMode::Create).await {
            Ok(()) => Ok(true),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(false),
            Err(error) => Err(self.0.error("create the lock", path, error)),
        }
    }

    async fn renewed_at(&self, path: &RemotePath) -> Result<Option<SystemTime>> {
        match self.0.store.head(&self.0.key(path)).await {
            Ok(meta) => Ok(Some(meta.last_modified.into())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.0.error("read the lock", path, error)),
        }
    }

    async fn renew(&self, path: &RemotePath) -> Result<()> {
        self.put(path, PutMode::Overwrite)
            .await
            .map_err(|error| self.0.error("renew the lock", path, error))
    }

    async fn remove_stale(&self, path: &RemotePath) -> Result<bool> {
        match self.0.store.delete(&self.0.key(path)).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(self.0.error("remove the stale lock", path, error)),
        }
    }

    async fn release(&self, path: &RemotePath) -> Result<()> {
        self.remove_stale(path).await.map(drop)
    }
}
