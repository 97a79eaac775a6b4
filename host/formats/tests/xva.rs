//! End-to-end tests of the XVA writer and reader: round trips through every compression, the
//! archive layout xapi expects, xapi's quirks in hand-built archives, and corrupt input.

use std::io::Read;

use lifeboat_formats::disk::{DiskRead, is_zero};
use lifeboat_formats::raw::{RawDisk, RawWriter};
use lifeboat_formats::xva::{
    CHUNK_SIZE, Compression, OvaXml, XvaDisk, XvaError, XvaSink, XvaSummary, XvaWriter, check_xva,
    fuzz_read, read_xva,
};
use lifeboat_formats::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use xxhash_rust::xxh64::xxh64;

const MIB: usize = CHUNK_SIZE as usize;

/// An in-memory disk that counts reads and, if `sparse`, reports its all-zero ranges as holes.
struct MemDisk {
    data: Vec<u8>,
    sparse: bool,
    reads: usize,
}

impl MemDisk {
    fn new(data: Vec<u8>) -> Self {
        MemDisk {
            data,
            sparse: false,
            reads: 0,
        }
    }
}

impl DiskRead for MemDisk {
    fn virtual_size(&self) -> u64 {
        self.data.len() as u64
    }
    fn may_hold_data(&mut self, offset: u64, len: u64) -> Result<bool> {
        Ok(!self.sparse || !is_zero(&self.data[offset as usize..(offset + len) as usize]))
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.reads += 1;
        buf.copy_from_slice(&self.data[offset as usize..offset as usize + buf.len()]);
        Ok(())
    }
}

/// Collects every disk in memory and checks the order of the sink calls.
#[derive(Default)]
struct CollectSink {
    archive: Option<OvaXml>,
    disks: Vec<(XvaDisk, Vec<u8>)>,
    in_disk: bool,
    last_end: u64,
}

