//! Merges: a chain merged into one disk reads as the newest disk, a merge stopped at any event
//! resumes to exactly the bytes of an uninterrupted merge, and a finished merge is not redone.

mod common;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use lifeboat_formats::Error;
use lifeboat_formats::raw::RawDisk;
use lifeboat_formats::vhd::{
    ChunkFilter, DiskType, MergeEvent, MergeOptions, NewVhd, Vhd, VhdChain, VhdDirectoryWriter,
    VhdFile, merge_into_root, parent_link, state_path, write_delta, write_dynamic,
};

/// Builds `0.vhd` (dynamic) ← `1.vhd` ← … ← `<deltas>.vhd` in `dir`; returns the newest disk and the
/// raw image it must read as.
fn chain(dir: &Path, size: u64, deltas: u64) -> (PathBuf, PathBuf) {
    let raw = raw_with(
        &dir.join("expected.raw"),
        size,
        &random_extents(size, 8, 2 * MIB, 100),
        100,
    );
    let mut newest = vhd_from_raw(&raw, &dir.join("0.vhd"));
    for i in 1..=deltas {
        let next = dir.join("next.raw");
        raw_changed(&raw, &next, &random_extents(size, 4, MIB, 100 + i), 100 + i);
        newest = delta_vhd(&newest, &next, &dir.join(format!("{i}.vhd")));
        std::fs::rename(&next, &raw).unwrap();
    }
    (newest, raw)
}

