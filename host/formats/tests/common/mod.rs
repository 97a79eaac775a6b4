//! Helpers shared by the integration tests: sample disks, `qemu-img`, and byte comparisons.
#![allow(dead_code)]

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use lifeboat_formats::disk::DiskRead;
use lifeboat_formats::raw::RawDisk;
use lifeboat_formats::vhd::{
    NewVhd, ParentLink, VhdChain, VhdFileWriter, write_delta, write_dynamic,
};
use rand::{Rng, RngCore, SeedableRng, rngs::StdRng};

pub const MIB: u64 = 1024 * 1024;

/// Creates a sparse raw image of `size` bytes with random data written at `extents` (offset, len).
pub fn raw_with(path: &Path, size: u64, extents: &[(u64, u64)], seed: u64) -> PathBuf {
    let file = std::fs::File::create(path).unwrap();
    file.set_len(size).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    for &(offset, len) in extents {
        let mut data = vec![0u8; len as usize];
        rng.fill_bytes(&mut data);
        file.write_all_at(&data, offset).unwrap();
    }
    path.to_path_buf()
}

/// A copy of the raw image `from` at `to` with random data written over `extents`.
pub fn raw_changed(from: &Path, to: &Path, extents: &[(u64, u64)], seed: u64) -> PathBuf {
    std::fs::copy(from, to).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(to).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    for &(offset, len) in extents {
        let mut data = vec![0u8; len as usize];
        rng.fill_bytes(&mut data);
        file.write_all_at(&data, offset).unwrap();
    }
    to.to_path_buf()
}

/// `count` random extents of up to `max_len` bytes inside `size`, at sector granularity.
pub fn random_extents(size: u64, count: usize, max_len: u64, seed: u64) -> Vec<(u64, u64)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let len = rng.random_range(1..=max_len / 512) * 512;
            let offset = rng.random_range(0..(size - len) / 512) * 512;
            (offset, len)
        })
        .collect()
}

/// Reads a whole disk through [`DiskRead`].
pub fn read_all(disk: &mut dyn DiskRead) -> Vec<u8> {
    let mut out = vec![0u8; disk.virtual_size() as usize];
    disk.read_at(0, &mut out).unwrap();
    out
}

/// Writes a dynamic VHD of the raw image `raw` at `vhd`.
pub fn vhd_from_raw(raw: &Path, vhd: &Path) -> PathBuf {
    let mut source = RawDisk::open(raw).unwrap();
    let new = NewVhd::dynamic(source.virtual_size());
    write_dynamic(
        &mut source,
        Box::new(VhdFileWriter::create(vhd, &new).unwrap()),
        &mut |_, _| {},
    )
    .unwrap();
    vhd.to_path_buf()
}

/// Writes a differencing VHD at `child` holding what changed from the chain `base` to the raw `new`.
pub fn delta_vhd(base: &Path, new: &Path, child: &Path) -> PathBuf {
    let mut base_chain = VhdChain::open(base).unwrap();
    let mut new_disk = RawDisk::open(new).unwrap();
    let link: ParentLink = lifeboat_formats::vhd::parent_link(&base_chain, child).unwrap();
    let spec = NewVhd::differencing(new_disk.virtual_size(), link);
    write_delta(
        &mut base_chain,
        &mut new_disk,
        Box::new(VhdFileWriter::create(child, &spec).unwrap()),
        &mut |_, _| {},
    )
    .unwrap();
    child.to_path_buf()
}

/// Runs `qemu-img` with `args`, failing the test with its output when it fails.
pub fn qemu_img(args: &[&str]) {
    let output = Command::new("qemu-img").args(args).output().expect(
        "qemu-img is needed for the cross-checks (Debian package qemu-utils; .ci/run installs it)",
    );
    assert!(
        output.status.success(),
        "qemu-img {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Converts a VHD to raw with qemu-img, telling it to use the footer's size (not CHS geometry).
pub fn qemu_vhd_to_raw(vhd: &Path, raw: &Path) {
    let opts = format!(
        "driver=vpc,force_size_calc=current_size,file.filename={}",
        vhd.display()
    );
    qemu_img(&[
        "convert",
        "--image-opts",
        &opts,
        "-O",
        "raw",
        raw.to_str().unwrap(),
    ]);
}

/// Asserts two files have the same bytes, reporting the first difference.
pub fn assert_same_bytes(a: &Path, b: &Path) {
    let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert_eq!(
        x.len(),
        y.len(),
        "{} and {} differ in length",
        a.display(),
        b.display()
    );
    if let Some(at) = x.iter().zip(&y).position(|(p, q)| p != q) {
        panic!(
            "{} and {} differ first at byte {at}",
            a.display(),
            b.display()
        );
    }
}

/// Byte offset of block `block` (its bitmap) in a VHD file whose BAT is at 1536, read from the BAT.
pub fn block_offset(vhd: &Path, block: u32) -> u64 {
    let mut entry = [0u8; 4];
    std::fs::File::open(vhd)
        .unwrap()
        .read_exact_at(&mut entry, 1536 + 4 * u64::from(block))
        .unwrap();
    u64::from(u32::from_be_bytes(entry)) * 512
}
