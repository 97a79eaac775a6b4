//! Folder locks in a local folder, as proper-lockfile takes them for Xen Orchestra: `<dir>.lock`
//! is a folder (made atomically by `mkdir`) whose modification time is the lease. The folder
//! stays empty, so that Xen Orchestra can remove it with `rmdir` when it finds it stale; the
//! holder's token is in a hidden file beside it, `.<dir>.lock.holder`, which Xen Orchestra's
//! listings skip (they skip names that start with a dot).

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use cap_fs_ext::{DirExt, SystemTimeSpec};

use super::Folder;
use crate::error::Result;
use crate::lock::{Holder, LockEntry};
use crate::path::RemotePath;

pub(super) struct LockDir(pub(super) Arc<Folder>);

/// The hidden file beside the lock folder `path` that names its holder.
fn holder_file(path: &RemotePath) -> RemotePath {
    path.sibling(&format!(".{}.holder", path.file_name().unwrap_or("lock")))
}

/// Makes `token` the holder of the lock folder `path`.
fn write_holder(folder: &Folder, path: &RemotePath, token: &str) -> Result<()> {
    folder
        .dir
        .write(holder_file(path).as_relative(), token)
        .map_err(|error| folder.error("write the lock's holder", path, error))
}

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

/// The holder of the lock folder at `path`; `None` if there is none. The token is whatever the
/// holder file says; a folder made by Xen Orchestra has another holder's token or none, which
/// is never this holder's.
fn holder_of(folder: &Folder, path: &RemotePath) -> Result<Option<Holder>> {
    let meta = match folder.dir.symlink_metadata(path.as_relative()) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(folder.error("read the lock", path, error)),
    };
    let renewed_at = meta
        .modified()
        .map_err(|error| folder.error("read the lock", path, error))?
        .into_std();
    let token = folder
        .dir
        .read_to_string(holder_file(path).as_relative())
        .unwrap_or_default();
    Ok(Some(Holder {
        token,
        renewed_at,
        version: None,
    }))
}

#[async_trait]
impl LockEntry for LockDir {
    async fn create(&self, path: &RemotePath, token: &str) -> Result<bool> {
        let token = token.to_owned();
        self.blocking(path, move |folder, path| {
            folder.create_parent(path)?;
            match folder.dir.create_dir(path.as_relative()) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
                Err(error) => return Err(folder.error("create the lock", path, error)),
            }
            write_holder(folder, path, &token)?;
            Ok(true)
        })
        .await
    }

    async fn holder(&self, path: &RemotePath) -> Result<Option<Holder>> {
        self.blocking(path, holder_of).await
    }

    async fn renew(&self, path: &RemotePath, token: &str) -> Result<bool> {
        let token = token.to_owned();
        self.blocking(path, move |folder, path| {
            match holder_of(folder, path)? {
                Some(holder) if holder.token == token => {}
                _ => return Ok(false),
            }
            folder
                .dir
                .set_times(path.as_relative(), None, Some(SystemTimeSpec::SymbolicNow))
                .map_err(|error| folder.error("renew the lock", path, error))?;
            Ok(true)
        })
        .await
    }

    async fn take_over(&self, path: &RemotePath, stale: &Holder, token: &str) -> Result<bool> {
        let (stale, token) = (stale.clone(), token.to_owned());
        self.blocking(path, move |folder, path| {
            // Renamed aside first: of two takers, only one rename succeeds. What was renamed
            // must still be the stale folder, renewed when it was seen; a fresh one (another
            // taker's, or renewed since) is put back.
            let aside = Folder::temporary(path);
            match folder
                .dir
                .rename(path.as_relative(), &folder.dir, aside.as_relative())
            {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(error) => return Err(folder.error("take over the lock", path, error)),
            }
            let renewed_at = holder_of(folder, &aside)?.map(|holder| holder.renewed_at);
            if renewed_at != Some(stale.renewed_at) {
                let _ = folder
                    .dir
                    .rename(aside.as_relative(), &folder.dir, path.as_relative());
                return Ok(false);
            }
            folder
                .dir
                .remove_dir_all(aside.as_relative())
                .map_err(|error| folder.error("remove the stale lock", path, error))?;
            match folder.dir.create_dir(path.as_relative()) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
                Err(error) => return Err(folder.error("take over the lock", path, error)),
            }
            write_holder(folder, path, &token)?;
            Ok(true)
        })
        .await
    }

    async fn release(&self, path: &RemotePath, token: &str) -> Result<()> {
        let token = token.to_owned();
        self.blocking(path, move |folder, path| {
            match holder_of(folder, path)? {
                Some(holder) if holder.token == token => {}
                // Gone, or another holder's now: nothing of ours to remove.
                _ => return Ok(()),
            }
            for removed in [
                folder.dir.remove_dir_all(path.as_relative()),
                folder.dir.remove_file(holder_file(path).as_relative()),
            ] {
                match removed {
                    Err(error) if error.kind() != io::ErrorKind::NotFound => {
                        return Err(folder.error("release the lock", path, error));
                    }
                    _ => {}
                }
            }
            Ok(())
        })
        .await
    }
}
