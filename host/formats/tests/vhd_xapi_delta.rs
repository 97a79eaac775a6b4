//! Differencing VHDs in xapi's layout (`export_raw_vdi?format=vhd&base=…`, written by ocaml-vhd):
//! footer copy, header, parent locator data in the sector at 1536, BAT at 2048, blocks back to
//! back, footer. They open, read through their parent, agree with qemu, and survive merges in
//! both directions with their locator data untouched; a locator over anything else is refused.

mod common;

use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::*;
use lifeboat_formats::Error;
use lifeboat_formats::disk::DiskRead;
use lifeboat_formats::vhd::{
    DiskType, Footer, Header, MergeEvent, MergeOptions, Vhd, VhdChain, VhdFile, block_count,
    merge_chain, merge_into_root,
};
use uuid::Uuid;

const BLOCK: u64 = 2 * MIB;

/// A parent locator entry: platform code, data space, data length, data offset.
fn locator(code: &[u8; 4], space: u32, length: usize, offset: u64) -> [u8; 24] {
    let mut entry = [0u8; 24];
    entry[..4].copy_from_slice(code);
    entry[4..8].copy_from_slice(&space.to_be_bytes());
    entry[8..12].copy_from_slice(&(length as u32).to_be_bytes());
    entry[16..24].copy_from_slice(&offset.to_be_bytes());
    entry
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Where a test file keeps its parent locator data: (offset, bytes).
type LocatorData = Vec<(u64, Vec<u8>)>;

/// Writes at `out` a differencing VHD on the disk `parent` holding the blocks in which the raw
/// image `new` differs from the parent chain, laid out as xapi exports it: ocaml-vhd's one `MacX`
/// locator (`file://<parent>`, one sector at 1536), BAT at 2048, blocks back to back from the end
/// of the BAT. Windows tools' `W2ku`/`W2ru` locators (UTF-16LE paths, space counted in bytes and
/// in sectors) follow the blocks, so that locator data lies both before the BAT and after the
/// last block. Returns the locator data written.
fn xapi_delta(parent: &Path, new: &Path, out: &Path) -> LocatorData {
    let mut base = VhdChain::open(parent).unwrap();
    let base_footer = base.layers()[0].footer().clone();
    let size = std::fs::metadata(new).unwrap().len();
    let entries = block_count(size, BLOCK as u32);
    let new_file = std::fs::File::open(new).unwrap();
    let mut blocks = Vec::new();
    for block in 0..entries {
        let offset = u64::from(block) * BLOCK;
        let len = BLOCK.min(size - offset) as usize;
        let mut data = vec![0u8; BLOCK as usize];
        new_file.read_exact_at(&mut data[..len], offset).unwrap();
        let mut before = vec![0u8; len];
        let in_base = base.virtual_size().saturating_sub(offset).min(len as u64) as usize;
        if in_base > 0 {
            base.read_at(offset, &mut before[..in_base]).unwrap();
        }
        if before != data[..len] {
            blocks.push((block, data));
        }
    }

    let name = parent.file_name().unwrap().to_str().unwrap();
    let mac = format!("file://{name}").into_bytes();
    let w2ku = utf16le(&format!("C:\\lifeboat\\{name}"));
    let w2ru = utf16le(&format!(".\\{name}"));
    let bat_end = 2048 + (u64::from(entries) * 4).next_multiple_of(512);
    let blocks_end = bat_end + blocks.len() as u64 * (512 + BLOCK);
    let data = vec![(1536, mac), (blocks_end, w2ku), (blocks_end + 512, w2ru)];

    let mut footer = Footer::new(DiskType::Differencing, size, Uuid::new_v4());
    footer.creator_application = *b"caml";
    let mut header = Header::new(entries, BLOCK as u32);
    header.table_offset = 2048;
    header.parent_uuid = base_footer.uuid;
    header.parent_timestamp = base_footer.timestamp;
    header.parent_name = name.into();
    header.parent_locators[0] = locator(b"MacX", 1, data[0].1.len(), data[0].0);
    header.parent_locators[1] = locator(b"W2ku", 512, data[1].1.len(), data[1].0);
    header.parent_locators[2] = locator(b"W2ru", 1, data[2].1.len(), data[2].0);

    let mut bytes = footer.to_bytes().to_vec();
    bytes.extend_from_slice(&header.to_bytes(out).unwrap());
    let mut bat = vec![0xFFu8; (bat_end - 2048) as usize];
    for (i, (block, _)) in blocks.iter().enumerate() {
        let sector = (bat_end + i as u64 * (512 + BLOCK)) / 512;
        let at = *block as usize * 4;
        bat[at..at + 4].copy_from_slice(&(sector as u32).to_be_bytes());
    }
    bytes.resize(2048, 0);
    bytes.extend_from_slice(&bat);
    for (_, block) in &blocks {
        bytes.extend_from_slice(&[0xFF; 512]);
        bytes.extend_from_slice(block);
    }
    bytes.resize((blocks_end + 1024) as usize, 0);
    for (offset, payload) in &data {
        bytes[*offset as usize..*offset as usize + payload.len()].copy_from_slice(payload);
    }
    bytes.extend_from_slice(&footer.to_bytes());
    std::fs::write(out, bytes).unwrap();
    data
}

/// Asserts that the locator data is still at its offsets in `vhd`.
fn assert_locator_data(vhd: &Path, data: &LocatorData) {
    let file = std::fs::File::open(vhd).unwrap();
    for (offset, payload) in data {
        let mut found = vec![0u8; payload.len()];
        file.read_exact_at(&mut found, *offset).unwrap();
        assert_eq!(&found, payload, "locator data at byte {offset} changed");
    }
}

/// `base.vhd` (dynamic) and `delta.vhd` in xapi's layout on it, in `dir`; returns the delta, the
/// raw image it reads as, and its locator data.
fn base_and_delta(dir: &Path, size: u64) -> (PathBuf, PathBuf, LocatorData) {
    let base_raw = raw_with(
        &dir.join("base.raw"),
        size,
        &random_extents(size, 8, 2 * MIB, 300),
        300,
    );
    let base = vhd_from_raw(&base_raw, &dir.join("base.vhd"));
    // Block 0 changes, so the delta's first block sits right after its BAT.
    let mut changes = random_extents(size, 4, MIB, 301);
    changes.push((4096, 4096));
    let new_raw = raw_changed(&base_raw, &dir.join("delta.raw"), &changes, 301);
    let delta = dir.join("delta.vhd");
    let data = xapi_delta(&base, &new_raw, &delta);
    (delta, new_raw, data)
}

#[test]
fn an_xapi_delta_opens_and_reads_through_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let (delta, new_raw, _) = base_and_delta(dir.path(), 20 * MIB + 1024);
    let file = VhdFile::open(&delta).unwrap();
    assert_eq!(file.footer().disk_type, DiskType::Differencing);
    assert_eq!(file.header().table_offset, 2048);
    assert!(file.allocated_blocks() > 0);
    let mut chain = VhdChain::open(&delta).unwrap();
    assert_eq!(chain.layers().len(), 2);
    assert_eq!(read_all(&mut chain), std::fs::read(&new_raw).unwrap());
}

