//! The client's HTTP transfers against the simulator's data handlers: raw and VHD disk exports
//! (whole and relative to a base), disk imports (raw, VHD, unknown length), XVA exports and
//! imports, and the failures: bad sessions, chunked uploads, VMs in the wrong state and
//! connections cut mid-transfer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use lifeboat_formats::disk::{DEFAULT_BLOCK_SIZE, DiskRead};
use lifeboat_formats::raw::RawDisk;
use lifeboat_formats::vhd::{
    DEFAULT_TABLE_OFFSET, DiskType, NewVhd, Vhd, VhdChain, VhdFile, VhdFileWriter, VhdSink,
};
use lifeboat_formats::xva::{Compression, OvaXml, XvaWriter, check_xva};
use lifeboat_sim::xapi::{Fault, Fixture, SimOptions, Simulator};
use lifeboat_xapi::records::{PowerState, Ref, Sr, Task, Vbd, Vdi, Vm};
use lifeboat_xapi::{
    Client, ConnectOptions, Download, Error, ImportSource, RawFormat, Value, VmCompression,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

const BLOCK: usize = DEFAULT_BLOCK_SIZE as usize;

const FIXTURE: &str = r#"
pools:
  - name: transfer
    password: secret
    hosts: [{name: host1}]
    srs:
      - {name: Local storage, size: 1TiB, default: true}
      - {name: ISO library, type: iso, size: 10GiB}
    networks: [{name: Pool-wide network associated with eth0, bridge: xenbr0}]
    vms:
      - name: db
        power_state: Halted
        tags: [prod, db]
        disks:
          - {name: db root, size: 8MiB, content: {fill: 50, seed: 3}}
          - {name: db data, size: 6MiB, content: {fill: 70, seed: 4}}
        networks: [Pool-wide network associated with eth0]
      - name: web
        power_state: Running
        disks:
          - {name: web root, size: 4MiB, content: {fill: 50, seed: 5}}
      - name: spare
        power_state: Halted
        disks:
          - {name: spare disk, size: 8MiB}
"#;

/// A running simulator, its state folder and a logged-in client.
struct Env {
    sim: Simulator,
    _state: tempfile::TempDir,
    root: PathBuf,
    client: Client,
}

async fn env() -> Env {
    let state = tempfile::tempdir().expect("temporary folder");
    let fixture = Fixture::parse(FIXTURE, "test fixture").expect("valid fixture");
    let options = SimOptions {
        state_dir: Some(state.path().to_owned()),
        ..SimOptions::default()
    };
    let sim = Simulator::start(&fixture, options)
        .await
        .expect("the fixture starts");
    let handle = sim.pool("transfer").expect("pool exists");
    let client = Client::connect(ConnectOptions::new(
        Url::parse(&handle.url).expect("valid URL"),
        handle.username.clone(),
        handle.password.clone(),
    ))
    .await
    .expect("login succeeds");
    Env {
        root: state.path().join("transfer"),
        sim,
        _state: state,
        client,
    }
}

impl Env {
    async fn vm(&self, name: &str) -> Ref<Vm> {
        let vms = self.client.get_all_records::<Vm>().await.expect("VMs");
        vms.into_iter()
            .find(|(_, vm)| vm.name_label == name)
            .map(|(reference, _)| reference)
            .unwrap_or_else(|| panic!("VM {name}"))
    }

    /// The disks of a VM in device order.
    async fn disks(&self, vm: &Ref<Vm>) -> Vec<Ref<Vdi>> {
        let record = self.client.get_record(vm).await.expect("VM record");
        let mut vbds = Vec::new();
        for vbd in &record.vbds {
            vbds.push(self.client.get_record::<Vbd>(vbd).await.expect("VBD"));
        }
        vbds.sort_by(|a, b| a.userdevice.cmp(&b.userdevice));
        vbds.into_iter().map(|vbd| vbd.vdi).collect()
    }

    async fn disk(&self, vm: &str) -> Ref<Vdi> {
        let vm = self.vm(vm).await;
        self.disks(&vm).await.remove(0)
    }

    /// The VHD file of a VDI in the simulator's storage.
    async fn file(&self, vdi: &Ref<Vdi>) -> PathBuf {
        let record = self.client.get_record(vdi).await.expect("VDI record");
        let sr = self.client.get_record::<Sr>(&record.sr).await.expect("SR");
        self.root.join(sr.uuid).join(format!("{}.vhd", record.uuid))
    }

    async fn export(&self, vdi: &Ref<Vdi>, format: RawFormat, base: Option<&Ref<Vdi>>) -> Vec<u8> {
        let download = self
            .client
            .export_raw_vdi(vdi, format, base)
            .await
            .expect("export starts");
        read_all(download).await.expect("export completes")
    }

    async fn raw(&self, vdi: &Ref<Vdi>) -> Vec<u8> {
        self.export(vdi, RawFormat::Raw, None).await
    }

    fn pool(&self) -> &lifeboat_sim::xapi::Pool {
        &self.sim.pool("transfer").expect("pool exists").pool
    }

    /// host:port of the master.
    async fn address(&self) -> String {
        let url = self.client.base_url().await;
        format!(
            "{}:{}",
            url.host_str().expect("host"),
            url.port().expect("port")
        )
    }

    async fn session(&self) -> String {
        self.client.session().await.expose().to_owned()
    }

    async fn task_record(&self, task: &Ref<Task>) -> Task {
        self.client.get_record(task).await.expect("task record")
    }
}

/// Reads a download to its end and waits for its task.
async fn read_all(mut download: Download) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = download.chunk().await? {
        bytes.extend_from_slice(&chunk);
    }
    download.finish().await?;
    Ok(bytes)
}

