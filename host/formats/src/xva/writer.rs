//! Streams an XVA archive: `ova.xml`, then every disk as checksummed 1 MiB chunk entries, then
//! the end-of-archive marker, optionally compressed, to any [`Write`].
//!
//! Chunks are written the way xapi exports them: all-zero chunks are left out except each disk's
//! first and last, the last chunk is only as long as what remains of the disk, and every chunk is
//! followed by its `.xxhash` entry. Holes that the disk reports (`may_hold_data`) are skipped
//! without being read. Memory use is one chunk buffer.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use super::chunk::{CHUNK_SIZE, ChecksumKind, checksum_entry_name, checksum_hex, chunk_entry_name};
use super::compression::{Compression, Encoder};
use super::error::XvaError;
use super::ova::{OVA_XML, OvaXml, XvaDisk};
use super::tar_write::{write_end, write_entry};
use crate::Result;
use crate::disk::{DiskRead, is_zero};

/// What [`XvaWriter::write`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XvaWriteSummary {
    /// Chunk entries written, over all disks.
    pub chunks: u64,
    /// Bytes of disk data in those chunks.
    pub data_bytes: u64,
}

/// Writes one XVA archive to `W`.
pub struct XvaWriter<W: Write> {
    out: Encoder<W>,
}

impl<W: Write> XvaWriter<W> {
    /// A writer to `out`, compressing the whole stream as asked.
    pub fn new(out: W, compression: Compression) -> Result<Self> {
        let out = Encoder::new(out, compression).map_err(|source| XvaError::Write {
            entry: "compressor".into(),
            source,
        })?;
        Ok(XvaWriter { out })
    }

    /// Writes the archive: `ova` as `ova.xml`, then the data of `disks`, given in the order of
    /// [`OvaXml::disks`] and with the sizes it declares. `progress` is called with the bytes of
    /// disk covered so far (written or skipped) and the total of all disks.
    ///
    /// Returns the output, with compression finished and buffers flushed, and a summary.
    pub fn write(
        mut self,
        ova: &OvaXml,
        disks: &mut [&mut dyn DiskRead],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(W, XvaWriteSummary)> {
        let declared = ova.disks()?;
        check_disks_match(&declared, disks)?;

        let mut xml = Vec::new();
        ova.write_xml(&mut xml).map_err(|source| XvaError::Write {
            entry: OVA_XML.into(),
            source,
        })?;
        write_entry(&mut self.out, OVA_XML, &xml, now())?;

        let total = declared.iter().map(|disk| disk.virtual_size).sum();
        let mut done = 0;
        progress(done, total);
        let mut summary = XvaWriteSummary::default();
        let mut buffer = vec![0; CHUNK_SIZE as usize];
        for (declared, disk) in declared.iter().zip(disks.iter_mut()) {
            self.write_disk(
                &declared.id,
                &mut **disk,
                &mut buffer,
                &mut summary,
                &mut |n| {
                    done += n;
                    progress(done, total);
                },
            )?;
        }
        write_end(&mut self.out)?;
        let out = self.out.finish().map_err(|source| XvaError::Write {
            entry: "end of the compressed stream".into(),
            source,
        })?;
        Ok((out, summary))
    }

    /// Writes the chunk entries of one disk; `covered` is told how many bytes each step covered.
    fn write_disk(
        &mut self,
        id: &str,
        disk: &mut dyn DiskRead,
        buffer: &mut [u8],
        summary: &mut XvaWriteSummary,
        covered: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let size = disk.virtual_size();
        let last = size.div_ceil(CHUNK_SIZE).saturating_sub(1);
        for number in 0..=last {
            let offset = number * CHUNK_SIZE;
            let len = CHUNK_SIZE.min(size - offset);
            let always_written = number == 0 || number == last;
            let may_hold_data = disk.may_hold_data(offset, len)?;
            if !always_written && !may_hold_data {
                covered(len);
                continue;
            }
            let chunk = &mut buffer[..len as usize];
            if may_hold_data {
                disk.read_at(offset, chunk)?;
            } else {
                chunk.fill(0);
            }
            if !always_written && is_zero(chunk) {
                covered(len);
                continue;
            }
            let name = chunk_entry_name(id, number);
            write_entry(&mut self.out, &name, chunk, 0)?;
            let checksum = checksum_hex(ChecksumKind::XxHash, chunk);
            let checksum_name = checksum_entry_name(&name, ChecksumKind::XxHash);
            write_entry(&mut self.out, &checksum_name, checksum.as_bytes(), 0)?;
            summary.chunks += 1;
            summary.data_bytes += len;
            covered(len);
        }
        Ok(())
    }
}

/// Refuses disks that do not match what `ova.xml` declares: the reader finds a disk's end by its
/// declared size, so a mismatch would produce an archive that cannot be imported.
fn check_disks_match(declared: &[XvaDisk], disks: &[&mut dyn DiskRead]) -> Result<(), XvaError> {
    if declared.len() != disks.len() {
        return Err(XvaError::DiskMismatch {
            entry: OVA_XML.into(),
            problem: format!(
                "declares {} disks but {} were given",
                declared.len(),
                disks.len()
            ),
        });
    }
    for (declared, disk) in declared.iter().zip(disks) {
        if declared.virtual_size != disk.virtual_size() {
            return Err(XvaError::DiskMismatch {
                entry: declared.id.clone(),
                problem: format!(
                    "ova.xml declares {} bytes but the disk has {}",
                    declared.virtual_size,
                    disk.virtual_size()
                ),
            });
        }
    }
    Ok(())
}

/// The export time, which xapi gives `ova.xml` (chunks get mtime 0).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
