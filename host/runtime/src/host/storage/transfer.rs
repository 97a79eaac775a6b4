//! A remote's files as the copy engine's sources and sinks: read from the backend as they
//! stream, written through an upload that appears under its name only once the source's
//! verdict is known (and is dropped, leaving nothing, otherwise).

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::StreamExt;
use lifeboat_remote::{RemotePath, Upload};
use tokio_util::io::ReaderStream;

use crate::bindings::types::Error;
use crate::grants::RemoteConnection;
use crate::host::errors;
use crate::transfer::{ByteStream, Reading, Sink, Source, Written};

/// Read size for files.
const FILE_CHUNK: usize = 1 << 20;

/// A file of a remote (as a source, the bytes of `range` only, when set).
pub struct RemoteFile {
    pub remote: Arc<RemoteConnection>,
    pub path: RemotePath,
    pub range: Option<std::ops::Range<u64>>,
}

impl RemoteFile {
    fn failed(&self, error: lifeboat_remote::RemoteError) -> Error {
        match error.kind() {
            lifeboat_remote::RemoteErrorKind::NotFound => errors::not_found(error.to_string()),
            _ => errors::transfer(error.to_string()),
        }
    }
}

#[async_trait]
impl Source for RemoteFile {
    fn describe(&self) -> String {
        match &self.range {
            Some(range) => format!(
                "bytes {}..{} of file {} of {}",
                range.start, range.end, self.path, self.remote.name
            ),
            None => format!("file {} of {}", self.path, self.remote.name),
        }
    }

    async fn open(self: Box<Self>) -> Result<Reading, Error> {
        let opened = self
            .remote
            .backend
            .open(&self.path, self.range.clone())
            .await
            .map_err(|error| self.failed(error))?;
        Ok(Reading::plain(
            ReaderStream::with_capacity(opened.stream, FILE_CHUNK).boxed(),
            Some(opened.size),
        ))
    }
}

#[async_trait]
impl Sink for RemoteFile {
    fn describe(&self) -> String {
        format!("file {} of {}", self.path, self.remote.name)
    }

    async fn write(
        self: Box<Self>,
        mut body: ByteStream,
        _length: Option<u64>,
    ) -> Result<Box<dyn Written>, Error> {
        let mut upload = self
            .remote
            .backend
            .create(&self.path)
            .await
            .map_err(|error| self.failed(error))?;
        while let Some(chunk) = body.next().await {
            let written = match chunk {
                Ok(chunk) => upload
                    .write(chunk)
                    .await
                    .map_err(|error| self.failed(error)),
                Err(error) => Err(errors::transfer(format!(
                    "{}: {error}",
                    Sink::describe(&*self)
                ))),
            };
            if let Err(error) = written {
                if let Err(abort) = upload.abort().await {
                    tracing::warn!("{}: {abort}", Sink::describe(&*self));
                }
                return Err(error);
            }
        }
        Ok(Box::new(Uploaded {
            file: *self,
            upload,
        }))
    }
}

/// A file uploaded but not yet under its name.
struct Uploaded {
    file: RemoteFile,
    upload: Box<dyn Upload>,
}

#[async_trait]
impl Written for Uploaded {
    fn created(&self) -> Vec<String> {
        vec![self.file.path.to_string()]
    }

    async fn commit(self: Box<Self>) -> Result<(), Error> {
        let Uploaded { file, upload } = *self;
        upload
            .commit()
            .await
            .map(drop)
            .map_err(|error| file.failed(error))
    }

    async fn abort(self: Box<Self>) {
        let Uploaded { file, upload } = *self;
        if let Err(error) = upload.abort().await {
            tracing::warn!("{}: {error}", Sink::describe(&file));
        }
    }
}
