//! Walking a disk in 2 MiB blocks: every block that holds data, or every block in which a newer
//! disk differs from a base. Converters, delta writers and XVA packing are built on these walks.
//!
//! Holes that the sources report through [`DiskRead::may_hold_data`] are skipped without reading.

use crate::Result;
use crate::disk::{DEFAULT_BLOCK_SIZE, DiskRead, block_count, is_zero};

/// Reports progress as (bytes of the virtual disk walked, virtual size).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Reads block `block` of `disk` into `buf` (a whole block), zero-filling past the virtual size
/// and where the disk reports a hole. Returns whether the disk may hold data there.
fn read_padded(disk: &mut dyn DiskRead, block: u32, buf: &mut [u8]) -> Result<bool> {
    let start = u64::from(block) * buf.len() as u64;
    let size = disk.virtual_size();
    if start >= size || !disk.may_hold_data(start, buf.len() as u64)? {
        buf.fill(0);
        return Ok(false);
    }
    let len = (size - start).min(buf.len() as u64) as usize;
    disk.read_at(start, &mut buf[..len])?;
    buf[len..].fill(0);
    Ok(true)
}

/// Calls `visit` with each non-zero 2 MiB block of `source`, in order.
pub fn for_each_data_block(
    source: &mut dyn DiskRead,
    progress: Progress,
    visit: &mut dyn FnMut(u32, &[u8]) -> Result<()>,
) -> Result<()> {
    let size = source.virtual_size();
    let mut buf = vec![0u8; DEFAULT_BLOCK_SIZE as usize];
    for block in 0..block_count(size, DEFAULT_BLOCK_SIZE) {
        if read_padded(source, block, &mut buf)? && !is_zero(&buf) {
            visit(block, &buf)?;
        }
        progress(
            (u64::from(block) + 1)
                .saturating_mul(DEFAULT_BLOCK_SIZE.into())
                .min(size),
            size,
        );
    }
    Ok(())
}

/// Calls `visit` with each 2 MiB block in which `new` differs from `base`, with `new`'s content.
pub fn for_each_changed_block(
    base: &mut dyn DiskRead,
    new: &mut dyn DiskRead,
    progress: Progress,
    visit: &mut dyn FnMut(u32, &[u8]) -> Result<()>,
) -> Result<()> {
    let size = new.virtual_size();
    let mut new_block = vec![0u8; DEFAULT_BLOCK_SIZE as usize];
    let mut base_block = vec![0u8; DEFAULT_BLOCK_SIZE as usize];
    for block in 0..block_count(size, DEFAULT_BLOCK_SIZE) {
        let new_data = read_padded(new, block, &mut new_block)?;
        let base_data = read_padded(base, block, &mut base_block)?;
        let changed = match (new_data, base_data) {
            (false, false) => false,
            (true, false) => !is_zero(&new_block),
            (false, true) => !is_zero(&base_block),
            (true, true) => new_block != base_block,
        };
        if changed {
            visit(block, &new_block)?;
        }
        progress(
            (u64::from(block) + 1)
                .saturating_mul(DEFAULT_BLOCK_SIZE.into())
                .min(size),
            size,
        );
    }
    Ok(())
}
