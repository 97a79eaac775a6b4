//! What every stored VHD (a file or a VHD directory) offers: its metadata and its blocks.

use std::fs::File;
use std::path::Path;

use super::footer::Footer;
use super::header::Header;
use crate::Result;
pub use crate::disk::block_count;

/// An opened VHD disk: footer, header, and blocks by index.
pub trait Vhd: Send {
    /// Where the disk was opened from (the file, or the `.alias.vhd` of a VHD directory).
    fn path(&self) -> &Path;
    fn footer(&self) -> &Footer;
    fn header(&self) -> &Header;
    /// Whether block `block` is allocated; blocks past the table are not.
    fn is_allocated(&self, block: u32) -> bool;
    /// Reads an allocated block's sector bitmap and data. `bitmap` holds
    /// [`Header::bitmap_size`] bytes and `data` the block size.
    fn read_block(&mut self, block: u32, bitmap: &mut [u8], data: &mut [u8]) -> Result<()>;

    /// Reads only an allocated block's sector bitmap.
    fn read_bitmap(&mut self, block: u32, bitmap: &mut [u8]) -> Result<()> {
        let mut data = vec![0u8; self.header().block_size as usize];
        self.read_block(block, bitmap, &mut data)
    }

    /// The plain file and offset holding an allocated block's data, so that it can be copied
    /// inside the kernel; `None` for storage that is not one plain file.
    fn block_data_in_file(&self, _block: u32) -> Option<(&File, u64)> {
        None
    }

    /// Number of blocks in the virtual disk (the last one may extend past the virtual size).
    fn block_count(&self) -> u32 {
        block_count(self.footer().current_size, self.header().block_size)
    }

    /// Number of allocated blocks.
    fn allocated_blocks(&self) -> u32 {
        (0..self.header().max_table_entries)
            .filter(|&b| self.is_allocated(b))
            .count() as u32
    }
}

/// A VHD that a merge can write into.
pub trait VhdWrite: Vhd {
    /// Stores `data` as block `block` with an all-ones sector bitmap, allocating it if needed.
    fn write_full_block(&mut self, block: u32, data: &[u8]) -> Result<()>;
    /// Stores block `block` with an all-ones bitmap and its data copied from `src` at `offset`,
    /// inside the kernel. Returns `false` when this storage cannot; the caller then writes the data.
    fn copy_full_block(&mut self, _block: u32, _src: &File, _offset: u64) -> Result<bool> {
        Ok(false)
    }
    /// Makes the block table hold at least `entries` blocks.
    fn grow_table(&mut self, entries: u32) -> Result<()>;
    /// Replaces the footer (written on the next [`flush`](Self::flush)).
    fn set_footer(&mut self, footer: Footer);
    /// Writes the block table and footers and makes everything durable.
    fn flush(&mut self) -> Result<()>;
}

/// Whether every sector bit of a block of `block_size` bytes is set in `bitmap`.
pub fn bitmap_is_full(bitmap: &[u8], block_size: u32) -> bool {
    let sectors = block_size as usize / 512;
    let whole = sectors / 8;
    bitmap[..whole].iter().all(|&b| b == 0xFF)
        && (whole * 8..sectors).all(|s| sector_is_set(bitmap, s))
}

/// Whether sector `sector` of a block is marked present in its bitmap (MSB first).
pub fn sector_is_set(bitmap: &[u8], sector: usize) -> bool {
    bitmap[sector / 8] & (0x80 >> (sector % 8)) != 0
}