/// What a VHD chain holds, byte for byte.
fn chain_bytes(path: &Path) -> Vec<u8> {
    let mut chain = VhdChain::open(path).expect("the VDI's chain opens");
    let mut bytes = vec![0; chain.virtual_size() as usize];
    chain.read_at(0, &mut bytes).expect("the chain reads");
    bytes
}

/// Writes `bytes` to a file in `dir` and opens it as a VHD.
fn vhd_file(dir: &Path, name: &str, bytes: &[u8]) -> VhdFile {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write the VHD");
    VhdFile::open(&path).expect("a valid VHD")
}

fn allocated(vhd: &VhdFile) -> Vec<u32> {
    (0..vhd.block_count())
        .filter(|&b| vhd.is_allocated(b))
        .collect()
}

/// A dynamic VHD of `size` bytes with the given blocks filled with a byte.
fn vhd_with_blocks(size: u64, blocks: &[(u32, u8)]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("new.vhd");
    let mut writer = VhdFileWriter::create(&path, &NewVhd::dynamic(size)).expect("writer");
    for &(block, fill) in blocks {
        writer.put_block(block, &vec![fill; BLOCK]).expect("block");
    }
    Box::new(writer).finish().expect("finish");
    std::fs::read(&path).expect("read the VHD")
}

/// Clears the sector bitmap bits of the first half of the first block in a VHD built by
/// [`vhd_with_blocks`]: those sectors are then not part of the image.
fn clear_first_half_bitmap(vhd: &mut [u8]) {
    let entry = DEFAULT_TABLE_OFFSET as usize;
    let sector = u32::from_be_bytes(vhd[entry..entry + 4].try_into().expect("4 bytes"));
    let bitmap = sector as usize * 512;
    vhd[bitmap..bitmap + 256].fill(0);
}

/// Asserts that two disk images are equal, naming the first difference (not printing megabytes).
fn assert_same(actual: &[u8], expected: &[u8], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    if let Some(at) = actual.iter().zip(expected).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {at}");
    }
}

/// Sends a raw HTTP request and returns the status code, the header block and the body read
/// until the server closes the connection.
async fn raw_http(address: &str, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    // A server that refuses a body may close before it is all sent; its answer still counts.
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete header block");
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    (status, head, response[end + 4..].to_vec())
}

/// Sends a raw HTTP request and closes the connection, whatever the server does.
async fn send_only(address: &str, request: &[u8]) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let _ = stream.write_all(request).await;
}

#[tokio::test]
async fn raw_and_vhd_exports_hold_the_disk() {
    let env = env().await;
    let vdi = env.disk("db").await;
    let file = env.file(&vdi).await;
    let expected = chain_bytes(&file);

    let raw = env.raw(&vdi).await;
    assert_eq!(raw.len(), 8 << 20);
    assert_same(&raw, &expected, "raw export");

    let vhd = env.export(&vdi, RawFormat::Vhd, None).await;
    let dir = tempfile::tempdir().expect("temporary folder");
    let exported = vhd_file(dir.path(), "export.vhd", &vhd);
    assert_eq!(exported.footer().disk_type, DiskType::Dynamic);
    let source = VhdFile::open(&file).expect("the VDI's file");
    assert_eq!(
        allocated(&exported),
        allocated(&source),
        "exactly the allocated blocks"
    );
    assert_same(
        &chain_bytes(&dir.path().join("export.vhd")),
        &expected,
        "VHD export",
    );
}

