//! Opening a stored VHD by path, whatever its storage: a file, or a VHD directory behind an alias.

use std::path::Path;

use super::directory::{ALIAS_SUFFIX, VhdDirectory};
use super::file::VhdFile;
use super::image::{Vhd, VhdWrite};
use crate::Result;

/// Whether `path` names a VHD directory's alias file.
pub fn is_alias(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.ends_with(ALIAS_SUFFIX))
}

/// Opens the VHD at `path` for reading.
pub fn open_vhd(path: &Path) -> Result<Box<dyn Vhd>> {
    Ok(if is_alias(path) {
        Box::new(VhdDirectory::open(path)?)
    } else {
        Box::new(VhdFile::open(path)?)
    })
}

/// Opens the VHD at `path` for writing in place (a merge target).
pub fn open_vhd_for_write(path: &Path) -> Result<Box<dyn VhdWrite>> {
    Ok(if is_alias(path) {
        Box::new(VhdDirectory::open(path)?)
    } else {
        Box::new(VhdFile::open_for_write(path)?)
    })
}
