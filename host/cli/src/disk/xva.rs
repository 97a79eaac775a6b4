//! `lifeboat disk xva`: pack, unpack and check XVA archives.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use lifeboat_formats::atomic::AtomicFile;
use lifeboat_formats::disk::DiskRead;
use lifeboat_formats::raw::RawWriter;
use lifeboat_formats::xva::{self, OvaXml, XvaDisk, XvaSink, XvaWriter, check_xva, read_xva};

use super::format::{DiskFormat, check_output, open_disk};
use super::info::human;
use crate::progress::{Progress, ProgressRead};

/// The `lifeboat disk xva` subcommands.
#[derive(Subcommand)]
pub enum XvaCommand {
    Pack(PackArgs),
    Unpack(UnpackArgs),
    Check(CheckArgs),
}

/// Pack disk images into an XVA archive of one halted VM, as xapi's /export writes it.
///
/// `ova.xml` comes first, then each disk in 1 MiB chunks `Ref:<n>/<8 digits>`, each followed by
/// its `.xxhash` checksum; all-zero chunks are skipped except each disk's first and last.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  lifeboat disk xva pack vm.xva system.vhd data.raw --name web01 --compression zstd"
)]
pub struct PackArgs {
    /// The archive to write.
    output: PathBuf,
    /// The disks, in device order (.raw/.img, .vhd with its chain, .alias.vhd).
    #[arg(required = true)]
    disks: Vec<PathBuf>,
    /// The VM's name in `ova.xml`.
    #[arg(long, default_value = "lifeboat export")]
    name: String,
    /// Compression of the whole archive stream.
    #[arg(long, value_enum, default_value_t = XvaCompression::None)]
    compression: XvaCompression,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    force: bool,
}

/// Unpack an XVA archive: `ova.xml` and each disk as a sparse raw image `disk<N>.raw`.
///
/// Every chunk's checksum is verified (.xxhash or the older .checksum SHA-1); chunk offsets are
/// computed sequentially as xapi's importer does. The archive may be plain, gzip or zstd.
#[derive(Args)]
pub struct UnpackArgs {
    /// The archive to read.
    input: PathBuf,
    /// The folder to write into (created if missing).
    dir: PathBuf,
    /// Replace files that already exist in DIR.
    #[arg(long)]
    force: bool,
}

/// Check an XVA archive: structure, `ova.xml`, every chunk's checksum, every disk complete.
///
/// Exits 0 when sound; otherwise exits 1 and names the entry at fault.
#[derive(Args)]
pub struct CheckArgs {
    /// The archive to check.
    input: PathBuf,
}

/// Compression of a whole XVA stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum XvaCompression {
    None,
    Gzip,
    Zstd,
}

impl From<XvaCompression> for xva::Compression {
    fn from(c: XvaCompression) -> Self {
        match c {
            XvaCompression::None => xva::Compression::None,
            XvaCompression::Gzip => xva::Compression::Gzip,
            XvaCompression::Zstd => xva::Compression::Zstd,
        }
    }
}

pub fn run(command: XvaCommand) -> Result<()> {
    match command {
        XvaCommand::Pack(args) => pack(args),
        XvaCommand::Unpack(args) => unpack(args),
        XvaCommand::Check(args) => check(args),
    }
}

fn pack(args: PackArgs) -> Result<()> {
    check_output(&args.output, args.force)?;
    let mut disks: Vec<Box<dyn DiskRead>> = Vec::new();
    let mut described = Vec::new();
    for path in &args.disks {
        let disk = open_disk(path, DiskFormat::of(path, None)?)?;
        let label = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        described.push((disk.virtual_size(), label));
        disks.push(disk);
    }
    let ova = OvaXml::for_vm(&args.name, &described);
    let out = AtomicFile::create(&args.output)?;
    let progress = Progress::bytes("packing");
    let mut refs: Vec<&mut dyn DiskRead> = disks
        .iter_mut()
        .map(|d| d.as_mut() as &mut dyn DiskRead)
        .collect();
    let (_, summary) = XvaWriter::new(out.file(), args.compression.into())?.write(
        &ova,
        &mut refs,
        &mut |d, t| progress.update(d, t),
    )?;
    out.commit()?;
    progress.finish();
    println!(
        "{}: {} disk(s), {} chunks, {} of data",
        args.output.display(),
        args.disks.len(),
        summary.chunks,
        human(summary.data_bytes)
    );
    Ok(())
}

/// Writes each disk of an archive as a sparse raw image in a folder.
struct RawFolderSink<'a> {
    dir: &'a Path,
    force: bool,
    index: usize,
    current: Option<RawWriter>,
    written: Vec<PathBuf>,
}

impl XvaSink for RawFolderSink<'_> {
    fn begin_disk(&mut self, disk: &XvaDisk) -> lifeboat_formats::Result<()> {
        let path = self.dir.join(format!("disk{}.raw", self.index));
        self.index += 1;
        if !self.force && path.exists() {
            return Err(lifeboat_formats::Error::io(
                &path,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "already exists; pass --force to replace it",
                ),
            ));
        }
        self.current = Some(RawWriter::create(&path, disk.virtual_size)?);
        self.written.push(path);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> lifeboat_formats::Result<()> {
        match &mut self.current {
            Some(writer) => writer.write_at(offset, data),
            None => Ok(()),
        }
    }

    fn end_disk(&mut self, _: &XvaDisk) -> lifeboat_formats::Result<()> {
        match self.current.take() {
            Some(writer) => writer.finish(),
            None => Ok(()),
        }
    }
}

fn unpack(args: UnpackArgs) -> Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let ova_path = args.dir.join("ova.xml");
    check_output(&ova_path, args.force)?;
    let (input, len) = open_archive(&args.input)?;
    let progress = Progress::bytes("unpacking");
    let mut sink = RawFolderSink {
        dir: &args.dir,
        force: args.force,
        index: 0,
        current: None,
        written: Vec::new(),
    };
    let summary = read_xva(
        BufReader::new(ProgressRead::new(input, len, &progress)),
        &mut sink,
    )
    .with_context(|| format!("reading {}", args.input.display()))?;
    progress.finish();
    let mut xml = Vec::new();
    summary.ova.write_xml(&mut xml)?;
    lifeboat_formats::atomic::write_atomic(&ova_path, &xml)?;
    for path in &sink.written {
        println!("{}", path.display());
    }
    println!("{}", ova_path.display());
    Ok(())
}

/// Opens an archive and tells its length (for progress).
fn open_archive(path: &Path) -> Result<(File, u64)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    Ok((file, len))
}

fn check(args: CheckArgs) -> Result<()> {
    let (input, len) = open_archive(&args.input)?;
    let progress = Progress::bytes("checking");
    let summary = check_xva(BufReader::new(ProgressRead::new(input, len, &progress)))
        .with_context(|| format!("checking {}", args.input.display()))?;
    progress.finish();
    println!(
        "{}: ok ({:?} compression, {} disk(s), {} chunks, {} checksums verified, {} of data)",
        args.input.display(),
        summary.compression,
        summary.disks.len(),
        summary.chunks,
        summary.checksums_verified,
        human(summary.data_bytes)
    );
    Ok(())
}
