//! The VHD directory format ("VhdDirectory") of Xen Orchestra's S3 and encrypted remotes.
//!
//! A folder `data/<name>.vhd/` holds `header`, `footer`, `bat` (one bit per block, most significant
//! bit first, `maxTableEntries` bytes long), `chunk-filters.json` (`["brotli"]`, `["gzip"]` or
//! absent for none) and `blocks/<id / 1000>/<id % 1000>` (sector bitmap + data). Every one of
//! these chunks is compressed with the filter. The folder is reached through `<name>.alias.vhd`, a
//! small text file holding its path relative to the alias's folder.

use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use super::fields::invalid;
use super::footer::{FOOTER_SIZE, Footer};
use super::header::{HEADER_SIZE, Header};
use super::image::{Vhd, VhdWrite};
use super::writer::{NewVhd, VhdSink};
use crate::atomic::write_atomic;
use crate::error::{Error, IoContext, Result};

/// Suffix of alias files.
pub const ALIAS_SUFFIX: &str = ".alias.vhd";
/// Largest alias file Xen Orchestra accepts.
const MAX_ALIAS_LEN: u64 = 1024;

/// How every chunk of a VHD directory is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkFilter {
    None,
    Brotli,
    Gzip,
}

impl ChunkFilter {
    fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("chunk-filters.json");
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(ChunkFilter::None),
            Err(err) => return Err(Error::io(&path, err)),
        };
        let filters: Vec<String> = serde_json::from_str(&text).map_err(|err| {
            invalid(
                &path,
                "directory",
                "chunk-filters.json",
                format!("is not a JSON array of strings: {err}"),
            )
        })?;
        match filters
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [] => Ok(ChunkFilter::None),
            ["brotli"] => Ok(ChunkFilter::Brotli),
            ["gzip"] => Ok(ChunkFilter::Gzip),
            other => Err(invalid(
                &path,
                "directory",
                "chunk-filters.json",
                format!("names unsupported filters {other:?}"),
            )),
        }
    }

    fn json(self) -> Option<&'static str> {
        match self {
            ChunkFilter::None => None,
            ChunkFilter::Brotli => Some(r#"["brotli"]"#),
            ChunkFilter::Gzip => Some(r#"["gzip"]"#),
        }
    }

    fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            ChunkFilter::None => data.to_vec(),
            ChunkFilter::Brotli => {
                let mut out = Vec::with_capacity(data.len() / 2);
                {
                    // Quality 3: the output is ordinary brotli that any reader takes; higher
                    // qualities cost far more time than they save space on disk images.
                    let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 3, 22);
                    let _ = writer.write_all(data);
                }
                out
            }
            ChunkFilter::Gzip => {
                let mut writer =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = writer.write_all(data);
                writer.finish().unwrap_or_default()
            }
        }
    }

    /// Reads the chunk at `path`, decompressed, refusing more than `limit` bytes.
    fn read_chunk(self, path: &Path, limit: usize) -> Result<Vec<u8>> {
        let file = fs::File::open(path).at(path)?;
        let mut out = Vec::new();
        let cap = limit as u64 + 1;
        let read = match self {
            ChunkFilter::None => file.take(cap).read_to_end(&mut out),
            ChunkFilter::Brotli => brotli::Decompressor::new(file, 64 * 1024)
                .take(cap)
                .read_to_end(&mut out),
            ChunkFilter::Gzip => flate2::read::GzDecoder::new(file)
                .take(cap)
                .read_to_end(&mut out),
        };
        read.map_err(|err| {
            invalid(
                path,
                "directory",
                "chunk",
                format!("cannot be decompressed: {err}"),
            )
        })?;
        if out.len() > limit {
            return Err(invalid(
                path,
                "directory",
                "chunk",
                format!("holds more than {limit} bytes"),
            ));
        }
        Ok(out)
    }

    fn write_chunk(self, path: &Path, data: &[u8]) -> Result<()> {
        write_atomic(path, &self.compress(data))
    }
}

