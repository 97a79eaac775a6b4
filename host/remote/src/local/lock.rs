//! Folder locks in a local folder, as proper-lockfile takes them for Xen Orchestra: `<dir>.lock`
//! is a folder (made atomically by `mkdir`) whose modification time is the lease. Lifeboat adds
//! a `holder` file inside with the holder's token; Xen Orchestra ignores what the folder holds.

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use cap_fs_ext::{DirExt, SystemTimeSpec};

use super::Folder;
use crate::error::Result;
use crate::lock::{Holder, LockEntry};
use crate::path::RemotePath;

pub(super) struct LockDir(pub(super) Arc<Folder>);

/// The file inside a lock folder that names its holder.
const HOLDER: &str = "holder";

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

/// The holder of the lock folder at `path`; `None` if there is none. A folder whose holder file
/// is not written yet (or was made by Xen Orchestra) has an empty token.
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
        .read_to_string(format!("{}/{HOLDER}", path.as_relative()))
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
            folder
                .dir
                .write(format!("{}/{HOLDER}", path.as_relative()), token)
                .map_err(|error| folder.error("create the lock", path, error))?;
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
            // must still be the stale entry; a fresh one (another taker's, or renewed since) is
            // put back.
            let aside = Folder::temporary(path);
            match folder
                .dir
                .rename(path.as_relative(), &folder.dir, aside.as_relative())
            {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(error) => return Err(folder.error("take over the lock", path, error)),
            }
            if holder_of(folder, &aside)?.as_ref() != Some(&stale) {
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
            folder
                .dir
                .write(format!("{}/{HOLDER}", path.as_relative()), token)
                .map_err(|error| folder.error("take over the lock", path, error))?;
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
