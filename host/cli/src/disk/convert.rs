//! `lifeboat disk convert`: between raw images, VHD files and VHD directories.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use lifeboat_formats::raw::write_raw;
use lifeboat_formats::vhd::{
    ChunkFilter, NewVhd, VhdDirectoryWriter, VhdFileWriter, VhdSink, write_dynamic,
};

use super::format::{DiskFormat, check_output, open_disk};
use crate::progress::Progress;

/// Convert a disk image: raw ↔ dynamic VHD, a VHD chain → raw or → one dynamic VHD, VHD file ↔
/// VHD directory.
///
/// Formats come from the names (.raw/.img, .vhd, .alias.vhd) unless --from/--to say otherwise.
/// A differencing VHD is read with its whole chain, so the output is the full disk. All-zero
/// blocks are never written. The output appears only once complete (written under a temporary
/// name, then renamed).
#[derive(Args)]
#[command(
    after_help = "Examples:\n  lifeboat disk convert disk.raw disk.vhd\n  lifeboat disk convert 20240102T000000Z.vhd full.raw\n  lifeboat disk convert disk.vhd 20240102T000000Z.alias.vhd --compression brotli"
)]
pub struct ConvertArgs {
    /// Image to read.
    input: PathBuf,
    /// Image to write.
    output: PathBuf,
    /// Format of INPUT when its name does not tell.
    #[arg(long, value_enum)]
    from: Option<DiskFormat>,
    #[command(flatten)]
    out: OutputOptions,
}

/// How a command writes its output image.
#[derive(Args)]
pub struct OutputOptions {
    /// Format of OUTPUT when its name does not tell.
    #[arg(long, value_enum)]
    pub to: Option<DiskFormat>,
    /// Compression of each chunk when OUTPUT is a VHD directory.
    #[arg(long, value_enum, default_value_t = Compression::Brotli)]
    pub compression: Compression,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    pub force: bool,
}

impl OutputOptions {
    /// The format of `output`, having checked that it may be written.
    pub fn format_of(&self, output: &std::path::Path) -> Result<DiskFormat> {
        let format = DiskFormat::of(output, self.to)?;
        check_output(output, self.force)?;
        Ok(format)
    }
}

/// Chunk compression of VHD directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    /// Brotli, as Xen Orchestra writes.
    Brotli,
    /// Gzip.
    Gzip,
    /// No compression.
    None,
}

impl From<Compression> for ChunkFilter {
    fn from(c: Compression) -> Self {
        match c {
            Compression::Brotli => ChunkFilter::Brotli,
            Compression::Gzip => ChunkFilter::Gzip,
            Compression::None => ChunkFilter::None,
        }
    }
}

/// A sink for a new VHD at `path` in `format` (a VHD file or a VHD directory).
pub fn vhd_sink(
    path: &std::path::Path,
    format: DiskFormat,
    new: &NewVhd,
    compression: Compression,
) -> Result<Box<dyn VhdSink>> {
    Ok(match format {
        DiskFormat::Vhd => Box::new(VhdFileWriter::create(path, new)?),
        DiskFormat::VhdDir => Box::new(VhdDirectoryWriter::create(path, new, compression.into())?),
        DiskFormat::Raw => bail!("{}: a raw image cannot hold a VHD", path.display()),
    })
}

pub fn run(args: ConvertArgs) -> Result<()> {
    let from = DiskFormat::of(&args.input, args.from)?;
    let to = args.out.format_of(&args.output)?;
    let mut source = open_disk(&args.input, from)?;
    let progress = Progress::bytes("converting");
    let mut report = |done, total| progress.update(done, total);
    match to {
        DiskFormat::Raw => write_raw(source.as_mut(), &args.output, &mut report)?,
        DiskFormat::Vhd | DiskFormat::VhdDir => {
            let new = NewVhd::dynamic(source.virtual_size());
            let sink = vhd_sink(&args.output, to, &new, args.out.compression)?;
            write_dynamic(source.as_mut(), sink, &mut report)?;
        }
    }
    progress.finish();
    Ok(())
}
