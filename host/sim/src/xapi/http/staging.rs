//! Where `/import_raw_vdi` keeps the blocks it rewrites until the upload is complete.
//!
//! An upload that breaks must not leave the VDI half-written and looking whole, so the new
//! content of each touched 2 MiB block (its current data from the VDI's chain with the uploaded
//! bytes laid over it) goes to an unnamed temporary file in the SR's folder. Only a complete
//! upload is committed: each staged block is written whole into the VDI's leaf VHD. A failed one
//! just drops the temporary file, and the VDI reads as before.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use lifeboat_formats::Result;
use lifeboat_formats::disk::{DEFAULT_BLOCK_SIZE, DiskRead, block_count};
use lifeboat_formats::error::IoContext;
use lifeboat_formats::vhd::{VhdChain, open_vhd_for_write};

const BLOCK: u64 = DEFAULT_BLOCK_SIZE as u64;

/// The blocks staged so far over a VDI's chain.
pub struct Staging {
    chain: VhdChain,
    file: File,
    dir: std::path::PathBuf,
    staged: Vec<bool>,
    buffer: Vec<u8>,
}

impl Staging {
    /// Stages over the VDI whose leaf is `leaf`, in a temporary file beside it.
    pub fn new(leaf: &Path) -> Result<Staging> {
        let chain = VhdChain::open(leaf)?;
        let dir = leaf.parent().unwrap_or(Path::new(".")).to_path_buf();
        let file = tempfile::tempfile_in(&dir).at(&dir)?;
        let count = block_count(chain.virtual_size(), DEFAULT_BLOCK_SIZE);
        Ok(Staging {
            chain,
            file,
            dir,
            staged: vec![false; count as usize],
            buffer: vec![0; DEFAULT_BLOCK_SIZE as usize],
        })
    }

    /// The VDI's size.
    pub fn virtual_size(&self) -> u64 {
        self.chain.virtual_size()
    }

    /// Whether the VDI's chain holds block `block`.
    pub fn is_allocated(&self, block: u32) -> bool {
        self.chain.is_allocated(block)
    }

    /// Lays `data` over the disk at `offset`; the range must lie inside the virtual size.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let mut done = 0;
        while done < data.len() {
            let at = offset + done as u64;
            let block = (at / BLOCK) as u32;
            let start = (at % BLOCK) as usize;
            let len = (data.len() - done).min(BLOCK as usize - start);
            let piece = &data[done..done + len];
            if len == BLOCK as usize {
                self.store(block, piece)?;
            } else {
                self.load(block)?;
                let mut buffer = std::mem::take(&mut self.buffer);
                buffer[start..start + len].copy_from_slice(piece);
                let stored = self.store(block, &buffer);
                self.buffer = buffer;
                stored?;
            }
            done += len;
        }
        Ok(())
    }

    /// Writes every staged block into the leaf; returns the leaf's allocated blocks.
    pub fn commit(mut self, leaf: &Path) -> Result<u32> {
        let mut target = open_vhd_for_write(leaf)?;
        for block in 0..self.staged.len() as u32 {
            if self.staged[block as usize] {
                self.load(block)?;
                target.write_full_block(block, &self.buffer)?;
            }
        }
        target.flush()?;
        Ok(target.allocated_blocks())
    }

    /// Reads block `block`'s current content into the buffer.
    fn load(&mut self, block: u32) -> Result<()> {
        if self.staged[block as usize] {
            self.file
                .read_exact_at(&mut self.buffer, u64::from(block) * BLOCK)
                .at(&self.dir)
        } else {
            let data = self.chain.read_block(block)?;
            self.buffer.copy_from_slice(data);
            Ok(())
        }
    }

    fn store(&mut self, block: u32, data: &[u8]) -> Result<()> {
        self.file
            .write_all_at(data, u64::from(block) * BLOCK)
            .at(&self.dir)?;
        self.staged[block as usize] = true;
        Ok(())
    }
}
