//! Reading a dynamic or differencing VHD from a stream that cannot seek: the body of an XAPI
//! `PUT /import_raw_vdi?format=vhd`.
//!
//! The stream is read once, front to back: footer copy, header, BAT, then every allocated block
//! (sector bitmap + data) in file order, then the trailing footer. Bytes between these structures
//! (parent locators, alignment gaps) are read and discarded. A layout that would need to go back
//! (a block inside the metadata, two BAT entries sharing bytes) is refused before the first block,
//! and a stream that ends before its trailing footer is an error: only a reader that returned
//! `Ok(None)` from [`VhdStreamReader::next_block`] has seen the whole disk.
//!
//! Memory: the allocated BAT entries (8 bytes each; the header allows at most 4 Mi entries) and one
//! block of at most [`MAX_STREAM_BLOCK_SIZE`], allocated when the first block arrives.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::fields::invalid;
use super::file::{HEADER_END, UNUSED, bat_bytes};
use super::footer::{FOOTER_SIZE, Footer};
use super::header::{HEADER_SIZE, Header};
use super::image::{block_count, sector_is_set};
use crate::disk::SECTOR_SIZE;
use crate::error::{Error, Result};

/// Largest block size the stream reader accepts (16 times the 2 MiB that xapi, Xen Orchestra,
/// qemu and Lifeboat write): one block is buffered whole, so this bounds the reader's memory.
pub const MAX_STREAM_BLOCK_SIZE: u32 = 32 << 20;

/// A VHD read front to back from `R`, block by block.
pub struct VhdStreamReader<R> {
    input: Input<R>,
    footer: Footer,
    footer_bytes: [u8; FOOTER_SIZE],
    header: Header,
    /// The allocated BAT entries in file order, each `sector << 32 | block`.
    plan: Vec<u64>,
    next: usize,
    /// Where the trailing footer starts: the end of the last block or parent locator (or the BAT).
    data_end: u64,
    /// The current block's bitmap then data; empty until the first block.
    buf: Vec<u8>,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Blocks,
    /// The trailing footer was read and matched.
    Done,
    /// An error was returned; the position in the stream is no longer known.
    Failed,
}

/// One allocated block of the disk, borrowed from the reader until the next call.
#[derive(Clone, Copy)]
pub struct StreamBlock<'a> {
    index: u32,
    offset: u64,
    bitmap: &'a [u8],
    data: &'a [u8],
    /// Bytes of `data` that lie inside the virtual disk.
    in_disk: usize,
}

impl<R: Read> VhdStreamReader<R> {
    /// Reads and validates the footer copy, header and BAT from `reader`. `label` names the stream
    /// in errors (for example "import_raw_vdi body").
    pub fn new(reader: R, label: impl Into<PathBuf>) -> Result<Self> {
        let mut input = Input {
            reader,
            label: label.into(),
            pos: 0,
        };
        let mut footer_bytes = [0u8; FOOTER_SIZE];
        input.fill(&mut footer_bytes, "footer")?;
        let footer = Footer::parse(&footer_bytes, &input.label)?;
        let mut header_bytes = [0u8; HEADER_SIZE];
        input.fill(&mut header_bytes, "header")?;
        let header = Header::parse(&header_bytes, &input.label)?;
        header.check_covers(footer.current_size, &input.label)?;
        if header.block_size > MAX_STREAM_BLOCK_SIZE {
            return Err(invalid(
                &input.label,
                "header",
                "blockSize",
                format!(
                    "is {}, more than the {MAX_STREAM_BLOCK_SIZE} bytes the stream reader buffers",
                    header.block_size
                ),
            ));
        }
        input.skip_to(header.table_offset, "BAT", ("header", "tableOffset"))?;
        let plan = read_bat(&mut input, &header)?;
        let data_end = check_order(&input.label, &header, &plan)?;
        Ok(VhdStreamReader {
            input,
            footer,
            footer_bytes,
            header,
            plan,
            next: 0,
            data_end,
            buf: Vec::new(),
            state: State::Blocks,
        })
    }