impl XvaSink for CollectSink {
    fn begin_archive(&mut self, ova: &OvaXml) -> Result<()> {
        assert!(self.archive.is_none(), "begin_archive called twice");
        self.archive = Some(ova.clone());
        Ok(())
    }
    fn begin_disk(&mut self, disk: &XvaDisk) -> Result<()> {
        assert!(self.archive.is_some(), "begin_disk before begin_archive");
        assert!(!self.in_disk, "begin_disk inside a disk");
        self.in_disk = true;
        self.last_end = 0;
        self.disks
            .push((disk.clone(), vec![0; disk.virtual_size as usize]));
        Ok(())
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        assert!(self.in_disk, "write_at outside a disk");
        assert!(
            offset >= self.last_end,
            "chunks must come in increasing offsets"
        );
        self.last_end = offset + data.len() as u64;
        let (_, image) = self.disks.last_mut().expect("a disk was begun");
        image[offset as usize..offset as usize + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn end_disk(&mut self, disk: &XvaDisk) -> Result<()> {
        assert!(self.in_disk, "end_disk outside a disk");
        assert_eq!(self.disks.last().map(|(d, _)| d), Some(disk));
        self.in_disk = false;
        Ok(())
    }
}

fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// Disks exercising the chunking rules: sizes not multiple of 1 MiB, zero chunks first, in the
/// middle and last, a disk smaller than a chunk, an empty disk.
fn sample_disks() -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut a = vec![0u8; 3 * MIB + 12345];
    a[MIB..2 * MIB].copy_from_slice(&random_bytes(&mut rng, MIB));
    let mut b = vec![0u8; 2 * MIB];
    b[2 * MIB - 1] = 1;
    let c = random_bytes(&mut rng, 700);
    let d = Vec::new();
    let mut e = vec![0u8; 5 * MIB];
    e[2 * MIB + 10] = 0xab;
    vec![a, b, c, d, e]
}

/// Chunk entries the writer must produce for `sample_disks`: a: 0, 1, 3; b: 0, 1; c: 0; d: 0;
/// e: 0, 2, 4.
const SAMPLE_CHUNKS: u64 = 10;

fn ova_for(images: &[Vec<u8>]) -> OvaXml {
    let disks: Vec<(u64, String)> = images
        .iter()
        .enumerate()
        .map(|(i, image)| (image.len() as u64, format!("disk {i}")))
        .collect();
    OvaXml::for_vm("test vm", &disks)
}

fn pack(images: &[Vec<u8>], compression: Compression) -> (Vec<u8>, u64) {
    let ova = ova_for(images);
    let mut disks: Vec<MemDisk> = images.iter().cloned().map(MemDisk::new).collect();
    let mut refs: Vec<&mut dyn DiskRead> =
        disks.iter_mut().map(|d| d as &mut dyn DiskRead).collect();
    let writer = XvaWriter::new(Vec::new(), compression).expect("writer");
    let (bytes, summary) = writer
        .write(&ova, &mut refs, &mut |_, _| {})
        .expect("write");
    (bytes, summary.chunks)
}

fn unpack(bytes: &[u8]) -> Result<(XvaSummary, CollectSink)> {
    let mut sink = CollectSink::default();
    let summary = read_xva(bytes, &mut sink)?;
    assert_eq!(sink.archive.as_ref(), Some(&summary.ova));
    Ok((summary, sink))
}

fn xva_error(result: Result<impl std::fmt::Debug>) -> XvaError {
    match result {
        Err(Error::Xva(error)) => error,
        other => panic!("expected an XVA error, got {other:?}"),
    }
}

/// Builds archives entry by entry with the `tar` crate, independently of the crate's writer.
struct HandBuilt {
    builder: tar::Builder<Vec<u8>>,
}

impl HandBuilt {
    fn new() -> Self {
        HandBuilt {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn with_ova(ova: &OvaXml) -> Self {
        let mut xml = Vec::new();
        ova.write_xml(&mut xml).expect("in-memory write");
        let mut archive = HandBuilt::new();
        archive.entry("ova.xml", &xml);
        archive
    }

    fn entry(&mut self, name: &str, data: &[u8]) -> &mut Self {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        self.builder
            .append_data(&mut header, name, data)
            .expect("in-memory tar");
        self
    }

    /// A chunk entry followed by its `.xxhash` entry.
    fn chunk(&mut self, name: &str, data: &[u8]) -> &mut Self {
        let checksum = format!("{:016X}", xxh64(data, 0));
        self.entry(name, data)
            .entry(&format!("{name}.xxhash"), checksum.as_bytes())
    }

    fn finish(self) -> Vec<u8> {
        self.builder.into_inner().expect("in-memory tar")
    }
}

/// Where the data of the entry `name` starts in the plain archive `bytes`.
fn entry_position(bytes: &[u8], name: &str) -> usize {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .expect("tar")
        .map(|entry| entry.expect("entry"))
        .find(|entry| entry.path().expect("path").to_str() == Some(name))
        .unwrap_or_else(|| panic!("no entry {name}"))
        .raw_file_position() as usize
}

/// `ova.xml` for one disk of `size` bytes, whose id is `Ref:2`.
fn one_disk_ova(size: u64) -> OvaXml {
    let ova = OvaXml::for_vm("vm", &[(size, "disk".into())]);
    assert_eq!(ova.disks().expect("own records")[0].id, "Ref:2");
    ova
}

#[test]
fn round_trips_through_every_compression() {
    let images = sample_disks();
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let (bytes, written_chunks) = pack(&images, compression);
        assert_eq!(written_chunks, SAMPLE_CHUNKS);
        let (summary, sink) = unpack(&bytes).expect("own archive");
        assert_eq!(summary.compression, compression);
        assert_eq!(summary.chunks, SAMPLE_CHUNKS);
        assert_eq!(summary.checksums_verified, SAMPLE_CHUNKS);
        assert_eq!(summary.disks.len(), images.len());
        let read: Vec<&Vec<u8>> = sink.disks.iter().map(|(_, data)| data).collect();
        let expected: Vec<&Vec<u8>> = images.iter().collect();
        assert!(read == expected, "{compression:?}: disk data differs");
        let names: Vec<&str> = sink
            .disks
            .iter()
            .map(|(d, _)| d.name_label.as_str())
            .collect();
        assert_eq!(names, ["disk 0", "disk 1", "disk 2", "disk 3", "disk 4"]);
    }
}

#[test]
fn writer_follows_xapi_layout() {
    let images = vec![{
        let mut image = vec![0u8; 2 * MIB + 100];
        image[0] = 1;
        image
    }];
    let (bytes, _) = pack(&images, Compression::None);
    assert_eq!(bytes.len() % 512, 0);
    assert!(bytes[bytes.len() - 1024..].iter().all(|&b| b == 0));

    let mut archive = tar::Archive::new(&bytes[..]);
    let mut entries = Vec::new();
    let mut data_of = std::collections::HashMap::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("data");
        entries.push((name.clone(), data.len()));
        data_of.insert(name, data);
    }
    assert_eq!(
        entries[1..],
        [
            ("Ref:2/00000000".to_owned(), MIB),
            ("Ref:2/00000000.xxhash".to_owned(), 16),
            ("Ref:2/00000002".to_owned(), 100),
            ("Ref:2/00000002.xxhash".to_owned(), 16),
        ]
    );
    assert_eq!(entries[0].0, "ova.xml");
    let first = &data_of["Ref:2/00000000"];
    assert_eq!(
        data_of["Ref:2/00000000.xxhash"],
        format!("{:016X}", xxh64(first, 0)).into_bytes()
    );
    let xml = String::from_utf8(data_of["ova.xml"].clone()).expect("UTF-8");
    assert!(xml.starts_with("<value><struct><member><name>version</name>"));
    assert!(xml.contains("<member><name>export_vsn</name><value>2</value></member>"));
}

#[test]
fn writer_skips_holes_without_reading_them() {
    let mut image = vec![0u8; 10 * MIB];
    image[4 * MIB + 3] = 9;
    let mut disk = MemDisk {
        data: image.clone(),
        sparse: true,
        reads: 0,
    };
    let ova = ova_for(std::slice::from_ref(&image));
    let mut progress = Vec::new();
    let (bytes, summary) = XvaWriter::new(Vec::new(), Compression::None)
        .expect("writer")
        .write(&ova, &mut [&mut disk], &mut |done, total| {
            progress.push((done, total))
        })
        .expect("write");
    assert_eq!(disk.reads, 1, "only the chunk holding data is read");
    assert_eq!(summary.chunks, 3);
    assert_eq!(summary.data_bytes, 3 * CHUNK_SIZE);
    let total = image.len() as u64;
    assert_eq!(progress.first(), Some(&(0, total)));
    assert_eq!(progress.last(), Some(&(total, total)));
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0));
    let (_, sink) = unpack(&bytes).expect("own archive");
    assert!(sink.disks[0].1 == image);
}

