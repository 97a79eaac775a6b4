//! A 4 GiB disk export streams through the simulator and the client in bounded memory. Alone in
//! its test binary, so that the process's peak resident size is this test's.

use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};
use lifeboat_xapi::records::{Vbd, Vm};
use lifeboat_xapi::{Client, ConnectOptions, RawFormat};
use url::Url;

const FIXTURE: &str = r#"
pools:
  - name: big
    password: secret
    hosts: [{name: host1}]
    srs: [{name: Local storage, size: 1TiB, default: true}]
    vms:
      - name: big
        power_state: Halted
        disks: [{name: big disk, size: 4GiB}]
"#;

/// Peak resident size of this process (`VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("a VmHWM line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a size in kB");
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4_gib_raw_export_stays_in_bounded_memory() {
    let fixture = Fixture::parse(FIXTURE, "test fixture").expect("valid fixture");
    let sim = Simulator::start(&fixture, SimOptions::default())
        .await
        .expect("the fixture starts");
    let handle = sim.pool("big").expect("pool exists");
    let client = Client::connect(ConnectOptions::new(
        Url::parse(&handle.url).expect("valid URL"),
        handle.username.clone(),
        handle.password.clone(),
    ))
    .await
    .expect("login succeeds");
    let vms = client.get_all_records::<Vm>().await.expect("VMs");
    let vm = vms
        .values()
        .find(|vm| vm.name_label == "big")
        .expect("the VM");
    let vbd = client.get_record::<Vbd>(&vm.vbds[0]).await.expect("VBD");

    let mut download = client
        .export_raw_vdi(&vbd.vdi, RawFormat::Raw, None)
        .await
        .expect("export starts");
    let mut received = 0u64;
    while let Some(chunk) = download.chunk().await.expect("data") {
        received += chunk.len() as u64;
    }
    download.finish().await.expect("export completes");
    assert_eq!(received, 4 << 30);
    let peak = peak_rss();
    assert!(peak < 64 << 20, "peak resident size {} MiB", peak >> 20);
}