    /// The footer (virtual size, disk type, uuid).
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// The header (block size; parent uuid and name of a differencing disk).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Bytes consumed from the stream so far.
    pub fn position(&self) -> u64 {
        self.input.pos
    }

    /// The underlying reader, positioned just past what was consumed (after the trailing footer
    /// once [`next_block`](Self::next_block) returned `Ok(None)`).
    pub fn into_inner(self) -> R {
        self.input.reader
    }

    /// The next allocated block in file order, or `None` once the trailing footer has been read
    /// and matches the leading copy. Blocks past the virtual size are skipped. After an error,
    /// every call fails.
    pub fn next_block(&mut self) -> Result<Option<StreamBlock<'_>>> {
        match self.state {
            State::Blocks => {}
            State::Done => return Ok(None),
            State::Failed => {
                return Err(Error::io(
                    &self.input.label,
                    io::Error::other("the VHD stream already failed; its position is lost"),
                ));
            }
        }
        match self.advance() {
            Ok(Some(index)) => Ok(Some(self.block(index))),
            Ok(None) => {
                self.state = State::Done;
                Ok(None)
            }
            Err(err) => {
                self.state = State::Failed;
                Err(err)
            }
        }
    }

    /// Reads the next block of the disk into `buf`, or the trailing footer when none is left.
    fn advance(&mut self) -> Result<Option<u32>> {
        let blocks = block_count(self.footer.current_size, self.header.block_size);
        while let Some(&entry) = self.plan.get(self.next) {
            self.next += 1;
            let (start, index) = unpack(entry);
            if index >= blocks {
                // Holds nothing of the disk: its bytes go with the next skip.
                continue;
            }
            self.input.skip_to(start, "block", ("BAT", "entry"))?;
            if self.buf.is_empty() {
                self.buf = vec![0; block_span(&self.header) as usize];
            }
            self.input.fill(&mut self.buf, "block")?;
            return Ok(Some(index));
        }
        self.input.skip_to(
            self.data_end,
            "trailing footer",
            ("footer", "trailing copy"),
        )?;
        let mut trailing = [0u8; FOOTER_SIZE];
        self.input.fill(&mut trailing, "trailing footer")?;
        Footer::parse(&trailing, &self.input.label)?;
        if trailing != self.footer_bytes {
            return Err(invalid(
                &self.input.label,
                "footer",
                "trailing copy",
                "differs from the footer at offset 0".into(),
            ));
        }
        Ok(None)
    }

    /// The block just read into `buf`; `index` is inside the virtual disk.
    fn block(&self, index: u32) -> StreamBlock<'_> {
        let (bitmap, data) = self.buf.split_at(self.header.bitmap_size());
        let offset = u64::from(index) * u64::from(self.header.block_size);
        let in_disk = (self.footer.current_size - offset).min(data.len() as u64) as usize;
        StreamBlock {
            index,
            offset,
            bitmap,
            data,
            in_disk,
        }
    }
}

impl<'a> StreamBlock<'a> {
    /// The block's index in the BAT.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Byte offset of the block in the virtual disk.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The sector bitmap (one bit per sector, most significant bit first; padded to a sector).
    pub fn bitmap(&self) -> &'a [u8] {
        self.bitmap
    }

    /// The whole block's data, including any part past the virtual size.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The runs of sectors whose bitmap bit is set, as (byte offset in the virtual disk, bytes),
    /// clipped at the virtual size. A clear bit means "not in this disk": the parent's sector for
    /// a differencing disk, zeros for a dynamic one.
    pub fn runs(&self) -> impl Iterator<Item = (u64, &'a [u8])> + 'a {
        let (bitmap, data, offset) = (self.bitmap, &self.data[..self.in_disk], self.offset);
        let sector = SECTOR_SIZE as usize;
        let sectors = data.len().div_ceil(sector);
        let mut next = 0;
        std::iter::from_fn(move || {
            let start = (next..sectors).find(|&s| sector_is_set(bitmap, s))?;
            let end = (start..sectors)
                .find(|&s| !sector_is_set(bitmap, s))
                .unwrap_or(sectors);
            next = end;
            let bytes = &data[start * sector..(end * sector).min(data.len())];
            Some((offset + (start * sector) as u64, bytes))
        })
    }
}

