//! The sequential VHD reader (uploads): the crate's own VHDs and qemu's read back to their disks,
//! deltas apply onto their base, and truncated or damaged streams are typed errors, never a
//! success and never a panic.

mod common;

use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::*;
use lifeboat_formats::Error;
use lifeboat_formats::raw::RawDisk;
use lifeboat_formats::vhd::{
    DiskType, Footer, NewVhd, VhdChain, VhdStream, VhdStreamReader, parent_link,
};

const LABEL: &str = "import_raw_vdi body";

/// Writes the sectors that `stream` holds over `disk`, as xapi's `import_raw_vdi?format=vhd`
/// does; returns the bytes consumed.
fn apply(stream: impl Read, disk: &mut [u8]) -> Result<u64, Error> {
    let mut reader = VhdStreamReader::new(stream, LABEL)?;
    assert_eq!(reader.footer().current_size, disk.len() as u64);
    while let Some(block) = reader.next_block()? {
        for (offset, run) in block.runs() {
            disk[offset as usize..offset as usize + run.len()].copy_from_slice(run);
        }
    }
    Ok(reader.position())
}

/// Reads `bytes` to the end and returns the error, failing the test on success.
fn read_error(bytes: &[u8]) -> Error {
    let mut reader = match VhdStreamReader::new(bytes, LABEL) {
        Ok(reader) => reader,
        Err(err) => return err,
    };
    loop {
        match reader.next_block() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("{} bytes read as a whole VHD", bytes.len()),
            Err(err) => return err,
        }
    }
}

fn expect_field(err: Error, structure: &str, field: &str) {
    match err {
        Error::InvalidVhd {
            path,
            structure: s,
            field: f,
            problem,
        } => {
            assert_eq!((s, f), (structure, field), "{problem}");
            assert_eq!(path, Path::new(LABEL));
        }
        other => panic!("expected invalid {structure} `{field}`, got {other}"),
    }
}

#[test]
fn dynamic_vhds_from_the_file_writer_and_the_stream_read_back() {
    let dir = tempfile::tempdir().unwrap();
    // A partial last block.
    let size = 13 * MIB + 1536;
    let raw = raw_with(
        &dir.path().join("in.raw"),
        size,
        &random_extents(size, 8, MIB, 11),
        11,
    );
    let original = std::fs::read(&raw).unwrap();

    let vhd = vhd_from_raw(&raw, &dir.path().join("disk.vhd"));
    let mut disk = vec![0u8; size as usize];
    let consumed = apply(std::fs::File::open(&vhd).unwrap(), &mut disk).unwrap();
    assert_eq!(consumed, std::fs::metadata(&vhd).unwrap().len());
    assert!(disk == original);

    let stream = VhdStream::dynamic(RawDisk::open(&raw).unwrap(), NewVhd::dynamic(size)).unwrap();
    let len = stream.len();
    let mut disk = vec![0u8; size as usize];
    assert_eq!(apply(stream, &mut disk).unwrap(), len);
    assert!(disk == original);
}

#[test]
fn differencing_vhds_apply_onto_their_base() {
    let dir = tempfile::tempdir().unwrap();
    let size = 9 * MIB;
    let base_raw = raw_with(
        &dir.path().join("base.raw"),
        size,
        &random_extents(size, 6, MIB, 12),
        12,
    );
    let new_raw = raw_changed(
        &base_raw,
        &dir.path().join("new.raw"),
        &random_extents(size, 3, 300 * 1024, 13),
        13,
    );
    let base_vhd = vhd_from_raw(&base_raw, &dir.path().join("base.vhd"));
    let child = delta_vhd(&base_vhd, &new_raw, &dir.path().join("child.vhd"));
    let (base, new) = (
        std::fs::read(&base_raw).unwrap(),
        std::fs::read(&new_raw).unwrap(),
    );
    let base_uuid = Footer::parse(
        &std::fs::read(&base_vhd).unwrap()[..512].try_into().unwrap(),
        &base_vhd,
    )
    .unwrap()
    .uuid;

    let reader = VhdStreamReader::new(std::fs::File::open(&child).unwrap(), LABEL).unwrap();
    assert_eq!(reader.footer().disk_type, DiskType::Differencing);
    assert_eq!(reader.header().parent_uuid, base_uuid);
    assert_eq!(reader.header().parent_name, "base.vhd");
    let mut disk = base.clone();
    apply(std::fs::File::open(&child).unwrap(), &mut disk).unwrap();
    assert!(disk == new);

    // The same delta as a stream.
    let chain = VhdChain::open(&base_vhd).unwrap();
    let link = parent_link(&chain, &dir.path().join("child2.vhd")).unwrap();
    let mut base_disk = RawDisk::open(&base_raw).unwrap();
    let stream = VhdStream::delta(&mut base_disk, RawDisk::open(&new_raw).unwrap(), link).unwrap();
    let mut disk = base;
    apply(stream, &mut disk).unwrap();
    assert!(disk == new);
}

