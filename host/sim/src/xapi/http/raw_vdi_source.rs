//! What `/export_raw_vdi` sends: a VDI's VHD chain as a raw image or a VHD, whole or relative to
//! a base VDI.
//!
//! Like xapi's `vhd-tool stream --relative-to`, the blocks relative to a base are chosen by
//! allocation, not content: those allocated in the layers that lie on one chain but not on the
//! other (the symmetric difference, layers compared by file), that is every block written since
//! the two VDIs' common ancestor. Each goes out whole with the target's current data.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use lifeboat_formats::disk::{DEFAULT_BLOCK_SIZE, DiskRead, block_count};
use lifeboat_formats::vhd::{NewVhd, ParentLink, Vhd, VhdChain, VhdStream};

/// The encodings the simulator exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Raw,
    Vhd,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "raw" => Some(Format::Raw),
            "vhd" => Some(Format::Vhd),
            _ => None,
        }
    }

    /// The `content-type` xapi sends.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Raw => "application/octet-stream",
            Format::Vhd => "application/vhd",
        }
    }

    /// The file extension in `content-disposition`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Vhd => "vhd",
        }
    }
}

/// An export ready to stream: the chain and the blocks it includes.
pub struct RawVdiSource {
    chain: VhdChain,
    format: Format,
    /// The blocks sent with data, in increasing order.
    blocks: Vec<u32>,
    /// The base's identity, for a differencing VHD.
    parent: Option<ParentLink>,
}

impl RawVdiSource {
    /// Opens the chain of `file` and, with `base_file`, chooses the blocks changed since it.
    pub fn open(
        file: &Path,
        base_file: Option<&Path>,
        format: Format,
    ) -> lifeboat_formats::Result<RawVdiSource> {
        let chain = VhdChain::open(file)?;
        let count = block_count(chain.virtual_size(), DEFAULT_BLOCK_SIZE);
        let (blocks, parent) = match base_file {
            None => (
                (0..count).filter(|&b| chain.is_allocated(b)).collect(),
                None,
            ),
            Some(base_file) => {
                let base = VhdChain::open(base_file)?;
                let newest = base.layers()[0].as_ref();
                let parent = ParentLink {
                    name: file_name(base_file),
                    uuid: newest.footer().uuid,
                    timestamp: newest.footer().timestamp,
                };
                (changed_blocks(&chain, &base, count), Some(parent))
            }
        };
        Ok(RawVdiSource {
            chain,
            format,
            blocks,
            parent,
        })
    }

    /// Writes the export to `out`.
    pub fn write_to(self, out: &mut dyn Write) -> io::Result<()> {
        match self.format {
            Format::Raw => write_raw(self.chain, &self.blocks, out),
            Format::Vhd => {
                let size = self.chain.virtual_size();
                let new = match self.parent {
                    Some(parent) => NewVhd::differencing(size, parent),
                    None => NewVhd::dynamic(size),
                };
                let mut stream = VhdStream::from_blocks(self.chain, new, self.blocks)
                    .map_err(io::Error::other)?;
                io::copy(&mut stream, out).map(|_| ())
            }
        }
    }
}

/// The whole disk: the chosen blocks with their data, every other block as zeros.
fn write_raw(mut chain: VhdChain, blocks: &[u32], out: &mut dyn Write) -> io::Result<()> {
    let size = chain.virtual_size();
    let block_size = u64::from(DEFAULT_BLOCK_SIZE);
    let zeros = vec![0u8; DEFAULT_BLOCK_SIZE as usize];
    let mut chosen = blocks.iter().peekable();
    for block in 0..block_count(size, DEFAULT_BLOCK_SIZE) {
        let len = (size - u64::from(block) * block_size).min(block_size) as usize;
        if chosen.next_if_eq(&&block).is_some() {
            let data = chain.read_block(block).map_err(io::Error::other)?;
            out.write_all(&data[..len])?;
        } else {
            out.write_all(&zeros[..len])?;
        }
    }
    Ok(())
}

/// The blocks allocated in the layers on exactly one of the two chains.
fn changed_blocks(target: &VhdChain, base: &VhdChain, count: u32) -> Vec<u32> {
    let target_files: HashSet<PathBuf> =
        target.layers().iter().map(|l| identity(l.path())).collect();
    let base_files: HashSet<PathBuf> = base.layers().iter().map(|l| identity(l.path())).collect();
    let differing: Vec<&dyn Vhd> = target
        .layers()
        .iter()
        .filter(|l| !base_files.contains(&identity(l.path())))
        .chain(
            base.layers()
                .iter()
                .filter(|l| !target_files.contains(&identity(l.path()))),
        )
        .map(|l| l.as_ref())
        .collect();
    (0..count)
        .filter(|&b| differing.iter().any(|l| l.is_allocated(b)))
        .collect()
}

/// A file's identity for comparing layers: its canonical path when it has one.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}