/// The stream and how much of it has been consumed.
struct Input<R> {
    reader: R,
    label: PathBuf,
    pos: u64,
}

impl<R: Read> Input<R> {
    /// Reads some bytes into `buf`; 0 at the end of the stream.
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        loop {
            match self.reader.read(buf) {
                Ok(n) => {
                    // A misbehaving reader cannot claim more than it was given.
                    let n = n.min(buf.len());
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // Some body readers report an early close this way: it is a truncation.
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(err) => return Err(Error::io(&self.label, err)),
            }
        }
    }

    /// Fills `buf`; the stream ending first is [`Error::Truncated`] for `what`.
    fn fill(&mut self, buf: &mut [u8], what: &'static str) -> Result<()> {
        let needed = self.pos + buf.len() as u64;
        let mut got = 0;
        while got < buf.len() {
            match self.read_some(&mut buf[got..])? {
                0 => return Err(self.truncated(what, needed)),
                n => got += n,
            }
        }
        Ok(())
    }

    /// Reads and discards up to `offset`, where `what` starts. An `offset` already passed is an
    /// invalid `field` of `structure`: a stream cannot go back.
    fn skip_to(
        &mut self,
        offset: u64,
        what: &'static str,
        (structure, field): (&'static str, &'static str),
    ) -> Result<()> {
        if offset < self.pos {
            return Err(invalid(
                &self.label,
                structure,
                field,
                format!(
                    "puts the {what} at byte {offset}, before byte {} that the stream has passed",
                    self.pos
                ),
            ));
        }
        let mut scratch = [0u8; 8192];
        while self.pos < offset {
            let len = (offset - self.pos).min(scratch.len() as u64) as usize;
            if self.read_some(&mut scratch[..len])? == 0 {
                return Err(self.truncated(what, offset));
            }
        }
        Ok(())
    }

    fn truncated(&self, what: &'static str, needed: u64) -> Error {
        Error::Truncated {
            path: self.label.clone(),
            what,
            needed,
            len: self.pos,
        }
    }
}

/// Reads the BAT at the current position; returns its allocated entries in file order.
fn read_bat<R: Read>(input: &mut Input<R>, header: &Header) -> Result<Vec<u64>> {
    let mut plan = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut index = 0u32;
    let mut left = bat_bytes(header.max_table_entries);
    while left > 0 {
        let len = left.min(chunk.len() as u64) as usize;
        input.fill(&mut chunk[..len], "BAT")?;
        left -= len as u64;
        for entry in chunk[..len].chunks_exact(4) {
            let sector = u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]);
            // Entries past `maxTableEntries` only pad the BAT to a sector.
            if index < header.max_table_entries && sector != UNUSED {
                plan.push(u64::from(sector) << 32 | u64::from(index));
            }
            index = index.saturating_add(1);
        }
    }
    plan.sort_unstable();
    Ok(plan)
}