#[test]
fn writer_refuses_disks_that_do_not_match_ova_xml() {
    let ova = one_disk_ova(MIB as u64);
    let mut disk = MemDisk::new(vec![0; 100]);
    let writer = XvaWriter::new(Vec::new(), Compression::None).expect("writer");
    let error = xva_error(writer.write(&ova, &mut [&mut disk], &mut |_, _| {}));
    assert!(matches!(error, XvaError::DiskMismatch { entry, .. } if entry == "Ref:2"));
    let writer = XvaWriter::new(Vec::new(), Compression::None).expect("writer");
    let error = xva_error(writer.write(&ova, &mut [], &mut |_, _| {}));
    assert!(matches!(error, XvaError::DiskMismatch { .. }));
}

#[test]
fn unpacks_into_sparse_raw_images() {
    struct RawSink {
        dir: std::path::PathBuf,
        current: Option<RawWriter>,
    }
    impl XvaSink for RawSink {
        fn begin_disk(&mut self, disk: &XvaDisk) -> Result<()> {
            let path = self.dir.join(disk.id.replace(':', "_"));
            self.current = Some(RawWriter::create(path, disk.virtual_size)?);
            Ok(())
        }
        fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
            self.current
                .as_mut()
                .expect("a disk was begun")
                .write_at(offset, data)
        }
        fn end_disk(&mut self, _disk: &XvaDisk) -> Result<()> {
            self.current.take().expect("a disk was begun").finish()
        }
    }

    let images = sample_disks();
    let (bytes, _) = pack(&images, Compression::Zstd);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sink = RawSink {
        dir: dir.path().to_owned(),
        current: None,
    };
    let summary = read_xva(&bytes[..], &mut sink).expect("own archive");
    for (disk, image) in summary.disks.iter().zip(&images) {
        let mut raw = RawDisk::open(dir.path().join(disk.id.replace(':', "_"))).expect("image");
        assert_eq!(raw.virtual_size(), image.len() as u64);
        let mut data = vec![0; image.len()];
        raw.read_at(0, &mut data).expect("read");
        assert!(&data == image, "{} differs", disk.id);
    }
}

