//! `lifeboat disk check`: is a VHD sound?

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use lifeboat_formats::blocks::for_each_data_block;
use lifeboat_formats::vhd::{VhdChain, interrupted_merges, open_vhd};

use crate::progress::Progress;

/// Check that a VHD is sound: footers, header, BAT, every block readable; with --chain, every
/// parent too (found by parentUnicodeName, matched by parentUuid).
///
/// Exits 0 when sound; otherwise exits 1 and names the file and field at fault. Also warns about an
/// interrupted merge pending in the disk's folder (finish it with `lifeboat disk merge`).
#[derive(Args)]
pub struct CheckArgs {
    /// The VHD file (.vhd) or VHD directory alias (.alias.vhd).
    file: PathBuf,
    /// Also check every parent of FILE and read the whole chain as one disk.
    #[arg(long)]
    chain: bool,
}

pub fn run(args: CheckArgs) -> Result<()> {
    let folder = match args.file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    for state in interrupted_merges(folder)? {
        eprintln!(
            "lifeboat: warning: an interrupted merge is pending ({}); run `lifeboat disk merge` on the \
             chain's newest disk to finish it",
            state.display()
        );
    }
    let progress = Progress::bytes("checking");
    let (layers, blocks) = if args.chain {
        let mut chain = VhdChain::open(&args.file)?;
        let mut blocks = 0u32;
        for_each_data_block(
            &mut chain,
            &mut |d, t| progress.update(d, t),
            &mut |_, _| {
                blocks += 1;
                Ok(())
            },
        )
        .with_context(|| format!("reading the chain of {}", args.file.display()))?;
        (chain.layers().len(), blocks)
    } else {
        let disk = open_vhd(&args.file)?;
        let mut chain = VhdChain::from_layers(vec![disk])?;
        let mut blocks = 0u32;
        let total = chain.layers()[0].block_count();
        for block in 0..total {
            if chain.layers()[0].is_allocated(block) {
                chain
                    .read_block(block)
                    .with_context(|| format!("reading block {block} of {}", args.file.display()))?;
                blocks += 1;
            }
            progress.update(u64::from(block + 1), u64::from(total));
        }
        (1, blocks)
    };
    progress.finish();
    println!(
        "{}: ok ({layers} disk(s), {blocks} data blocks read)",
        args.file.display()
    );
    Ok(())
}
