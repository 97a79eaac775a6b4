//! Streaming writes to S3: a multipart upload in parts of [`PART_SIZE`], at most two in flight.
//! The object appears under its key only when the upload completes. An upload that is aborted
//! or dropped is aborted on the server (its parts discarded); one cut off with its process
//! leaves no object, only parts that a lifecycle rule on the bucket discards.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::{ObjectStoreExt, WriteMultipart};

use super::{Bucket, PART_SIZE};
use crate::backend::{Committed, Upload};
use crate::error::Result;
use crate::path::RemotePath;

/// Parts being sent at once: the memory an upload holds is bounded by this many parts plus the
/// one being filled.
const PARTS_IN_FLIGHT: usize = 2;

pub(super) struct S3Upload {
    bucket: Arc<Bucket>,
    path: RemotePath,
    /// `None` once completed or aborted.
    writer: Option<WriteMultipart>,
    size: u64,
}

impl S3Upload {
    pub(super) async fn start(bucket: Arc<Bucket>, path: RemotePath) -> Result<Self> {
        let upload = bucket
            .store
            .put_multipart(&bucket.key(&path))
            .await
            .map_err(|error| bucket.error("create", &path, error))?;
        Ok(S3Upload {
            writer: Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)),
            bucket,
            path,
            size: 0,
        })
    }
}

#[async_trait]
impl Upload for S3Upload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let writer = self
            .writer
            .as_mut()
            .expect("an upload is written until it ends");
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|error| self.bucket.error("write", &self.path, error))?;
        self.size += data.len() as u64;
        writer.put(data);
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<Committed> {
        let writer = self.writer.take().expect("an upload is committed once");
        writer.finish().await.map_err(|error| {
            self.bucket
                .error("complete the upload of", &self.path, error)
        })?;
        Ok(Committed {
            size: self.size,
            parts: self.size.div_ceil(PART_SIZE as u64).max(1) as u32,
        })
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        let writer = self.writer.take().expect("an upload is aborted once");
        writer
            .abort()
            .await
            .map_err(|error| self.bucket.error("abort the upload of", &self.path, error))
    }
}

impl Drop for S3Upload {
    fn drop(&mut self) {
        // Dropped half-way (the caller failed or was cancelled): the parts sent so far are
        // discarded on the server, in the background since a drop cannot wait.
        if let Some(writer) = self.writer.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let path = self.path.clone();
            runtime.spawn(async move {
                if let Err(error) = writer.abort().await {
                    tracing::warn!("aborting the upload of {path}: {error}");
                }
            });
        }
    }
}
