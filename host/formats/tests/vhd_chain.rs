//! Chains: deltas read back as the newer disk, partial sector bitmaps of others' VHDs are honoured,
//! and every broken link is reported by name.

mod common;

use std::os::unix::fs::FileExt;

use common::*;
use lifeboat_formats::Error;
use lifeboat_formats::disk::DiskRead;
use lifeboat_formats::raw::RawDisk;
use lifeboat_formats::vhd::{DiskType, Vhd, VhdChain, VhdFile};

#[test]
fn a_chain_of_deltas_reads_as_the_newest_disk() {
    let dir = tempfile::tempdir().unwrap();
    let size = 30 * MIB + 512;
    let mut raws = vec![raw_with(
        &dir.path().join("0.raw"),
        size,
        &random_extents(size, 6, 2 * MIB, 10),
        10,
    )];
    let mut vhds = vec![vhd_from_raw(&raws[0], &dir.path().join("0.vhd"))];
    for i in 1..4u64 {
        let raw = raw_changed(
            &raws[0],
            &dir.path().join(format!("{i}.raw")),
            &random_extents(size, 3, MIB, 10 + i),
            10 + i,
        );
        std::fs::copy(&raw, &raws[0]).ok();
        let vhd = delta_vhd(
            &vhds[vhds.len() - 1],
            &raw,
            &dir.path().join(format!("{i}.vhd")),
        );
        raws.push(raw);
        vhds.push(vhd);
        // Each delta on its own is differencing, named after its parent, and reads as its raw.
        let mut chain = VhdChain::open(vhds.last().unwrap()).unwrap();
        assert_eq!(chain.layers().len(), i as usize + 1);
        assert_eq!(chain.layers()[0].footer().disk_type, DiskType::Differencing);
        assert_eq!(
            chain.layers()[0].header().parent_name,
            format!("{}.vhd", i - 1)
        );
        assert_eq!(
            read_all(&mut chain),
            std::fs::read(raws.last().unwrap()).unwrap()
        );
    }
}

#[test]
fn a_delta_stores_only_changed_blocks_and_zeroed_blocks_that_the_base_had() {
    let dir = tempfile::tempdir().unwrap();
    let size = 16 * MIB;
    let base_raw = raw_with(&dir.path().join("base.raw"), size, &[(0, 8 * MIB)], 20);
    let base = vhd_from_raw(&base_raw, &dir.path().join("base.vhd"));
    let new_raw = raw_changed(
        &base_raw,
        &dir.path().join("new.raw"),
        &[(10 * MIB, 4096)],
        21,
    );
    // Zero block 1 (bytes 2..4 MiB): the delta must carry it, or the base would show through.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&new_raw)
        .unwrap();
    file.write_all_at(&vec![0u8; 2 * MIB as usize], 2 * MIB)
        .unwrap();
    let child = delta_vhd(&base, &new_raw, &dir.path().join("child.vhd"));
    let delta = VhdFile::open(&child).unwrap();
    let allocated: Vec<u32> = (0..8).filter(|&b| delta.is_allocated(b)).collect();
    assert_eq!(allocated, vec![1, 5]);
    let mut chain = VhdChain::open(&child).unwrap();
    assert_eq!(read_all(&mut chain), std::fs::read(&new_raw).unwrap());
}

#[test]
fn partial_sector_bitmaps_read_through_to_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let size = 4 * MIB;
    let base_raw = raw_with(&dir.path().join("base.raw"), size, &[(0, size)], 30);
    let base = vhd_from_raw(&base_raw, &dir.path().join("base.vhd"));
    let new_raw = raw_changed(&base_raw, &dir.path().join("new.raw"), &[(0, 2 * MIB)], 31);
    let child = delta_vhd(&base, &new_raw, &dir.path().join("child.vhd"));
    // Clear the bits of sectors 8..4096 of block 0 in the child: only sectors 0..8 stay its own.
    let bitmap_at = block_offset(&child, 0);
    let delta = VhdFile::open(&child).unwrap();
    assert!(delta.is_allocated(0));
    drop(delta);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&child)
        .unwrap();
    let mut bitmap = [0u8; 512];
    file.read_exact_at(&mut bitmap, bitmap_at).unwrap();
    assert_eq!(bitmap, [0xFF; 512], "the writer stores full bitmaps");
    bitmap = [0; 512];
    bitmap[0] = 0xFF;
    file.write_all_at(&bitmap, bitmap_at).unwrap();
    let mut chain = VhdChain::open(&child).unwrap();
    let got = read_all(&mut chain);
    let (base_bytes, new_bytes) = (
        std::fs::read(&base_raw).unwrap(),
        std::fs::read(&new_raw).unwrap(),
    );
    assert_eq!(&got[..4096], &new_bytes[..4096]);
    assert_eq!(&got[4096..], &base_bytes[4096..]);
}

