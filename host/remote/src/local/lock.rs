//! Folder locks in a local folder, as proper-lockfile takes them for Xen Orchestra: `<dir>.lock`
//! is a folder (made atomically by `mkdir`) whose modification time is the lease.

use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use cap_fs_ext::{DirExt, SystemTimeSpec};

use super::Folder;
use crate::error::Result;
use crate::lock::LockEntry;
use crate::path::RemotePath;

pub(super) struct LockDir(pub(super) Arc<Folder>);

impl LockDir {
    async fn blocking<T: Send + 'static>(
        &self,
        path: &RemotePath,
        work: impl FnOnce(&Folder, &RemotePath) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (folder, path) = (self.0.clone(), path.clone());
        tokio::task::spawn_blocking(move || work(&folder, &path))
            .await
            .unwrap_or_else(|panicked| std::panic::resume_unwind(panicked.into_panic()))
    }
}

#[async_trait]
impl LockEntry for LockDir {
    async fn create(&self, path: &RemotePath) -> Result<bool> {
        self.blocking(path, |folder, path| {
            folder.create_parent(path)?;
            match folder.dir.create_dir(path.as_relative()) {
                Ok(()) => Ok(true),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(error) => Err(folder.error("create the lock", path, error)),
            }
        })
        .await
    }

    async fn renewed_at(&self, path: &RemotePath) -> Result<Option<SystemTime>> {
        self.blocking(path, |folder, path| {
            match folder.dir.symlink_metadata(path.as_relative()) {
                Ok(meta) => Ok(meta.modified().ok().map(|time| time.into_std())),
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(folder.error("read the lock", path, error)),
            }
        })
        .await
    }

    async fn renew(&self, path: &RemotePath) -> Result<()> {
        self.blocking(path, |folder, path| {
            folder
                .dir
                .set_times(path.as_relative(), None, Some(SystemTimeSpec::SymbolicNow))
                .map_err(|error| folder.error("renew the lock", path, error))
        })
        .await
    }

    async fn remove_stale(&self, path: &RemotePath) -> Result<bool> {
        // Renamed away first: of two takers of the same stale lock, only one rename succeeds,
        // so the other cannot remove the lock the first has just made.
        self.blocking(path, |folder, path| {
            let aside = Folder::temporary(path);
            match folder
                .dir
                .rename(path.as_relative(), &folder.dir, aside.as_relative())
            {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(error) => return Err(folder.error("take over the lock", path, error)),
            }
            folder
                .dir
                .remove_dir_all(aside.as_relative())
                .map_err(|error| folder.error("remove the stale lock", path, error))?;
            Ok(true)
        })
        .await
    }

    async fn release(&self, path: &RemotePath) -> Result<()> {
        self.blocking(path, |folder, path| {
            match folder.dir.remove_dir_all(path.as_relative()) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => {
                    Err(folder.error("release the lock", path, error))
                }
                _ => Ok(()),
            }
        })
        .await
    }
}
