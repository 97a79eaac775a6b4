//! Walking a disk in 2 MiB blocks: every block that holds data, or every block in which a newer
//! disk differs from a base. Converters, delta writers and XVA packing are built on these walks.
//!
//! Holes that the sources report through [`DiskRead::may_hold_data`] are skipped without reading.
//! Reading runs in its own thread, a few blocks ahead of the consumer, so that reading the source
//! and writing the output overlap.

use std::sync::mpsc::sync_channel;

use crate::Result;
use crate::disk::{DEFAULT_BLOCK_SIZE, DiskRead, block_count, is_zero};

/// Reports progress as (bytes of the virtual disk walked, virtual size).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Reads block `block` of `disk` into `buf` (a whole block), zero-filling past the virtual size.
/// Returns whether the disk may hold data there; when it does not, `buf` is left as it was (the
/// block is all zeros, and filling 2 MiB per hole would dominate walks over sparse disks).
fn read_padded(disk: &mut dyn DiskRead, block: u32, buf: &mut [u8]) -> Result<bool> {
    let start = u64::from(block) * buf.len() as u64;
    let size = disk.virtual_size();
    if start >= size || !disk.may_hold_data(start, buf.len() as u64)? {
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
    let select = |block, buf: &mut [u8]| Ok(read_padded(source, block, buf)? && !is_zero(buf));
    walk(size, select, progress, visit)
}

/// Calls `visit` with each 2 MiB block in which `new` differs from `base`, with `new`'s content.
pub fn for_each_changed_block(
    base: &mut dyn DiskRead,
    new: &mut dyn DiskRead,
    progress: Progress,
    visit: &mut dyn FnMut(u32, &[u8]) -> Result<()>,
) -> Result<()> {
    let size = new.virtual_size();
    let mut base_block = vec![0u8; DEFAULT_BLOCK_SIZE as usize];
    let select = |block, new_block: &mut [u8]| {
        let new_data = read_padded(new, block, new_block)?;
        let base_data = read_padded(base, block, &mut base_block)?;
        Ok(match (new_data, base_data) {
            (false, false) => false,
            (true, false) => !is_zero(new_block),
            // A hole in the new disk over data in the base: the block is now zeros.
            (false, true) if !is_zero(&base_block) => {
                new_block.fill(0);
                true
            }
            (false, true) => false,
            (true, true) => *new_block != base_block[..],
        })
    };
    walk(size, select, progress, visit)
}

/// Blocks read ahead of the consumer: enough to keep both sides busy, few enough to bound memory.
const READ_AHEAD: usize = 4;

/// Blocks skipped between two progress reports from the reading side.
const PROGRESS_EVERY: u32 = 256;

/// What the reading side hands over: a chosen block with its content, or (no content) how far
/// the walk got.
type Handover = Result<(u32, Option<Vec<u8>>)>;

/// Runs `select` over every block in a reading thread and `visit` over the chosen ones in this
/// thread, so that reading the source and writing the output overlap. `select` fills the buffer
/// with the block's content and says whether the block is chosen.
fn walk(
    size: u64,
    mut select: impl FnMut(u32, &mut [u8]) -> Result<bool> + Send,
    progress: Progress,
    visit: &mut dyn FnMut(u32, &[u8]) -> Result<()>,
) -> Result<()> {
    let blocks = block_count(size, DEFAULT_BLOCK_SIZE);
    let block_bytes = u64::from(DEFAULT_BLOCK_SIZE);
    let walked = |block: u32| (u64::from(block) + 1).saturating_mul(block_bytes).min(size);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(READ_AHEAD);
    let (full_tx, full_rx) = sync_channel::<Handover>(READ_AHEAD);
    for _ in 0..READ_AHEAD {
        let _ = free_tx.send(vec![0u8; DEFAULT_BLOCK_SIZE as usize]);
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut spare = None;
            for block in 0..blocks {
                let mut buf = match spare.take() {
                    Some(buf) => buf,
                    // A closed channel means the consumer stopped: stop reading too.
                    None => match free_rx.recv() {
                        Ok(buf) => buf,
                        Err(_) => return,
                    },
                };
                let handover = match select(block, &mut buf) {
                    Ok(true) => Ok((block, Some(buf))),
                    Ok(false) => {
                        spare = Some(buf);
                        if block % PROGRESS_EVERY != PROGRESS_EVERY - 1 {
                            continue;
                        }
                        Ok((block, None))
                    }
                    Err(err) => Err(err),
                };
                let failed = handover.is_err();
                if full_tx.send(handover).is_err() || failed {
                    return;
                }
            }
        });
        // Dropping `free_tx` and `full_rx` (on return, error or not) releases the reading side.
        let consume = move || -> Result<()> {
            for handover in full_rx {
                let (block, data) = handover?;
                if let Some(data) = data {
                    visit(block, &data)?;
                    let _ = free_tx.send(data);
                }
                progress(walked(block), size);
            }
            progress(size, size);
            Ok(())
        };
        consume()
    })
}
