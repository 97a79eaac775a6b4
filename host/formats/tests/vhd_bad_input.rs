//! Malformed VHDs: each is a typed error naming the file and the field, never a panic, and no
//! allocation is sized by a field before the field is checked.

mod common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::*;
use lifeboat_formats::Error;
use lifeboat_formats::vhd::{Footer, Header, Vhd, VhdChain, VhdDirectory, VhdFile};

fn sample(dir: &Path) -> PathBuf {
    let raw = raw_with(&dir.join("in.raw"), 8 * MIB, &[(0, 5 * MIB)], 7);
    vhd_from_raw(&raw, &dir.join("disk.vhd"))
}

fn expect_field(path: &Path, structure: &str, field: &str) {
    match VhdFile::open(path) {
        Err(Error::InvalidVhd {
            path: p,
            structure: s,
            field: f,
            problem,
        }) => {
            assert_eq!((p.as_path(), s, f), (path, structure, field), "{problem}");
        }
        other => panic!(
            "expected invalid {structure} `{field}`, got {:?}",
            other.err()
        ),
    }
}

fn patch(path: &Path, offset: u64, bytes: &[u8]) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.write_all_at(bytes, offset).unwrap();
}

fn patch_footer(path: &Path, change: impl FnOnce(&mut [u8; 512])) {
    let mut bytes = VhdFile::open(path).unwrap().footer().to_bytes();
    change(&mut bytes);
    let len = std::fs::metadata(path).unwrap().len();
    patch(path, 0, &bytes);
    patch(path, len - 512, &bytes);
}

fn patch_header(path: &Path, change: impl FnOnce(&mut Header)) {
    let mut header = VhdFile::open(path).unwrap().header().clone();
    change(&mut header);
    patch(path, 512, &header.to_bytes(path).unwrap());
}

/// Recomputes the footer checksum after a raw field edit.
fn fix_footer_checksum(bytes: &mut [u8; 512]) {
    bytes[64..68].fill(0);
    let sum = !bytes
        .iter()
        .fold(0u32, |a, &b| a.wrapping_add(u32::from(b)));
    bytes[64..68].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn truncated_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let vhd = sample(dir.path());
    let len = std::fs::metadata(&vhd).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&vhd).unwrap();
    file.set_len(len - 4096).unwrap();
    expect_field(&vhd, "footer", "trailing copy");
    file.set_len(1000).unwrap();
    assert!(matches!(VhdFile::open(&vhd), Err(Error::Truncated { .. })));
}

#[test]
fn wrong_cookies_and_checksums_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let vhd = sample(dir.path());
    patch_footer(&vhd, |b| b[0] = b'X');
    expect_field(&vhd, "footer", "cookie");

    let vhd = sample(dir.path());
    patch_footer(&vhd, |b| b[45] ^= 0x10);
    expect_field(&vhd, "footer", "checksum");

    let vhd = sample(dir.path());
    patch(&vhd, 512 + 100, &[0x42]);
    expect_field(&vhd, "header", "checksum");

    let vhd = sample(dir.path());
    patch(&vhd, 512, b"cxsparsX");
    expect_field(&vhd, "header", "cookie");
}

#[test]
fn bat_entries_past_the_end_or_overlapping_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let vhd = sample(dir.path());
    patch(&vhd, 1536, &0x00FF_FFFFu32.to_be_bytes());
    expect_field(&vhd, "BAT", "entry");

    let vhd = sample(dir.path());
    let mut first = [0u8; 4];
    std::fs::File::open(&vhd)
        .unwrap()
        .read_exact_at(&mut first, 1536)
        .unwrap();
    patch(&vhd, 1540, &first);
    match VhdFile::open(&vhd) {
        Err(Error::InvalidVhd { field, problem, .. }) => {
            assert_eq!(field, "entry");
            assert!(problem.contains("overlaps"), "{problem}");
        }
        other => panic!("expected an overlap, got {:?}", other.err()),
    }

    let vhd = sample(dir.path());
    patch(&vhd, 1536, &1u32.to_be_bytes());
    expect_field(&vhd, "BAT", "entry");
}

#[test]
fn bad_block_sizes_and_absurd_sizes_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let vhd = sample(dir.path());
    patch_header(&vhd, |h| h.block_size = 3 * 1024 * 1024);
    expect_field(&vhd, "header", "blockSize");

    let vhd = sample(dir.path());
    patch_header(&vhd, |h| h.max_table_entries = u32::MAX);
    expect_field(&vhd, "header", "maxTableEntries");

    let vhd = sample(dir.path());
    patch_header(&vhd, |h| h.max_table_entries = 1);
    expect_field(&vhd, "header", "maxTableEntries");

    let vhd = sample(dir.path());
    patch_footer(&vhd, |b| {
        b[48..56].copy_from_slice(&(1u64 << 60).to_be_bytes());
        fix_footer_checksum(b);
    });
    expect_field(&vhd, "footer", "currentSize");

    let vhd = sample(dir.path());
    patch_header(&vhd, |h| h.table_offset = 1 << 50);
    assert!(matches!(
        VhdFile::open(&vhd),
        Err(Error::Truncated { what: "BAT", .. })
    ));
}

#[test]
fn aliases_that_leave_their_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["../elsewhere", "/etc", ""] {
        let alias = dir.path().join("x.alias.vhd");
        std::fs::write(&alias, target).unwrap();
        match VhdDirectory::open(&alias) {
            Err(Error::InvalidVhd {
                structure: "alias",
                field: "target",
                ..
            }) => {}
            other => panic!("{target:?}: expected an alias error, got {:?}", other.err()),
        }
    }
}

#[test]
fn randomly_damaged_files_never_panic() {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_with(&dir.path().join("in.raw"), 3 * MIB, &[(0, 3 * MIB)], 8);
    let original = std::fs::read(vhd_from_raw(&raw, &dir.path().join("disk.vhd"))).unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    let damaged = dir.path().join("damaged.vhd");
    for _ in 0..300 {
        let mut bytes = original.clone();
        for _ in 0..rng.random_range(1..8) {
            // Mostly hit the metadata, where the parser's decisions are.
            let at = if rng.random_bool(0.8) {
                rng.random_range(0..2048)
            } else {
                rng.random_range(0..bytes.len())
            };
            bytes[at] = rng.random();
        }
        if rng.random_bool(0.2) {
            bytes.truncate(rng.random_range(0..bytes.len()));
        }
        std::fs::write(&damaged, &bytes).unwrap();
        lifeboat_formats::fuzzing::read_vhd_file(&damaged);
    }
}

#[test]
fn footers_and_headers_parse_any_bytes_without_panicking() {
    use rand::{RngCore, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(10);
    let (mut footer, mut header) = ([0u8; 512], [0u8; 1024]);
    for _ in 0..2000 {
        rng.fill_bytes(&mut footer);
        rng.fill_bytes(&mut header);
        footer[..8].copy_from_slice(b"conectix");
        header[..8].copy_from_slice(b"cxsparse");
        let _ = Footer::parse(&footer, Path::new("f"));
        let _ = Header::parse(&header, Path::new("h"));
    }
    let _ = VhdChain::open(Path::new("/nonexistent/x.vhd"))
        .err()
        .unwrap();
}
