//! The merge benchmark's input: a full VHD and differencing VHDs on it, written directly with
//! random blocks so that building a 4 GiB chain takes seconds.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;
use lifeboat_formats::disk::{DEFAULT_BLOCK_SIZE, block_count};
use lifeboat_formats::vhd::{NewVhd, ParentLink, VhdFileWriter, VhdSink};
use rand::{RngCore, SeedableRng, rngs::StdRng, seq::index::sample};

/// What was built.
pub struct ChainPlan {
    /// File name of the newest delta (in the chain's folder).
    pub newest: String,
    /// Bytes a merge of the whole chain writes: the union of the deltas' blocks.
    pub merged_bytes: u64,
}

/// Writes `0.vhd` (half of its blocks random) and `deltas` differencing disks `1.vhd`, … each
/// holding `changed` of the disk's blocks, chosen at random.
pub fn build(dir: &Path, size: u64, deltas: u32, changed: f64, seed: u64) -> Result<ChainPlan> {
    let mut rng = StdRng::seed_from_u64(seed);
    let blocks = block_count(size, DEFAULT_BLOCK_SIZE) as usize;
    let mut data = vec![0u8; DEFAULT_BLOCK_SIZE as usize];
    let base = NewVhd::dynamic(size);
    let mut parent = (base.uuid, base.timestamp, "0.vhd".to_string());
    let mut writer = Box::new(VhdFileWriter::create(dir.join("0.vhd"), &base)?);
    let mut full: Vec<usize> = sample(&mut rng, blocks, blocks / 2).into_vec();
    full.sort_unstable();
    for block in full {
        rng.fill_bytes(&mut data);
        writer.put_block(block as u32, &data)?;
    }
    writer.finish()?;
    let mut union = BTreeSet::new();
    for i in 1..=deltas {
        let name = format!("{i}.vhd");
        let link = ParentLink {
            name: parent.2.clone(),
            uuid: parent.0,
            timestamp: parent.1,
        };
        let spec = NewVhd::differencing(size, link);
        let mut writer = Box::new(VhdFileWriter::create(dir.join(&name), &spec)?);
        let mut chosen: Vec<usize> =
            sample(&mut rng, blocks, (blocks as f64 * changed) as usize).into_vec();
        chosen.sort_unstable();
        for block in chosen {
            rng.fill_bytes(&mut data);
            writer.put_block(block as u32, &data)?;
            union.insert(block);
        }
        writer.finish()?;
        parent = (spec.uuid, spec.timestamp, name);
    }
    Ok(ChainPlan {
        newest: parent.2,
        merged_bytes: union.len() as u64 * u64::from(DEFAULT_BLOCK_SIZE),
    })
}