/// Writes a differencing VHD directory at the alias `child` holding what changed from the chain
/// `base` to the raw image `new_raw`.
fn directory_delta(base: &Path, new_raw: &Path, child: &Path) -> PathBuf {
    let mut base_chain = VhdChain::open(base).unwrap();
    let size = std::fs::metadata(new_raw).unwrap().len();
    let spec = NewVhd::differencing(size, parent_link(&base_chain, child).unwrap());
    let writer = VhdDirectoryWriter::create(child, &spec, ChunkFilter::Brotli).unwrap();
    let mut new = RawDisk::open(new_raw).unwrap();
    write_delta(&mut base_chain, &mut new, Box::new(writer), &mut |_, _| {}).unwrap();
    child.to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn no_stop(_: &MergeEvent) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

#[test]
fn merging_a_chain_leaves_one_dynamic_disk_at_the_childs_path() {
    let dir = tempfile::tempdir().unwrap();
    let (child, expected) = chain(dir.path(), 40 * MIB, 3);
    let child_uuid = VhdFile::open(&child).unwrap().footer().uuid;
    let summary = merge_into_root(&child, &MergeOptions::default(), &mut no_stop).unwrap();
    assert_eq!(summary.merged.as_deref(), Some(child.as_path()));
    assert!(summary.blocks > 0);
    for gone in ["0.vhd", "1.vhd", "2.vhd", ".0.vhd.merge.json"] {
        assert!(!dir.path().join(gone).exists(), "{gone} should be gone");
    }
    let merged = VhdFile::open(&child).unwrap();
    assert_eq!(merged.footer().disk_type, DiskType::Dynamic);
    assert_eq!(merged.footer().uuid, child_uuid);
    let back = dir.path().join("back.raw");
    qemu_vhd_to_raw(&child, &back);
    assert_same_bytes(&expected, &back);

    let before = std::fs::read(&child).unwrap();
    let again = merge_into_root(&child, &MergeOptions::default(), &mut no_stop).unwrap();
    assert_eq!(again.merged, None);
    assert_eq!(
        std::fs::read(&child).unwrap(),
        before,
        "a second merge changed the disk"
    );
}

#[test]
fn a_merge_stopped_at_any_event_resumes_to_identical_bytes() {
    let template = tempfile::tempdir().unwrap();
    let (child, _) = chain(template.path(), 24 * MIB, 2);
    let child_name = child.file_name().unwrap().to_owned();

    let reference = tempfile::tempdir().unwrap();
    copy_dir(template.path(), reference.path());
    let mut events = Vec::new();
    merge_into_root(
        &reference.path().join(&child_name),
        &MergeOptions::default(),
        &mut |e| {
            events.push(e.clone());
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    let reference_bytes = std::fs::read(reference.path().join(&child_name)).unwrap();
    assert!(events.len() > 5, "{events:?}");

    for interval in [Duration::ZERO, Duration::from_secs(3600)] {
        let options = MergeOptions {
            state_interval: interval,
        };
        for (stop_at, event) in events.iter().enumerate() {
            let run = tempfile::tempdir().unwrap();
            copy_dir(template.path(), run.path());
            let target = run.path().join(&child_name);
            let mut seen = 0;
            let first = merge_into_root(&target, &options, &mut |_| {
                seen += 1;
                if seen > stop_at {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            assert!(
                matches!(first, Err(Error::Interrupted)),
                "stop at {stop_at}: {first:?}"
            );
            assert!(state_path(&run.path().join("0.vhd")).exists());
            let resumed = merge_into_root(&target, &options, &mut no_stop).unwrap();
            assert!(resumed.resumed);
            let got = std::fs::read(&target).unwrap();
            assert!(
                got == reference_bytes,
                "stopped at event {stop_at} ({event:?}), state every {interval:?}: {} bytes vs {}, first difference at {:?}",
                got.len(),
                reference_bytes.len(),
                got.iter().zip(&reference_bytes).position(|(a, b)| a != b)
            );
            assert!(!state_path(&run.path().join("0.vhd")).exists());
        }
    }
}

#[test]
fn a_merge_stopped_twice_still_resumes_to_identical_bytes() {
    let template = tempfile::tempdir().unwrap();
    let (child, expected) = chain(template.path(), 24 * MIB, 3);
    let options = MergeOptions {
        state_interval: Duration::ZERO,
    };
    for (first_stop, second_stop) in [(1, 1), (3, 2), (5, 4)] {
        let run = tempfile::tempdir().unwrap();
        copy_dir(template.path(), run.path());
        let target = run.path().join(child.file_name().unwrap());
        for stop in [first_stop, second_stop] {
            let mut seen = 0;
            let outcome = merge_into_root(&target, &options, &mut |_| {
                seen += 1;
                if seen > stop {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            assert!(matches!(outcome, Err(Error::Interrupted)));
        }
        merge_into_root(&target, &options, &mut no_stop).unwrap();
        let mut merged = VhdChain::open(&target).unwrap();
        assert_eq!(merged.layers().len(), 1);
        assert_eq!(read_all(&mut merged), std::fs::read(&expected).unwrap());
    }
}

#[test]
fn a_parent_whose_bat_must_grow_moves_its_first_block() {
    let dir = tempfile::tempdir().unwrap();
    // 128 entries fill the parent's one-sector BAT; the grown child needs 130.
    let base_raw = raw_with(
        &dir.path().join("base.raw"),
        256 * MIB,
        &[(0, 3 * MIB), (255 * MIB, MIB)],
        200,
    );
    let base = vhd_from_raw(&base_raw, &dir.path().join("base.vhd"));
    let grown = dir.path().join("grown.raw");
    std::fs::copy(&base_raw, &grown).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&grown)
        .unwrap()
        .set_len(260 * MIB)
        .unwrap();
    raw_changed(
        &grown,
        &dir.path().join("new.raw"),
        &[(MIB, 4096), (259 * MIB, MIB)],
        201,
    );
    let child = delta_vhd(
        &base,
        &dir.path().join("new.raw"),
        &dir.path().join("child.vhd"),
    );
    merge_into_root(&child, &MergeOptions::default(), &mut no_stop).unwrap();
    let merged = VhdFile::open(&child).unwrap();
    assert_eq!(merged.header().max_table_entries, 130);
    assert_eq!(merged.footer().current_size, 260 * MIB);
    let back = dir.path().join("back.raw");
    qemu_vhd_to_raw(&child, &back);
    assert_same_bytes(&dir.path().join("new.raw"), &back);
}

#[test]
fn vhd_directories_merge_through_their_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let size = 20 * MIB;
    let base_raw = raw_with(
        &dir.path().join("base.raw"),
        size,
        &random_extents(size, 5, MIB, 300),
        300,
    );
    let new_raw = raw_changed(
        &base_raw,
        &dir.path().join("new.raw"),
        &random_extents(size, 3, MIB, 301),
        301,
    );
    let base = dir.path().join("20240101T000000Z.alias.vhd");
    let mut source = RawDisk::open(&base_raw).unwrap();
    let writer =
        VhdDirectoryWriter::create(&base, &NewVhd::dynamic(size), ChunkFilter::Brotli).unwrap();
    write_dynamic(&mut source, Box::new(writer), &mut |_, _| {}).unwrap();
    let child = directory_delta(
        &base,
        &new_raw,
        &dir.path().join("20240102T000000Z.alias.vhd"),
    );

    merge_into_root(&child, &MergeOptions::default(), &mut no_stop).unwrap();
    assert!(!base.exists());
    assert_eq!(
        std::fs::read_to_string(&child).unwrap(),
        "data/20240101T000000Z.vhd"
    );
    assert!(!dir.path().join("data/20240102T000000Z.vhd").exists());
    let mut merged = VhdChain::open(&child).unwrap();
    assert_eq!(merged.layers().len(), 1);
    assert_eq!(read_all(&mut merged), std::fs::read(&new_raw).unwrap());
}

#[test]
fn a_child_with_partial_sector_bitmaps_merges_to_what_the_chain_read() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let base_raw = raw_with(&dir.path().join("base.raw"), 4 * MIB, &[(0, 4 * MIB)], 400);
    let base = vhd_from_raw(&base_raw, &dir.path().join("base.vhd"));
    let new_raw = raw_changed(&base_raw, &dir.path().join("new.raw"), &[(0, 2 * MIB)], 401);
    let child = delta_vhd(&base, &new_raw, &dir.path().join("child.vhd"));
    // Keep only the first 8 sectors of the child's block 0.
    let mut bitmap = [0u8; 512];
    bitmap[0] = 0xFF;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&child)
        .unwrap()
        .write_all_at(&bitmap, block_offset(&child, 0))
        .unwrap();
    let expected = read_all(&mut VhdChain::open(&child).unwrap());
    merge_into_root(&child, &MergeOptions::default(), &mut no_stop).unwrap();
    assert_eq!(read_all(&mut VhdChain::open(&child).unwrap()), expected);
}

#[test]
fn a_chain_mixing_files_and_directories_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let size = 4 * MIB;
    let base_raw = raw_with(&dir.path().join("base.raw"), size, &[(0, MIB)], 500);
    let base = vhd_from_raw(&base_raw, &dir.path().join("base.vhd"));
    let new_raw = raw_changed(&base_raw, &dir.path().join("new.raw"), &[(0, 4096)], 501);
    let child = directory_delta(&base, &new_raw, &dir.path().join("child.alias.vhd"));
    let before = std::fs::read(&base).unwrap();
    assert!(matches!(
        merge_into_root(&child, &MergeOptions::default(), &mut no_stop),
        Err(Error::Incompatible { .. })
    ));
    assert!(std::fs::read(&base).unwrap() == before);
    assert!(!state_path(&base).exists());
}