#[test]
fn keep_alive_empty_chunk_shifts_the_numbering() {
    let ova = one_disk_ova(4 * CHUNK_SIZE);
    let mut archive = HandBuilt::with_ova(&ova);
    archive
        .chunk("Ref:2/00000000", &[b'a'; MIB])
        .chunk("Ref:2/00000001", b"")
        .chunk("Ref:2/00000003", &[b'c'; MIB])
        .chunk("Ref:2/00000004", &[b'd'; MIB]);
    let (summary, sink) = unpack(&archive.finish()).expect("valid archive");
    assert_eq!(summary.chunks, 4);
    let image = &sink.disks[0].1;
    assert!(image[..MIB].iter().all(|&b| b == b'a'));
    assert!(image[MIB..2 * MIB].iter().all(|&b| b == 0));
    assert!(image[2 * MIB..3 * MIB].iter().all(|&b| b == b'c'));
    assert!(image[3 * MIB..].iter().all(|&b| b == b'd'));
}

#[test]
fn older_sha1_checksums_and_lowercase_hex_are_accepted() {
    use sha1::{Digest, Sha1};
    let ova = one_disk_ova(CHUNK_SIZE + 10);
    let first = vec![3u8; MIB];
    let last = vec![4u8; 10];
    let sha1: String = Sha1::digest(&first)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let lower_xxhash = format!("{:016x}", xxh64(&last, 0));
    let mut archive = HandBuilt::with_ova(&ova);
    archive
        .entry("Ref:2/00000000", &first)
        .entry("Ref:2/00000000.checksum", sha1.as_bytes())
        .entry("Ref:2/00000001", &last)
        .entry("Ref:2/00000001.xxhash", lower_xxhash.as_bytes());
    let (summary, sink) = unpack(&archive.finish()).expect("valid archive");
    assert_eq!(summary.checksums_verified, 2);
    assert!(sink.disks[0].1[..MIB] == first[..]);
    assert!(sink.disks[0].1[MIB..] == last[..]);
}

#[test]
fn reads_ova_xml_as_xapi_writes_it() {
    let xml = "<value><struct><member><name>version</name><value><struct>\
        <member><name>hostname</name><value>xcp-host</value></member>\
        <member><name>date</name><value>2024-05-01</value></member>\
        <member><name>product_version</name><value>8.3.0</value></member>\
        <member><name>product_brand</name><value>XCP-ng</value></member>\
        <member><name>build_number</name><value>release/yangtze</value></member>\
        <member><name>xapi_major</name><value>25</value></member>\
        <member><name>xapi_minor</name><value><i4>33</i4></value></member>\
        <member><name>export_vsn</name><value>2</value></member>\
        </struct></value></member>\
        <member><name>objects</name><value><array><data>\
        <value><struct><member><name>class</name><value>VDI</value></member>\
        <member><name>id</name><value>Ref:7</value></member>\
        <member><name>snapshot</name><value><struct>\
        <member><name>name_label</name><value>root &amp; boot</value></member>\
        <member><name>virtual_size</name><value>600</value></member>\
        </struct></value></member></struct></value>\
        </data></array></value></member></struct></value>";
    let mut archive = HandBuilt::new();
    archive
        .entry("ova.xml", xml.as_bytes())
        .chunk("Ref:7/00000000", &[1; 600]);
    let summary = check_xva(&archive.finish()[..]).expect("valid archive");
    assert_eq!(summary.ova.version.xapi_major, 25);
    assert_eq!(summary.ova.version.xapi_minor, 33);
    assert_eq!(summary.ova.version.product_brand, "XCP-ng");
    assert_eq!(
        summary.disks,
        [XvaDisk {
            id: "Ref:7".into(),
            virtual_size: 600,
            name_label: "root & boot".into()
        }]
    );
}

#[test]
fn flipped_data_byte_is_a_checksum_mismatch_naming_the_chunk() {
    let (mut bytes, _) = pack(&sample_disks(), Compression::None);
    let first_disk = &ova_for(&sample_disks()).disks().expect("own records")[0];
    let chunk = format!("{}/00000001", first_disk.id);
    let position = entry_position(&bytes, &chunk);
    bytes[position + 1000] ^= 0x40;
    let error = xva_error(check_xva(&bytes[..]));
    assert!(
        matches!(&error, XvaError::ChecksumMismatch { entry, .. } if *entry == chunk),
        "{error:?}"
    );
}

