//! Big-endian field access and the one's-complement checksum shared by the footer and header.

use std::path::Path;

use crate::Error;

/// Read-only view of a fixed-size structure whose bounds the caller has already checked.
pub(crate) struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Fields(bytes)
    }
    pub(crate) fn bytes(&self, at: usize, len: usize) -> &'a [u8] {
        &self.0[at..at + len]
    }
    pub(crate) fn array<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(at, N));
        out
    }
    pub(crate) fn text(&self, at: usize, len: usize) -> String {
        String::from_utf8_lossy(self.bytes(at, len)).into_owned()
    }
    pub(crate) fn u8(&self, at: usize) -> u8 {
        self.0[at]
    }
    pub(crate) fn u16(&self, at: usize) -> u16 {
        u16::from_be_bytes(self.array(at))
    }
    pub(crate) fn u32(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.array(at))
    }
    pub(crate) fn u64(&self, at: usize) -> u64 {
        u64::from_be_bytes(self.array(at))
    }
}

/// The VHD checksum: one's complement of the sum of all bytes but the 4-byte checksum field at
/// `checksum_at`.
pub(crate) fn checksum(bytes: &[u8], checksum_at: usize) -> u32 {
    let sum = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| !(checksum_at..checksum_at + 4).contains(i))
        .fold(0u32, |acc, (_, &b)| acc.wrapping_add(u32::from(b)));
    !sum
}

/// An [`Error::InvalidVhd`] for `field` of `structure` in `path`.
pub(crate) fn invalid(
    path: &Path,
    structure: &'static str,
    field: &'static str,
    problem: String,
) -> Error {
    Error::InvalidVhd {
        path: path.to_path_buf(),
        structure,
        field,
        problem,
    }
}
