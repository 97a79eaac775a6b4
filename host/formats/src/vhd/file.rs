//! VHD files: footer copy, header, BAT, blocks (sector bitmap + data), footer.
//!
//! Opening validates every structure before trusting it: checksums, the trailing footer copy, and
//! a BAT whose entries all lie inside the file without overlapping each other or the metadata.
//! Parent locator data may sit in any free space: xapi's differencing exports put it in the sector
//! between the header and a BAT at 2048, other writers after the BAT or the blocks.
//! A file opened for writing (the parent of a merge) grows by appending blocks past the end of all
//! its data, locators included, and rewrites the trailing footer on [`flush`](VhdWrite::flush).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::fields::invalid;
use super::footer::{FOOTER_SIZE, Footer};
use super::header::{HEADER_SIZE, Header};
use super::image::{Vhd, VhdWrite};
use super::writer::aligned_block_offset;
use crate::error::{Error, IoContext, Result};
use crate::fileio::{EarlyWriteback, copy_range, write_into_hole};

/// BAT value of an unallocated block.
pub(crate) const UNUSED: u32 = u32::MAX;

/// End of the footer copy and the header, which the footer's `dataOffset` (always 512) puts first.
pub(crate) const HEADER_END: u64 = (FOOTER_SIZE + HEADER_SIZE) as u64;

/// A VHD file opened for reading, or for writing as a merge target.
pub struct VhdFile {
    file: File,
    path: PathBuf,
    footer: Footer,
    header: Header,
    bat: Vec<u32>,
    /// First byte past the blocks, BAT and parent locator data: where new blocks go, and where the
    /// trailing footer follows.
    end_of_data: u64,
    bat_dirty: bool,
    /// Whether anything past `end_of_data` (left by an interrupted run) was cut off, so that
    /// appended blocks land on holes.
    tail_trimmed: bool,
    writeback: EarlyWriteback,
}

/// How strictly to open a file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Read only; the trailing footer must equal the first copy.
    Read,
    /// Read-write merge target; the trailing footer may be missing after an interrupted merge.
    Write,
}

impl VhdFile {
    /// Opens and validates a VHD file for reading.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).at(path)?;
        Self::load(file, path, Mode::Read)
    }

    /// Opens a VHD file for writing blocks and metadata in place (the parent of a merge). A file
    /// whose trailing footer was overwritten by an interrupted merge is accepted.
    pub fn open_for_write(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .at(path)?;
        Self::load(file, path, Mode::Write)
    }

    fn load(file: File, path: &Path, mode: Mode) -> Result<Self> {
        let len = file.metadata().at(path)?.len();
        let truncated = |what, needed| Error::Truncated {
            path: path.to_path_buf(),
            what,
            needed,
            len,
        };
        if len < HEADER_END {
            return Err(truncated("footer and header", HEADER_END));
        }
        let mut footer_bytes = [0u8; FOOTER_SIZE];
        file.read_exact_at(&mut footer_bytes, 0).at(path)?;
        let footer = Footer::parse(&footer_bytes, path)?;
        if mode == Mode::Read {
            let mut trailing = [0u8; FOOTER_SIZE];
            file.read_exact_at(&mut trailing, len - FOOTER_SIZE as u64)
                .at(path)?;
            if trailing != footer_bytes {
                return Err(invalid(
                    path,
                    "footer",
                    "trailing copy",
                    "differs from the footer at offset 0 (truncated or damaged file)".into(),
                ));
            }
        }
        let mut header_bytes = [0u8; HEADER_SIZE];
        file.read_exact_at(&mut header_bytes, FOOTER_SIZE as u64)
            .at(path)?;
        let header = Header::parse(&header_bytes, path)?;
        header.check_covers(footer.current_size, path)?;
        let bat_len = bat_bytes(header.max_table_entries);
        let bat_end = header.table_offset.saturating_add(bat_len);
        if bat_end > len {
            return Err(truncated("BAT", bat_end));
        }
        let mut raw = vec![0u8; bat_len as usize];
        file.read_exact_at(&mut raw, header.table_offset).at(path)?;
        let bat: Vec<u32> = raw
            .chunks_exact(4)
            .take(header.max_table_entries as usize)
            .map(|e| u32::from_be_bytes([e[0], e[1], e[2], e[3]]))
            .collect();
        let data_limit = match mode {
            Mode::Read => len - FOOTER_SIZE as u64,
            Mode::Write => len,
        };
        let end_of_data = check_layout(path, &header, &bat, bat_end, data_limit)?;
        Ok(VhdFile {
            file,
            path: path.to_path_buf(),
            footer,
            header,
            bat,
            end_of_data,
            bat_dirty: false,
            tail_trimmed: false,
            writeback: EarlyWriteback::default(),
        })
    }

    fn block_offset(&self, block: u32) -> Option<u64> {
        match self.bat.get(block as usize) {
            Some(&UNUSED) | None => None,
            Some(&sector) => Some(u64::from(sector) * 512),
        }
    }

    /// Finds or allocates block `block` and writes its all-ones bitmap. Returns the block's
    /// offset and whether it was newly allocated (its data area then reads as zeros).
    fn place_block(&mut self, block: u32) -> Result<(u64, bool)> {
        if block >= self.header.max_table_entries {
            return Err(invalid(
                &self.path,
                "header",
                "maxTableEntries",
                format!(
                    "is {} and cannot hold block {block}",
                    self.header.max_table_entries
                ),
            ));
        }
        let (offset, fresh) = match self.block_offset(block) {
            Some(offset) => (offset, false),
            None => {
                if !self.tail_trimmed {
                    self.file.set_len(self.end_of_data).at(&self.path)?;
                    self.tail_trimmed = true;
                }
                let offset = aligned_block_offset(self.end_of_data, &self.header);
                self.end_of_data = offset + self.block_span();
                self.bat[block as usize] = u32::try_from(offset / 512).map_err(|_| {
                    invalid(
                        &self.path,
                        "BAT",
                        "entry",
                        "file grew past what a BAT can address".into(),
                    )
                })?;
                self.bat_dirty = true;
                (offset, true)
            }
        };
        let bitmap = vec![0xFFu8; self.header.bitmap_size()];
        self.file.write_all_at(&bitmap, offset).at(&self.path)?;
        Ok((offset, fresh))
    }

    fn block_span(&self) -> u64 {
        (self.header.bitmap_size() + self.header.block_size as usize) as u64
    }

    fn write_bat(&self) -> Result<()> {
        let mut raw = vec![0xFFu8; bat_bytes(self.header.max_table_entries) as usize];
        for (entry, value) in raw.chunks_exact_mut(4).zip(&self.bat) {
            entry.copy_from_slice(&value.to_be_bytes());
        }
        self.file
            .write_all_at(&raw, self.header.table_offset)
            .at(&self.path)
    }
}

