//! The 1024-byte dynamic-disk header: where the BAT is, the block size, and the parent link.

use std::path::Path;

use uuid::Uuid;

use super::fields::{Fields, checksum, invalid};
use crate::Result;
use crate::disk::block_count;

/// Size of the header structure.
pub const HEADER_SIZE: usize = 1024;
/// Where Xen Orchestra and qemu put the BAT: right after the footer copy and the header.
pub const DEFAULT_TABLE_OFFSET: u64 = 1536;
/// Largest BAT Lifeboat accepts (entries): 2 TiB in 512 KiB blocks. Bounds the BAT's memory.
pub const MAX_TABLE_ENTRIES: u32 = 1 << 22;

const COOKIE: &[u8; 8] = b"cxsparse";
const VERSION: u32 = 0x0001_0000;
const PARENT_NAME_OFFSET: usize = 64;
const PARENT_NAME_SIZE: usize = 512;
const LOCATORS_OFFSET: usize = 576;
const LOCATOR_SIZE: usize = 24;

/// A parsed, validated dynamic-disk header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub table_offset: u64,
    pub max_table_entries: u32,
    pub block_size: u32,
    pub parent_uuid: Uuid,
    pub parent_timestamp: u32,
    /// The parent's file name relative to this disk's folder (`parentUnicodeName`); empty for
    /// dynamic disks.
    pub parent_name: String,
    /// The eight parent locator entries, kept as read so that rewriting a header preserves them.
    pub parent_locators: [[u8; LOCATOR_SIZE]; 8],
}

impl Header {
    /// A header for a new disk with the BAT at its default place.
    pub fn new(max_table_entries: u32, block_size: u32) -> Self {
        Header {
            table_offset: DEFAULT_TABLE_OFFSET,
            max_table_entries,
            block_size,
            parent_uuid: Uuid::nil(),
            parent_timestamp: 0,
            parent_name: String::new(),
            parent_locators: [[0; LOCATOR_SIZE]; 8],
        }
    }

    /// Bytes of the sector bitmap that precedes each block's data (rounded up to a sector).
    pub fn bitmap_size(&self) -> usize {
        bitmap_size(self.block_size)
    }

    /// Checks that the BAT has an entry for every block of a disk of `size` bytes.
    pub(crate) fn check_covers(&self, size: u64, path: &Path) -> Result<()> {
        let needed = block_count(size, self.block_size);
        if self.max_table_entries < needed {
            return Err(invalid(
                path,
                "header",
                "maxTableEntries",
                format!(
                    "is {} but a disk of {size} bytes in blocks of {} needs {needed}",
                    self.max_table_entries, self.block_size
                ),
            ));
        }
        Ok(())
    }

