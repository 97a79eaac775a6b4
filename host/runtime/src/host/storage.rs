//! The `storage` interface over a local directory: every path a component names is confined
//! to the remote's root (see [`confine`]).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::Resource;

use crate::bindings::storage::{self as wit, Entry};
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

type Answer<T> = wasmtime::Result<Result<T, Error>>;

/// `relative` inside `root`, or why not: absolute paths, `..`, and paths that reach outside
/// the root through a symbolic link are refused.
pub fn confine(root: &Path, relative: &str) -> Result<PathBuf, String> {
    if relative.contains('\0') {
        return Err(format!("{relative:?}: a path may not hold NUL"));
    }
    let mut path = root.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "{relative:?}: paths are relative to the remote's root and may not hold `..`"
                ));
            }
        }
    }
    // Links are resolved on the deepest part of the path that exists; whatever does not exist
    // yet will be created inside it.
    let canonical_root = root
        .canonicalize()
        .map_err(|error| format!("the remote's root {}: {error}", root.display()))?;
    let mut existing = path.as_path();
    while !existing.exists() {
        match existing.parent() {
            Some(parent) => existing = parent,
            None => break,
        }
    }
    let resolved = existing
        .canonicalize()
        .map_err(|error| format!("{relative:?}: {error}"))?;
    if !resolved.starts_with(&canonical_root) {
        return Err(format!("{relative:?} leads outside the remote's root"));
    }
    Ok(path)
}

impl StepState {
    fn remote(&self, grant: &Resource<RemoteGrant>) -> wasmtime::Result<Arc<RemoteConnection>> {
        Ok(self.table.get(grant)?.connection.clone())
    }

    fn confined(&self, remote: &RemoteConnection, path: &str) -> Result<PathBuf, Error> {
        confine(&remote.root, path)
            .map_err(|problem| self.refuse(&format!("{}: {problem}", remote.name)))
    }
}

fn io_error(remote: &RemoteConnection, path: &str, error: std::io::Error) -> Error {
    let message = format!("{path} on {}: {error}", remote.name);
    if error.kind() == std::io::ErrorKind::NotFound {
        errors::not_found(message)
    } else {
        errors::internal(message)
    }
}

impl wit::Host for StepState {}