/// Bytes of a BAT of `entries` entries, rounded up to a sector.
pub(crate) fn bat_bytes(entries: u32) -> u64 {
    (u64::from(entries) * 4).next_multiple_of(512)
}

/// Checks that every allocated block lies in `[bat_end, data_limit)` without overlapping another,
/// and that every parent locator lies in free space: clear of the footer copy and header, the BAT,
/// the blocks, the other locators and `data_limit`. Returns the end of the data (BAT, blocks and
/// locators), past which new blocks can go without overwriting anything.
fn check_layout(
    path: &Path,
    header: &Header,
    bat: &[u32],
    bat_end: u64,
    data_limit: u64,
) -> Result<u64> {
    let span = (header.bitmap_size() + header.block_size as usize) as u64;
    let mut blocks: Vec<(u64, usize)> = Vec::new();
    for (block, &sector) in bat.iter().enumerate() {
        if sector == UNUSED {
            continue;
        }
        let start = u64::from(sector) * 512;
        let end = start + span;
        if start < bat_end || end > data_limit {
            return Err(invalid(
                path,
                "BAT",
                "entry",
                format!(
                    "for block {block} points at bytes {start}..{end}, outside the data area {bat_end}..{data_limit}"
                ),
            ));
        }
        blocks.push((start, block));
    }
    blocks.sort_unstable();
    for pair in blocks.windows(2) {
        let ((before, before_block), (start, block)) = (pair[0], pair[1]);
        if start < before + span {
            return Err(invalid(
                path,
                "BAT",
                "entry",
                format!(
                    "for block {block} (bytes {start}..{}) overlaps block {before_block} (from byte {before})",
                    start + span
                ),
            ));
        }
    }
    let mut end_of_data = blocks
        .last()
        .map_or(bat_end, |&(start, _)| (start + span).max(bat_end));
    let locators: Vec<(usize, u64, u64)> = header.locator_extents().collect();
    for &(i, start, end) in &locators {
        let overlaps = |from: u64, to: u64| start < to && from < end;
        // Blocks do not overlap each other, so the last one starting before the locator's end is
        // the only one that can reach into it.
        let block_before = blocks
            .partition_point(|&(block_start, _)| block_start < end)
            .checked_sub(1)
            .and_then(|k| blocks.get(k).copied())
            .filter(|&(block_start, _)| overlaps(block_start, block_start + span));
        let other = locators
            .iter()
            .find(|&&(j, other_start, other_end)| j < i && overlaps(other_start, other_end));
        let clash = if start < HEADER_END {
            Some(format!(
                "the footer copy and header (bytes 0..{HEADER_END})"
            ))
        } else if overlaps(header.table_offset, bat_end) {
            Some(format!(
                "the BAT (bytes {}..{bat_end})",
                header.table_offset
            ))
        } else if end > data_limit {
            Some(format!("the end of the data area (byte {data_limit})"))
        } else if let Some((block_start, block)) = block_before {
            Some(format!(
                "block {block} (bytes {block_start}..{})",
                block_start + span
            ))
        } else {
            other.map(|&(j, other_start, other_end)| {
                format!("parent locator {j} (bytes {other_start}..{other_end})")
            })
        };
        if let Some(clash) = clash {
            return Err(invalid(
                path,
                "header",
                "parentLocatorEntry",
                format!("{i} (bytes {start}..{end}) overlaps {clash}"),
            ));
        }
        end_of_data = end_of_data.max(end);
    }
    Ok(end_of_data)
}

