//! Choosing the blocks of a new VHD: every non-zero block of a disk (a dynamic VHD), or every
//! block in which a newer disk differs from its base (a differencing VHD).
//!
//! Holes that the sources report through [`DiskRead::may_hold_data`] are skipped without reading.
//! A dynamic disk never stores an all-zero block; a differencing disk stores one only where the
//! base has data there, since an absent block would read through to the base.

use std::path::Path;

use super::fields::invalid;
use super::image::block_count;
use super::writer::{ParentLink, VhdSink};
use super::{Vhd, VhdChain};
use crate::Result;
use crate::disk::{DEFAULT_BLOCK_SIZE, DiskRead, is_zero};
use crate::error::Error;

/// Reports progress as (bytes of the virtual disk walked, virtual size).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// What writing a new VHD stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Blocks stored in the new disk.
    pub blocks: u32,
    /// Bytes of block data stored (bitmaps excluded).
    pub data_bytes: u64,
}

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
        progress((u64::from(block) + 1).saturating_mul(DEFAULT_BLOCK_SIZE.into()).min(size), size);
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
        progress((u64::from(block) + 1).saturating_mul(DEFAULT_BLOCK_SIZE.into()).min(size), size);
    }
    Ok(())
}

/// Stores every non-zero block of `source` into `sink` (a new dynamic disk) and finishes it.
pub fn write_dynamic(source: &mut dyn DiskRead, sink: Box<dyn VhdSink>, progress: Progress) -> Result<WriteSummary> {
    write_selected(sink, |visit| for_each_data_block(source, progress, visit))
}

/// Stores every block in which `new` differs from `base` into `sink` (a new differencing disk
/// on `base`) and finishes it.
pub fn write_delta(
    base: &mut dyn DiskRead,
    new: &mut dyn DiskRead,
    sink: Box<dyn VhdSink>,
    progress: Progress,
) -> Result<WriteSummary> {
    write_selected(sink, |visit| for_each_changed_block(base, new, progress, visit))
}

fn write_selected(
    mut sink: Box<dyn VhdSink>,
    select: impl FnOnce(&mut dyn FnMut(u32, &[u8]) -> Result<()>) -> Result<()>,
) -> Result<WriteSummary> {
    let mut summary = WriteSummary::default();
    select(&mut |block, data| {
        summary.blocks += 1;
        summary.data_bytes += data.len() as u64;
        sink.put_block(block, data)
    })?;
    sink.finish()?;
    Ok(summary)
}

/// The link a new differencing disk at `child` needs to point at the chain whose newest disk is
/// `base`. The base must sit in the child's folder or below it, where readers look for parents.
pub fn parent_link(base: &VhdChain, child: &Path) -> Result<ParentLink> {
    let newest: &dyn Vhd = base.layers()[0].as_ref();
    let base_path = std::fs::canonicalize(newest.path()).map_err(|e| Error::io(newest.path(), e))?;
    let folder = child.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let folder = std::fs::canonicalize(folder).map_err(|e| Error::io(folder, e))?;
    let relative = base_path.strip_prefix(&folder).map_err(|_| {
        invalid(
            child,
            "header",
            "parentUnicodeName",
            format!(
                "cannot point at {}: a parent must be in the child's folder or below it",
                newest.path().display()
            ),
        )
    })?;
    Ok(ParentLink {
        name: relative.to_string_lossy().into_owned(),
        uuid: newest.footer().uuid,
        timestamp: newest.footer().timestamp,
    })
}