/// Checks that the blocks and parent locators can be read in one pass: every block after the
/// BAT, no two sharing bytes, every locator clear of the header, the BAT and the blocks. Returns
/// where the trailing footer starts.
fn check_order(label: &Path, header: &Header, plan: &[u64]) -> Result<u64> {
    let bat_end = header
        .table_offset
        .saturating_add(bat_bytes(header.max_table_entries));
    let span = block_span(header);
    let mut end = bat_end;
    let mut previous: Option<(u32, u64)> = None;
    for &entry in plan {
        let (start, index) = unpack(entry);
        if start < bat_end {
            return Err(invalid(
                label,
                "BAT",
                "entry",
                format!(
                    "for block {index} points at byte {start}, inside the footer copy, header \
                     and BAT (which end at byte {bat_end})"
                ),
            ));
        }
        if let Some((before, before_start)) = previous.filter(|_| start < end) {
            return Err(invalid(
                label,
                "BAT",
                "entry",
                format!(
                    "for block {index} (bytes {start}..{}) overlaps block {before} (bytes \
                     {before_start}..{end})",
                    start + span
                ),
            ));
        }
        previous = Some((index, start));
        end = start + span;
    }
    for (i, start, locator_end) in header.locator_extents() {
        let before_bat = start >= HEADER_END && locator_end <= header.table_offset;
        // Blocks do not overlap, so the last one starting before the locator's end is the only
        // one that can reach into it.
        let starting_before = plan.partition_point(|&e| unpack(e).0 < locator_end);
        let last_before = starting_before.checked_sub(1).and_then(|i| plan.get(i));
        let overlapped = last_before
            .map(|&e| unpack(e))
            .filter(|&(block_start, _)| block_start + span > start);
        if let Some((block_start, index)) = overlapped {
            return Err(invalid(
                label,
                "header",
                "parentLocatorEntry",
                format!(
                    "{i} (bytes {start}..{locator_end}) overlaps block {index} (bytes \
                     {block_start}..{})",
                    block_start + span
                ),
            ));
        }
        if !before_bat && start < bat_end {
            return Err(invalid(
                label,
                "header",
                "parentLocatorEntry",
                format!(
                    "{i} points at bytes {start}..{locator_end}, over the header or the BAT \
                     (bytes {FOOTER_SIZE}..{HEADER_END} and {}..{bat_end})",
                    header.table_offset
                ),
            ));
        }
        if !before_bat {
            end = end.max(locator_end);
        }
    }
    Ok(end)
}

/// Bytes of one block in the file: sector bitmap then data.
fn block_span(header: &Header) -> u64 {
    (header.bitmap_size() + header.block_size as usize) as u64
}

