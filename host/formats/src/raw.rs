//! Raw disk images: the virtual disk byte for byte, usually a sparse file.
//!
//! Reading asks the filesystem where data is (`SEEK_DATA`), so that holes of a sparse image are
//! skipped without being read; writing leaves all-zero ranges as holes.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::atomic::AtomicFile;
use crate::blocks::{Progress, for_each_data_block};
use crate::disk::{DiskRead, is_zero};
use crate::error::{Error, IoContext, Result};

/// A raw image opened for reading.
pub struct RawDisk {
    file: File,
    path: PathBuf,
    size: u64,
}

impl RawDisk {
    /// Opens a raw image; its virtual size is the file's length.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).at(&path)?;
        let size = file.metadata().at(&path)?.len();
        Ok(RawDisk { file, path, size })
    }

    /// The image's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first offset at or after `offset` where the file holds data, per the filesystem, or
    /// `None` past the last data. Filesystems without `SEEK_DATA` report everything as data.
    fn next_data(&self, offset: u64) -> Result<Option<u64>> {
        let Ok(signed) = libc::off_t::try_from(offset) else {
            return Ok(None);
        };
        // SAFETY: lseek on a file descriptor that `self.file` owns; it does not touch memory.
        let found = unsafe { libc::lseek(self.file.as_raw_fd(), signed, libc::SEEK_DATA) };
        if found >= 0 {
            return Ok(Some(found as u64));
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENXIO) => Ok(None),
            Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => Ok(Some(offset)),
            _ => Err(Error::io(&self.path, err)),
        }
    }
}

impl DiskRead for RawDisk {
    fn virtual_size(&self) -> u64 {
        self.size
    }

    fn may_hold_data(&mut self, offset: u64, len: u64) -> Result<bool> {
        Ok(match self.next_data(offset)? {
            Some(data) => data < offset.saturating_add(len),
            None => false,
        })
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.size) {
            return Err(Error::Truncated {
                path: self.path.clone(),
                what: "read past the end of the raw image",
                needed: end.unwrap_or(u64::MAX),
                len: self.size,
            });
        }
        self.file.read_exact_at(buf, offset).at(&self.path)
    }
}

/// Writes a raw image, leaving all-zero ranges as holes. The image appears at its path only when
/// [`finish`](Self::finish)ed.
pub struct RawWriter {
    out: AtomicFile,
    path: PathBuf,
    size: u64,
}

impl RawWriter {
    /// Starts writing `path` as a sparse image of `size` bytes, all zeros.
    pub fn create(path: impl AsRef<Path>, size: u64) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let out = AtomicFile::create(&path)?;
        out.file().set_len(size).at(out.temp_path())?;
        Ok(RawWriter { out, path, size })
    }

    /// Writes `data` at `offset`; all-zero data is skipped since the image starts as a hole.
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        if offset.saturating_add(data.len() as u64) > self.size {
            return Err(Error::Incompatible {
                path: self.path.clone(),
                problem: format!(
                    "write of {} bytes at {offset} is past the image size {}",
                    data.len(),
                    self.size
                ),
            });
        }
        if is_zero(data) {
            return Ok(());
        }
        self.out
            .file()
            .write_all_at(data, offset)
            .at(self.out.temp_path())
    }

    /// Makes the image durable and puts it at its path.
    pub fn finish(self) -> Result<()> {
        self.out.commit()
    }
}

/// Writes every data block of `source` into a new sparse raw image at `path`.
pub fn write_raw(source: &mut dyn DiskRead, path: &Path, progress: Progress) -> Result<()> {
    let size = source.virtual_size();
    let mut out = RawWriter::create(path, size)?;
    for_each_data_block(source, progress, &mut |block, data| {
        let offset = u64::from(block) * data.len() as u64;
        let len = (size - offset).min(data.len() as u64) as usize;
        out.write_at(offset, &data[..len])
    })?;
    out.finish()
}
