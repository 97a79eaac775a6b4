//! VHD chains: a differencing disk, its parent, the parent's parent, … down to a dynamic disk.
//!
//! Parents are found through `parentUnicodeName`, a path relative to the child's folder, and must
//! carry the footer uuid that the child's `parentUuid` names. Every parent must stay inside the
//! folder of the disk the chain was opened from. A chain reads as one virtual disk: each sector
//! comes from the newest disk whose block holds it (per the block's sector bitmap).

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use super::footer::DiskType;
use super::image::{Vhd, bitmap_is_full, sector_is_set};
use super::open::open_vhd;
use crate::disk::DiskRead;
use crate::error::{Error, Result};

/// An opened chain, newest disk first.
pub struct VhdChain {
    layers: Vec<Box<dyn Vhd>>,
    size: u64,
    block_size: u32,
    cached_block: Option<u32>,
    block: Vec<u8>,
    bitmap: Vec<u8>,
    scratch_bitmap: Vec<u8>,
    scratch: Vec<u8>,
}

impl VhdChain {
    /// Opens the disk at `path` and all its ancestors, validating every link.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_layers(open_layers(path)?)
    }

    /// A chain of already opened disks, newest first. The links are not re-checked.
    pub fn from_layers(layers: Vec<Box<dyn Vhd>>) -> Result<Self> {
        let Some(newest) = layers.first() else {
            return Err(Error::Incompatible {
                path: PathBuf::new(),
                problem: "a chain needs at least one disk".into(),
            });
        };
        let size = newest.footer().current_size;
        let block_size = newest.header().block_size;
        for layer in &layers {
            if layer.header().block_size != block_size {
                return Err(Error::Incompatible {
                    path: layer.path().to_path_buf(),
                    problem: format!(
                        "block size {} differs from the chain's {block_size}",
                        layer.header().block_size
                    ),
                });
            }
        }
        let bitmap_size = newest.header().bitmap_size();
        Ok(VhdChain {
            layers,
            size,
            block_size,
            cached_block: None,
            block: vec![0; block_size as usize],
            bitmap: vec![0; bitmap_size],
            scratch_bitmap: vec![0; bitmap_size],
            scratch: vec![0; block_size as usize],
        })
    }

    /// The disks of the chain, newest first.
    pub fn layers(&self) -> &[Box<dyn Vhd>] {
        &self.layers
    }

    /// Whether any disk of the chain has block `block`.
    pub fn is_allocated(&self, block: u32) -> bool {
        self.layers.iter().any(|l| l.is_allocated(block))
    }

    /// The content of block `block` of the virtual disk (unallocated sectors read as zeros).
    pub fn read_block(&mut self, block: u32) -> Result<&[u8]> {
        if self.cached_block != Some(block) {
            self.cached_block = None;
            compose_block(
                self.layers.iter_mut().map(|l| l.as_mut() as &mut dyn Vhd),
                block,
                &mut self.block,
                &mut self.bitmap,
                &mut self.scratch_bitmap,
                &mut self.scratch,
            )?;
            self.cached_block = Some(block);
        }
        Ok(&self.block)
    }
}

/// Fills `out` with block `block` as `layers` (newest first) compose it. Most blocks come whole
/// from one disk (Xen Orchestra writes full bitmaps); partial bitmaps fall through, sector by
/// sector, to older disks, and sectors no disk holds read as zeros.
pub(crate) fn compose_block<'a>(
    layers: impl IntoIterator<Item = &'a mut dyn Vhd>,
    block: u32,
    out: &mut [u8],
    bitmap: &mut [u8],
    scratch_bitmap: &mut [u8],
    scratch: &mut [u8],
) -> Result<()> {
    let block_size = out.len() as u32;
    let mut layers = layers.into_iter().filter(|l| l.is_allocated(block));
    let Some(newest) = layers.next() else {
        out.fill(0);
        return Ok(());
    };
    newest.read_block(block, bitmap, out)?;
    if bitmap_is_full(bitmap, block_size) {
        return Ok(());
    }
    // `bitmap` now tracks which sectors of `out` are final.
    let sectors = block_size as usize / 512;
    for sector in 0..sectors {
        if !sector_is_set(bitmap, sector) {
            out[sector * 512..(sector + 1) * 512].fill(0);
        }
    }
    for older in layers {
        older.read_block(block, scratch_bitmap, scratch)?;
        let mut missing = false;
        for sector in 0..sectors {
            if sector_is_set(bitmap, sector) {
                continue;
            }
            if sector_is_set(scratch_bitmap, sector) {
                let range = sector * 512..(sector + 1) * 512;
                out[range.clone()].copy_from_slice(&scratch[range]);
                bitmap[sector / 8] |= 0x80 >> (sector % 8);
            } else {
                missing = true;
            }
        }
        if !missing {
            break;
        }
    }
    Ok(())
}