#[tokio::test]
async fn a_delta_from_a_snapshot_applied_to_a_clone_reproduces_the_disk() {
    let env = env().await;
    let vdi = env.disk("db").await;
    let original = env.raw(&vdi).await;
    let base = env.client.vdi_snapshot(&vdi).await.expect("VDI.snapshot");

    // Change two blocks of the disk after the snapshot.
    let change = vhd_with_blocks(8 << 20, &[(1, 0xAB), (3, 0xCD)]);
    env.client
        .import_raw_vdi(&vdi, RawFormat::Vhd, ImportSource::from_bytes(change))
        .await
        .expect("VHD import");
    let changed = env.raw(&vdi).await;
    assert!(changed[BLOCK..2 * BLOCK].iter().all(|&b| b == 0xAB));
    assert_same(
        &changed[..BLOCK],
        &original[..BLOCK],
        "block 0 after the change",
    );

    let delta = env.export(&vdi, RawFormat::Vhd, Some(&base)).await;
    let dir = tempfile::tempdir().expect("temporary folder");
    let delta_vhd = vhd_file(dir.path(), "delta.vhd", &delta);
    assert_eq!(delta_vhd.footer().disk_type, DiskType::Differencing);
    let base_file = VhdFile::open(env.file(&base).await).expect("the snapshot's file");
    assert_eq!(delta_vhd.header().parent_uuid, base_file.footer().uuid);
    assert_eq!(allocated(&delta_vhd), [1, 3], "only the changed blocks");

    let raw_delta = env.export(&vdi, RawFormat::Raw, Some(&base)).await;
    assert_eq!(raw_delta.len(), changed.len());
    assert_same(
        &raw_delta[BLOCK..2 * BLOCK],
        &changed[BLOCK..2 * BLOCK],
        "changed block",
    );
    assert!(
        raw_delta[..BLOCK].iter().all(|&b| b == 0),
        "unchanged as zeros"
    );

    let replica = env.client.vdi_clone(&base).await.expect("VDI.clone");
    assert_same(&env.raw(&replica).await, &original, "clone of the snapshot");
    env.client
        .import_raw_vdi(&replica, RawFormat::Vhd, ImportSource::from_bytes(delta))
        .await
        .expect("delta import");
    assert_same(&env.raw(&replica).await, &changed, "clone with the delta");
}

#[tokio::test]
async fn vhd_imports_write_only_the_sectors_they_hold() {
    let env = env().await;
    let vdi = env.disk("db").await;
    let before = env.raw(&vdi).await;
    let mut image = vhd_with_blocks(8 << 20, &[(0, 0x11), (2, 0x22)]);
    clear_first_half_bitmap(&mut image);
    let sent = env
        .client
        .import_raw_vdi(
            &vdi,
            RawFormat::Vhd,
            ImportSource::from_bytes(image.clone()),
        )
        .await
        .expect("VHD import");
    assert_eq!(sent, image.len() as u64);
    let after = env.raw(&vdi).await;
    let half = BLOCK / 2;
    assert_same(&after[..half], &before[..half], "sectors with clear bits");
    assert!(after[half..BLOCK].iter().all(|&b| b == 0x11));
    assert_same(
        &after[BLOCK..2 * BLOCK],
        &before[BLOCK..2 * BLOCK],
        "block 1",
    );
    assert!(after[2 * BLOCK..3 * BLOCK].iter().all(|&b| b == 0x22));
    assert_same(&after[3 * BLOCK..], &before[3 * BLOCK..], "blocks after 2");

    let record = env.client.get_record(&vdi).await.expect("VDI record");
    let leaf = VhdFile::open(env.file(&vdi).await).expect("the VDI's file");
    assert_eq!(
        record.physical_utilisation,
        allocated(&leaf).len() as i64 * i64::from(DEFAULT_BLOCK_SIZE)
    );
}

#[tokio::test]
async fn raw_imports_overwrite_the_disk() {
    let env = env().await;
    let source = env.disk("db").await;
    let target = env.disk("spare").await;
    let image = env.raw(&source).await;
    env.client
        .import_raw_vdi(
            &target,
            RawFormat::Raw,
            ImportSource::from_bytes(image.clone()),
        )
        .await
        .expect("raw import");
    assert_same(&env.raw(&target).await, &image, "raw import");
    // All-zero blocks of the image stay unallocated on a disk that had nothing there.
    let leaf = VhdFile::open(env.file(&target).await).expect("the VDI's file");
    let nonzero = image.chunks(BLOCK).filter(|b| b.iter().any(|&x| x != 0));
    assert_eq!(allocated(&leaf).len(), nonzero.count());

    let error = env
        .client
        .import_raw_vdi(
            &target,
            RawFormat::Raw,
            ImportSource::from_stream(futures_util::stream::empty(), None),
        )
        .await
        .expect_err("a raw import needs its length");
    assert!(matches!(error, Error::Config(_)), "{error}");
}