impl Vhd for VhdFile {
    fn path(&self) -> &Path {
        &self.path
    }
    fn footer(&self) -> &Footer {
        &self.footer
    }
    fn header(&self) -> &Header {
        &self.header
    }
    fn is_allocated(&self, block: u32) -> bool {
        self.block_offset(block).is_some()
    }
    fn allocated_blocks(&self) -> u32 {
        self.bat.iter().filter(|&&e| e != UNUSED).count() as u32
    }
    fn read_block(&mut self, block: u32, bitmap: &mut [u8], data: &mut [u8]) -> Result<()> {
        let Some(offset) = self.block_offset(block) else {
            return Err(invalid(
                &self.path,
                "BAT",
                "entry",
                format!("block {block} is not allocated"),
            ));
        };
        self.file.read_exact_at(bitmap, offset).at(&self.path)?;
        self.file
            .read_exact_at(data, offset + bitmap.len() as u64)
            .at(&self.path)
    }

    fn read_bitmap(&mut self, block: u32, bitmap: &mut [u8]) -> Result<()> {
        let Some(offset) = self.block_offset(block) else {
            return Err(invalid(
                &self.path,
                "BAT",
                "entry",
                format!("block {block} is not allocated"),
            ));
        };
        self.file.read_exact_at(bitmap, offset).at(&self.path)
    }

    fn block_data_in_file(&self, block: u32) -> Option<(&File, u64)> {
        let offset = self.block_offset(block)?;
        Some((&self.file, offset + self.header.bitmap_size() as u64))
    }
}

impl VhdWrite for VhdFile {
    fn write_full_block(&mut self, block: u32, data: &[u8]) -> Result<()> {
        let (offset, fresh) = self.place_block(block)?;
        let data_offset = offset + self.header.bitmap_size() as u64;
        if fresh {
            write_into_hole(&self.file, data_offset, data).at(&self.path)?;
        } else {
            self.file.write_all_at(data, data_offset).at(&self.path)?;
        }
        self.writeback.wrote(&self.file, self.block_span());
        Ok(())
    }

    fn copy_full_block(&mut self, block: u32, src: &File, offset: u64) -> Result<bool> {
        let (at, _) = self.place_block(block)?;
        let data_offset = at + self.header.bitmap_size() as u64;
        copy_range(
            src,
            offset,
            &self.file,
            data_offset,
            u64::from(self.header.block_size),
        )
        .at(&self.path)?;
        self.writeback.wrote(&self.file, self.block_span());
        Ok(true)
    }

    fn grow_table(&mut self, entries: u32) -> Result<()> {
        if entries <= self.header.max_table_entries {
            return Ok(());
        }
        let new_bat_end = self.header.table_offset + bat_bytes(entries);
        // Only a locator where the BAT grows is in the way; one before the BAT (xapi's) stays.
        let in_the_way = self
            .header
            .locator_extents()
            .find(|&(_, start, end)| start < new_bat_end && self.header.table_offset < end);
        if let Some((i, start, end)) = in_the_way {
            return Err(Error::Incompatible {
                path: self.path.clone(),
                problem: format!(
                    "cannot grow the BAT to {entries} entries over parent locator {i} (bytes {start}..{end})"
                ),
            });
        }
        // Blocks that sit where the larger BAT goes move to the end of the data first.
        let mut buf = vec![0u8; self.block_span() as usize];
        for block in 0..self.bat.len() as u32 {
            let Some(offset) = self.block_offset(block) else {
                continue;
            };
            if offset >= new_bat_end {
                continue;
            }
            self.file.read_exact_at(&mut buf, offset).at(&self.path)?;
            let target = aligned_block_offset(self.end_of_data, &self.header);
            self.file.write_all_at(&buf, target).at(&self.path)?;
            self.file.sync_data().at(&self.path)?;
            self.bat[block as usize] = (target / 512) as u32;
            self.end_of_data = target + self.block_span();
            self.write_bat()?;
        }
        self.end_of_data = self.end_of_data.max(new_bat_end);
        self.bat.resize(entries as usize, UNUSED);
        self.header.max_table_entries = entries;
        self.write_bat()?;
        let header = self.header.to_bytes(&self.path)?;
        self.file
            .write_all_at(&header, FOOTER_SIZE as u64)
            .at(&self.path)?;
        self.file.sync_data().at(&self.path)
    }

    fn set_footer(&mut self, footer: Footer) {
        self.footer = footer;
    }

    fn flush(&mut self) -> Result<()> {
        if self.bat_dirty {
            self.file.sync_data().at(&self.path)?;
            self.write_bat()?;
            self.bat_dirty = false;
        }
        let footer = self.footer.to_bytes();
        self.file
            .write_all_at(&footer, self.end_of_data)
            .at(&self.path)?;
        self.file
            .set_len(self.end_of_data + FOOTER_SIZE as u64)
            .at(&self.path)?;
        self.tail_trimmed = false;
        self.file.write_all_at(&footer, 0).at(&self.path)?;
        self.file.sync_all().at(&self.path)
    }
}
