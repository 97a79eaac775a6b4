//! File I/O helpers for moving disk data fast: writing only the non-zero parts of a buffer into a
//! file that is known to be zeros there (a hole), starting writeback early so that the final
//! `fsync` has little left to wait for, and copying between files inside the kernel.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use crate::disk::is_zero;

/// Granularity at which zero runs are left unwritten: the page size, so holes are real holes.
const ZERO_RUN_GRANULE: usize = 4096;

/// Writes `data` at `offset` into a file region that reads as zeros, skipping all-zero pages so
/// that they stay holes (less I/O, and a sparse output).
pub fn write_into_hole(file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    let mut start = 0;
    while start < data.len() {
        let skip = data[start..]
            .chunks(ZERO_RUN_GRANULE)
            .take_while(|page| is_zero(page))
            .count();
        start = (start + skip * ZERO_RUN_GRANULE).min(data.len());
        let run = data[start..]
            .chunks(ZERO_RUN_GRANULE)
            .take_while(|page| !is_zero(page))
            .count();
        let end = (start + run * ZERO_RUN_GRANULE).min(data.len());
        if end > start {
            file.write_all_at(&data[start..end], offset + start as u64)?;
        }
        start = end;
    }
    Ok(())
}

/// Starts writeback of a file's dirty pages every so many bytes written, without waiting for it,
/// so that data reaches the disk while the copy goes on and the final `fsync` is short.
#[derive(Default)]
pub struct EarlyWriteback {
    unsent: u64,
}

/// Bytes written between two writeback starts.
const WRITEBACK_EVERY: u64 = 32 * 1024 * 1024;

impl EarlyWriteback {
    /// Records `len` more bytes written to `file`; starts writeback when enough have piled up.
    pub fn wrote(&mut self, file: &File, len: u64) {
        self.unsent += len;
        if self.unsent >= WRITEBACK_EVERY {
            self.unsent = 0;
            // SAFETY: a plain syscall on a descriptor `file` owns. A failure only means the final
            // fsync does all the work, so it is ignored.
            unsafe {
                libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
            }
        }
    }
}

/// Copies `len` bytes from `src` at `src_offset` to `dst` at `dst_offset`, inside the kernel when
/// the filesystem can (`copy_file_range`), else through a buffer.
pub fn copy_range(
    src: &File,
    src_offset: u64,
    dst: &File,
    dst_offset: u64,
    len: u64,
) -> io::Result<()> {
    let mut done = 0u64;
    while done < len {
        let mut from = (src_offset + done) as libc::loff_t;
        let mut to = (dst_offset + done) as libc::loff_t;
        let want = (len - done) as usize;
        // SAFETY: both descriptors are open files owned by the caller; the offsets are plain
        // integers the kernel updates.
        let copied = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                &mut from,
                dst.as_raw_fd(),
                &mut to,
                want,
                0,
            )
        };
        if copied > 0 {
            done += copied as u64;
            continue;
        }
        if copied == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "source ended during copy",
            ));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP | libc::EINVAL) => break,
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
    let mut buf = vec![0u8; (len - done).min(1 << 20) as usize];
    while done < len {
        let n = ((len - done) as usize).min(buf.len());
        src.read_exact_at(&mut buf[..n], src_offset + done)?;
        dst.write_all_at(&buf[..n], dst_offset + done)?;
        done += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_pages_stay_holes_and_data_lands() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("f"))
            .unwrap();
        let mut data = vec![0u8; 5 * 4096 + 100];
        data[4096] = 1;
        data[5 * 4096 + 99] = 2;
        file.set_len(data.len() as u64 + 512).unwrap();
        write_into_hole(&file, 512, &data).unwrap();
        let mut back = vec![0u8; data.len()];
        file.read_exact_at(&mut back, 512).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn copies_between_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = File::create(dir.path().join("a")).unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        src.write_all_at(&data, 0).unwrap();
        let src = File::open(dir.path().join("a")).unwrap();
        let dst = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("b"))
            .unwrap();
        copy_range(&src, 1000, &dst, 7, 200_000).unwrap();
        let mut back = vec![0u8; 200_000];
        dst.read_exact_at(&mut back, 7).unwrap();
        assert_eq!(back, data[1000..201_000]);
    }
}