#[tokio::test]
async fn uploads_of_unknown_length_end_with_their_content() {
    let env = env().await;
    let vdi = env.disk("spare").await;
    let image = vhd_with_blocks(8 << 20, &[(0, 1), (1, 2), (3, 4)]);
    let pieces: Vec<std::io::Result<Bytes>> = image
        .chunks(100_000)
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    let started = std::time::Instant::now();
    env.client
        .import_raw_vdi(
            &vdi,
            RawFormat::Vhd,
            ImportSource::from_stream(futures_util::stream::iter(pieces), None),
        )
        .await
        .expect("upload of unknown length");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "ended by the VHD's footer"
    );
    let raw = env.raw(&vdi).await;
    assert!(raw[3 * BLOCK..4 * BLOCK].iter().all(|&b| b == 4));
    assert!(raw[2 * BLOCK..3 * BLOCK].iter().all(|&b| b == 0));
}

#[tokio::test]
async fn a_truncated_upload_of_unknown_length_fails_and_changes_nothing() {
    let env = env().await;
    let vdi = env.disk("db").await;
    let before = env.raw(&vdi).await;
    let task = env
        .client
        .create_task("truncated upload")
        .await
        .expect("task");
    let image = vhd_with_blocks(8 << 20, &[(0, 9), (2, 9)]);
    let truncated = &image[..image.len() - 700];
    let mut request = format!(
        "PUT /import_raw_vdi?vdi={vdi}&format=vhd&session_id={}&task_id={task} HTTP/1.1\r\n\
         Host: sim\r\nContent-Length: 1125899906842624\r\n\r\n",
        env.session().await
    )
    .into_bytes();
    request.extend_from_slice(truncated);
    // Xen Orchestra closes the connection once it has sent what it had.
    let mut stream = tokio::net::TcpStream::connect(env.address().await)
        .await
        .expect("connect");
    stream.write_all(&request).await.expect("send");
    stream.shutdown().await.expect("close the sending side");
    let error = env.client.wait_task(&task).await.expect_err("import fails");
    assert!(error.is_api("VDI_IO_ERROR"), "{error}");
    assert_eq!(
        error.api().expect("API error").params,
        ["Device I/O error(s)"]
    );
    assert_same(
        &env.raw(&vdi).await,
        &before,
        "VDI after a truncated upload",
    );
}

