//! VHD directories: the layout Xen Orchestra writes (brotli chunks, bit-array BAT, block files,
//! alias), round trips with VHD files, and the maximum VHD size.

mod common;

use std::io::Read;

use common::*;
use lifeboat_formats::disk::DiskRead;
use lifeboat_formats::raw::RawDisk;
use lifeboat_formats::vhd::{
    ChunkFilter, MAX_VIRTUAL_SIZE, NewVhd, Vhd, VhdChain, VhdDirectoryWriter, VhdFile,
    VhdFileWriter, write_dynamic,
};

#[test]
fn a_vhd_directory_has_xen_orchestras_layout() {
    let dir = tempfile::tempdir().unwrap();
    let size = 64 * MIB;
    let raw = raw_with(&dir.path().join("in.raw"), size, &[(0, 3 * MIB)], 60);
    let alias = dir.path().join("20240106T000000Z.alias.vhd");
    let writer =
        VhdDirectoryWriter::create(&alias, &NewVhd::dynamic(size), ChunkFilter::Brotli).unwrap();
    write_dynamic(
        &mut RawDisk::open(&raw).unwrap(),
        Box::new(writer),
        &mut |_, _| {},
    )
    .unwrap();

    assert_eq!(
        std::fs::read_to_string(&alias).unwrap(),
        "data/20240106T000000Z.vhd"
    );
    let data = dir.path().join("data/20240106T000000Z.vhd");
    assert_eq!(
        std::fs::read_to_string(data.join("chunk-filters.json")).unwrap(),
        r#"["brotli"]"#
    );
    let unbrotli = |name: &str| {
        let mut out = Vec::new();
        brotli_decompress(&std::fs::read(data.join(name)).unwrap(), &mut out);
        out
    };
    let bat = unbrotli("bat");
    assert_eq!(
        bat.len(),
        32,
        "one byte per BAT entry, as Xen Orchestra sizes it"
    );
    assert_eq!(
        bat[0], 0xc0,
        "blocks 0 and 1 allocated, most significant bit first"
    );
    assert_eq!(unbrotli("blocks/0/1").len(), 2 * MIB as usize + 512);
    assert_eq!(&unbrotli("footer")[..8], b"conectix");
    assert_eq!(&unbrotli("header")[..8], b"cxsparse");

    let mut chain = VhdChain::open(&alias).unwrap();
    assert_eq!(read_all(&mut chain), std::fs::read(&raw).unwrap());
}

#[test]
fn file_to_directory_to_file_keeps_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let size = 30 * MIB + 4096;
    let raw = raw_with(
        &dir.path().join("in.raw"),
        size,
        &random_extents(size, 8, 2 * MIB, 61),
        61,
    );
    let vhd = vhd_from_raw(&raw, &dir.path().join("a.vhd"));
    for filter in [ChunkFilter::Brotli, ChunkFilter::Gzip, ChunkFilter::None] {
        let alias = dir.path().join(format!("{filter:?}.alias.vhd"));
        let mut source = VhdChain::open(&vhd).unwrap();
        let writer = VhdDirectoryWriter::create(&alias, &NewVhd::dynamic(size), filter).unwrap();
        write_dynamic(&mut source, Box::new(writer), &mut |_, _| {}).unwrap();
        let back = dir.path().join(format!("{filter:?}.vhd"));
        let mut from_dir = VhdChain::open(&alias).unwrap();
        write_dynamic(
            &mut from_dir,
            Box::new(VhdFileWriter::create(&back, &NewVhd::dynamic(size)).unwrap()),
            &mut |_, _| {},
        )
        .unwrap();
        let raw_back = dir.path().join("back.raw");
        qemu_vhd_to_raw(&back, &raw_back);
        assert_same_bytes(&raw, &raw_back);
    }
}

#[test]
fn the_largest_vhd_is_written_and_read_sparsely() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("max.vhd");
    let raw = raw_with(
        &dir.path().join("max.raw"),
        MAX_VIRTUAL_SIZE,
        &[(MAX_VIRTUAL_SIZE - MIB, MIB)],
        62,
    );
    write_dynamic(
        &mut RawDisk::open(&raw).unwrap(),
        Box::new(VhdFileWriter::create(&path, &NewVhd::dynamic(MAX_VIRTUAL_SIZE)).unwrap()),
        &mut |_, _| {},
    )
    .unwrap();
    let file = VhdFile::open(&path).unwrap();
    assert_eq!(file.footer().current_size, MAX_VIRTUAL_SIZE);
    assert_eq!(file.allocated_blocks(), 1);
    let mut chain = VhdChain::open(&path).unwrap();
    let mut tail = vec![0u8; MIB as usize];
    chain.read_at(MAX_VIRTUAL_SIZE - MIB, &mut tail).unwrap();
    let mut expected = vec![0u8; MIB as usize];
    RawDisk::open(&raw)
        .unwrap()
        .read_at(MAX_VIRTUAL_SIZE - MIB, &mut expected)
        .unwrap();
    assert_eq!(tail, expected);

    let too_big = NewVhd::dynamic(MAX_VIRTUAL_SIZE + 512);
    assert!(VhdFileWriter::create(dir.path().join("big.vhd"), &too_big).is_err());
}

fn brotli_decompress(input: &[u8], out: &mut Vec<u8>) {
    brotli::Decompressor::new(input, 4096)
        .read_to_end(out)
        .unwrap();
}
