//! Benchmarks of what the sandbox costs, each against a reference without it measured in the
//! same run:
//!
//! - [`overhead`]: one step of the no-op operation (a fresh store, an instance, a call) against a
//!   plain async call doing the same JSON work;
//! - [`scale`]: a DR job over 200 small VMs through the executor and the built-in `dr-copy`,
//!   against the same XAPI calls and transfers made directly with Lifeboat's client;
//! - [`copy`]: a DR copy of one large VM by `lifeboat run`, against `curl` exporting the same VM
//!   from the same simulator, with Lifeboat's peak memory.
//!
//! The DR benchmarks run the simulator as a separate `lifeboat sim serve` process with two pools,
//! `source` and `target`, reached over http as real pools are.

pub mod copy;
pub mod overhead;
pub mod scale;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::xapi::sim::SimProcess;

/// The uuid of the target pool's SR: fixed by the fixture, so that a pipeline can name it.
const TARGET_SR: &str = "bbbbbbbb-0000-4000-8000-00000000b0b0";
/// The tag of the source VMs; the pipelines select the VMs by it.
const SOURCE_TAG: &str = "bench-dr";
/// The tag dr-copy gives its replicas (Xen Orchestra's).
const REPLICA_TAG: &str = "Disaster Recovery";

/// One VM of the source pool: halted (so that dr-copy exports it without a snapshot, as the
/// references do), tagged [`SOURCE_TAG`], with one disk of `size` bytes, `fill` percent of its
/// 2 MiB blocks holding data.
fn vm_yaml(yaml: &mut String, name: &str, size: u64, fill: u32, seed: usize) {
    let _ = writeln!(
        yaml,
        "      - name: {name}
        power_state: Halted
        tags: [{SOURCE_TAG}]
        disks: [{{name: {name} disk, size: {size}, content: {{fill: {fill}, seed: {seed}}}}}]"
    );
}

/// The pools `source`, holding `vms` (from [`vm_yaml`]), and `target`, whose SR is
/// [`TARGET_SR`]; each SR holds `sr_size` bytes.
fn fixture(vms: &str, sr_size: u64) -> String {
    format!(
        "pools:
  - name: source
    password: source-secret
    hosts: [{{name: source-host}}]
    srs: [{{name: Local, size: {sr_size}, default: true}}]
    vms:
{vms}  - name: target
    password: target-secret
    hosts: [{{name: target-host}}]
    srs: [{{name: DR storage, uuid: {TARGET_SR}, size: {sr_size}, default: true}}]
"
    )
}

/// A pipeline copying every VM tagged [`SOURCE_TAG`] from `source` to [`TARGET_SR`] with the
/// built-in dr-copy, `max_parallel` VMs at a time. It reaches the simulator's pools by their http
/// URLs, as it would real pools, with their passwords read from files written into `dir`.
fn pipeline(sim: &SimProcess, dir: &Path, max_parallel: usize) -> Result<String> {
    let mut connections = String::new();
    let mut secrets = String::new();
    for name in ["source", "target"] {
        let pool = sim.pool(name)?;
        let secret = dir.join(format!("{name}.password"));
        std::fs::write(&secret, &pool.password)?;
        let _ = writeln!(secrets, "  {name}: {{ file: \"{}\" }}", secret.display());
        let _ = writeln!(
            connections,
            "  {name}: {{ kind: xapi, url: \"{}\", username: {}, password: \"${{{{ secrets.{name} }}}}\" }}",
            pool.url, pool.username
        );
    }
    Ok(format!(
        "version: 1
name: bench-dr
secrets:
{secrets}connections:
{connections}steps:
  - id: replicate
    uses: dr-copy
    allow: {{ xapi: [source, target] }}
    for_each:
      vms: {{ pool: source, tags: [{SOURCE_TAG}] }}
    max_parallel: {max_parallel}
    with:
      vm: \"${{{{ item.uuid }}}}\"
      source: source
      target: target
      sr: {TARGET_SR}
"
    ))
}
