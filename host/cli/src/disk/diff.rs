//! `lifeboat disk diff`: a differencing VHD of what changed since a base.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use lifeboat_formats::vhd::{NewVhd, VhdChain, parent_link, write_delta};

use super::convert::{OutputOptions, vhd_sink};
use super::format::{DiskFormat, open_disk};
use crate::progress::Progress;

/// Write a differencing VHD of NEW on the parent BASE: the 2 MiB blocks in which NEW differs from
/// BASE, each stored whole.
///
/// BASE is a VHD (with its chain); NEW is a raw image or a VHD chain. BASE must be in OUTPUT's
/// folder or below it, because a child finds its parent through a path relative to its own folder
/// (parentUnicodeName). Reading OUTPUT's chain gives NEW exactly.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  lifeboat disk diff 20240101T000000Z.vhd today.raw 20240102T000000Z.vhd"
)]
pub struct DiffArgs {
    /// The parent: a .vhd or .alias.vhd (its whole chain is read).
    base: PathBuf,
    /// The newer disk: .raw/.img, .vhd or .alias.vhd.
    new: PathBuf,
    /// The differencing VHD to write: .vhd or .alias.vhd.
    output: PathBuf,
    /// Format of NEW when its name does not tell.
    #[arg(long, value_enum)]
    from: Option<DiskFormat>,
    #[command(flatten)]
    out: OutputOptions,
}

pub fn run(args: DiffArgs) -> Result<()> {
    let to = args.out.format_of(&args.output)?;
    let mut base = VhdChain::open(&args.base)?;
    let mut new = open_disk(&args.new, DiskFormat::of(&args.new, args.from)?)?;
    let link = parent_link(&base, &args.output)?;
    let spec = NewVhd::differencing(new.virtual_size(), link);
    let sink = vhd_sink(&args.output, to, &spec, args.out.compression)?;
    let progress = Progress::bytes("diffing");
    let summary = write_delta(&mut base, new.as_mut(), sink, &mut |d, t| {
        progress.update(d, t)
    })?;
    progress.finish();
    println!(
        "{}: {} changed blocks ({} bytes) on parent {}",
        args.output.display(),
        summary.blocks,
        summary.data_bytes,
        args.base.display()
    );
    Ok(())
}
