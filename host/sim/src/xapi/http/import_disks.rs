//! The data of an imported disk: the XVA's chunks, which arrive in increasing offsets, are
//! gathered into 2 MiB blocks and written into a new dynamic VHD that replaces the VDI's empty
//! file when the disk is complete. All-zero blocks are left out. Memory: one block.

use std::path::Path;

use lifeboat_formats::Result;
use lifeboat_formats::disk::{DEFAULT_BLOCK_SIZE, is_zero};
use lifeboat_formats::vhd::{NewVhd, VhdFileWriter, VhdSink};

const BLOCK: u64 = DEFAULT_BLOCK_SIZE as u64;

/// One disk being written.
pub struct DiskWriter {
    writer: Box<VhdFileWriter>,
    /// The block being gathered and its data.
    block: u32,
    buffer: Vec<u8>,
}

impl DiskWriter {
    /// Starts a VHD of `size` bytes that will replace the file at `path`.
    pub fn create(path: &Path, size: u64) -> Result<DiskWriter> {
        Ok(DiskWriter {
            writer: Box::new(VhdFileWriter::create(path, &NewVhd::dynamic(size))?),
            block: 0,
            buffer: vec![0; DEFAULT_BLOCK_SIZE as usize],
        })
    }

    /// Data at `offset`, after everything written before.
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let mut done = 0;
        while done < data.len() {
            let at = offset + done as u64;
            let block = (at / BLOCK) as u32;
            if block != self.block {
                self.put_current()?;
                self.block = block;
            }
            let start = (at % BLOCK) as usize;
            let len = (data.len() - done).min(BLOCK as usize - start);
            self.buffer[start..start + len].copy_from_slice(&data[done..done + len]);
            done += len;
        }
        Ok(())
    }

    /// Writes the last block and puts the VHD in place.
    pub fn finish(mut self) -> Result<()> {
        self.put_current()?;
        self.writer.finish()
    }

    fn put_current(&mut self) -> Result<()> {
        if !is_zero(&self.buffer) {
            self.writer.put_block(self.block, &self.buffer)?;
            self.buffer.fill(0);
        }
        Ok(())
    }
}