#[test]
fn qemu_reads_an_xapi_delta_as_we_do() {
    let dir = tempfile::tempdir().unwrap();
    let (delta, _, _) = base_and_delta(dir.path(), 20 * MIB + 1024);
    // qemu's vpc driver has no backing files: it reads a differencing VHD as a dynamic one, its
    // absent blocks as zeros. Compare with the delta read alone, without its parent.
    let mut alone = VhdChain::from_layers(vec![Box::new(VhdFile::open(&delta).unwrap())]).unwrap();
    let ours = dir.path().join("ours.raw");
    std::fs::write(&ours, read_all(&mut alone)).unwrap();
    let back = dir.path().join("back.raw");
    qemu_vhd_to_raw(&delta, &back);
    assert_same_bytes(&ours, &back);
}

#[test]
fn merges_through_an_xapi_delta_keep_its_locator_data() {
    let dir = tempfile::tempdir().unwrap();
    // The delta's one-sector BAT holds its 128 entries; the grown child needs 130, so merging
    // into the delta grows the BAT past its locator at 1536 and moves block 0 past the locators
    // that follow the blocks.
    let (delta, delta_raw, data) = base_and_delta(dir.path(), 256 * MIB);
    let grown = dir.path().join("grown.raw");
    std::fs::copy(&delta_raw, &grown).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&grown)
        .unwrap()
        .set_len(260 * MIB)
        .unwrap();
    let child_raw = raw_changed(
        &grown,
        &dir.path().join("child.raw"),
        &[(8192, 4096), (100 * MIB, MIB), (259 * MIB, MIB)],
        302,
    );
    let child = delta_vhd(&delta, &child_raw, &dir.path().join("child.vhd"));

    let mut no_stop = |_: &MergeEvent| ControlFlow::Continue(());
    merge_chain(
        &[delta.clone(), child.clone()],
        &MergeOptions::default(),
        &mut no_stop,
    )
    .unwrap();
    assert!(!delta.exists());
    let merged = VhdFile::open(&child).unwrap();
    assert_eq!(merged.footer().disk_type, DiskType::Differencing);
    assert_eq!(merged.header().table_offset, 2048);
    assert_eq!(merged.header().max_table_entries, 130);
    assert_locator_data(&child, &data);
    let mut chain = VhdChain::open(&child).unwrap();
    assert_eq!(chain.layers().len(), 2);
    assert_eq!(read_all(&mut chain), std::fs::read(&child_raw).unwrap());

    // Now the delta (holding the child's blocks) is merged into its dynamic parent.
    merge_into_root(&child, &MergeOptions::default(), &mut no_stop).unwrap();
    let root = VhdFile::open(&child).unwrap();
    assert_eq!(root.footer().disk_type, DiskType::Dynamic);
    let back = dir.path().join("back.raw");
    qemu_vhd_to_raw(&child, &back);
    assert_same_bytes(&child_raw, &back);
}

#[test]
fn parent_locators_over_metadata_blocks_or_each_other_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (delta, _, data) = base_and_delta(dir.path(), 20 * MIB + 1024);
    let good = VhdFile::open(&delta).unwrap().header().clone();
    let first_block = data[1].0 - (512 + BLOCK);
    let trailing_footer = std::fs::metadata(&delta).unwrap().len() - 512;
    let bad = dir.path().join("bad.vhd");
    for offset in [
        0,
        1024,
        2048,
        first_block + 4096,
        trailing_footer,
        data[1].0,
    ] {
        std::fs::copy(&delta, &bad).unwrap();
        let mut header = good.clone();
        // Locator 2 moves; at `data[1].0` it overlaps locator 1.
        header.parent_locators[2] = locator(b"W2ru", 1, data[2].1.len(), offset);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&bad)
            .unwrap()
            .write_all_at(&header.to_bytes(&bad).unwrap(), 512)
            .unwrap();
        match VhdFile::open(&bad) {
            Err(Error::InvalidVhd {
                structure: "header",
                field: "parentLocatorEntry",
                problem,
                ..
            }) => assert!(problem.starts_with("2 "), "at {offset}: {problem}"),
            other => panic!(
                "a locator at {offset} should be refused, got {:?}",
                other.err()
            ),
        }
    }
}
