//! A VHD produced as a byte stream whose length is known before the first byte, as an HTTP PUT
//! with a `Content-Length` needs (xapi refuses chunked uploads).
//!
//! The blocks to include are chosen by a first pass over the source (holes are skipped without
//! reading); streaming then reads each chosen block again. Memory stays at one block plus the BAT.

use std::io::{self, Read};
use std::path::Path;

use super::file::UNUSED;
use super::footer::{FOOTER_SIZE, Footer};
use super::header::Header;
use super::writer::{NewVhd, PAGE, ParentLink, aligned_block_offset, bat_end, prefix_bytes};
use crate::Result;
use crate::blocks::{for_each_changed_block, for_each_data_block};
use crate::disk::{DEFAULT_BLOCK_SIZE, DiskRead};

/// A VHD file as a [`Read`] stream of known [`len`](Self::len).
pub struct VhdStream<D> {
    source: D,
    blocks: Vec<u32>,
    next_block: usize,
    /// Footer copy, header and BAT.
    prefix: Vec<u8>,
    /// The current block: [`PAGE`] bytes of zeros (of which the gap before this block is sent),
    /// the all-ones bitmap, then the data.
    block: Vec<u8>,
    /// Where in `block` the current piece starts (skipping the zeros that are not gap).
    block_start: usize,
    /// Stream offset where the data sent so far ends.
    end: u64,
    footer: [u8; FOOTER_SIZE],
    header: Header,
    piece: Piece,
    piece_pos: usize,
    len: u64,
}

/// Which part of the stream is being sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Piece {
    Prefix,
    Block,
    Footer,
    Done,
}

const STREAM_NAME: &str = "<VHD stream>";

impl<D: DiskRead> VhdStream<D> {
    /// A dynamic VHD of `source`'s non-zero blocks.
    pub fn dynamic(mut source: D, new: NewVhd) -> Result<Self> {
        let mut blocks = Vec::new();
        for_each_data_block(&mut source, &mut |_, _| {}, &mut |b, _| {
            blocks.push(b);
            Ok(())
        })?;
        Self::from_blocks(source, new, blocks)
    }

    /// A differencing VHD, on the parent `parent`, of the blocks in which `new` differs from `base`.
    pub fn delta(base: &mut dyn DiskRead, mut new: D, parent: ParentLink) -> Result<Self> {
        let mut blocks = Vec::new();
        for_each_changed_block(base, &mut new, &mut |_, _| {}, &mut |b, _| {
            blocks.push(b);
            Ok(())
        })?;
        let size = new.virtual_size();
        Self::from_blocks(new, NewVhd::differencing(size, parent), blocks)
    }

    /// A VHD holding exactly `blocks` (in increasing order) of `source`, each whole with an
    /// all-ones bitmap: what xapi streams when the blocks are chosen by allocation rather than
    /// content.
    pub fn from_blocks(source: D, new: NewVhd, blocks: Vec<u32>) -> Result<Self> {
        let path = Path::new(STREAM_NAME);
        let (footer, header): (Footer, Header) = new.metadata(path)?;
        let span = (header.bitmap_size() + header.block_size as usize) as u64;
        let mut bat = vec![UNUSED; header.max_table_entries as usize];
        let mut end = bat_end(&header);
        for &block in &blocks {
            let offset = aligned_block_offset(end, &header);
            bat[block as usize] = (offset / 512) as u32;
            end = offset + span;
        }
        let mut block = vec![0u8; (PAGE + span) as usize];
        block[PAGE as usize..PAGE as usize + header.bitmap_size()].fill(0xFF);
        Ok(VhdStream {
            prefix: prefix_bytes(&footer, &header, &bat, path)?,
            block,
            block_start: 0,
            end: bat_end(&header),
            header,
            footer: footer.to_bytes(),
            source,
            blocks,
            next_block: 0,
            piece: Piece::Prefix,
            piece_pos: 0,
            len: end + FOOTER_SIZE as u64,
        })
    }

    /// Total length of the stream in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the stream is empty (never: a VHD has at least its metadata).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn current(&self) -> &[u8] {
        match self.piece {
            Piece::Prefix => &self.prefix,
            Piece::Block => &self.block[self.block_start..],
            Piece::Footer => &self.footer,
            Piece::Done => &[],
        }
    }

    /// Moves to the next piece, reading the next block from the source.
    fn advance(&mut self) -> Result<()> {
        self.piece_pos = 0;
        self.piece = match self.blocks.get(self.next_block) {
            Some(&block) if matches!(self.piece, Piece::Prefix | Piece::Block) => {
                self.next_block += 1;
                let offset = aligned_block_offset(self.end, &self.header);
                self.block_start = (PAGE - (offset - self.end)) as usize;
                self.end = offset + (self.block.len() as u64 - PAGE);
                let data_at = self.block.len() - DEFAULT_BLOCK_SIZE as usize;
                let data = &mut self.block[data_at..];
                let start = u64::from(block) * u64::from(DEFAULT_BLOCK_SIZE);
                let len =
                    (self.source.virtual_size() - start).min(DEFAULT_BLOCK_SIZE.into()) as usize;
                self.source.read_at(start, &mut data[..len])?;
                data[len..].fill(0);
                Piece::Block
            }
            _ if matches!(self.piece, Piece::Prefix | Piece::Block) => Piece::Footer,
            _ => Piece::Done,
        };
        Ok(())
    }
}

impl<D: DiskRead> Read for VhdStream<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.piece_pos == self.current().len() {
            if self.piece == Piece::Done {
                return Ok(0);
            }
            self.advance().map_err(io::Error::other)?;
        }
        let piece = self.current();
        let n = buf.len().min(piece.len() - self.piece_pos);
        buf[..n].copy_from_slice(&piece[self.piece_pos..self.piece_pos + n]);
        self.piece_pos += n;
        Ok(n)
    }
}