#[tokio::test]
async fn probes_chunked_uploads_and_bad_sessions_get_xapis_answers() {
    let env = env().await;
    let vdi = env.disk("db").await;
    let before = env.raw(&vdi).await;
    let address = env.address().await;
    let session = env.session().await;

    // Xen Orchestra's probe: an empty PUT without a task.
    let probe = format!(
        "PUT /import_raw_vdi?vdi={vdi}&format=vhd&session_id={session} HTTP/1.1\r\n\
         Host: sim\r\nContent-Length: 0\r\n\r\n"
    );
    let (status, _, _) = raw_http(&address, probe.as_bytes()).await;
    assert_eq!(status, 200);
    assert_same(&env.raw(&vdi).await, &before, "VDI after a probe");

    let task = env.client.create_task("chunked").await.expect("task");
    let chunked = format!(
        "PUT /import_raw_vdi?vdi={vdi}&format=vhd&session_id={session}&task_id={task} HTTP/1.1\r\n\
         Host: sim\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    );
    let (status, head, _) = raw_http(&address, chunked.as_bytes()).await;
    assert_eq!(status, 404);
    assert!(head.contains(&format!("task-id: {task}")), "{head}");
    let record = env.task_record(&task).await;
    assert_eq!(
        record.error_info,
        ["INTERNAL_ERROR", "Cannot handle encoding: chunked"]
    );

    let task = env.client.create_task("bad session").await.expect("task");
    let bad = format!(
        "GET /export_raw_vdi?vdi={vdi}&format=raw&session_id=OpaqueRef:bad&task_id={task} \
         HTTP/1.1\r\nHost: sim\r\n\r\n"
    );
    let (status, _, _) = raw_http(&address, bad.as_bytes()).await;
    assert_eq!(status, 401);
    let record = env.task_record(&task).await;
    assert_eq!(record.error_info, ["SESSION_AUTHENTICATION_FAILED"]);

    let task = env
        .client
        .create_task("unknown format")
        .await
        .expect("task");
    let unknown = format!(
        "GET /export_raw_vdi?vdi={vdi}&format=qcow3&session_id={session}&task_id={task} \
         HTTP/1.1\r\nHost: sim\r\n\r\n"
    );
    let (status, _, _) = raw_http(&address, unknown.as_bytes()).await;
    assert_eq!(status, 404);
    let record = env.task_record(&task).await;
    assert_eq!(
        record.error_info,
        ["INTERNAL_ERROR", "Unknown format qcow3"]
    );

    // The session may come as a cookie; the response is xapi's.
    let uuid = env.client.get_record(&vdi).await.expect("VDI").uuid;
    let cookie = format!(
        "GET /export_raw_vdi/?vdi={uuid}&format=vhd HTTP/1.1\r\nHost: sim\r\n\
         Cookie: session_id={session}\r\n\r\n"
    );
    let (status, head, body) = raw_http(&address, cookie.as_bytes()).await;
    assert_eq!(status, 200);
    let head = head.to_lowercase();
    assert!(head.contains("content-type: application/vhd"), "{head}");
    assert!(
        head.contains(&format!(
            "content-disposition: attachment; filename=\"{uuid}.vhd\""
        )),
        "{head}"
    );
    assert!(head.contains("task-id: opaqueref:"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
    let dir = tempfile::tempdir().expect("temporary folder");
    vhd_file(dir.path(), "cookie.vhd", &body);
}

#[tokio::test]
async fn a_cut_export_is_a_typed_error() {
    let env = env().await;
    let vdi = env.disk("db").await;
    env.pool()
        .arm(Fault::CutTransfer {
            handler: "export_raw_vdi".into(),
            after_bytes: 1 << 20,
        })
        .unwrap();
    let download = env
        .client
        .export_raw_vdi(&vdi, RawFormat::Raw, None)
        .await
        .expect("export starts");
    let error = read_all(download).await.expect_err("the export is cut");
    // The body of a close-delimited response may just end: the task tells.
    assert!(
        matches!(error, Error::Task { .. } | Error::Transfer { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_cut_disk_import_is_a_typed_error_and_changes_nothing() {
    let env = env().await;
    let vdi = env.disk("db").await;
    let before = env.raw(&vdi).await;
    env.pool()
        .arm(Fault::CutTransfer {
            handler: "import_raw_vdi".into(),
            after_bytes: 3 << 20,
        })
        .unwrap();
    let image = vhd_with_blocks(8 << 20, &[(0, 7), (1, 7), (2, 7), (3, 7)]);
    let error = env
        .client
        .import_raw_vdi(&vdi, RawFormat::Vhd, ImportSource::from_bytes(image))
        .await
        .expect_err("the import is cut");
    assert!(error.is_api("VDI_IO_ERROR"), "{error:?}");
    assert_same(&env.raw(&vdi).await, &before, "VDI after a cut upload");
}

/// How many VDIs the pool has.
async fn vdi_count(env: &Env) -> usize {
    env.client
        .get_all_records::<Vdi>()
        .await
        .expect("VDIs")
        .len()
}

async fn vm_count(env: &Env) -> usize {
    env.client.get_all_records::<Vm>().await.expect("VMs").len()
}

/// The files of the default SR's folder.
async fn sr_files(env: &Env) -> Vec<String> {
    let (_, pool) = env.client.pool().await.expect("pool");
    let sr = env.client.get_record(&pool.default_sr).await.expect("SR");
    let mut names: Vec<String> = std::fs::read_dir(env.root.join(sr.uuid))
        .expect("SR folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_vm_exported_and_imported_has_the_same_disks() {
    let env = env().await;
    let vm = env.vm("db").await;
    let source = env.client.get_record(&vm).await.expect("VM");
    let source_disks = env.disks(&vm).await;

    for compression in [
        VmCompression::None,
        VmCompression::Zstd,
        VmCompression::Gzip,
    ] {
        let download = env
            .client
            .export_vm(&vm, compression)
            .await
            .expect("export starts");
        assert!(download.content_length().is_none(), "no Content-Length");
        let xva = read_all(download).await.expect("export completes");
        let summary = check_xva(&xva[..]).expect("a valid XVA");
        let expected = match compression {
            VmCompression::None => Compression::None,
            VmCompression::Gzip => Compression::Gzip,
            VmCompression::Zstd => Compression::Zstd,
        };
        assert_eq!(summary.compression, expected);
        assert_eq!(summary.disks.len(), 2);

        let imported = env
            .client
            .import_vm(None, ImportSource::from_bytes(xva))
            .await
            .expect("import");
        assert_eq!(imported.len(), 1);
        let copy = env.client.get_record(&imported[0]).await.expect("VM");
        assert_ne!(copy.uuid, source.uuid, "a new uuid");
        assert_eq!(copy.name_label, source.name_label);
        assert_eq!(copy.tags, source.tags);
        assert_eq!(copy.memory_static_max, source.memory_static_max);
        assert_eq!(copy.power_state, PowerState::Halted);
        assert!(copy.current_operations.is_empty(), "the import ended");
        assert_ne!(
            copy.other_config.get("mac_seed"),
            source.other_config.get("mac_seed"),
            "mac_seed regenerated"
        );
        assert_eq!(copy.vifs.len(), 1);
        let copy_disks = env.disks(&imported[0]).await;
        assert_eq!(copy_disks.len(), source_disks.len());
        for (copied, original) in copy_disks.iter().zip(&source_disks) {
            assert_ne!(copied, original, "new VDIs");
            let record = env.client.get_record(copied).await.expect("VDI");
            let (_, pool) = env.client.pool().await.expect("pool");
            assert_eq!(record.sr, pool.default_sr);
            assert_same(&env.raw(copied).await, &env.raw(original).await, "disk");
        }
    }
}

#[tokio::test]
async fn an_export_resets_the_vm_as_xapi_does() {
    let env = env().await;
    let vm = env.vm("db").await;
    let snapshot = env
        .client
        .vm_snapshot(&vm, "before export", &[])
        .await
        .expect("VM.snapshot");
    let download = env
        .client
        .export_vm(&snapshot, VmCompression::None)
        .await
        .expect("export starts");
    let task = download.task().clone();
    let during = env.client.get_record(&snapshot).await.expect("snapshot");
    assert_eq!(
        during
            .current_operations
            .get(task.as_str())
            .map(String::as_str),
        Some("export")
    );
    let xva = read_all(download).await.expect("export completes");
    let after = env.client.get_record(&snapshot).await.expect("snapshot");
    assert!(after.current_operations.is_empty());

    let summary = check_xva(&xva[..]).expect("a valid XVA");
    let ova = &summary.ova;
    assert_eq!(ova.version.export_vsn, 2);
    let record = &ova.objects[0];
    assert_eq!(record.class, "VM");
    assert!(record.id.starts_with("Ref:"));
    let field = |name: &str| record.snapshot.get(name).cloned();
    assert_eq!(field("is_a_snapshot"), Some(Value::Boolean(false)));
    assert_eq!(field("is_a_template"), Some(Value::Boolean(true)), "kept");
    assert_eq!(field("snapshot_of"), Some(Value::string("OpaqueRef:NULL")));
    assert_eq!(field("power_state"), Some(Value::string("Halted")));
    assert_eq!(field("current_operations"), Some(Value::Struct(Vec::new())));
    let vbds = field("VBDs").expect("VBDs");
    let vbds = vbds.as_array().expect("a set");
    assert_eq!(vbds.len(), 2);
    for vbd in vbds {
        let id = vbd.as_str().expect("an id");
        assert!(id.starts_with("Ref:"), "{id}");
        let object = ova
            .objects
            .iter()
            .find(|o| o.id == id)
            .expect("in the archive");
        assert_eq!(object.class, "VBD");
        let vdi = object
            .snapshot
            .get("VDI")
            .and_then(Value::as_str)
            .expect("VDI");
        assert!(ova.objects.iter().any(|o| o.id == vdi && o.class == "VDI"));
    }
    assert_eq!(summary.disks.len(), 2);

    // A snapshot exported as is imports as a template.
    let imported = env
        .client
        .import_vm(None, ImportSource::from_bytes(xva))
        .await
        .expect("import");
    let copy = env.client.get_record(&imported[0]).await.expect("VM");
    assert!(copy.is_a_template && !copy.is_a_snapshot);
}

#[tokio::test]
async fn an_export_streams_into_an_import_of_unknown_length() {
    let env = env().await;
    let vm = env.vm("db").await;
    let download = env
        .client
        .export_vm(&vm, VmCompression::Zstd)
        .await
        .expect("export starts");
    let (body, export_task) = download.into_stream();
    let imported = env
        .client
        .import_vm(None, ImportSource::from_stream(body, None))
        .await
        .expect("import of unknown length");
    export_task.wait().await.expect("the export succeeded");
    let copies = env.disks(&imported[0]).await;
    let originals = env.disks(&vm).await;
    for (copy, original) in copies.iter().zip(&originals) {
        assert_same(&env.raw(copy).await, &env.raw(original).await, "disk");
    }
}

#[tokio::test]
async fn exports_check_the_vm_operation() {
    let env = env().await;
    let running = env.vm("web").await;
    let error = match env.client.export_vm(&running, VmCompression::None).await {
        Ok(download) => read_all(download).await.expect_err("a running VM"),
        Err(error) => error,
    };
    let api = error.api().expect("an API error");
    assert_eq!(api.code, "VM_BAD_POWER_STATE");
    assert_eq!(
        api.params,
        [running.as_str(), "halted, suspended", "running"]
    );

    let halted = env.vm("db").await;
    env.client
        .set_map_entry(&halted, "blocked_operations", "export", "backups only")
        .await
        .expect("block export");
    let error = match env.client.export_vm(&halted, VmCompression::None).await {
        Ok(download) => read_all(download).await.expect_err("a blocked export"),
        Err(error) => error,
    };
    let api = error.api().expect("an API error");
    assert_eq!(api.code, "OPERATION_BLOCKED");
    assert_eq!(api.params, [halted.as_str(), "backups only"]);
}

#[tokio::test]
async fn a_cut_vm_import_leaves_nothing_behind() {
    let env = env().await;
    let vm = env.vm("db").await;
    let xva = read_all(
        env.client
            .export_vm(&vm, VmCompression::None)
            .await
            .expect("export starts"),
    )
    .await
    .expect("export completes");
    let (vms, vdis, files) = (
        vm_count(&env).await,
        vdi_count(&env).await,
        sr_files(&env).await,
    );

    env.pool()
        .arm(Fault::CutTransfer {
            handler: "import".into(),
            after_bytes: xva.len() as u64 / 2,
        })
        .unwrap();
    let error = env
        .client
        .import_vm(None, ImportSource::from_bytes(xva.clone()))
        .await
        .expect_err("the import is cut");
    assert!(error.is_api("IMPORT_ERROR_PREMATURE_EOF"), "{error:?}");
    assert_eq!(vm_count(&env).await, vms, "no VM left");
    assert_eq!(vdi_count(&env).await, vdis, "no VDI left");
    assert_eq!(sr_files(&env).await, files, "no file left");

    // A truncated archive of unknown length, closed by the client, fails the same way.
    let half = Bytes::copy_from_slice(&xva[..xva.len() / 2]);
    let error = env
        .client
        .import_vm(
            None,
            ImportSource::from_stream(
                futures_util::stream::iter([Ok(half), Err(std::io::Error::other("source failed"))]),
                None,
            ),
        )
        .await
        .expect_err("a broken source");
    assert!(
        matches!(error, Error::Task { .. } | Error::Transfer { .. }),
        "{error:?}"
    );
    assert_eq!(vm_count(&env).await, vms, "no VM left");
    assert_eq!(sr_files(&env).await, files, "no file left");
}

#[tokio::test]
async fn imports_refuse_chunked_bodies_and_missing_srs() {
    let env = env().await;
    let session = env.session().await;
    let task = env
        .client
        .create_task("chunked import")
        .await
        .expect("task");
    let chunked = format!(
        "PUT /import?session_id={session}&task_id={task} HTTP/1.1\r\nHost: sim\r\n\
         Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    );
    let (status, _, _) = raw_http(&env.address().await, chunked.as_bytes()).await;
    assert_eq!(status, 403);
    let record = env.task_record(&task).await;
    assert_eq!(record.error_info, ["IMPORT_ERROR_CANNOT_HANDLE_CHUNKED"]);

    let (pool, _) = env.client.pool().await.expect("pool");
    env.client
        .set_field(&pool, "default_SR", Value::string("OpaqueRef:NULL"))
        .await
        .expect("no default SR");
    let error = env
        .client
        .import_vm(None, ImportSource::from_bytes(vec![0u8; 1024]))
        .await
        .expect_err("no SR to import into");
    let api = error.api().expect("an API error");
    assert_eq!(api.code, "DEFAULT_SR_NOT_FOUND");
    assert_eq!(api.params, ["OpaqueRef:NULL"]);
}

#[tokio::test]
async fn an_importing_vm_lists_its_import_operation() {
    let env = env().await;
    let vm = env.vm("db").await;
    let xva = read_all(
        env.client
            .export_vm(&vm, VmCompression::None)
            .await
            .expect("export starts"),
    )
    .await
    .expect("export completes");
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(1);
    let stream = futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|piece| (piece, rx))
    });
    let client = env.client.clone();
    let length = xva.len() as u64;
    let import = tokio::spawn(async move {
        client
            .import_vm(None, ImportSource::from_stream(stream, Some(length)))
            .await
    });
    // ova.xml and the first chunks; the rest waits until the VM was seen importing.
    let split = 256 * 1024;
    tx.send(Ok(Bytes::copy_from_slice(&xva[..split])))
        .await
        .expect("send");
    let mut seen = None;
    for _ in 0..200 {
        let vms = env.client.get_all_records::<Vm>().await.expect("VMs");
        seen = vms
            .into_iter()
            .find(|(_, vm)| vm.current_operations.values().any(|op| op == "import"));
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (importing, record) = seen.expect("a VM with current_operations[task] = import");
    assert_eq!(record.power_state, PowerState::Halted);
    tx.send(Ok(Bytes::copy_from_slice(&xva[split..])))
        .await
        .expect("send");
    drop(tx);
    let imported = import.await.expect("task").expect("import");
    assert_eq!(imported, std::slice::from_ref(&importing));
    let record = env.client.get_record(&importing).await.expect("VM");
    assert!(record.current_operations.is_empty());
}

#[tokio::test]
async fn an_archive_packed_by_lifeboat_imports() {
    let env = env().await;
    let size = 5 << 20;
    let mut image = vec![0u8; size];
    image[..4096].fill(0x5A);
    image[3 << 20..(3 << 20) + 512].fill(0xA5);
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("disk.raw");
    std::fs::write(&path, &image).expect("write the image");
    let mut disk = RawDisk::open(&path).expect("raw disk");
    let ova = OvaXml::for_vm("packed", &[(size as u64, "packed disk".into())]);
    let (xva, _) = XvaWriter::new(Vec::new(), Compression::None)
        .expect("writer")
        .write(&ova, &mut [&mut disk as &mut dyn DiskRead], &mut |_, _| {})
        .expect("pack");

    let imported = env
        .client
        .import_vm(None, ImportSource::from_bytes(xva))
        .await
        .expect("import");
    let vm = env.client.get_record(&imported[0]).await.expect("VM");
    assert_eq!(vm.name_label, "packed");
    let disks = env.disks(&imported[0]).await;
    let record = env.client.get_record(&disks[0]).await.expect("VDI");
    assert_eq!(record.name_label, "packed disk");
    assert_eq!(record.virtual_size, 6 << 20, "rounded up as a VHD SR does");
    let raw = env.raw(&disks[0]).await;
    assert_same(&raw[..size], &image, "the packed disk");
    assert!(raw[size..].iter().all(|&b| b == 0));
}

#[tokio::test]
async fn a_restore_keeps_the_vms_identity() {
    let env = env().await;
    let vm = env.vm("db").await;
    let original = env.client.get_record(&vm).await.expect("VM");
    let xva = read_all(
        env.client
            .export_vm(&vm, VmCompression::Gzip)
            .await
            .expect("export starts"),
    )
    .await
    .expect("export completes");
    let session = env.session().await;
    let put = |task: &Ref<Task>| {
        let mut request = format!(
            "PUT /import?session_id={session}&task_id={task}&restore=true HTTP/1.1\r\n\
             Host: sim\r\nContent-Length: {}\r\n\r\n",
            xva.len()
        )
        .into_bytes();
        request.extend_from_slice(&xva);
        request
    };

    // The VM still exists: its uuid cannot be taken twice.
    let task = env.client.create_task("restore").await.expect("task");
    send_only(&env.address().await, &put(&task)).await;
    let error = env.client.wait_task(&task).await.expect_err("a duplicate");
    assert!(error.is_api("DUPLICATE_VM"), "{error}");

    env.client.vm_destroy(&vm).await.expect("VM.destroy");
    let task = env.client.create_task("restore").await.expect("task");
    let (status, _, _) = raw_http(&env.address().await, &put(&task)).await;
    assert_eq!(status, 200);
    let result = env.client.wait_task(&task).await.expect("restored");
    let restored = match result {
        Value::Array(items) => items[0].as_str().expect("a reference").to_owned(),
        other => panic!("a set of VMs, got {other:?}"),
    };
    let record = env
        .client
        .get_record(&Ref::<Vm>::new(restored))
        .await
        .expect("VM");
    assert_eq!(record.uuid, original.uuid);
    assert_eq!(
        record.other_config.get("mac_seed"),
        original.other_config.get("mac_seed")
    );
}
