//! A remote in a local folder (or a mounted NFS or SMB share), opened through cap-std: every
//! path is resolved inside the root's directory handle, so that neither `..` nor a symbolic
//! link can lead outside it.

mod lock;
mod upload;

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::backend::{Backend, Entry, EntryKind, Opened, Upload};
use crate::error::{RemoteError, Result};
use crate::lock::FolderLock;
use crate::path::RemotePath;

/// A remote in a local folder.
#[derive(Clone)]
pub struct LocalFolder {
    inner: Arc<Folder>,
}

pub(crate) struct Folder {
    name: String,
    root: PathBuf,
    dir: Dir,
}

impl LocalFolder {
    /// Opens the folder `root` as the remote `name`; the folder must exist.
    pub fn open(name: &str, root: &Path) -> Result<Self> {
        let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(|error| {
            RemoteError::Config {
                remote: name.to_owned(),
                problem: format!("cannot open the folder {}: {error}", root.display()),
            }
        })?;
        Ok(LocalFolder {
            inner: Arc::new(Folder {
                name: name.to_owned(),
                root: root.to_owned(),
                dir,
            }),
        })
    }

    /// Runs `work` on the folder in the blocking pool (cap-std's calls are system calls).
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Folder) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let folder = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&folder))
            .await
            .unwrap_or_else(|panicked| std::panic::resume_unwind(panicked.into_panic()))
    }
}

impl Folder {
    /// `error` of `operation` on `path`, as the remote's error.
    pub(crate) fn error(
        &self,
        operation: &'static str,
        path: &RemotePath,
        error: io::Error,
    ) -> RemoteError {
        match error.kind() {
            io::ErrorKind::NotFound => RemoteError::NotFound {
                remote: self.name.clone(),
                path: path.clone(),
            },
            // cap-std's answer to a path that leads outside the root.
            io::ErrorKind::PermissionDenied => RemoteError::Denied {
                remote: self.name.clone(),
                path: path.clone(),
                reason: error.to_string(),
            },
            _ => RemoteError::Io {
                remote: self.name.clone(),
                operation,
                path: path.clone(),
                error,
            },
        }
    }

    /// Creates the folder that will hold `path`.
    pub(crate) fn create_parent(&self, path: &RemotePath) -> Result<()> {
        match path.parent() {
            Some(parent) if !parent.is_root() => {
                self.dir
                    .create_dir_all(parent.as_relative())
                    .map_err(|error| {
                        // A link that leads outside the root fails as "exists": say why.
                        let error = match self.dir.metadata(parent.as_relative()) {
                            Err(escape) if escape.kind() == io::ErrorKind::PermissionDenied => {
                                escape
                            }
                            _ => error,
                        };
                        self.error("create the folder of", path, error)
                    })
            }
            _ => Ok(()),
        }
    }

    /// Makes the entries of `path`'s folder durable (a rename in it, a new file).
    pub(crate) fn sync_parent(&self, path: &RemotePath) -> Result<()> {
        let parent = path.parent().unwrap_or_default();
        // Opened for reading: cap-std's directory handles cannot be synced.
        let folder = self
            .dir
            .open_with(parent.as_relative(), OpenOptions::new().read(true))
            .map_err(|error| self.error("open the folder of", path, error))?;
        folder
            .into_std()
            .sync_all()
            .map_err(|error| self.error("sync the folder of", path, error))
    }

    fn entry(meta: &cap_std::fs::Metadata, name: String) -> Entry {
        Entry {
            name,
            kind: if meta.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File
            },
            size: if meta.is_dir() { 0 } else { meta.len() },
            modified: meta.modified().ok().map(|time| time.into_std()),
        }
    }

    /// A temporary name beside `path` that no other writer picks.
    pub(crate) fn temporary(path: &RemotePath) -> RemotePath {
        let name = path.file_name().unwrap_or("file");
        path.sibling(&format!(".{name}.{:08x}.partial", rand::random::<u32>()))
    }
}

#[async_trait]
impl Backend for LocalFolder {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn location(&self) -> String {
        format!("file://{}", self.inner.root.display())
    }

    async fn list(&self, dir: &RemotePath) -> Result<Vec<Entry>> {
        let dir = dir.clone();
        self.blocking(move |folder| {
            let reader = match folder.dir.read_dir(dir.as_relative()) {
                Ok(reader) => reader,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(error) => return Err(folder.error("list", &dir, error)),
            };
            let mut entries = Vec::new();
            for entry in reader {
                let entry = entry.map_err(|error| folder.error("list", &dir, error))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                // An entry removed while listing is simply not listed.
                let Ok(meta) = entry.metadata() else { continue };
                entries.push(Folder::entry(&meta, name));
            }
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(entries)
        })
        .await
    }

