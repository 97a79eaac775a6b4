//! The 512-byte VHD footer: identity, size, type and geometry of a disk.
//!
//! A dynamic or differencing VHD file holds it twice, at offset 0 and as the last 512 bytes.

use std::path::Path;

use uuid::Uuid;

use super::fields::{Fields, checksum, invalid};
use super::geometry::Geometry;
use crate::Result;

/// Size of the footer structure.
pub const FOOTER_SIZE: usize = 512;
/// The largest virtual size Lifeboat reads or writes: Xen Orchestra's `VHD_MAX_SIZE` (2 TiB − 8 KiB).
pub const MAX_VIRTUAL_SIZE: u64 = 2 * 1024 * 1024 * 1024 * 1024 - 8 * 1024;

const COOKIE: &[u8; 8] = b"conectix";
const VERSION: u32 = 0x0001_0000;
const FEATURES_RESERVED: u32 = 2;
/// `Wi2k`, the host OS that Xen Orchestra and xapi write.
const HOST_OS_WINDOWS: u32 = 0x5769_326B;
/// The creator application Lifeboat writes.
pub const CREATOR_APP: [u8; 4] = *b"lfbt";
const CREATOR_VERSION: u32 = 0x0001_0000;

/// The kind of a VHD disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskType {
    /// Type 3: blocks allocated on write, unallocated blocks read as zeros.
    Dynamic,
    /// Type 4: unallocated blocks (and sectors) come from the parent disk.
    Differencing,
}

impl DiskType {
    fn code(self) -> u32 {
        match self {
            DiskType::Dynamic => 3,
            DiskType::Differencing => 4,
        }
    }
}

impl std::fmt::Display for DiskType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DiskType::Dynamic => "dynamic",
            DiskType::Differencing => "differencing",
        })
    }
}

/// A parsed, validated VHD footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    pub features: u32,
    pub timestamp: u32,
    pub creator_application: [u8; 4],
    pub creator_version: u32,
    pub creator_host_os: u32,
    pub original_size: u64,
    pub current_size: u64,
    pub geometry: Geometry,
    pub disk_type: DiskType,
    pub uuid: Uuid,
    pub saved_state: bool,
}

impl Footer {
    /// A footer for a new disk written by Lifeboat now.
    pub fn new(disk_type: DiskType, size: u64, uuid: Uuid) -> Self {
        Footer {
            features: FEATURES_RESERVED,
            timestamp: super::timestamp::now(),
            creator_application: CREATOR_APP,
            creator_version: CREATOR_VERSION,
            creator_host_os: HOST_OS_WINDOWS,
            original_size: size,
            current_size: size,
            geometry: Geometry::for_size(size),
            disk_type,
            uuid,
            saved_state: false,
        }
    }

    /// Parses and validates a footer of a dynamic or differencing disk read from `path`.
    pub fn parse(bytes: &[u8; FOOTER_SIZE], path: &Path) -> Result<Self> {
        let f = Fields::new(bytes);
        let bad = |field, problem: String| invalid(path, "footer", field, problem);
        if f.bytes(0, 8) != COOKIE {
            return Err(bad(
                "cookie",
                format!("is {:?}, expected \"conectix\"", f.text(0, 8)),
            ));
        }
        let version = f.u32(12);
        if version >> 16 != 1 {
            return Err(bad(
                "version",
                format!("is {version:#010x}, expected 0x00010000"),
            ));
        }
        let stored = f.u32(64);
        let computed = checksum(bytes, 64);
        if stored != computed {
            return Err(bad(
                "checksum",
                format!("is {stored:#010x} but the footer sums to {computed:#010x}"),
            ));
        }
        let disk_type = match f.u32(60) {
            3 => DiskType::Dynamic,
            4 => DiskType::Differencing,
            2 => {
                return Err(bad(
                    "diskType",
                    "is 2 (fixed): fixed VHDs are not supported, convert them as raw images".into(),
                ));
            }
            other => {
                return Err(bad(
                    "diskType",
                    format!("is {other}, expected 3 (dynamic) or 4 (differencing)"),
                ));
            }
        };
        let data_offset = f.u64(16);
        if data_offset != 512 {
            return Err(bad("dataOffset", format!("is {data_offset}, expected 512")));
        }
        let current_size = f.u64(48);
        if current_size > MAX_VIRTUAL_SIZE {
            return Err(bad(
                "currentSize",
                format!("is {current_size} bytes, more than the VHD limit of {MAX_VIRTUAL_SIZE}"),
            ));
        }
        Ok(Footer {
            features: f.u32(8),
            timestamp: f.u32(24),
            creator_application: f.array(28),
            creator_version: f.u32(32),
            creator_host_os: f.u32(36),
            original_size: f.u64(40),
            current_size,
            geometry: Geometry {
                cylinders: f.u16(56),
                heads: f.u8(58),
                sectors_per_track: f.u8(59),
            },
            disk_type,
            uuid: Uuid::from_bytes(f.array(68)),
            saved_state: f.u8(84) != 0,
        })
    }

    /// The footer's 512 bytes, checksum included.
    pub fn to_bytes(&self) -> [u8; FOOTER_SIZE] {
        let mut b = [0u8; FOOTER_SIZE];
        b[0..8].copy_from_slice(COOKIE);
        b[8..12].copy_from_slice(&self.features.to_be_bytes());
        b[12..16].copy_from_slice(&VERSION.to_be_bytes());
        b[16..24].copy_from_slice(&512u64.to_be_bytes());
        b[24..28].copy_from_slice(&self.timestamp.to_be_bytes());
        b[28..32].copy_from_slice(&self.creator_application);
        b[32..36].copy_from_slice(&self.creator_version.to_be_bytes());
        b[36..40].copy_from_slice(&self.creator_host_os.to_be_bytes());
        b[40..48].copy_from_slice(&self.original_size.to_be_bytes());
        b[48..56].copy_from_slice(&self.current_size.to_be_bytes());
        b[56..58].copy_from_slice(&self.geometry.cylinders.to_be_bytes());
        b[58] = self.geometry.heads;
        b[59] = self.geometry.sectors_per_track;
        b[60..64].copy_from_slice(&self.disk_type.code().to_be_bytes());
        b[68..84].copy_from_slice(self.uuid.as_bytes());
        b[84] = u8::from(self.saved_state);
        let sum = checksum(&b, 64);
        b[64..68].copy_from_slice(&sum.to_be_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_round_trips() {
        let footer = Footer::new(DiskType::Dynamic, 10 << 20, Uuid::new_v4());
        let parsed = Footer::parse(&footer.to_bytes(), Path::new("x.vhd")).unwrap();
        assert_eq!(parsed, footer);
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let mut bytes = Footer::new(DiskType::Dynamic, 10 << 20, Uuid::new_v4()).to_bytes();
        bytes[50] ^= 1;
        let err = Footer::parse(&bytes, Path::new("x.vhd"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.vhd") && err.contains("`checksum`"), "{err}");
    }

    #[test]
    fn fixed_disks_are_refused_by_name() {
        let mut bytes = Footer::new(DiskType::Dynamic, 10 << 20, Uuid::new_v4()).to_bytes();
        bytes[63] = 2;
        let sum = checksum(&bytes, 64);
        bytes[64..68].copy_from_slice(&sum.to_be_bytes());
        let err = Footer::parse(&bytes, Path::new("x.vhd"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("fixed"), "{err}");
    }
}
