//! The block contents of simulated volumes: a sparse map of 64 KiB blocks, small enough to keep
//! in memory and real enough that a restore's fidelity can be checked byte for byte, and that an
//! incremental backup can be seen to store only the blocks that changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::seeded::fill_block;

/// The size of a block, the unit that backups store and compare.
pub const BLOCK_SIZE: u64 = 64 * 1024;

/// The most blocks a fixture may generate for one volume (64 MiB): contents live in memory.
pub const MAX_FIXTURE_BLOCKS: u64 = 1024;

/// The most blocks a volume may hold in all (256 MiB), whoever writes them.
pub const MAX_BLOCKS: u64 = 4096;

/// A volume's contents: the blocks that are not all zeros, by index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockMap {
    blocks: BTreeMap<u64, Arc<[u8]>>,
}

impl BlockMap {
    /// `count` pseudo-random blocks from `seed`, from the start of the volume.
    pub fn generated(seed: u64, count: u64) -> BlockMap {
        let mut blocks = BTreeMap::new();
        let mut data = vec![0u8; BLOCK_SIZE as usize];
        for index in 0..count {
            fill_block(&mut data, seed, index);
            blocks.insert(index, Arc::from(data.as_slice()));
        }
        BlockMap { blocks }
    }

    /// The non-zero blocks in index order.
    pub fn blocks(&self) -> impl Iterator<Item = (u64, &Arc<[u8]>)> {
        self.blocks.iter().map(|(index, data)| (*index, data))
    }

    pub fn block(&self, index: u64) -> Option<&Arc<[u8]>> {
        self.blocks.get(&index)
    }

    /// Sets block `index`, dropping it when it is all zeros.
    pub fn set(&mut self, index: u64, data: Arc<[u8]>) {
        if data.iter().all(|b| *b == 0) {
            self.blocks.remove(&index);
        } else {
            self.blocks.insert(index, data);
        }
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Writes `bytes` at `offset` of a volume of `capacity` bytes, as a guest would.
    pub fn write(&mut self, offset: u64, bytes: &[u8], capacity: u64) -> Result<(), String> {
        let end = offset
            .checked_add(bytes.len() as u64)
            .filter(|end| *end <= capacity.min(MAX_BLOCKS * BLOCK_SIZE))
            .ok_or_else(|| {
                format!(
                    "a write of {} bytes at {offset} passes the end of the volume ({} bytes \
                     usable)",
                    bytes.len(),
                    capacity.min(MAX_BLOCKS * BLOCK_SIZE)
                )
            })?;
        let mut position = offset;
        while position < end {
            let index = position / BLOCK_SIZE;
            let within = (position % BLOCK_SIZE) as usize;
            let take = ((BLOCK_SIZE as usize - within) as u64).min(end - position) as usize;
            let mut block = match self.blocks.get(&index) {
                Some(data) => data.to_vec(),
                None => vec![0; BLOCK_SIZE as usize],
            };
            let from = (position - offset) as usize;
            block[within..within + take].copy_from_slice(&bytes[from..from + take]);
            self.set(index, block.into());
            position += take as u64;
        }
        Ok(())
    }

    /// The bytes from the start of the volume to the end of its last non-zero block.
    pub fn read_all(&self) -> Vec<u8> {
        let Some((last, _)) = self.blocks.last_key_value() else {
            return Vec::new();
        };
        let mut bytes = vec![0u8; ((last + 1) * BLOCK_SIZE) as usize];
        for (index, data) in &self.blocks {
            let start = (index * BLOCK_SIZE) as usize;
            bytes[start..start + data.len()].copy_from_slice(data);
        }
        bytes
    }

    /// The sha256 of [`BlockMap::read_all`], in hex: two volumes with equal digests hold the same
    /// bytes.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.read_all());
        hex(&hasher.finalize())
    }
}

/// The sha256 of one block, in hex, as a backup's hash file lists it.
pub fn block_hash(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_land_where_they_are_aimed_and_zeros_vanish() {
        let mut map = BlockMap::generated(7, 2);
        assert_eq!(map.len(), 2);
        let before = map.read_all();
        map.write(BLOCK_SIZE - 2, &[1, 2, 3, 4], 1 << 30).unwrap();
        let after = map.read_all();
        assert_eq!(
            &after[BLOCK_SIZE as usize - 2..BLOCK_SIZE as usize + 2],
            &[1, 2, 3, 4]
        );
        assert_eq!(
            after[..BLOCK_SIZE as usize - 2],
            before[..BLOCK_SIZE as usize - 2]
        );
        map.write(0, &vec![0; 2 * BLOCK_SIZE as usize], 1 << 30)
            .unwrap();
        assert!(map.is_empty());
        assert!(map.write((1 << 30) - 1, &[1, 2], 1 << 30).is_err());
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        assert_eq!(
            BlockMap::generated(3, 4).digest(),
            BlockMap::generated(3, 4).digest()
        );
        assert_ne!(
            BlockMap::generated(3, 4).digest(),
            BlockMap::generated(4, 4).digest()
        );
    }
}