    /// The byte ranges `(entry, start, end)` of the parent locators in use, each sector-rounded.
    pub(crate) fn locator_extents(&self) -> impl Iterator<Item = (usize, u64, u64)> + '_ {
        self.parent_locators
            .iter()
            .enumerate()
            .filter_map(|(i, locator)| {
                let fields = Fields::new(locator);
                if fields.u32(0) == 0 {
                    return None;
                }
                let (space, length, offset) = (
                    u64::from(fields.u32(4)),
                    u64::from(fields.u32(8)),
                    fields.u64(16),
                );
                // The specification counts the space in sectors, some writers in bytes: reserve
                // the larger.
                let size = length
                    .max(if space < 512 { space * 512 } else { space })
                    .next_multiple_of(512);
                Some((i, offset, offset.saturating_add(size)))
            })
    }

    /// Parses and validates a header read from `path`.
    pub fn parse(bytes: &[u8; HEADER_SIZE], path: &Path) -> Result<Self> {
        let f = Fields::new(bytes);
        let bad = |field, problem: String| invalid(path, "header", field, problem);
        if f.bytes(0, 8) != COOKIE {
            return Err(bad(
                "cookie",
                format!("is {:?}, expected \"cxsparse\"", f.text(0, 8)),
            ));
        }
        let stored = f.u32(36);
        let computed = checksum(bytes, 36);
        if stored != computed {
            return Err(bad(
                "checksum",
                format!("is {stored:#010x} but the header sums to {computed:#010x}"),
            ));
        }
        if f.u64(8) != u64::MAX {
            return Err(bad(
                "dataOffset",
                format!("is {:#x}, expected 0xFFFFFFFFFFFFFFFF", f.u64(8)),
            ));
        }
        let version = f.u32(24);
        if version >> 16 != 1 {
            return Err(bad(
                "headerVersion",
                format!("is {version:#010x}, expected 0x00010000"),
            ));
        }
        let block_size = f.u32(32);
        if block_size < 512 || !block_size.is_power_of_two() {
            return Err(bad(
                "blockSize",
                format!("is {block_size}, expected 512·2^k"),
            ));
        }
        let max_table_entries = f.u32(28);
        if max_table_entries > MAX_TABLE_ENTRIES {
            return Err(bad(
                "maxTableEntries",
                format!("is {max_table_entries}, more than the supported {MAX_TABLE_ENTRIES}"),
            ));
        }
        let table_offset = f.u64(16);
        if !table_offset.is_multiple_of(512) || table_offset < 1536 {
            return Err(bad(
                "tableOffset",
                format!("is {table_offset}, expected a sector past the header"),
            ));
        }
        let units: Vec<u16> = f
            .bytes(PARENT_NAME_OFFSET, PARENT_NAME_SIZE)
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .take_while(|&unit| unit != 0)
            .collect();
        let parent_name = String::from_utf16(&units)
            .map_err(|_| bad("parentUnicodeName", "is not valid UTF-16BE".into()))?;
        let mut parent_locators = [[0; LOCATOR_SIZE]; 8];
        for (i, locator) in parent_locators.iter_mut().enumerate() {
            *locator = f.array(LOCATORS_OFFSET + i * LOCATOR_SIZE);
        }
        Ok(Header {
            table_offset,
            max_table_entries,
            block_size,
            parent_uuid: Uuid::from_bytes(f.array(40)),
            parent_timestamp: f.u32(56),
            parent_name,
            parent_locators,
        })
    }

    /// The header's 1024 bytes, checksum included. Fails when the parent name does not fit.
    pub fn to_bytes(&self, path: &Path) -> Result<[u8; HEADER_SIZE]> {
        let mut b = [0u8; HEADER_SIZE];
        b[0..8].copy_from_slice(COOKIE);
        b[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
        b[16..24].copy_from_slice(&self.table_offset.to_be_bytes());
        b[24..28].copy_from_slice(&VERSION.to_be_bytes());
        b[28..32].copy_from_slice(&self.max_table_entries.to_be_bytes());
        b[32..36].copy_from_slice(&self.block_size.to_be_bytes());
        b[40..56].copy_from_slice(self.parent_uuid.as_bytes());
        b[56..60].copy_from_slice(&self.parent_timestamp.to_be_bytes());
        let units: Vec<u16> = self.parent_name.encode_utf16().collect();
        if units.len() * 2 > PARENT_NAME_SIZE {
            return Err(invalid(
                path,
                "header",
                "parentUnicodeName",
                format!("{:?} is longer than 256 UTF-16 units", self.parent_name),
            ));
        }
        for (i, unit) in units.iter().enumerate() {
            let at = PARENT_NAME_OFFSET + i * 2;
            b[at..at + 2].copy_from_slice(&unit.to_be_bytes());
        }
        for (i, locator) in self.parent_locators.iter().enumerate() {
            let at = LOCATORS_OFFSET + i * LOCATOR_SIZE;
            b[at..at + LOCATOR_SIZE].copy_from_slice(locator);
        }
        let sum = checksum(&b, 36);
        b[36..40].copy_from_slice(&sum.to_be_bytes());
        Ok(b)
    }
}

/// Bytes of the sector bitmap of a block of `block_size` bytes: one bit per sector, rounded up to a
/// whole sector.
pub fn bitmap_size(block_size: u32) -> usize {
    (block_size as usize / 512)
        .div_ceil(8)
        .next_multiple_of(512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_with_a_parent_name() {
        let mut header = Header::new(512, 2 << 20);
        header.parent_name = "20240102T030405Z.vhd".into();
        header.parent_uuid = Uuid::new_v4();
        let bytes = header.to_bytes(Path::new("c.vhd")).unwrap();
        assert_eq!(Header::parse(&bytes, Path::new("c.vhd")).unwrap(), header);
    }

    #[test]
    fn a_block_size_that_is_not_a_power_of_two_is_named() {
        let mut header = Header::new(512, 2 << 20);
        header.block_size = 3 * 512;
        let bytes = header.to_bytes(Path::new("c.vhd")).unwrap();
        let err = Header::parse(&bytes, Path::new("c.vhd"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`blockSize`"), "{err}");
    }

    #[test]
    fn a_parent_name_that_is_not_utf16_is_named() {
        let mut bytes = Header::new(512, 2 << 20)
            .to_bytes(Path::new("c.vhd"))
            .unwrap();
        bytes[64..66].copy_from_slice(&0xD800u16.to_be_bytes());
        let sum = checksum(&bytes, 36);
        bytes[36..40].copy_from_slice(&sum.to_be_bytes());
        let err = Header::parse(&bytes, Path::new("c.vhd"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`parentUnicodeName`"), "{err}");
    }

    #[test]
    fn two_mib_blocks_have_a_one_sector_bitmap() {
        assert_eq!(bitmap_size(2 << 20), 512);
        assert_eq!(bitmap_size(4096), 512);
    }
}