#[test]
fn first_entry_must_be_ova_xml() {
    let mut archive = HandBuilt::new();
    archive
        .entry("Ref:2/00000000", b"x")
        .entry("ova.xml", b"<value/>");
    let error = xva_error(check_xva(&archive.finish()[..]));
    assert!(matches!(error, XvaError::FirstEntryNotOvaXml { entry } if entry == "Ref:2/00000000"));

    let empty = HandBuilt::new().finish();
    assert!(matches!(
        xva_error(check_xva(&empty[..])),
        XvaError::Truncated { .. }
    ));
}

#[test]
fn truncated_archive_names_the_incomplete_disk() {
    let (bytes, _) = pack(&sample_disks(), Compression::None);
    let disks = ova_for(&sample_disks()).disks().expect("own records");
    // Cut before the header of the second disk's last chunk, inside that chunk's data, and
    // somewhere in the middle.
    let last_chunk = entry_position(&bytes, &format!("{}/00000001", disks[1].id));
    for (cut, disk) in [
        (last_chunk - 512, Some(&disks[1])),
        (last_chunk + 700, Some(&disks[1])),
        (bytes.len() / 2, None),
    ] {
        let error = xva_error(check_xva(&bytes[..cut]));
        let XvaError::Truncated { entry, .. } = &error else {
            panic!("cut at {cut}: expected Truncated, got {error:?}");
        };
        match disk {
            Some(disk) => assert_eq!(*entry, disk.id),
            None => assert!(disks.iter().any(|disk| disk.id == *entry), "{error:?}"),
        }
    }
    let (gzip, _) = pack(&sample_disks(), Compression::Gzip);
    let error = xva_error(check_xva(&gzip[..gzip.len() / 2]));
    assert!(
        matches!(error, XvaError::Truncated { .. } | XvaError::Read { .. }),
        "{error:?}"
    );
}

#[test]
fn missing_end_marker_is_truncation() {
    let (bytes, _) = pack(&[vec![1; 10]], Compression::None);
    let error = xva_error(check_xva(&bytes[..bytes.len() - 1024]));
    assert!(matches!(error, XvaError::Truncated { .. }), "{error:?}");
}

#[test]
fn chunk_numbers_must_increase() {
    let ova = one_disk_ova(4 * CHUNK_SIZE);
    for second in ["Ref:2/00000000", "Ref:2/00000001"] {
        let mut archive = HandBuilt::with_ova(&ova);
        archive
            .chunk("Ref:2/00000000", &[1; MIB])
            .chunk("Ref:2/00000002", &[1; MIB])
            .chunk(second, &[1; MIB]);
        let error = xva_error(check_xva(&archive.finish()[..]));
        assert!(
            matches!(&error, XvaError::ChunkOutOfOrder { entry, previous: 2, .. } if entry == second),
            "{error:?}"
        );
    }
}

#[test]
fn huge_declared_chunk_size_is_refused_before_reading() {
    let ova = one_disk_ova(1 << 50);
    let mut bytes = HandBuilt::with_ova(&ova).finish();
    bytes.truncate(bytes.len() - 1024);
    let mut header = tar::Header::new_ustar();
    header.set_path("Ref:2/00000000").expect("short path");
    header.set_size(1 << 40);
    header.set_cksum();
    bytes.extend_from_slice(header.as_bytes());
    let error = xva_error(check_xva(&bytes[..]));
    assert!(
        matches!(error, XvaError::EntryTooLarge { size, limit, .. } if size == 1 << 40 && limit == CHUNK_SIZE),
        "{error:?}"
    );

    let mut archive = HandBuilt::with_ova(&ova);
    archive.chunk("Ref:2/00000000", &vec![1; MIB + 1]);
    let error = xva_error(check_xva(&archive.finish()[..]));
    assert!(matches!(error, XvaError::EntryTooLarge { .. }), "{error:?}");
}

