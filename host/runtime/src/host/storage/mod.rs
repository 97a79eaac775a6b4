//! The `storage` interface: a component's granted remotes, over `lifeboat-remote`'s backends.
//! Every path a component names is parsed as a [`RemotePath`] (never absolute, never `..`)
//! and resolved by the backend inside the remote's root (a local folder's links included);
//! a path that tries to leave is refused as `permission-denied`.

mod transfer;

use std::sync::Arc;

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use lifeboat_remote::{EntryKind, FolderLock, RemoteError, RemoteErrorKind, RemotePath};
use wasmtime::component::Resource;

use crate::bindings::storage::{self as wit, Entry, EntryInfo};
use crate::bindings::types::Error;
use crate::grants::RemoteConnection;
use crate::host::errors;
use crate::host::transfers::{SinkPlan, SourcePlan};
use crate::state::StepState;

/// Largest file `read` returns; bigger files go through `open` and `transfers.copy`.
const MAX_READ: u64 = 16 * 1024 * 1024;

/// A granted remote, as the component holds it.
pub struct RemoteGrant {
    connection: Arc<RemoteConnection>,
}

/// A folder's lock, as the component holds it: released when released or dropped.
pub struct HeldLock {
    remote: Arc<RemoteConnection>,
    lock: Option<FolderLock>,
}

/// The longest lease a component may ask for: a day (a lock outlives a dead holder by its
/// lease).
const MAX_LEASE_SECONDS: u32 = 24 * 3600;

fn entry_info(entry: lifeboat_remote::Entry) -> EntryInfo {
    EntryInfo {
        name: entry.name,
        is_dir: entry.kind == EntryKind::Dir,
        size: entry.size,
        modified_ms: entry.modified.and_then(|time| {
            time.duration_since(UNIX_EPOCH)
                .ok()
                .and_then(|since| u64::try_from(since.as_millis()).ok())
        }),
    }
}

type Answer<T> = wasmtime::Result<Result<T, Error>>;

impl StepState {
    fn remote(&self, grant: &Resource<RemoteGrant>) -> wasmtime::Result<Arc<RemoteConnection>> {
        Ok(self.table.get(grant)?.connection.clone())
    }

    /// `path` as a path inside `remote`, or the refusal.
    fn remote_path(&self, remote: &RemoteConnection, path: &str) -> Result<RemotePath, Error> {
        RemotePath::parse(path).map_err(|error| self.remote_error(remote, error))
    }

    /// A remote's failure as the component sees it; refusals are recorded as the guards'.
    fn remote_error(&self, remote: &RemoteConnection, error: RemoteError) -> Error {
        match &error {
            // A path that tries to leave the root is a guard's refusal.
            RemoteError::BadPath { .. } => {
                return self.refuse(&format!("{}: {error}", remote.name));
            }
            RemoteError::TooLarge { .. } => {
                return errors::invalid_input(format!("{error}; use `open`"));
            }
            _ => {}
        }
        let message = error.to_string();
        match error.kind() {
            RemoteErrorKind::Denied => self.refuse(&message),
            RemoteErrorKind::NotFound => errors::not_found(message),
            RemoteErrorKind::InvalidInput => errors::invalid_input(message),
            RemoteErrorKind::Locked | RemoteErrorKind::Storage => errors::internal(message),
        }
    }

    /// The file `path` of the remote of `grant` (the bytes of `range`, when reading), checked.
    fn remote_file(
        &self,
        grant: &Resource<RemoteGrant>,
        path: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> wasmtime::Result<Result<transfer::RemoteFile, Error>> {
        let remote = self.remote(grant)?;
        Ok(self
            .remote_path(&remote, path)
            .map(|path| transfer::RemoteFile {
                remote,
                path,
                range,
            }))
    }
}

/// Runs `call` on the remote of `grant` with `path` checked, and maps its failure.
macro_rules! on_path {
    ($state:expr, $grant:expr, $path:expr, |$remote:ident, $checked:ident| $call:expr) => {{
        let $remote = $state.remote(&$grant)?;
        let $checked = match $state.remote_path(&$remote, &$path) {
            Ok(checked) => checked,
            Err(refused) => return Ok(Err(refused)),
        };
        Ok($call.map_err(|error| $state.remote_error(&$remote, error)))
    }};
}

impl wit::Host for StepState {}

impl wit::HostRemote for StepState {
    async fn connect(&mut self, connection: String) -> Answer<Resource<RemoteGrant>> {
        let Some(granted) = self.env.grants.remote(&connection).cloned() else {
            return Ok(Err(self.refuse(&format!(
                "connection {connection:?}: this step is not granted it (add it to the step's allow.remotes)"
            ))));
        };
        Ok(Ok(self.table.push(RemoteGrant {
            connection: granted,
        })?))
    }

    async fn name(&mut self, grant: Resource<RemoteGrant>) -> wasmtime::Result<String> {
        Ok(self.remote(&grant)?.name.clone())
    }