#[test]
fn qemu_vhds_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let size = 24 * MIB;
    let raw = raw_with(
        &dir.path().join("in.raw"),
        size,
        &random_extents(size, 7, 3 * MIB, 14),
        14,
    );
    let vhd = dir.path().join("qemu.vhd");
    qemu_img(&[
        "convert",
        "-f",
        "raw",
        "-O",
        "vpc",
        "-o",
        "subformat=dynamic",
        raw.to_str().unwrap(),
        vhd.to_str().unwrap(),
    ]);
    let reader = VhdStreamReader::new(std::fs::File::open(&vhd).unwrap(), LABEL).unwrap();
    assert_eq!(&reader.footer().creator_application, b"qemu");
    // qemu rounds the size up to its CHS geometry.
    let mut disk = vec![0u8; reader.footer().current_size as usize];
    assert!(disk.len() as u64 >= size);
    let consumed = apply(std::fs::File::open(&vhd).unwrap(), &mut disk).unwrap();
    assert_eq!(consumed, std::fs::metadata(&vhd).unwrap().len());
    assert!(disk[..size as usize] == std::fs::read(&raw).unwrap()[..]);
    assert!(disk[size as usize..].iter().all(|&b| b == 0));
}

#[test]
fn fixed_vhds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_with(&dir.path().join("in.raw"), MIB, &[(0, 4096)], 15);
    let vhd = dir.path().join("fixed.vhd");
    qemu_img(&[
        "convert",
        "-f",
        "raw",
        "-O",
        "vpc",
        "-o",
        "subformat=fixed",
        raw.to_str().unwrap(),
        vhd.to_str().unwrap(),
    ]);
    // A fixed disk has no footer copy in front: the stream starts with disk data.
    let bytes = std::fs::read(&vhd).unwrap();
    expect_field(read_error(&bytes), "footer", "cookie");
    // Its footer, put in front, names the disk type.
    let mut footer = bytes[bytes.len() - 512..].to_vec();
    footer.extend_from_slice(&bytes);
    expect_field(read_error(&footer), "footer", "diskType");
}

/// A small dynamic VHD: three blocks, the last one partial.
fn sample(dir: &Path) -> Vec<u8> {
    let raw = raw_with(&dir.join("in.raw"), 5 * MIB, &[(0, 5 * MIB)], 16);
    std::fs::read(vhd_from_raw(&raw, &dir.join("disk.vhd"))).unwrap()
}

#[test]
fn a_stream_cut_anywhere_is_a_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample(dir.path());
    let len = bytes.len();
    let block = |b: u32| block_offset(&dir.path().join("disk.vhd"), b) as usize;
    let mut cuts: Vec<usize> = (0..2600).step_by(7).collect();
    for at in [block(0), block(1), block(2), len - 512] {
        cuts.extend(at - 3..at + 3);
        cuts.extend([at + 511, at + 512, at + 513]);
    }
    cuts.extend((0..len).step_by(65_537));
    cuts.extend(len - 520..len);
    cuts.retain(|&cut| cut < len);
    assert!(cuts.len() > 500);
    for cut in cuts {
        match read_error(&bytes[..cut]) {
            Error::Truncated { needed, len, .. } => {
                assert_eq!(len, cut as u64);
                assert!(needed > len, "cut at {cut}: needs {needed}");
            }
            other => panic!("cut at {cut}: expected a truncation, got {other}"),
        }
    }
}

