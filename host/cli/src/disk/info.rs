//! `lifeboat disk info`: what a disk image is.

use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use anyhow::Result;
use clap::Args;
use lifeboat_formats::disk::{DEFAULT_BLOCK_SIZE, DiskRead, block_count};
use lifeboat_formats::raw::RawDisk;
use lifeboat_formats::vhd::{DiskType, open_vhd, timestamp};
use serde::Serialize;

use super::format::DiskFormat;

/// Show a disk image's type, virtual size, uuid, parent, block size and allocated blocks.
///
/// Reads only the metadata (and, for raw images, asks the filesystem where data is), so it is
/// fast on any size. A VHD is validated as it is opened: a damaged one is an error here.
#[derive(Args)]
pub struct InfoArgs {
    /// The disk image: .vhd, .alias.vhd (VHD directory) or .raw/.img.
    file: PathBuf,
    /// Format of FILE when its name does not tell.
    #[arg(long, value_enum)]
    from: Option<DiskFormat>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// What `info` reports.
#[derive(Serialize)]
struct DiskInfo {
    path: String,
    /// `dynamic`, `differencing` or `raw`.
    #[serde(rename = "type")]
    disk_type: String,
    virtual_size: u64,
    uuid: Option<String>,
    parent_name: Option<String>,
    parent_uuid: Option<String>,
    block_size: u32,
    allocated_blocks: u32,
    total_blocks: u32,
    creator: Option<String>,
    /// Seconds since the Unix epoch.
    timestamp: Option<u64>,
}

pub fn run(args: InfoArgs) -> Result<()> {
    let info = match DiskFormat::of(&args.file, args.from)? {
        DiskFormat::Raw => raw_info(&args.file)?,
        DiskFormat::Vhd | DiskFormat::VhdDir => vhd_info(&args.file)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(());
    }
    println!("path:             {}", info.path);
    println!("type:             {}", info.disk_type);
    println!(
        "virtual size:     {} bytes ({})",
        info.virtual_size,
        human(info.virtual_size)
    );
    if let Some(uuid) = &info.uuid {
        println!("uuid:             {uuid}");
    }
    if let (Some(name), Some(uuid)) = (&info.parent_name, &info.parent_uuid) {
        println!("parent:           {name} (uuid {uuid})");
    }
    println!("block size:       {} bytes", info.block_size);
    println!(
        "allocated blocks: {} of {}",
        info.allocated_blocks, info.total_blocks
    );
    if let Some(creator) = &info.creator {
        println!("creator:          {creator}");
    }
    Ok(())
}

fn vhd_info(path: &std::path::Path) -> Result<DiskInfo> {
    let disk = open_vhd(path)?;
    let (footer, header) = (disk.footer(), disk.header());
    let differencing = footer.disk_type == DiskType::Differencing;
    Ok(DiskInfo {
        path: path.display().to_string(),
        disk_type: footer.disk_type.to_string(),
        virtual_size: footer.current_size,
        uuid: Some(footer.uuid.to_string()),
        parent_name: differencing.then(|| header.parent_name.clone()),
        parent_uuid: differencing.then(|| header.parent_uuid.to_string()),
        block_size: header.block_size,
        allocated_blocks: disk.allocated_blocks(),
        total_blocks: disk.block_count(),
        creator: Some(
            String::from_utf8_lossy(&footer.creator_application)
                .trim_end_matches(['\0', ' '])
                .to_string(),
        ),
        timestamp: timestamp::from_vhd(footer.timestamp)
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs()),
    })
}

fn raw_info(path: &std::path::Path) -> Result<DiskInfo> {
    let mut disk = RawDisk::open(path)?;
    let size = disk.virtual_size();
    let total = block_count(size, DEFAULT_BLOCK_SIZE);
    let mut allocated = 0;
    for block in 0..total {
        let start = u64::from(block) * u64::from(DEFAULT_BLOCK_SIZE);
        if disk.may_hold_data(start, u64::from(DEFAULT_BLOCK_SIZE))? {
            allocated += 1;
        }
    }
    Ok(DiskInfo {
        path: path.display().to_string(),
        disk_type: "raw".into(),
        virtual_size: size,
        uuid: None,
        parent_name: None,
        parent_uuid: None,
        block_size: DEFAULT_BLOCK_SIZE,
        allocated_blocks: allocated,
        total_blocks: total,
        creator: None,
        timestamp: None,
    })
}

/// `bytes` in binary units, for people.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
