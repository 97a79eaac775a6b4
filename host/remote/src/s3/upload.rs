//! Streaming writes to S3: a multipart upload in parts of [`PART_SIZE`], at most two in flight.
//! The object appears under its key only when the upload completes; an upload that is aborted
//! or cut off (the process killed) leaves no object, only parts that the server or a lifecycle
//! rule discards.

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
    writer: WriteMultipart,
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
            writer: WriteMultipart::new_with_chunk_size(upload, PART_SIZE),
            bucket,
            path,
            size: 0,
        })
    }
}

#[async_trait]
impl Upload for S3Upload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|error| self.bucket.error("write", &self.path, error))?;
        self.size += data.len() as u64;
        self.writer.put(data);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<Committed> {
        let S3Upload {
            bucket,
            path,
            writer,
            size,
        } = *self;
        writer
            .finish()
            .await
            .map_err(|error| bucket.error("complete the upload of", &path, error))?;
        Ok(Committed {
            size,
            parts: size.div_ceil(PART_SIZE as u64).max(1) as u32,
        })
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        let S3Upload {
            bucket,
            path,
            writer,
            ..
        } = *self;
        writer
            .abort()
            .await
            .map_err(|error| bucket.error("abort the upload of", &path, error))
    }
}
