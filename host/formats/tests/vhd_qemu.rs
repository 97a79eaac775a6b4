//! Cross-checks with qemu-img, an independent VHD implementation: our dynamic VHDs read back by
//! qemu give the original bytes, and qemu's dynamic VHDs read by us give the original bytes.

mod common;

use common::*;
use lifeboat_formats::raw::RawDisk;
use lifeboat_formats::vhd::{Geometry, NewVhd, Vhd, VhdChain, VhdFile, VhdStream};

#[test]
fn our_dynamic_vhd_reads_back_identically_in_qemu() {
    let dir = tempfile::tempdir().unwrap();
    // 37 MiB + 3 sectors: a partial last block, and a size that CHS cannot express.
    let size = 37 * MIB + 1536;
    let raw = raw_with(
        &dir.path().join("in.raw"),
        size,
        &random_extents(size, 12, MIB, 1),
        1,
    );
    let vhd = vhd_from_raw(&raw, &dir.path().join("disk.vhd"));
    let back = dir.path().join("back.raw");
    qemu_vhd_to_raw(&vhd, &back);
    assert_same_bytes(&raw, &back);
}

#[test]
fn qemu_uses_chs_geometry_and_agrees_on_geometry_exact_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let size = Geometry::for_size(64 * MIB).addressable_bytes();
    let raw = raw_with(
        &dir.path().join("in.raw"),
        size,
        &random_extents(size, 8, MIB, 2),
        2,
    );
    let vhd = vhd_from_raw(&raw, &dir.path().join("disk.vhd"));
    let back = dir.path().join("back.raw");
    qemu_img(&[
        "convert",
        "-f",
        "vpc",
        "-O",
        "raw",
        vhd.to_str().unwrap(),
        back.to_str().unwrap(),
    ]);
    assert_same_bytes(&raw, &back);
}

#[test]
fn qemu_dynamic_vhds_read_identically_with_ours() {
    let dir = tempfile::tempdir().unwrap();
    let size = 48 * MIB;
    let raw = raw_with(
        &dir.path().join("in.raw"),
        size,
        &random_extents(size, 10, 3 * MIB, 3),
        3,
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
    let file = VhdFile::open(&vhd).unwrap();
    assert_eq!(&file.footer().creator_application, b"qemu");
    assert_eq!(file.header().table_offset, 1536);
    let mut chain = VhdChain::open(&vhd).unwrap();
    let ours = read_all(&mut chain);
    let original = std::fs::read(&raw).unwrap();
    // qemu rounds the size to CHS geometry: it may add a tail of zeros.
    assert!(ours.len() as u64 >= size);
    assert_eq!(&ours[..size as usize], &original[..]);
    assert!(ours[size as usize..].iter().all(|&b| b == 0));
}

#[test]
fn the_stream_is_byte_identical_to_the_file_and_qemu_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let size = 21 * MIB;
    let raw = raw_with(
        &dir.path().join("in.raw"),
        size,
        &random_extents(size, 6, MIB, 4),
        4,
    );
    let new = NewVhd::dynamic(size);
    let file_path = dir.path().join("file.vhd");
    let mut source = RawDisk::open(&raw).unwrap();
    lifeboat_formats::vhd::write_dynamic(
        &mut source,
        Box::new(lifeboat_formats::vhd::VhdFileWriter::create(&file_path, &new).unwrap()),
        &mut |_, _| {},
    )
    .unwrap();
    let mut stream = VhdStream::dynamic(RawDisk::open(&raw).unwrap(), new).unwrap();
    let announced = stream.len();
    let mut bytes = Vec::new();
    std::io::copy(&mut stream, &mut bytes).unwrap();
    assert_eq!(bytes.len() as u64, announced);
    assert_eq!(bytes, std::fs::read(&file_path).unwrap());
    let streamed = dir.path().join("streamed.vhd");
    std::fs::write(&streamed, &bytes).unwrap();
    let back = dir.path().join("back.raw");
    qemu_vhd_to_raw(&streamed, &back);
    assert_same_bytes(&raw, &back);
}
