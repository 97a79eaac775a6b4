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
use crate::disk::DiskRead;
use crate::error::{Error, IoContext, Result};
use crate::fileio::{EarlyWriteback, write_into_hole};

/// A raw image opened for reading.
pub struct RawDisk {
    file: File,
    path: PathBuf,
    size: u64,
    /// The last extent the filesystem reported, `[hole_from, data)` a hole and `[data, hole)`
    /// data: walks ask about consecutive offsets, and an `lseek` costs tens of microseconds.
    known: Option<Extent>,
}

#[derive(Clone, Copy)]
struct Extent {
    hole_from: u64,
    data: u64,
    hole: u64,
}

impl RawDisk {
    /// Opens a raw image; its virtual size is the file's length.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).at(&path)?;
        let size = file.metadata().at(&path)?.len();
        Ok(RawDisk {
            file,
            path,
            size,
            known: None,
        })
    }

    /// The first offset at or after `offset` where the file holds data (`SEEK_DATA`), or `None`
    /// past the last data. Filesystems without `SEEK_DATA` report everything as data.
    fn next_data(&mut self, offset: u64) -> Result<Option<u64>> {
        if let Some(known) = self.known
            && (known.hole_from..known.hole).contains(&offset)
        {
            return Ok((known.data < self.size).then_some(known.data.max(offset)));
        }
        let extent = match self.seek(offset, libc::SEEK_DATA, Some(offset))? {
            Some(data) => Extent {
                hole_from: offset,
                data,
                hole: self
                    .seek(data, libc::SEEK_HOLE, Some(self.size))?
                    .unwrap_or(self.size),
            },
            None => Extent {
                hole_from: offset,
                data: self.size,
                hole: u64::MAX,
            },
        };
        self.known = Some(extent);
        Ok((extent.data < self.size).then_some(extent.data))
    }

    /// The first hole at or after `offset`, which must hold data (the end of the file counts).
    fn next_hole(&mut self, offset: u64) -> Result<u64> {
        match self.known {
            Some(known) if (known.data..known.hole).contains(&offset) => {
                Ok(known.hole.min(self.size))
            }
            _ => Ok(self
                .seek(offset, libc::SEEK_HOLE, Some(self.size))?
                .unwrap_or(self.size)),
        }
    }

    fn seek(
        &self,
        offset: u64,
        whence: libc::c_int,
        unsupported: Option<u64>,
    ) -> Result<Option<u64>> {
        let Ok(signed) = libc::off_t::try_from(offset) else {
            return Ok(None);
        };
        // SAFETY: lseek on a file descriptor that `self.file` owns; it does not touch memory.
        let found = unsafe { libc::lseek(self.file.as_raw_fd(), signed, whence) };
        if found >= 0 {
            return Ok(Some(found as u64));
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENXIO) => Ok(None),
            Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => Ok(unsupported),
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
        // Read only the data extents; holes are zeros without asking the filesystem for them.
        let end = offset + buf.len() as u64;
        let mut at = offset;
        while at < end {
            let data = self.next_data(at)?.unwrap_or(end).min(end);
            buf[(at - offset) as usize..(data - offset) as usize].fill(0);
            if data == end {
                break;
            }
            let hole = self.next_hole(data)?.clamp(data + 1, end);
            let range = (data - offset) as usize..(hole - offset) as usize;
            self.file
                .read_exact_at(&mut buf[range], data)
                .at(&self.path)?;
            at = hole;
        }
        Ok(())
    }
}

/// Writes a new raw image, leaving all-zero pages as holes; each range is written at most once.
/// The image appears at its path only when [`finish`](Self::finish)ed.
pub struct RawWriter {
    out: AtomicFile,
    path: PathBuf,
    size: u64,
    writeback: EarlyWriteback,
}

impl RawWriter {
    /// Starts writing `path` as a sparse image of `size` bytes, all zeros.
    pub fn create(path: impl AsRef<Path>, size: u64) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let out = AtomicFile::create(&path)?;
        out.file().set_len(size).at(out.temp_path())?;
        Ok(RawWriter {
            out,
            path,
            size,
            writeback: EarlyWriteback::default(),
        })
    }

    /// Writes `data` at `offset`; all-zero pages are skipped since the image starts as a hole.
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
        write_into_hole(self.out.file(), offset, data).at(self.out.temp_path())?;
        self.writeback.wrote(self.out.file(), data.len() as u64);
        Ok(())
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
