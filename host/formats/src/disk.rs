//! The virtual-disk abstraction that every format reads through.
//!
//! Converters, delta computation, merges and XVA packing only need three things from a disk: its
//! size, where data may be (so that holes are skipped without reading them) and the bytes at an
//! offset. Raw images, VHD files, VHD directories and VHD chains all implement [`DiskRead`].

use crate::Result;

/// Size of a VHD data block as Xen Orchestra and xapi write them (2 MiB). Also the unit in which
/// converters walk a disk.
pub const DEFAULT_BLOCK_SIZE: u32 = 2 * 1024 * 1024;

/// Size of a disk sector.
pub const SECTOR_SIZE: u64 = 512;

/// A virtual disk that can be read at any offset. `Send`, so that a walk can read it in a thread of
/// its own while the caller writes.
pub trait DiskRead: Send {
    /// Size of the virtual disk in bytes.
    fn virtual_size(&self) -> u64;

    /// Whether `[offset, offset + len)` may hold non-zero data. `false` promises that the range
    /// reads as zeros, so callers can skip it without reading; `true` promises nothing.
    fn may_hold_data(&mut self, offset: u64, len: u64) -> Result<bool>;

    /// Fills `buf` with the disk's bytes at `offset`. The range must lie inside the virtual size.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()>;
}

impl<D: DiskRead + ?Sized> DiskRead for Box<D> {
    fn virtual_size(&self) -> u64 {
        (**self).virtual_size()
    }
    fn may_hold_data(&mut self, offset: u64, len: u64) -> Result<bool> {
        (**self).may_hold_data(offset, len)
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_at(offset, buf)
    }
}

/// Blocks of `block_size` bytes needed to cover `size` bytes.
pub fn block_count(size: u64, block_size: u32) -> u32 {
    u32::try_from(size.div_ceil(u64::from(block_size))).unwrap_or(u32::MAX)
}

/// Whether every byte of `data` is zero. Converters call it on every block, so it ORs 64-byte
/// chunks (which the compiler vectorises) instead of testing byte by byte.
pub fn is_zero(data: &[u8]) -> bool {
    let chunks = data.chunks_exact(64);
    let tail = chunks.remainder();
    chunks
        .into_iter()
        .all(|chunk| chunk.iter().fold(0u8, |acc, &b| acc | b) == 0)
        && tail.iter().all(|&b| b == 0)
}