#[test]
fn checksums_are_required_from_export_vsn_1() {
    let mut ova = one_disk_ova(100);
    let mut archive = HandBuilt::with_ova(&ova);
    archive.entry("Ref:2/00000000", &[5; 100]);
    let error = xva_error(check_xva(&archive.finish()[..]));
    assert!(
        matches!(&error, XvaError::MissingChecksum { entry, .. } if entry == "Ref:2/00000000"),
        "{error:?}"
    );

    ova.version.export_vsn = 0;
    let mut archive = HandBuilt::with_ova(&ova);
    archive.entry("Ref:2/00000000", &[5; 100]);
    let summary = check_xva(&archive.finish()[..]).expect("no checksums needed");
    assert_eq!(summary.checksums_verified, 0);
    assert_eq!(summary.chunks, 1);
}

#[test]
fn chunk_past_the_virtual_size_is_refused() {
    let ova = one_disk_ova(CHUNK_SIZE + CHUNK_SIZE / 2);
    let mut archive = HandBuilt::with_ova(&ova);
    archive
        .chunk("Ref:2/00000000", &[1; MIB])
        .chunk("Ref:2/00000001", &[1; MIB]);
    let error = xva_error(check_xva(&archive.finish()[..]));
    assert!(
        matches!(&error, XvaError::ChunkPastEnd { entry, offset, .. }
            if entry == "Ref:2/00000001" && *offset == CHUNK_SIZE),
        "{error:?}"
    );
}

#[test]
fn entries_of_unknown_disks_and_trailing_entries_are_refused() {
    let ova = one_disk_ova(100);
    let mut archive = HandBuilt::with_ova(&ova);
    archive.chunk("Ref:9/00000000", &[1; 100]);
    let error = xva_error(check_xva(&archive.finish()[..]));
    assert!(
        matches!(&error, XvaError::UnexpectedEntry { entry, .. } if entry == "Ref:9/00000000"),
        "{error:?}"
    );

    let mut archive = HandBuilt::with_ova(&ova);
    archive
        .chunk("Ref:2/00000000", &[1; 100])
        .entry("extra", b"x");
    let error = xva_error(check_xva(&archive.finish()[..]));
    assert!(
        matches!(&error, XvaError::UnexpectedEntry { entry, .. } if entry == "extra"),
        "{error:?}"
    );
}

#[test]
fn invalid_ova_xml_is_a_typed_error() {
    let mut archive = HandBuilt::new();
    archive.entry("ova.xml", b"<value><struct>");
    let error = xva_error(check_xva(&archive.finish()[..]));
    assert!(matches!(error, XvaError::MalformedXml { .. }), "{error:?}");

    let mut archive = HandBuilt::new();
    archive.entry("ova.xml", b"<value><struct></struct></value>");
    let error = xva_error(check_xva(&archive.finish()[..]));
    assert!(matches!(error, XvaError::InvalidOvaXml { .. }), "{error:?}");
}

#[test]
fn fuzz_entry_point_survives_random_mutations() {
    let images = vec![vec![7u8; 3000], {
        let mut image = vec![0u8; 2 * MIB + 5];
        image[MIB + 1] = 1;
        image
    }];
    let plain = pack(&images, Compression::None).0;
    let gzip = pack(&images, Compression::Gzip).0;
    let zstd = pack(&images, Compression::Zstd).0;
    check_xva(&plain[..]).expect("the unmutated archive is valid");
    // Mutations focus on the part holding the tar headers, ova.xml and the first chunks.
    let plain_head = &plain[..plain.len().min(16 * 1024)];
    let mut rng = StdRng::seed_from_u64(42);
    let started = std::time::Instant::now();
    for round in 0..3000 {
        let base: &[u8] = match round % 4 {
            0 | 1 => plain_head,
            2 => &gzip,
            _ => &zstd,
        };
        let mut data = base.to_vec();
        for _ in 0..rng.random_range(1..=8) {
            let at = rng.random_range(0..data.len());
            match rng.random_range(0..4) {
                0 => data[at] ^= 1 << rng.random_range(0..8),
                1 => data[at] = rng.random(),
                2 => data.truncate(at),
                _ => data.insert(at, rng.random()),
            }
            if data.is_empty() {
                break;
            }
        }
        fuzz_read(&data);
    }
    fuzz_read(&[]);
    fuzz_read(&plain);
    assert!(
        started.elapsed().as_secs() < 20,
        "fuzzing took {:?}",
        started.elapsed()
    );
}