/// The byte offset and block index of a plan entry.
fn unpack(entry: u64) -> (u64, u32) {
    ((entry >> 32) * SECTOR_SIZE, entry as u32)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::vhd::footer::DiskType;
    use crate::vhd::writer::prefix_bytes;

    /// 8 sectors per block, so that a bitmap byte covers a whole block.
    const BLOCK: u32 = 4096;

    fn header(size: u64) -> Header {
        Header::new(block_count(size, BLOCK), BLOCK)
    }

    /// A VHD of `size` bytes whose `blocks` (index, byte offset, bitmap's first byte) hold bytes
    /// `index + 1`, followed by the trailing footer at `footer_at` (or right after the data).
    fn image(
        size: u64,
        header: &Header,
        blocks: &[(u32, u64, u8)],
        footer_at: Option<u64>,
    ) -> Vec<u8> {
        let disk_type = match header.parent_uuid.is_nil() {
            true => DiskType::Dynamic,
            false => DiskType::Differencing,
        };
        let footer = Footer::new(disk_type, size, Uuid::new_v4());
        let mut bat = vec![UNUSED; header.max_table_entries as usize];
        for &(index, offset, _) in blocks {
            bat[index as usize] = (offset / 512) as u32;
        }
        let mut bytes = prefix_bytes(&footer, header, &bat, Path::new("test")).unwrap();
        let bitmap = header.bitmap_size();
        for &(index, offset, first) in blocks {
            let (start, end) = (offset as usize, (offset + block_span(header)) as usize);
            bytes.resize(bytes.len().max(end), 0);
            bytes[start] = first;
            bytes[start + bitmap..end].fill(index as u8 + 1);
        }
        bytes.resize(footer_at.map_or(bytes.len(), |at| at as usize), 0);
        bytes.extend_from_slice(&footer.to_bytes());
        bytes
    }

    /// A block as read: index, offset, and its runs as (offset, length, first byte).
    type Seen = (u32, u64, Vec<(u64, usize, u8)>);

    /// Reads every block.
    fn read_all(bytes: &[u8]) -> Result<Vec<Seen>> {
        let mut reader = VhdStreamReader::new(bytes, "test stream")?;
        let mut out = Vec::new();
        while let Some(block) = reader.next_block()? {
            let runs = block.runs().map(|(o, d)| (o, d.len(), d[0])).collect();
            out.push((block.index(), block.offset(), runs));
        }
        assert_eq!(reader.position(), bytes.len() as u64);
        Ok(out)
    }

    fn expect_invalid(result: Result<impl std::fmt::Debug>, structure: &str, field: &str) {
        match result {
            Err(Error::InvalidVhd {
                path,
                structure: s,
                field: f,
                problem,
            }) => {
                assert_eq!((s, f), (structure, field), "{problem}");
                assert_eq!(path, Path::new("test stream"));
            }
            other => panic!("expected invalid {structure} `{field}`, got {other:?}"),
        }
    }

    #[test]
    fn blocks_come_in_file_order_whatever_their_bat_order() {
        let size = 4 * u64::from(BLOCK);
        let h = header(size);
        let start = h.table_offset + 512;
        let span = block_span(&h);
        // Block 3 first, then a gap, then block 1.
        let bytes = image(
            size,
            &h,
            &[(3, start, 0xFF), (1, start + span + 1024, 0xFF)],
            None,
        );
        let blocks = read_all(&bytes).unwrap();
        assert_eq!(
            blocks,
            vec![
                (3, 3 * 4096, vec![(3 * 4096, 4096, 4)]),
                (1, 4096, vec![(4096, 4096, 2)]),
            ]
        );
    }

    #[test]
    fn runs_follow_the_bitmap_and_stop_at_the_virtual_size() {
        // Two blocks, the second with 3 of its 8 sectors inside the disk.
        let size = u64::from(BLOCK) + 1536;
        let h = header(size);
        let start = h.table_offset + 512;
        let bytes = image(
            size,
            &h,
            &[(0, start, 0b1011_0001), (1, start + block_span(&h), 0xFF)],
            None,
        );
        let blocks = read_all(&bytes).unwrap();
        assert_eq!(
            blocks[0].2,
            vec![(0, 512, 1), (1024, 1024, 1), (3584, 512, 1)]
        );
        assert_eq!(blocks[1].2, vec![(4096, 1536, 2)]);
    }

    /// A reader that hands out a few bytes at a time and is interrupted every other call.
    struct Trickle<'a> {
        data: &'a [u8],
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(2) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.data.len()).min(self.calls % 7 + 1);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_reads_and_interruptions_are_retried() {
        let size = 3 * u64::from(BLOCK);
        let h = header(size);
        let start = h.table_offset + 512;
        let bytes = image(size, &h, &[(2, start, 0x0F)], None);
        let mut reader = VhdStreamReader::new(
            Trickle {
                data: &bytes,
                calls: 0,
            },
            "test stream",
        )
        .unwrap();
        let block = reader.next_block().unwrap().unwrap();
        assert_eq!(block.index(), 2);
        assert_eq!(block.runs().count(), 1);
        assert!(reader.next_block().unwrap().is_none());
        assert!(reader.next_block().unwrap().is_none());
    }

    #[test]
    fn duplicate_and_overlapping_bat_entries_are_refused() {
        let size = 4 * u64::from(BLOCK);
        let h = header(size);
        let start = h.table_offset + 512;
        let bytes = image(size, &h, &[(0, start, 0xFF), (2, start, 0xFF)], None);
        expect_invalid(read_all(&bytes), "BAT", "entry");
        let bytes = image(size, &h, &[(0, start, 0xFF), (2, start + 512, 0xFF)], None);
        expect_invalid(read_all(&bytes), "BAT", "entry");
    }

    #[test]
    fn blocks_inside_the_metadata_are_refused() {
        let size = 4 * u64::from(BLOCK);
        let h = header(size);
        for offset in [0, 512, h.table_offset] {
            let mut bytes = image(size, &h, &[], None);
            let at = h.table_offset as usize;
            bytes[at..at + 4].copy_from_slice(&((offset / 512) as u32).to_be_bytes());
            expect_invalid(read_all(&bytes), "BAT", "entry");
        }
    }

    fn locator(offset: u64, sectors: u32) -> [u8; 24] {
        let mut entry = [0u8; 24];
        entry[..4].copy_from_slice(b"MacX");
        entry[4..8].copy_from_slice(&sectors.to_be_bytes());
        entry[8..12].copy_from_slice(&20u32.to_be_bytes());
        entry[16..24].copy_from_slice(&offset.to_be_bytes());
        entry
    }

    #[test]
    fn parent_locators_are_skipped_before_the_bat_and_after_the_blocks() {
        // xapi's layout: a locator in the sector before a BAT at 2048.
        let size = 2 * u64::from(BLOCK);
        let mut h = header(size);
        h.parent_uuid = Uuid::new_v4();
        h.parent_name = "base.vhd".into();
        h.table_offset = 2048;
        let start = h.table_offset + 512;
        let end = start + block_span(&h);
        h.parent_locators[0] = locator(1536, 1);
        h.parent_locators[1] = locator(end + 512, 2);
        let bytes = image(size, &h, &[(1, start, 0xFF)], Some(end + 1536));
        let blocks = read_all(&bytes).unwrap();
        assert_eq!(blocks, vec![(1, 4096, vec![(4096, 4096, 2)])]);

        // A locator over the BAT or a block cannot be skipped.
        for at in [h.table_offset, start + 512] {
            h.parent_locators[1] = locator(at, 1);
            let bytes = image(size, &h, &[(1, start, 0xFF)], None);
            expect_invalid(read_all(&bytes), "header", "parentLocatorEntry");
        }
    }

    #[test]
    fn the_trailing_footer_must_be_there_and_match() {
        let size = 2 * u64::from(BLOCK);
        let h = header(size);
        let bytes = image(size, &h, &[(0, h.table_offset + 512, 0xFF)], None);
        let mut other = bytes.clone();
        let len = other.len();
        let mut footer =
            Footer::parse(other[len - 512..].try_into().unwrap(), Path::new("test")).unwrap();
        footer.uuid = Uuid::new_v4();
        other[len - 512..].copy_from_slice(&footer.to_bytes());
        expect_invalid(read_all(&other), "footer", "trailing copy");
        other[len - 512] = b'x';
        expect_invalid(read_all(&other), "footer", "cookie");
        match read_all(&bytes[..len - 1]) {
            Err(Error::Truncated {
                what: "trailing footer",
                needed,
                len: got,
                ..
            }) => assert_eq!((needed, got), (len as u64, len as u64 - 1)),
            other => panic!("expected a truncated footer, got {other:?}"),
        }
    }

    #[test]
    fn errors_are_sticky() {
        let size = 2 * u64::from(BLOCK);
        let h = header(size);
        let bytes = image(size, &h, &[(0, h.table_offset + 512, 0xFF)], None);
        let cut = &bytes[..bytes.len() - 600];
        let mut reader = VhdStreamReader::new(cut, "test stream").unwrap();
        assert!(matches!(
            reader.next_block(),
            Err(Error::Truncated { what: "block", .. })
        ));
        assert!(matches!(reader.next_block(), Err(Error::Io { .. })));
    }

    #[test]
    fn reading_stops_right_after_the_trailing_footer() {
        let size = u64::from(BLOCK);
        let h = header(size);
        let mut bytes = image(size, &h, &[], None);
        bytes.extend_from_slice(b"next request");
        let mut reader = VhdStreamReader::new(&bytes[..], "test stream").unwrap();
        assert!(reader.next_block().unwrap().is_none());
        let mut rest = Vec::new();
        reader.into_inner().read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"next request");
    }

    #[test]
    fn blocks_larger_than_the_buffer_limit_are_refused() {
        let size = 64 << 20;
        let h = Header::new(1, 64 << 20);
        let bytes = image(size, &h, &[], None);
        expect_invalid(read_all(&bytes), "header", "blockSize");
    }
}
