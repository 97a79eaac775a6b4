//! Streams an XVA archive from any [`Read`], verifying it and handing each disk's data to an
//! [`XvaSink`].
//!
//! Chunk offsets are computed the way xapi's importer does, sequentially: a gap in chunk numbers
//! stands for skipped all-zero chunks of the disk's first-chunk length, and a chunk may be empty
//! (xapi's keep-alive entries) without advancing the offset. A disk ends when its data reaches
//! the virtual size declared in `ova.xml`; the next entry belongs to the next disk. Nothing is
//! allocated from a header field before it is checked against a limit, and memory use is one
//! chunk buffer plus `ova.xml`.

use std::io::Read;

use super::chunk::{
    CHUNK_SIZE, ChecksumKind, ChunkEntryName, MAX_CHECKSUM_ENTRY_SIZE, verify_checksum,
};
use super::compression::{Compression, decompressed};
use super::error::XvaError;
use super::ova::{MAX_OVA_XML_SIZE, OVA_XML, OvaXml, XvaDisk};
use super::tar_read::{TarEntry, TarReader};
use crate::Result;

/// Receives the disks of an archive as they are read.
pub trait XvaSink {
    /// `ova.xml` was read; the disks it lists follow. An importer creates its objects here, so
    /// that they exist while the data arrives.
    fn begin_archive(&mut self, _ova: &OvaXml) -> Result<()> {
        Ok(())
    }

    /// A disk starts; its chunks follow.
    fn begin_disk(&mut self, disk: &XvaDisk) -> Result<()>;

    /// Data of the current disk at `offset`. Chunks come in increasing offsets; ranges never
    /// written (skipped all-zero chunks) read as zeros.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()>;

    /// The current disk is complete.
    fn end_disk(&mut self, disk: &XvaDisk) -> Result<()>;
}

/// What a complete, verified archive holds.
#[derive(Debug, Clone, PartialEq)]
pub struct XvaSummary {
    /// The decoded `ova.xml`.
    pub ova: OvaXml,
    /// The disks read, in archive order.
    pub disks: Vec<XvaDisk>,
    /// How the archive stream was compressed.
    pub compression: Compression,
    /// Chunk entries read, over all disks.
    pub chunks: u64,
    /// Bytes of disk data in those chunks.
    pub data_bytes: u64,
    /// Checksum entries verified (0 when `export_vsn` is 0: such archives are not verified).
    pub checksums_verified: u64,
}

/// Reads a whole archive (plain, gzip or zstd), verifying every checksum, and hands the disks to
/// `sink`. Fails with a typed [`XvaError`] naming the entry on anything malformed, corrupt or
/// truncated.
pub fn read_xva(input: impl Read, sink: &mut dyn XvaSink) -> Result<XvaSummary> {
    let (stream, compression) = decompressed(input)?;
    let mut tar = TarReader::new(stream);
    let first = tar.next_entry()?.ok_or_else(|| XvaError::Truncated {
        entry: OVA_XML.into(),
        detail: "the archive holds no entries".into(),
    })?;
    if first.name != OVA_XML {
        return Err(XvaError::FirstEntryNotOvaXml { entry: first.name }.into());
    }
    let ova = OvaXml::parse(&tar.read_data_to_vec(&first, MAX_OVA_XML_SIZE)?)?;
    let disks = ova.disks()?;
    sink.begin_archive(&ova)?;

    let mut chunks = ChunkReader {
        tar,
        export_vsn: ova.version.export_vsn,
        pending: None,
        buffer: Vec::new(),
        chunks: 0,
        data_bytes: 0,
        checksums_verified: 0,
    };
    for disk in &disks {
        sink.begin_disk(disk)?;
        chunks.read_disk(disk, sink)?;
        sink.end_disk(disk)?;
    }
    if let Some(entry) = chunks.next_entry()? {
        return Err(XvaError::UnexpectedEntry {
            entry: entry.name,
            expected: "the end of the archive after the last disk".into(),
        }
        .into());
    }
    Ok(XvaSummary {
        ova,
        disks,
        compression,
        chunks: chunks.chunks,
        data_bytes: chunks.data_bytes,
        checksums_verified: chunks.checksums_verified,
    })
}

/// Reads and verifies a whole archive, discarding the data.
pub fn check_xva(input: impl Read) -> Result<XvaSummary> {
    read_xva(input, &mut DiscardSink)
}

/// Fuzzing entry point: runs the reader, and the [`OvaXmlEditor`](super::OvaXmlEditor) in
/// pieces of a few sizes, on arbitrary bytes, discarding data and ignoring the outcome. Neither
/// may panic, whatever the input.
pub fn fuzz_read(data: &[u8]) {
    let _ = check_xva(data);
    super::head_edit::fuzz_edit(data);
}

/// A sink that keeps nothing.
struct DiscardSink;

impl XvaSink for DiscardSink {
    fn begin_disk(&mut self, _disk: &XvaDisk) -> Result<()> {
        Ok(())
    }
    fn write_at(&mut self, _offset: u64, _data: &[u8]) -> Result<()> {
        Ok(())
    }
    fn end_disk(&mut self, _disk: &XvaDisk) -> Result<()> {
        Ok(())
    }
}

/// The chunk-entry part of the archive.
struct ChunkReader<R: Read> {
    tar: TarReader<R>,
    export_vsn: u64,
    /// An entry read ahead while looking for an optional checksum entry (archives with
    /// `export_vsn` 0); `Some(None)` is the end of the archive.
    pending: Option<Option<TarEntry>>,
    /// The chunk buffer, [`CHUNK_SIZE`] once the first chunk arrives.
    buffer: Vec<u8>,
    chunks: u64,
    data_bytes: u64,
    checksums_verified: u64,
}

