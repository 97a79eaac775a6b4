//! Disk image formats on the command line: guessed from the file name, overridable by a flag.

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use lifeboat_formats::disk::DiskRead;
use lifeboat_formats::raw::RawDisk;
use lifeboat_formats::vhd::{ALIAS_SUFFIX, VhdChain};

/// A disk image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiskFormat {
    /// Raw image, byte for byte (`.raw`, `.img`).
    Raw,
    /// VHD file, dynamic or differencing (`.vhd`).
    Vhd,
    /// VHD directory behind an alias file (`.alias.vhd`).
    VhdDir,
}

impl DiskFormat {
    /// The format that `path`'s name implies, or `explicit` when given.
    pub fn of(path: &Path, explicit: Option<DiskFormat>) -> Result<Self> {
        if let Some(format) = explicit {
            return Ok(format);
        }
        let name = path.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(ALIAS_SUFFIX) {
            Ok(DiskFormat::VhdDir)
        } else if name.ends_with(".vhd") {
            Ok(DiskFormat::Vhd)
        } else if name.ends_with(".raw") || name.ends_with(".img") {
            Ok(DiskFormat::Raw)
        } else {
            bail!(
                "{}: cannot tell the format from the name (expected .raw, .img, .vhd or .alias.vhd); \
                 name it with --from or --to",
                path.display()
            )
        }
    }
}

/// Opens `path` for reading as a virtual disk: a raw image, or a VHD with its whole chain.
pub fn open_disk(path: &Path, format: DiskFormat) -> Result<Box<dyn DiskRead>> {
    Ok(match format {
        DiskFormat::Raw => Box::new(RawDisk::open(path)?),
        DiskFormat::Vhd | DiskFormat::VhdDir => Box::new(
            VhdChain::open(path)
                .with_context(|| format!("cannot open the VHD chain of {}", path.display()))?,
        ),
    })
}

/// Refuses to replace an existing output unless `force` is given.
pub fn check_output(path: &Path, force: bool) -> Result<()> {
    if !force && (path.exists() || path.is_symlink()) {
        bail!(
            "{} already exists; pass --force to replace it",
            path.display()
        );
    }
    Ok(())
}