impl wit::HostRemote for StepState {
    async fn connect(&mut self, connection: String) -> Answer<Resource<RemoteGrant>> {
        let Some(granted) = self.env.grants.remote(&connection).cloned() else {
            return Ok(Err(self.refuse(&format!(
                "connection {connection:?}: this step is not granted it (add it to the step's allow.storage)"
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
        let remote = self.remote(&grant)?;
        let path = match self.confined(&remote, &dir) {
            Ok(path) => path,
            Err(refused) => return Ok(Err(refused)),
        };
        let mut entries = Vec::new();
        let mut reader = match tokio::fs::read_dir(&path).await {
            Ok(reader) => reader,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(entries)),
            Err(error) => return Ok(Err(io_error(&remote, &dir, error))),
        };
        loop {
            match reader.next_entry().await {
                Ok(Some(entry)) => {
                    let Ok(meta) = entry.metadata().await else {
                        continue;
                    };
                    entries.push(Entry {
                        name: entry.file_name().to_string_lossy().into_owned(),
                        is_dir: meta.is_dir(),
                        size: if meta.is_dir() { 0 } else { meta.len() },
                    });
                }
                Ok(None) => break,
                Err(error) => return Ok(Err(io_error(&remote, &dir, error))),
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Ok(entries))
    }

    async fn read(&mut self, grant: Resource<RemoteGrant>, path: String) -> Answer<Vec<u8>> {
        let remote = self.remote(&grant)?;
        let full = match self.confined(&remote, &path) {
            Ok(full) => full,
            Err(refused) => return Ok(Err(refused)),
        };
        match tokio::fs::metadata(&full).await {
            Ok(meta) if meta.len() > MAX_READ => {
                return Ok(Err(errors::invalid_input(format!(
                    "{path} on {}: {} bytes is more than `read` returns ({MAX_READ}); use `open`",
                    remote.name,
                    meta.len()
                ))));
            }
            Ok(_) => {}
            Err(error) => return Ok(Err(io_error(&remote, &path, error))),
        }
        Ok(tokio::fs::read(&full)
            .await
            .map_err(|error| io_error(&remote, &path, error)))
    }

    async fn write(
        &mut self,
        grant: Resource<RemoteGrant>,
        path: String,
        data: Vec<u8>,
    ) -> Answer<()> {
        let remote = self.remote(&grant)?;
        let full = match self.confined(&remote, &path) {
            Ok(full) => full,
            Err(refused) => return Ok(Err(refused)),
        };
        let written = tokio::task::spawn_blocking(move || write_atomically(&full, &data)).await?;
        Ok(written.map_err(|error| io_error(&remote, &path, error)))
    }

    async fn delete(&mut self, grant: Resource<RemoteGrant>, path: String) -> Answer<()> {
        let remote = self.remote(&grant)?;
        let full = match self.confined(&remote, &path) {
            Ok(full) => full,
            Err(refused) => return Ok(Err(refused)),
        };
        if full == remote.root {
            return Ok(Err(self.refuse(&format!(
                "{}: the root itself may not be deleted",
                remote.name
            ))));
        }
        let removed = match tokio::fs::symlink_metadata(&full).await {
            Ok(meta) if meta.is_dir() => tokio::fs::remove_dir_all(&full).await,
            Ok(_) => tokio::fs::remove_file(&full).await,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
        };
        Ok(removed.map_err(|error| io_error(&remote, &path, error)))
    }

    async fn rename(
        &mut self,
        grant: Resource<RemoteGrant>,
        from: String,
        to: String,
    ) -> Answer<()> {
        let remote = self.remote(&grant)?;
        let (source, target) = match (self.confined(&remote, &from), self.confined(&remote, &to)) {
            (Ok(source), Ok(target)) => (source, target),
            (Err(refused), _) | (_, Err(refused)) => return Ok(Err(refused)),
        };
        if let Some(dir) = target.parent()
            && let Err(error) = tokio::fs::create_dir_all(dir).await
        {
            return Ok(Err(io_error(&remote, &to, error)));
        }
        Ok(tokio::fs::rename(&source, &target)
            .await
            .map_err(|error| io_error(&remote, &from, error)))
    }

    async fn open(
        &mut self,
        grant: Resource<RemoteGrant>,
        path: String,
    ) -> Answer<Resource<SourcePlan>> {
        let remote = self.remote(&grant)?;
        let full = match self.confined(&remote, &path) {
            Ok(full) => full,
            Err(refused) => return Ok(Err(refused)),
        };
        Ok(Ok(self
            .table
            .push(SourcePlan::RemoteFile { remote, path: full })?))
    }

    async fn create(
        &mut self,
        grant: Resource<RemoteGrant>,
        path: String,
    ) -> Answer<Resource<SinkPlan>> {
        let remote = self.remote(&grant)?;
        let full = match self.confined(&remote, &path) {
            Ok(full) => full,
            Err(refused) => return Ok(Err(refused)),
        };
        Ok(Ok(self
            .table
            .push(SinkPlan::RemoteFile { remote, path: full })?))
    }

    async fn drop(&mut self, grant: Resource<RemoteGrant>) -> wasmtime::Result<()> {
        self.table.delete(grant)?;
        Ok(())
    }
}

/// Writes `data` under a temporary name beside `path` and renames it into place.
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".lifeboat-")
        .tempfile_in(dir)?;
    temporary.write_all(data)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::confine;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let inside = confine(root.path(), "xo-vm-backups/a/b.json").unwrap();
        assert!(inside.starts_with(root.path()));
        assert_eq!(confine(root.path(), "").unwrap(), root.path());
        for escape in ["../x", "a/../../x", "/etc/passwd", "a/\0"] {
            assert!(
                confine(root.path(), escape).is_err(),
                "{escape:?} was accepted"
            );
        }
    }

    #[test]
    fn links_out_of_the_root_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        let refused = confine(root.path(), "out/secret").unwrap_err();
        assert!(refused.contains("outside"), "{refused}");
        std::fs::create_dir(root.path().join("in")).unwrap();
        std::os::unix::fs::symlink(root.path().join("in"), root.path().join("alias")).unwrap();
        assert!(confine(root.path(), "alias/file").is_ok());
    }
}
