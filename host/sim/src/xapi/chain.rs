//! The file side of snapshots, clones and copies on the simulated file-based SR.
//!
//! As xapi's FileSR does, a snapshot or clone of a VDI never copies data: the VDI's current VHD
//! becomes a hidden, read-only parent (the "base copy") and both the VDI and the new VDI get empty
//! differencing leaves on it. A full copy reads the whole chain into a new dynamic VHD. These
//! functions only move files; the VDI records are the callers' business.

use std::path::Path;

use lifeboat_formats::disk::DiskRead;
use lifeboat_formats::vhd::{
    NewVhd, ParentLink, VhdChain, VhdFileWriter, VhdSink, open_vhd, write_dynamic,
};

use super::storage::file_in as file;

/// Turns `<leaf>.vhd` into the base copy `<base>.vhd` and gives both `<leaf>.vhd` and each of
/// `new_leaves` an empty differencing disk on it. On failure the files are as they were.
pub fn branch(
    dir: &Path,
    leaf: &str,
    base: &str,
    new_leaves: &[&str],
) -> lifeboat_formats::Result<()> {
    let leaf_path = file(dir, leaf);
    let base_path = file(dir, base);
    let (size, link) = {
        let disk = open_vhd(&leaf_path)?;
        let link = ParentLink {
            name: format!("{base}.vhd"),
            uuid: disk.footer().uuid,
            timestamp: disk.footer().timestamp,
        };
        (disk.footer().current_size, link)
    };
    std::fs::rename(&leaf_path, &base_path)
        .map_err(|e| lifeboat_formats::Error::io(&leaf_path, e))?;
    let mut created = Vec::new();
    for name in std::iter::once(leaf).chain(new_leaves.iter().copied()) {
        let path = file(dir, name);
        let outcome = VhdFileWriter::create(&path, &NewVhd::differencing(size, link.clone()))
            .and_then(|writer| Box::new(writer).finish());
        if let Err(error) = outcome {
            for path in &created {
                let _ = std::fs::remove_file(path);
            }
            let _ = std::fs::rename(&base_path, &leaf_path);
            return Err(error);
        }
        created.push(path);
    }
    Ok(())
}

/// Writes the content of an opened chain as a new dynamic VHD at `target`; the chain may have
/// been opened under the pool's lock and read after it.
pub fn copy_chain(chain: &mut VhdChain, target: &Path) -> lifeboat_formats::Result<u64> {
    let writer = VhdFileWriter::create(target, &NewVhd::dynamic(chain.virtual_size()))?;
    let summary = write_dynamic(chain, Box::new(writer), &mut |_, _| {});
    match summary {
        Ok(summary) => Ok(summary.data_bytes),
        Err(error) => {
            let _ = std::fs::remove_file(target);
            Err(error)
        }
    }
}

/// Bytes the VDI's own file takes (what `physical_utilisation` reports).
pub fn utilisation(dir: &Path, vdi: &str) -> u64 {
    std::fs::metadata(file(dir, vdi)).map_or(0, |m| m.len())
}

/// Removes `<vdi>.vhd`; a missing file is not an error (the VDI may never have been written).
pub fn remove(dir: &Path, vdi: &str) -> std::io::Result<()> {
    match std::fs::remove_file(file(dir, vdi)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}
