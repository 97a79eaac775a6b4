//! Where VDI data lives: like a file-based SR, each VDI (the hidden "base copy" parents
//! included) is a VHD file named `<vdi uuid>.vhd` in its SR's folder. A VDI's data is the VHD
//! chain opened from its file: differencing disks name their parent `<parent uuid>.vhd` in the
//! same folder, and the VDI record mirrors the link in `sm_config["vhd-parent"]`.

use std::path::{Path, PathBuf};

use lifeboat_formats::disk::{DEFAULT_BLOCK_SIZE, block_count};
use lifeboat_formats::vhd::{NewVhd, VhdFileWriter, VhdSink};

use crate::seeded::{fill_block, mix};

use super::db::Database;
use super::pool::cls;

/// The folder of an SR.
pub fn sr_dir(root: &Path, sr_uuid: &str) -> PathBuf {
    root.join(sr_uuid)
}

/// The VHD file of a VDI.
pub fn vdi_path(root: &Path, sr_uuid: &str, vdi_uuid: &str) -> PathBuf {
    file_in(&sr_dir(root, sr_uuid), vdi_uuid)
}

/// The VHD file of a VDI in the SR folder `dir`.
pub fn file_in(dir: &Path, vdi_uuid: &str) -> PathBuf {
    dir.join(format!("{vdi_uuid}.vhd"))
}

/// The VHD file of the VDI `vdi`, from its record; `None` for an unknown VDI.
pub fn vdi_file(db: &Database, root: &Path, vdi: &str) -> Option<PathBuf> {
    let vdi_class = cls("VDI");
    if !db.exists(vdi_class, vdi) {
        return None;
    }
    let sr = db.get_str(vdi_class, vdi, "SR");
    let sr_uuid = db.get_str(cls("SR"), sr, "uuid");
    Some(vdi_path(root, sr_uuid, db.get_str(vdi_class, vdi, "uuid")))
}

/// Writes an empty dynamic VHD of `size` bytes at `path` (a new VDI reads as zeros).
pub fn create_empty(path: &Path, size: u64) -> lifeboat_formats::Result<()> {
    Box::new(VhdFileWriter::create(path, &NewVhd::dynamic(size))?).finish()
}

/// Writes a dynamic VHD of `size` bytes at `path` in which `fill` percent of the blocks hold
/// pseudo-random bytes derived from `seed` (the same seed always gives the same disk).
pub fn generate_content(
    path: &Path,
    size: u64,
    fill: f64,
    seed: u64,
) -> lifeboat_formats::Result<u64> {
    let mut writer = Box::new(VhdFileWriter::create(path, &NewVhd::dynamic(size))?);
    let block_size = DEFAULT_BLOCK_SIZE as u64;
    let mut data = vec![0u8; DEFAULT_BLOCK_SIZE as usize];
    let threshold = (fill / 100.0 * f64::from(u32::MAX)) as u64;
    let mut written = 0;
    for block in 0..block_count(size, DEFAULT_BLOCK_SIZE) {
        if mix(seed ^ mix(u64::from(block) + 1)) & u64::from(u32::MAX) >= threshold {
            continue;
        }
        fill_block(&mut data, seed, u64::from(block));
        let end = (u64::from(block) + 1) * block_size;
        if end > size {
            // Bytes past the virtual size stay zero, as a real disk has none there.
            data[(size - u64::from(block) * block_size) as usize..].fill(0);
        }
        writer.put_block(block, &data)?;
        written += 1;
    }
    writer.finish()?;
    Ok(written)
}