impl<R: Read> ChunkReader<R> {
    /// Reads the chunks of `disk` until its data reaches the declared size. Like xapi, at least
    /// one chunk entry is read even for an empty disk. A truncated archive is reported as the
    /// disk being incomplete.
    fn read_disk(&mut self, disk: &XvaDisk, sink: &mut dyn XvaSink) -> Result<()> {
        let mut offset = 0u64;
        self.read_disk_chunks(disk, sink, &mut offset)
            .map_err(|error| match error {
                crate::Error::Xva(XvaError::Truncated { entry, detail }) => XvaError::Truncated {
                    entry: disk.id.clone(),
                    detail: format!(
                        "the disk has {offset} of its {} bytes when the archive ends ({entry}: \
                         {detail})",
                        disk.virtual_size
                    ),
                }
                .into(),
                other => other,
            })
    }

    /// Reads the chunks of `disk`, keeping `offset` at the end of the data read so far.
    fn read_disk_chunks(
        &mut self,
        disk: &XvaDisk,
        sink: &mut dyn XvaSink,
        offset: &mut u64,
    ) -> Result<()> {
        let mut previous: Option<u64> = None;
        let mut unit: Option<u64> = None;
        loop {
            let entry = self.next_entry()?.ok_or_else(|| XvaError::Truncated {
                entry: "end-of-archive marker".into(),
                detail: "found before the disk is complete".into(),
            })?;
            let number = chunk_number(&entry, disk)?;
            if entry.size > CHUNK_SIZE {
                return Err(XvaError::EntryTooLarge {
                    entry: entry.name,
                    size: entry.size,
                    limit: CHUNK_SIZE,
                }
                .into());
            }
            let skipped = match previous {
                Some(previous) if number <= previous => {
                    return Err(XvaError::ChunkOutOfOrder {
                        entry: entry.name,
                        number,
                        previous,
                    }
                    .into());
                }
                Some(previous) => number - previous - 1,
                None => number,
            };
            let start = skipped
                .checked_mul(unit.unwrap_or(CHUNK_SIZE))
                .and_then(|gap| offset.checked_add(gap));
            let end = start.and_then(|start| start.checked_add(entry.size));
            let (Some(start), Some(end)) = (start, end.filter(|&end| end <= disk.virtual_size))
            else {
                return Err(XvaError::ChunkPastEnd {
                    entry: entry.name,
                    offset: start.unwrap_or(u64::MAX),
                    len: entry.size,
                    virtual_size: disk.virtual_size,
                }
                .into());
            };
            if self.buffer.is_empty() {
                self.buffer = vec![0; CHUNK_SIZE as usize];
            }
            let data = self.tar.read_data(&entry, &mut self.buffer)?;
            let checked = Self::read_checksum(
                &mut self.tar,
                &mut self.pending,
                self.export_vsn,
                &entry,
                data,
            )?;
            sink.write_at(start, data)?;
            if !data.is_empty() {
                unit.get_or_insert(entry.size);
            }
            self.chunks += 1;
            self.data_bytes += entry.size;
            self.checksums_verified += u64::from(checked);
            *offset = end;
            previous = Some(number);
            if *offset == disk.virtual_size {
                return Ok(());
            }
        }
    }

    /// Reads the checksum entry that follows the chunk `entry`, verifying it when `export_vsn`
    /// promises checksums. Returns whether a checksum was verified. Takes the reader's fields
    /// rather than `self` because `data` borrows the chunk buffer.
    fn read_checksum(
        tar: &mut TarReader<R>,
        pending: &mut Option<Option<TarEntry>>,
        export_vsn: u64,
        entry: &TarEntry,
        data: &[u8],
    ) -> Result<bool> {
        let next = tar.next_entry()?;
        let kind = next
            .as_ref()
            .and_then(|next| checksum_kind_of(&next.name, &entry.name));
        let (Some(checksum_entry), Some(kind)) = (&next, kind) else {
            if export_vsn > 0 {
                return Err(XvaError::MissingChecksum {
                    entry: entry.name.clone(),
                    found: next.map_or_else(|| "the end of the archive".into(), |n| n.name),
                    export_vsn,
                }
                .into());
            }
            *pending = Some(next);
            return Ok(false);
        };
        let mut content = [0u8; MAX_CHECKSUM_ENTRY_SIZE];
        let content = tar.read_data(checksum_entry, &mut content)?;
        if export_vsn == 0 {
            return Ok(false);
        }
        verify_checksum(kind, &entry.name, content, data)?;
        Ok(true)
    }

    /// The next entry, taking the one read ahead first.
    fn next_entry(&mut self) -> Result<Option<TarEntry>, XvaError> {
        match self.pending.take() {
            Some(entry) => Ok(entry),
            None => self.tar.next_entry(),
        }
    }
}

/// The chunk number of `entry`, which must be a data chunk of `disk`.
fn chunk_number(entry: &TarEntry, disk: &XvaDisk) -> Result<u64, XvaError> {
    match ChunkEntryName::parse(&entry.name) {
        Some(name) if name.disk_id == disk.id && name.checksum.is_none() => Ok(name.number),
        _ => Err(XvaError::UnexpectedEntry {
            entry: entry.name.clone(),
            expected: format!("a data chunk of disk {}", disk.id),
        }),
    }
}

/// The algorithm of `name` if it is the checksum entry of the chunk entry `chunk`.
fn checksum_kind_of(name: &str, chunk: &str) -> Option<ChecksumKind> {
    match name.strip_prefix(chunk)? {
        ".xxhash" => Some(ChecksumKind::XxHash),
        ".checksum" => Some(ChecksumKind::Sha1),
        _ => None,
    }
}