#[test]
fn a_missing_parent_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (base, child) = small_chain(dir.path());
    std::fs::remove_file(&base).unwrap();
    match VhdChain::open(&child) {
        Err(Error::MissingParent { child: c, parent }) => {
            assert_eq!(c, child);
            assert_eq!(parent, base);
        }
        other => panic!("expected MissingParent, got {:?}", other.err()),
    }
}

#[test]
fn a_parent_with_another_uuid_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (base, child) = small_chain(dir.path());
    let raw = raw_with(&dir.path().join("other.raw"), 4 * MIB, &[(0, MIB)], 41);
    vhd_from_raw(&raw, &base);
    assert!(matches!(
        VhdChain::open(&child),
        Err(Error::ParentUuidMismatch { .. })
    ));
}

#[test]
fn a_parent_loop_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, child) = small_chain(dir.path());
    // A differencing disk whose parent name is itself.
    let looped = dir.path().join("loop.vhd");
    std::fs::copy(&child, &looped).unwrap();
    rewrite_header(&looped, |h| h.parent_name = "loop.vhd".into());
    let uuid = VhdFile::open(&looped).unwrap().footer().uuid;
    rewrite_header(&looped, |h| h.parent_uuid = uuid);
    assert!(matches!(
        VhdChain::open(&looped),
        Err(Error::ChainCycle { .. })
    ));
}

#[test]
fn a_parent_outside_the_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, child) = small_chain(dir.path());
    for name in ["../base.vhd", "/etc/passwd", "a/../../x.vhd"] {
        rewrite_header(&child, |h| h.parent_name = name.into());
        match VhdChain::open(&child) {
            Err(Error::ParentOutsideFolder { name: n, .. }) => assert_eq!(n, name),
            other => panic!(
                "{name}: expected ParentOutsideFolder, got {:?}",
                other.err()
            ),
        }
    }
}

#[test]
fn raw_reads_skip_holes() {
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_with(&dir.path().join("r.raw"), 64 * MIB, &[(40 * MIB, MIB)], 50);
    let mut disk = RawDisk::open(&raw).unwrap();
    assert!(!disk.may_hold_data(0, 32 * MIB).unwrap());
    assert!(disk.may_hold_data(32 * MIB, 16 * MIB).unwrap());
}

fn small_chain(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let base_raw = raw_with(&dir.join("base.raw"), 4 * MIB, &[(0, MIB)], 40);
    let base = vhd_from_raw(&base_raw, &dir.join("base.vhd"));
    let new_raw = raw_changed(&base_raw, &dir.join("new.raw"), &[(3 * MIB, 512)], 42);
    let child = delta_vhd(&base, &new_raw, &dir.join("child.vhd"));
    (base, child)
}

/// Rewrites the header of a VHD file in place (checksum included).
fn rewrite_header(path: &std::path::Path, change: impl FnOnce(&mut lifeboat_formats::vhd::Header)) {
    let mut header = VhdFile::open(path).unwrap().header().clone();
    change(&mut header);
    let bytes = header.to_bytes(path).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.write_all_at(&bytes, 512).unwrap();
}

#[test]
fn a_hole_in_the_new_disk_over_base_data_is_stored_as_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let size = 32 * MIB;
    let base_raw = raw_with(&dir.path().join("base.raw"), size, &[(0, size)], 22);
    let base = vhd_from_raw(&base_raw, &dir.path().join("base.vhd"));
    // The new disk has data everywhere but a hole where block 10 was: by then the walk's
    // buffers have all been used, so a stale one would show.
    let new_raw = raw_with(
        &dir.path().join("new.raw"),
        size,
        &[(0, 20 * MIB), (22 * MIB, 10 * MIB)],
        23,
    );
    let child = delta_vhd(&base, &new_raw, &dir.path().join("child.vhd"));
    let mut chain = VhdChain::open(&child).unwrap();
    let got = read_all(&mut chain);
    assert!(
        got[20 * MIB as usize..22 * MIB as usize]
            .iter()
            .all(|&b| b == 0)
    );
    assert!(got == std::fs::read(&new_raw).unwrap());
}
