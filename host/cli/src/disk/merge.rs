//! `lifeboat disk merge`: fold a VHD chain into one disk, resumably.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use lifeboat_formats::disk::DEFAULT_BLOCK_SIZE;
use lifeboat_formats::vhd::{MergeEvent, MergeOptions, merge_into_root};

use crate::progress::Progress;

/// Merge the chain of CHILD into one disk at CHILD's path, the Xen Orchestra way.
///
/// Every block of the differencing disks is copied into the oldest disk, which then takes CHILD's
/// identity (uuid, size) and replaces CHILD; the intermediate disks are deleted. Progress is kept
/// in `.<parent>.merge.json` beside the parent: if the merge is killed, run the same command again
/// and it resumes. A disk without a parent is left as it is.
#[derive(Args)]
pub struct MergeArgs {
    /// The newest disk of the chain (.vhd or .alias.vhd).
    child: PathBuf,
    /// Seconds between two saves of the merge state while blocks are copied.
    #[arg(long, default_value_t = 10)]
    state_interval: u64,
}

pub fn run(args: MergeArgs) -> Result<()> {
    let options = MergeOptions {
        state_interval: Duration::from_secs(args.state_interval),
    };
    let progress = Progress::bytes("merging");
    let summary = merge_into_root(&args.child, &options, &mut |event| {
        if let MergeEvent::Block { block, total } = event {
            let block_bytes = u64::from(DEFAULT_BLOCK_SIZE);
            progress.update(
                (u64::from(*block) + 1) * block_bytes,
                u64::from(*total) * block_bytes,
            );
        }
        ControlFlow::Continue(())
    })?;
    progress.finish();
    match summary.merged {
        None => println!("{}: has no parent, nothing to merge", args.child.display()),
        Some(path) => println!(
            "{}: merged{} ({} blocks, {} bytes written)",
            path.display(),
            if summary.resumed { " (resumed)" } else { "" },
            summary.blocks,
            summary.bytes
        ),
    }
    Ok(())
}