/// Resolves an alias file to the VHD directory it names, which must lie inside the alias's folder.
pub fn resolve_alias(alias: &Path) -> Result<PathBuf> {
    let len = fs::metadata(alias).at(alias)?.len();
    if len > MAX_ALIAS_LEN {
        return Err(invalid(
            alias,
            "alias",
            "target",
            format!("file is {len} bytes, more than {MAX_ALIAS_LEN}"),
        ));
    }
    let text = fs::read_to_string(alias).at(alias)?;
    let target = text.trim();
    let relative = Path::new(target);
    let escapes = target.is_empty()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(invalid(
            alias,
            "alias",
            "target",
            format!("{target:?} is not a path inside the alias's folder"),
        ));
    }
    let resolved = alias.parent().unwrap_or(Path::new("")).join(relative);
    if target.ends_with(ALIAS_SUFFIX) && resolved.is_file() {
        return Err(invalid(
            alias,
            "alias",
            "target",
            "points at another alias".into(),
        ));
    }
    Ok(resolved)
}

/// A VHD directory opened through its alias.
pub struct VhdDirectory {
    alias: PathBuf,
    dir: PathBuf,
    filter: ChunkFilter,
    footer: Footer,
    header: Header,
    bat: Vec<bool>,
}

impl VhdDirectory {
    /// Opens the VHD directory that the alias file `alias` points at.
    pub fn open(alias: impl AsRef<Path>) -> Result<Self> {
        let alias = alias.as_ref();
        let dir = resolve_alias(alias)?;
        Self::open_dir(alias, dir)
    }

    fn open_dir(alias: &Path, dir: PathBuf) -> Result<Self> {
        let filter = ChunkFilter::read(&dir)?;
        let footer_bytes: [u8; FOOTER_SIZE] = fixed_chunk(filter, &dir.join("footer"), "footer")?;
        let footer = Footer::parse(&footer_bytes, &dir.join("footer"))?;
        let header_bytes: [u8; HEADER_SIZE] = fixed_chunk(filter, &dir.join("header"), "header")?;
        let header = Header::parse(&header_bytes, &dir.join("header"))?;
        let entries = header.max_table_entries as usize;
        let bat_path = dir.join("bat");
        let raw = filter.read_chunk(&bat_path, entries.max(entries.div_ceil(8)))?;
        if raw.len() < entries.div_ceil(8) {
            return Err(Error::Truncated {
                path: bat_path,
                what: "BAT bit array",
                needed: entries.div_ceil(8) as u64,
                len: raw.len() as u64,
            });
        }
        let bat = (0..entries)
            .map(|b| raw[b / 8] & (0x80 >> (b % 8)) != 0)
            .collect();
        Ok(VhdDirectory {
            alias: alias.to_path_buf(),
            dir,
            filter,
            footer,
            header,
            bat,
        })
    }

    fn block_path(&self, block: u32) -> PathBuf {
        block_path(&self.dir, block)
    }

    fn write_metadata(&self) -> Result<()> {
        let mut bits = vec![0u8; self.bat.len().max(self.bat.len().div_ceil(8))];
        for (block, _) in self.bat.iter().enumerate().filter(|(_, a)| **a) {
            bits[block / 8] |= 0x80 >> (block % 8);
        }
        self.filter.write_chunk(&self.dir.join("bat"), &bits)?;
        self.filter.write_chunk(
            &self.dir.join("header"),
            &self.header.to_bytes(&self.alias)?,
        )?;
        self.filter
            .write_chunk(&self.dir.join("footer"), &self.footer.to_bytes())?;
        match self.filter.json() {
            Some(json) => write_atomic(&self.dir.join("chunk-filters.json"), json.as_bytes()),
            None => Ok(()),
        }
    }
}

fn block_path(dir: &Path, block: u32) -> PathBuf {
    dir.join("blocks")
        .join((block / 1000).to_string())
        .join((block % 1000).to_string())
}

fn fixed_chunk<const N: usize>(
    filter: ChunkFilter,
    path: &Path,
    what: &'static str,
) -> Result<[u8; N]> {
    let bytes = filter.read_chunk(path, N)?;
    bytes.as_slice().try_into().map_err(|_| Error::Truncated {
        path: path.to_path_buf(),
        what,
        needed: N as u64,
        len: bytes.len() as u64,
    })
}

