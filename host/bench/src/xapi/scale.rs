//! A pool of 5,000 VMs with 4 disks each: how long `VM.get_all_records` and a full `event.from`
//! dump take through Lifeboat's client over each encoding, and what a VM costs the simulator.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use lifeboat_xapi::records::Vm;
use lifeboat_xapi::wire::Encoding;
use lifeboat_xapi::{Client, Value};

use super::sim::{SimPool, SimProcess};

const VMS: usize = 5_000;
const DISKS_PER_VM: usize = 4;

pub fn run(lifeboat: &Path, dir: &Path) -> Result<()> {
    let empty = dir.join("empty-pool.yaml");
    std::fs::write(&empty, pool_yaml(0))?;
    let baseline = SimProcess::start(lifeboat, &empty)?;
    let (baseline_rss, _) = baseline.memory_kib()?;
    drop(baseline);

    let fixture = dir.join("scale-pool.yaml");
    std::fs::write(&fixture, pool_yaml(VMS))?;
    let started = Instant::now();
    let sim = SimProcess::start(lifeboat, &fixture)?;
    let startup = started.elapsed().as_secs_f64();
    let (built_rss, _) = sim.memory_kib()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!(
        "# scale: {VMS} VMs, {} VDIs; simulator built the pool in {startup:.2} s",
        VMS * DISKS_PER_VM
    );
    for encoding in [Encoding::Json, Encoding::Xml] {
        runtime.block_on(measure_calls(sim.pool("scale")?, encoding))?;
    }
    let (rss, peak) = sim.memory_kib()?;
    println!(
        "scale: simulator RSS {} MiB once built, {:.1} KiB per VM with its 4 VDIs, VBDs and VIF (over an empty pool's {} MiB); {} MiB after the dumps (peak {} MiB: the answers are built in memory)",
        built_rss / 1024,
        built_rss.saturating_sub(baseline_rss) as f64 / VMS as f64,
        baseline_rss / 1024,
        rss / 1024,
        peak / 1024,
    );
    Ok(())
}

async fn measure_calls(pool: &SimPool, encoding: Encoding) -> Result<()> {
    let mut options = pool.options()?;
    options.encoding = Some(encoding);
    let client = Client::connect(options).await.context("login")?;
    let started = Instant::now();
    let vms = client.get_all_records::<Vm>().await?;
    let records = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let dump = client
        .call(
            "event.from",
            vec![
                Value::Array(vec![Value::string("*")]),
                Value::string(""),
                Value::Double(30.0),
            ],
        )
        .await?;
    let events = started.elapsed().as_secs_f64();
    let count = dump
        .get("events")
        .and_then(Value::as_array)
        .map_or(0, <[Value]>::len);
    println!(
        "scale ({encoding:?}): VM.get_all_records {} VMs in {records:.2} s (typed records); event.from dump of {count} objects in {events:.2} s",
        vms.len()
    );
    client.logout().await?;
    Ok(())
}

/// A one-host pool with `vms` halted VMs of 4 small disks each.
fn pool_yaml(vms: usize) -> String {
    let mut yaml = String::from(
        "pools:
  - name: scale
    password: scale
    hosts: [{name: scale-host}]
    srs: [{name: Local, size: 100TiB, default: true}]
    networks: [{name: LAN}]
",
    );
    yaml.push_str(if vms == 0 {
        "    vms: []\n"
    } else {
        "    vms:\n"
    });
    for vm in 0..vms {
        let _ = writeln!(
            yaml,
            "      - name: vm{vm:05}\n        networks: [LAN]\n        disks:"
        );
        for disk in 0..DISKS_PER_VM {
            let _ = writeln!(
                yaml,
                "          - {{name: vm{vm:05} disk{disk}, size: 2MiB}}"
            );
        }
    }
    yaml
}