/// Opens `path` and its ancestors, newest first, checking names, uuids and loops.
pub fn open_layers(path: &Path) -> Result<Vec<Box<dyn Vhd>>> {
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut seen = HashSet::new();
    let mut layers: Vec<Box<dyn Vhd>> = Vec::new();
    let mut next = path.to_path_buf();
    loop {
        let identity = std::fs::canonicalize(&next).unwrap_or_else(|_| next.clone());
        if !seen.insert(identity) {
            return Err(Error::ChainCycle { path: next });
        }
        let disk = match open_vhd(&next) {
            Ok(disk) => disk,
            Err(Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && !layers.is_empty() =>
            {
                return Err(Error::MissingParent {
                    child: layers[layers.len() - 1].path().to_path_buf(),
                    parent: next,
                });
            }
            Err(err) => return Err(err),
        };
        if let Some(child) = layers.last() {
            let expected = child.header().parent_uuid;
            let found = disk.footer().uuid;
            if expected != found {
                return Err(Error::ParentUuidMismatch {
                    child: child.path().to_path_buf(),
                    parent: next,
                    expected,
                    found,
                });
            }
        }
        let parent = match disk.footer().disk_type {
            DiskType::Dynamic => None,
            DiskType::Differencing => Some(parent_path(&next, &disk.header().parent_name, &root)?),
        };
        layers.push(disk);
        match parent {
            Some(parent) => next = parent,
            None => return Ok(layers),
        }
    }
}

/// Resolves a child's `parentUnicodeName` against the child's folder, refusing names that leave
/// `root` (absolute paths, `..` past the root).
pub fn parent_path(child: &Path, name: &str, root: &Path) -> Result<PathBuf> {
    let outside = || Error::ParentOutsideFolder {
        child: child.to_path_buf(),
        name: name.to_string(),
    };
    if name.is_empty() {
        return Err(super::fields::invalid(
            child,
            "header",
            "parentUnicodeName",
            "is empty in a differencing disk".into(),
        ));
    }
    let folder = child.parent().unwrap_or(Path::new(""));
    let mut resolved: Vec<Component> = folder.components().collect();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(_) => resolved.push(component),
            Component::CurDir => {}
            Component::ParentDir => match resolved.last() {
                Some(Component::Normal(_)) => {
                    resolved.pop();
                }
                _ => return Err(outside()),
            },
            Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    let resolved: PathBuf = resolved.iter().collect();
    let root_components: Vec<Component> = root
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let resolved_components: Vec<Component> = resolved
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    if !resolved_components.starts_with(&root_components) {
        return Err(outside());
    }
    Ok(resolved)
}

impl DiskRead for VhdChain {
    fn virtual_size(&self) -> u64 {
        self.size
    }

    fn may_hold_data(&mut self, offset: u64, len: u64) -> Result<bool> {
        if len == 0 {
            return Ok(false);
        }
        let bs = u64::from(self.block_size);
        let first = offset / bs;
        let last = (offset + len - 1) / bs;
        Ok((first..=last).any(|b| u32::try_from(b).is_ok_and(|b| self.is_allocated(b))))
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&end| end <= self.size);
        if end.is_none() {
            return Err(Error::Truncated {
                path: self.layers[0].path().to_path_buf(),
                what: "read past the end of the virtual disk",
                needed: offset.saturating_add(buf.len() as u64),
                len: self.size,
            });
        }
        let bs = u64::from(self.block_size);
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            let block = (at / bs) as u32;
            let within = (at % bs) as usize;
            let take = (bs as usize - within).min(buf.len() - done);
            if self.is_allocated(block) {
                let data = self.read_block(block)?;
                buf[done..done + take].copy_from_slice(&data[within..within + take]);
            } else {
                buf[done..done + take].fill(0);
            }
            done += take;
        }
        Ok(())
    }
}