impl Vhd for VhdDirectory {
    fn path(&self) -> &Path {
        &self.alias
    }
    fn footer(&self) -> &Footer {
        &self.footer
    }
    fn header(&self) -> &Header {
        &self.header
    }
    fn is_allocated(&self, block: u32) -> bool {
        self.bat.get(block as usize).copied().unwrap_or(false)
    }
    fn read_block(&mut self, block: u32, bitmap: &mut [u8], data: &mut [u8]) -> Result<()> {
        let path = self.block_path(block);
        let chunk = self.filter.read_chunk(&path, bitmap.len() + data.len())?;
        if chunk.len() != bitmap.len() + data.len() {
            return Err(Error::Truncated {
                path,
                what: "block (bitmap + data)",
                needed: (bitmap.len() + data.len()) as u64,
                len: chunk.len() as u64,
            });
        }
        bitmap.copy_from_slice(&chunk[..bitmap.len()]);
        data.copy_from_slice(&chunk[bitmap.len()..]);
        Ok(())
    }
}

impl VhdWrite for VhdDirectory {
    fn write_full_block(&mut self, block: u32, data: &[u8]) -> Result<()> {
        if block as usize >= self.bat.len() {
            return Err(invalid(
                &self.alias,
                "header",
                "maxTableEntries",
                format!("is {} and cannot hold block {block}", self.bat.len()),
            ));
        }
        write_block_file(
            &self.dir,
            self.filter,
            self.header.bitmap_size(),
            block,
            data,
        )?;
        self.bat[block as usize] = true;
        Ok(())
    }

    fn grow_table(&mut self, entries: u32) -> Result<()> {
        if entries > self.header.max_table_entries {
            self.header.max_table_entries = entries;
            self.bat.resize(entries as usize, false);
            self.write_metadata()?;
        }
        Ok(())
    }

    fn set_footer(&mut self, footer: Footer) {
        self.footer = footer;
    }

    fn flush(&mut self) -> Result<()> {
        self.write_metadata()
    }
}

fn write_block_file(
    dir: &Path,
    filter: ChunkFilter,
    bitmap_size: usize,
    block: u32,
    data: &[u8],
) -> Result<()> {
    let path = block_path(dir, block);
    if let Some(folder) = path.parent() {
        fs::create_dir_all(folder).at(folder)?;
    }
    let mut chunk = vec![0xFFu8; bitmap_size + data.len()];
    chunk[bitmap_size..].copy_from_slice(data);
    filter.write_chunk(&path, &chunk)
}

/// Writes a new VHD directory `data/<name>.vhd/` beside the alias `<name>.alias.vhd`; the alias is
/// written last, so the disk exists only once it is complete.
pub struct VhdDirectoryWriter {
    disk: VhdDirectory,
}

impl VhdDirectoryWriter {
    /// Starts writing the disk described by `new` behind the alias file `alias`.
    pub fn create(alias: impl AsRef<Path>, new: &NewVhd, filter: ChunkFilter) -> Result<Self> {
        let alias = alias.as_ref().to_path_buf();
        let name = alias
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(ALIAS_SUFFIX))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                invalid(
                    &alias,
                    "alias",
                    "name",
                    format!("must end with {ALIAS_SUFFIX}"),
                )
            })?;
        let dir = alias.with_file_name("data").join(format!("{name}.vhd"));
        if dir.exists() {
            return Err(Error::io(
                &dir,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "VHD directory already exists",
                ),
            ));
        }
        fs::create_dir_all(&dir).at(&dir)?;
        let (footer, header) = new.metadata(&alias)?;
        let bat = vec![false; header.max_table_entries as usize];
        Ok(VhdDirectoryWriter {
            disk: VhdDirectory {
                alias,
                dir,
                filter,
                footer,
                header,
                bat,
            },
        })
    }
}

impl VhdSink for VhdDirectoryWriter {
    fn put_block(&mut self, block: u32, data: &[u8]) -> Result<()> {
        self.disk.write_full_block(block, data)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let disk = self.disk;
        disk.write_metadata()?;
        let relative = disk
            .dir
            .strip_prefix(disk.alias.parent().unwrap_or(Path::new("")))
            .unwrap_or(&disk.dir);
        write_atomic(&disk.alias, relative.to_string_lossy().as_bytes())
    }
}