#[test]
fn a_bat_with_duplicate_or_overlapping_entries_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = sample(dir.path());
    let first = bytes[1536..1540].to_vec();
    bytes[1540..1544].copy_from_slice(&first);
    let err = read_error(&bytes);
    assert!(err.to_string().contains("overlaps"), "{err}");
    expect_field(err, "BAT", "entry");

    let sector = u32::from_be_bytes(first.try_into().unwrap()) + 1;
    bytes[1540..1544].copy_from_slice(&sector.to_be_bytes());
    expect_field(read_error(&bytes), "BAT", "entry");

    // A block that would start inside the BAT (sectors 3..4).
    bytes[1540..1544].copy_from_slice(&3u32.to_be_bytes());
    expect_field(read_error(&bytes), "BAT", "entry");
}

#[test]
fn a_bat_inside_the_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = sample(dir.path());
    let header = dir.path().join("disk.vhd");
    let file = lifeboat_formats::vhd::VhdFile::open(&header).unwrap();
    let mut h = lifeboat_formats::vhd::Vhd::header(&file).clone();
    h.table_offset = 1024;
    bytes[512..1536].copy_from_slice(&h.to_bytes(&header).unwrap());
    expect_field(read_error(&bytes), "header", "tableOffset");
}

#[test]
fn partial_bitmaps_give_only_their_sectors() {
    let dir = tempfile::tempdir().unwrap();
    let size = 5 * MIB;
    let raw = raw_with(&dir.path().join("in.raw"), size, &[(0, size)], 17);
    let original = std::fs::read(&raw).unwrap();
    let vhd = vhd_from_raw(&raw, &dir.path().join("disk.vhd"));
    let at = block_offset(&vhd, 1);
    let mut bitmap = [0u8; 512];
    // Sectors 0..8 and 12, and the block's last sector.
    bitmap[0] = 0xFF;
    bitmap[1] = 0b0000_1000;
    bitmap[511] = 0x01;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&vhd)
        .unwrap()
        .write_all_at(&bitmap, at)
        .unwrap();

    let mut reader = VhdStreamReader::new(std::fs::File::open(&vhd).unwrap(), LABEL).unwrap();
    let mut runs = Vec::new();
    while let Some(block) = reader.next_block().unwrap() {
        if block.index() == 1 {
            assert_eq!(block.bitmap(), &bitmap[..]);
            runs.extend(block.runs().map(|(offset, run)| (offset, run.to_vec())));
        }
    }
    let start = 2 * MIB as usize;
    let expected = [(0, 8), (12, 13), (4095, 4096)].map(|(from, to)| {
        let range = start + from * 512..start + to * 512;
        (range.start as u64, original[range].to_vec())
    });
    assert_eq!(runs, expected);
}

#[test]
fn randomly_damaged_streams_never_panic_and_never_succeed_cut_short() {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let dir = tempfile::tempdir().unwrap();
    let original = sample(dir.path());
    let mut rng = StdRng::seed_from_u64(18);
    for _ in 0..300 {
        let mut bytes = original.clone();
        for _ in 0..rng.random_range(1..8) {
            // Mostly hit the metadata, where the reader's decisions are.
            let at = if rng.random_bool(0.8) {
                rng.random_range(0..2048)
            } else {
                rng.random_range(0..bytes.len())
            };
            bytes[at] = rng.random();
        }
        let cut = rng.random_bool(0.2);
        if cut {
            bytes.truncate(rng.random_range(0..bytes.len()));
        }
        lifeboat_formats::fuzzing::read_vhd_stream(&bytes);
        if cut {
            // Whatever the damage, a stream without its trailing footer is never whole.
            let err = read_error(&bytes);
            assert!(
                matches!(err, Error::Truncated { .. } | Error::InvalidVhd { .. }),
                "{err}"
            );
        }
    }
}