    async fn list(&mut self, grant: Resource<RemoteGrant>, dir: String) -> Answer<Vec<Entry>> {
        on_path!(self, grant, dir, |remote, dir| remote
            .backend
            .list(&dir)
            .await
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|entry| Entry {
                        name: entry.name,
                        is_dir: entry.kind == EntryKind::Dir,
                        size: entry.size,
                    })
                    .collect()
            }))
    }

    async fn read(&mut self, grant: Resource<RemoteGrant>, path: String) -> Answer<Vec<u8>> {
        on_path!(self, grant, path, |remote, path| remote
            .backend
            .read(&path, MAX_READ)
            .await
            .map(|data| data.to_vec()))
    }

    async fn write(
        &mut self,
        grant: Resource<RemoteGrant>,
        path: String,
        data: Vec<u8>,
    ) -> Answer<()> {
        on_path!(self, grant, path, |remote, path| remote
            .backend
            .write(&path, Bytes::from(data))
            .await)
    }

    async fn delete(&mut self, grant: Resource<RemoteGrant>, path: String) -> Answer<()> {
        on_path!(self, grant, path, |remote, path| remote
            .backend
            .delete(&path)
            .await)
    }

    async fn rename(
        &mut self,
        grant: Resource<RemoteGrant>,
        from: String,
        to: String,
    ) -> Answer<()> {
        let remote = self.remote(&grant)?;
        let (from, to) = match (
            self.remote_path(&remote, &from),
            self.remote_path(&remote, &to),
        ) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(refused), _) | (_, Err(refused)) => return Ok(Err(refused)),
        };
        Ok(remote
            .backend
            .rename(&from, &to)
            .await
            .map_err(|error| self.remote_error(&remote, error)))
    }

    async fn open(
        &mut self,
        grant: Resource<RemoteGrant>,
        path: String,
    ) -> Answer<Resource<SourcePlan>> {
        Ok(match self.remote_file(&grant, &path, None)? {
            Ok(file) => Ok(self.table.push(SourcePlan::new(file))?),
            Err(refused) => Err(refused),
        })
    }

    async fn create(
        &mut self,
        grant: Resource<RemoteGrant>,
        path: String,
    ) -> Answer<Resource<SinkPlan>> {
        Ok(match self.remote_file(&grant, &path, None)? {
            Ok(file) => Ok(self.table.push(SinkPlan::new(file))?),
            Err(refused) => Err(refused),
        })
    }

    async fn list_entries(
        &mut self,
        grant: Resource<RemoteGrant>,
        dir: String,
    ) -> Answer<Vec<EntryInfo>> {
        on_path!(self, grant, dir, |remote, dir| remote
            .backend
            .list(&dir)
            .await
            .map(|entries| entries.into_iter().map(entry_info).collect()))
    }

    async fn stat(&mut self, grant: Resource<RemoteGrant>, path: String) -> Answer<EntryInfo> {
        on_path!(self, grant, path, |remote, path| remote
            .backend
            .stat(&path)
            .await
            .map(entry_info))
    }

    async fn open_range(
        &mut self,
        grant: Resource<RemoteGrant>,
        path: String,
        offset: u64,
        length: u64,
    ) -> Answer<Resource<SourcePlan>> {
        let range = Some(offset..offset.saturating_add(length));
        Ok(match self.remote_file(&grant, &path, range)? {
            Ok(file) => Ok(self.table.push(SourcePlan::new(file))?),
            Err(refused) => Err(refused),
        })
    }

    async fn lock(
        &mut self,
        grant: Resource<RemoteGrant>,
        dir: String,
        lease_seconds: u32,
    ) -> Answer<Resource<HeldLock>> {
        let remote = self.remote(&grant)?;
        let dir = match self.remote_path(&remote, &dir) {
            Ok(dir) => dir,
            Err(refused) => return Ok(Err(refused)),
        };
        if lease_seconds == 0 || lease_seconds > MAX_LEASE_SECONDS {
            return Ok(Err(errors::invalid_input(format!(
                "a lock's lease is 1 to {MAX_LEASE_SECONDS} seconds, not {lease_seconds}"
            ))));
        }
        let lease = Duration::from_secs(u64::from(lease_seconds));
        match remote.backend.lock(&dir, lease).await {
            Ok(lock) => Ok(Ok(self.table.push(HeldLock {
                remote,
                lock: Some(lock),
            })?)),
            Err(error) => Ok(Err(self.remote_error(&remote, error))),
        }
    }

    async fn drop(&mut self, grant: Resource<RemoteGrant>) -> wasmtime::Result<()> {
        self.table.delete(grant)?;
        Ok(())
    }
}

impl wit::HostFolderLock for StepState {
    async fn release(&mut self, held: Resource<HeldLock>) -> Answer<()> {
        let held = self.table.get_mut(&held)?;
        let remote = held.remote.clone();
        let Some(lock) = held.lock.take() else {
            return Ok(Ok(()));
        };
        Ok(lock
            .release()
            .await
            .map_err(|error| self.remote_error(&remote, error)))
    }

    async fn drop(&mut self, held: Resource<HeldLock>) -> wasmtime::Result<()> {
        // Dropping the lock releases it in the background.
        self.table.delete(held)?;
        Ok(())
    }
}
