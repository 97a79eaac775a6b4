//! Files that appear whole or not at all: written under a temporary name in the target's folder,
//! made durable, then renamed over the target, and the rename made durable by syncing the
//! folder. This is the one atomic write of Lifeboat's local files (VHDs, merge states, the
//! component cache, the simulator's saved state); remotes have theirs in `lifeboat-remote`.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// A file being written under a temporary name; [`commit`](Self::commit) renames it into place,
/// dropping it without committing removes it.
pub struct AtomicFile {
    file: File,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Starts writing `target` (as `.<name>.<unique>.partial` beside it: two writers of one
    /// target never share a temporary file).
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let name = target.file_name().ok_or_else(|| {
            Error::io(
                &target,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            )
        })?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.partial", unique_suffix()));
        let temp = target.with_file_name(temp_name);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .at(&temp)?;
        Ok(AtomicFile {
            file,
            temp,
            target,
            committed: false,
        })
    }

    /// The open temporary file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Path of the temporary file, for error messages.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flushes the file and renames it over the target.
    pub fn commit(mut self) -> Result<()> {
        self.file.sync_all().at(&self.temp)?;
        std::fs::rename(&self.temp, &self.target).at(&self.target)?;
        sync_parent(&self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `target` atomically.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let atomic = AtomicFile::create(target)?;
    (&atomic.file).write_all(bytes).at(&atomic.temp)?;
    atomic.commit()
}

/// Makes a rename or unlink in `path`'s folder durable.
pub fn sync_parent(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// `<process id>-<counter>`: unique among this machine's writers at any one time.
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
