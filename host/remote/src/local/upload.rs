//! Streaming writes into a local folder: a temporary file beside the target, renamed over it
//! once complete and durable.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use cap_std::fs::OpenOptions;
use tokio::io::AsyncWriteExt;

use super::Folder;
use crate::backend::{Committed, Upload};
use crate::error::Result;
use crate::path::RemotePath;

pub(super) struct LocalUpload {
    folder: Arc<Folder>,
    target: RemotePath,
    temporary: RemotePath,
    /// `None` once committed or aborted.
    file: Option<tokio::fs::File>,
    size: u64,
}

impl LocalUpload {
    /// Creates the temporary file (and the target's folder). Blocking.
    pub(super) fn start(folder: Arc<Folder>, target: RemotePath) -> Result<Self> {
        folder.create_parent(&target)?;
        let temporary = Folder::temporary(&target);
        let file = folder
            .dir
            .open_with(
                temporary.as_relative(),
                OpenOptions::new().write(true).create_new(true),
            )
            .map_err(|error| folder.error("create", &target, error))?;
        Ok(LocalUpload {
            folder,
            target,
            temporary,
            file: Some(tokio::fs::File::from_std(file.into_std())),
            size: 0,
        })
    }

    fn remove_temporary(&self) -> std::io::Result<()> {
        match self.folder.dir.remove_file(self.temporary.as_relative()) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Upload for LocalUpload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let file = self
            .file
            .as_mut()
            .expect("an upload is written until it ends");
        file.write_all(&data)
            .await
            .map_err(|error| self.folder.error("write", &self.target, error))?;
        self.size += data.len() as u64;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<Committed> {
        let mut file = self.file.take().expect("an upload is committed once");
        let synced = async {
            file.flush().await?;
            file.sync_all().await
        }
        .await;
        drop(file);
        let folder = self.folder.clone();
        let (temporary, target) = (self.temporary.clone(), self.target.clone());
        let renamed = tokio::task::spawn_blocking(move || {
            synced.map_err(|error| folder.error("sync", &target, error))?;
            folder
                .dir
                .rename(temporary.as_relative(), &folder.dir, target.as_relative())
                .map_err(|error| folder.error("rename into place", &target, error))?;
            folder.sync_parent(&target)
        })
        .await
        .unwrap_or_else(|panicked| std::panic::resume_unwind(panicked.into_panic()));
        if renamed.is_err() {
            // Best effort: the error says what failed; a stray temporary file is harmless.
            let _ = self.remove_temporary();
        }
        renamed?;
        Ok(Committed {
            size: self.size,
            parts: 1,
        })
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        self.file.take();
        self.remove_temporary()
            .map_err(|error| self.folder.error("remove the partial", &self.target, error))
    }
}

impl Drop for LocalUpload {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Dropped half-way (the caller failed or was cancelled): nothing may appear.
            let _ = self.remove_temporary();
        }
    }
}
