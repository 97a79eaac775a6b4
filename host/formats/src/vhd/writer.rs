//! Writing new VHDs: the metadata of a new disk, and a file writer that takes blocks in order.
//!
//! The layout is Xen Orchestra's: footer copy, header at 512, BAT at 1536, blocks in BAT order
//! (all-ones bitmap + full data), trailing footer. The same layout is produced as a stream by
//! [`VhdStream`](super::stream::VhdStream).

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::fields::invalid;
use super::file::{UNUSED, bat_bytes};
use super::footer::{DiskType, FOOTER_SIZE, Footer, MAX_VIRTUAL_SIZE};
use super::header::Header;
use super::image::block_count;
use crate::atomic::AtomicFile;
use crate::disk::DEFAULT_BLOCK_SIZE;
use crate::error::{IoContext, Result};
use crate::fileio::{EarlyWriteback, write_into_hole};

/// The parent a new differencing disk points at.
#[derive(Debug, Clone)]
pub struct ParentLink {
    /// The parent's path relative to the child's folder (`parentUnicodeName`).
    pub name: String,
    /// The parent's footer uuid.
    pub uuid: Uuid,
    /// The parent's footer timestamp.
    pub timestamp: u32,
}

/// What a new disk is: size, identity, and parent for a differencing disk.
#[derive(Debug, Clone)]
pub struct NewVhd {
    pub size: u64,
    pub uuid: Uuid,
    /// Footer timestamp, as a VHD field value.
    pub timestamp: u32,
    pub parent: Option<ParentLink>,
}

impl NewVhd {
    /// A dynamic disk of `size` bytes with a fresh uuid.
    pub fn dynamic(size: u64) -> Self {
        NewVhd {
            size,
            uuid: Uuid::new_v4(),
            timestamp: super::timestamp::now(),
            parent: None,
        }
    }

    /// A differencing disk of `size` bytes on `parent`, with a fresh uuid.
    pub fn differencing(size: u64, parent: ParentLink) -> Self {
        NewVhd {
            size,
            uuid: Uuid::new_v4(),
            timestamp: super::timestamp::now(),
            parent: Some(parent),
        }
    }

    /// The footer and header of the new disk; `path` is only for error messages.
    pub fn metadata(&self, path: &Path) -> Result<(Footer, Header)> {
        if self.size > MAX_VIRTUAL_SIZE || self.size == 0 {
            return Err(invalid(
                path,
                "footer",
                "currentSize",
                format!(
                    "{} bytes is outside the VHD range 1..={MAX_VIRTUAL_SIZE}",
                    self.size
                ),
            ));
        }
        let disk_type = match self.parent {
            Some(_) => DiskType::Differencing,
            None => DiskType::Dynamic,
        };
        let mut footer = Footer::new(disk_type, self.size, self.uuid);
        footer.timestamp = self.timestamp;
        let mut header = Header::new(
            block_count(self.size, DEFAULT_BLOCK_SIZE),
            DEFAULT_BLOCK_SIZE,
        );
        if let Some(parent) = &self.parent {
            header.parent_name = parent.name.clone();
            header.parent_uuid = parent.uuid;
            header.parent_timestamp = parent.timestamp;
        }
        header.to_bytes(path)?;
        Ok((footer, header))
    }
}

/// Where the blocks of a new disk go, in increasing block order.
pub trait VhdSink {
    /// Stores `data` (a whole block) as block `block` with an all-ones bitmap.
    fn put_block(&mut self, block: u32, data: &[u8]) -> Result<()>;
    /// Writes the metadata and makes the disk appear at its path.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// End of the BAT of a new VHD: where its block area starts.
pub(crate) fn bat_end(header: &Header) -> u64 {
    header.table_offset + bat_bytes(header.max_table_entries)
}

/// Where the next block goes when the previous data ends at `from`: the first offset at which the
/// block's data starts on a 4 KiB page (its bitmap filling the sector before). In-kernel copies
/// between files (`copy_file_range`, reflinks) need page-aligned data to be fast; readers follow
/// the BAT, so the gaps are just unused space (3.5 KiB per 2 MiB block).
pub(crate) fn aligned_block_offset(from: u64, header: &Header) -> u64 {
    let bitmap = header.bitmap_size() as u64;
    (from + bitmap).next_multiple_of(PAGE) - bitmap
}

/// The page size that block data is aligned to.
pub(crate) const PAGE: u64 = 4096;

/// Footer copy, header and BAT: the bytes before the block area.
pub(crate) fn prefix_bytes(
    footer: &Footer,
    header: &Header,
    bat: &[u32],
    path: &Path,
) -> Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(bat_end(header) as usize);
    prefix.extend_from_slice(&footer.to_bytes());
    prefix.extend_from_slice(&header.to_bytes(path)?);
    prefix.resize(header.table_offset as usize, 0);
    for entry in bat {
        prefix.extend_from_slice(&entry.to_be_bytes());
    }
    prefix.resize(bat_end(header) as usize, 0xFF);
    Ok(prefix)
}

/// Writes a new VHD file block by block, atomically: it appears at its path only when finished.
pub struct VhdFileWriter {
    out: AtomicFile,
    path: PathBuf,
    footer: Footer,
    header: Header,
    bat: Vec<u32>,
    /// End of the data written so far: the next block goes at the first aligned offset past it.
    end: u64,
    bitmap: Vec<u8>,
    writeback: EarlyWriteback,
}

impl VhdFileWriter {
    /// Starts writing the disk described by `new` to `path`.
    pub fn create(path: impl AsRef<Path>, new: &NewVhd) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (footer, header) = new.metadata(&path)?;
        let out = AtomicFile::create(&path)?;
        Ok(VhdFileWriter {
            out,
            bat: vec![UNUSED; header.max_table_entries as usize],
            end: bat_end(&header),
            bitmap: vec![0xFF; header.bitmap_size()],
            writeback: EarlyWriteback::default(),
            path,
            footer,
            header,
        })
    }
}

impl VhdSink for VhdFileWriter {
    fn put_block(&mut self, block: u32, data: &[u8]) -> Result<()> {
        let entry = self.bat.get_mut(block as usize).ok_or_else(|| {
            invalid(
                &self.path,
                "BAT",
                "entry",
                format!("block {block} is past the end of the disk"),
            )
        })?;
        let offset = aligned_block_offset(self.end, &self.header);
        *entry = (offset / 512) as u32;
        let file = self.out.file();
        file.write_all_at(&self.bitmap, offset)
            .at(self.out.temp_path())?;
        // The file is new: the block's zero pages can stay holes.
        write_into_hole(file, offset + self.bitmap.len() as u64, data).at(self.out.temp_path())?;
        self.end = offset + (self.bitmap.len() + data.len()) as u64;
        self.writeback.wrote(file, self.end - offset);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let prefix = prefix_bytes(&self.footer, &self.header, &self.bat, &self.path)?;
        let file = self.out.file();
        file.write_all_at(&prefix, 0).at(self.out.temp_path())?;
        file.write_all_at(&self.footer.to_bytes(), self.end)
            .at(self.out.temp_path())?;
        file.set_len(self.end + FOOTER_SIZE as u64)
            .at(self.out.temp_path())?;
        self.out.commit()
    }
}