    async fn stat(&self, path: &RemotePath) -> Result<Entry> {
        let path = path.clone();
        self.blocking(move |folder| {
            let meta = folder
                .dir
                .metadata(path.as_relative())
                .map_err(|error| folder.error("stat", &path, error))?;
            let name = path.file_name().unwrap_or("").to_owned();
            Ok(Folder::entry(&meta, name))
        })
        .await
    }

    async fn read(&self, path: &RemotePath, limit: u64) -> Result<Bytes> {
        let path = path.clone();
        self.blocking(move |folder| {
            let mut file = folder
                .dir
                .open(path.as_relative())
                .map_err(|error| folder.error("open", &path, error))?;
            let size = file
                .metadata()
                .map_err(|error| folder.error("stat", &path, error))?
                .len();
            if size > limit {
                return Err(RemoteError::TooLarge {
                    remote: folder.name.clone(),
                    path,
                    size,
                    limit,
                });
            }
            let mut data = Vec::with_capacity(size as usize);
            io::Read::read_to_end(&mut io::Read::take(&mut file, limit + 1), &mut data)
                .map_err(|error| folder.error("read", &path, error))?;
            Ok(Bytes::from(data))
        })
        .await
    }

    async fn write(&self, path: &RemotePath, data: Bytes) -> Result<()> {
        let mut upload = self.create(path).await?;
        upload.write(data).await?;
        upload.commit().await.map(drop)
    }

    async fn rename(&self, from: &RemotePath, to: &RemotePath) -> Result<()> {
        let (from, to) = (from.clone(), to.clone());
        self.blocking(move |folder| {
            folder.create_parent(&to)?;
            folder
                .dir
                .rename(from.as_relative(), &folder.dir, to.as_relative())
                .map_err(|error| folder.error("rename", &from, error))?;
            folder.sync_parent(&to)?;
            if from.parent() != to.parent() {
                folder.sync_parent(&from)?;
            }
            Ok(())
        })
        .await
    }

    async fn delete(&self, path: &RemotePath) -> Result<()> {
        if path.is_root() {
            return Err(RemoteError::Denied {
                remote: self.inner.name.clone(),
                path: path.clone(),
                reason: "the root itself may not be deleted".to_owned(),
            });
        }
        let path = path.clone();
        self.blocking(move |folder| {
            let removed = match folder.dir.symlink_metadata(path.as_relative()) {
                Ok(meta) if meta.is_dir() => folder.dir.remove_dir_all(path.as_relative()),
                Ok(_) => folder.dir.remove_file(path.as_relative()),
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(error),
            };
            removed.map_err(|error| folder.error("delete", &path, error))
        })
        .await
    }

    async fn open(&self, path: &RemotePath, range: Option<Range<u64>>) -> Result<Opened> {
        let opened = path.clone();
        let (file, size) = self
            .blocking(move |folder| {
                let file = folder
                    .dir
                    .open_with(opened.as_relative(), OpenOptions::new().read(true))
                    .map_err(|error| folder.error("open", &opened, error))?;
                let meta = file
                    .metadata()
                    .map_err(|error| folder.error("stat", &opened, error))?;
                if meta.is_dir() {
                    return Err(folder.error(
                        "open",
                        &opened,
                        io::Error::other("a folder, not a file"),
                    ));
                }
                Ok((file.into_std(), meta.len()))
            })
            .await?;
        let mut file = tokio::fs::File::from_std(file);
        let range = range.unwrap_or(0..size);
        let start = range.start.min(size);
        let end = range.end.clamp(start, size);
        if start > 0 {
            file.seek(io::SeekFrom::Start(start))
                .await
                .map_err(|error| self.inner.error("seek", path, error))?;
        }
        Ok(Opened {
            stream: Box::pin(file.take(end - start)),
            size: end - start,
        })
    }

    async fn create(&self, path: &RemotePath) -> Result<Box<dyn Upload>> {
        let path = path.clone();
        let folder = self.inner.clone();
        let upload = self
            .blocking(move |_| upload::LocalUpload::start(folder, path))
            .await?;
        Ok(Box::new(upload))
    }

    async fn lock(&self, dir: &RemotePath, lease: Duration) -> Result<FolderLock> {
        crate::lock::acquire(
            &self.inner.name,
            Arc::new(lock::LockDir(self.inner.clone())),
            dir,
            lease,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn lock_folders_keep_their_holders_apart() {
        let dir = tempfile::tempdir().unwrap();
        let folder = LocalFolder::open("nightly", dir.path()).unwrap();
        crate::lock::check_ownership(Arc::new(lock::LockDir(folder.inner.clone()))).await;
    }
}
