//! Filling new VHDs: every non-zero block of a disk (a dynamic VHD), or every block in which a
//! newer disk differs from its base (a differencing VHD).
//!
//! A dynamic disk never stores an all-zero block; a differencing disk stores one only where the
//! base has data there, since an absent block would read through to the base.

use std::path::Path;

use super::fields::invalid;
use super::writer::{ParentLink, VhdSink};
use super::{Vhd, VhdChain};
use crate::Result;
use crate::blocks::{Progress, for_each_changed_block, for_each_data_block};
use crate::disk::DiskRead;
use crate::error::Error;

/// What writing a new VHD stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Blocks stored in the new disk.
    pub blocks: u32,
    /// Bytes of block data stored (bitmaps excluded).
    pub data_bytes: u64,
}

/// Stores every non-zero block of `source` into `sink` (a new dynamic disk) and finishes it.
pub fn write_dynamic(
    source: &mut dyn DiskRead,
    sink: Box<dyn VhdSink>,
    progress: Progress,
) -> Result<WriteSummary> {
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
    write_selected(sink, |visit| {
        for_each_changed_block(base, new, progress, visit)
    })
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
    let base_path =
        std::fs::canonicalize(newest.path()).map_err(|e| Error::io(newest.path(), e))?;
    let folder = child
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
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
