//! A DR job over 200 halted VMs with one small disk each: the whole job through the executor
//! (`Runner`, the built-in dr-copy, 4 VMs at a time), against the same work done directly with
//! Lifeboat's client and no component: each VM's XVA export streamed into an import on the
//! target SR, 4 at a time, with the XAPI calls dr-copy makes around it (its lookups, the replica
//! listings it makes for retention, and every rename, tag, block and mark).
//!
//! Both sides run in this process on the same async runtime, each against a fresh simulator
//! process started from the same fixture, so that both find the same pools and do the same work.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use lifeboat_pipeline::Pipeline;
use lifeboat_pipeline::run::{
    DirectConnector, RunEvent, RunOptions, RunSink, RunStatus, Runner, schedule_id,
};
use lifeboat_runtime::{ComponentCache, Limits, Runtime, RuntimeOptions};
use lifeboat_xapi::records::{Ref, Sr, VbdType, Vm};
use lifeboat_xapi::{Client, ImportSource, Value, VmCompression};

use super::{REPLICA_TAG, SOURCE_TAG, TARGET_SR, fixture, pipeline, vm_yaml};
use crate::xapi::sim::SimProcess;
use crate::{GIB, MIB};

const VMS: usize = 200;
const DISK_SIZE: u64 = 2 * MIB;
const PARALLEL: usize = 4;
/// 2024-11-02T03:04:05Z: the run's time on both sides, so that both write the same names and
/// marks.
const NOW_MS: u64 = 1_730_516_645_000;
/// [`NOW_MS`] as dr-copy writes it in a replica's name and in `xo:backup:datetime`.
const NAME_DATE: &str = "20241102T030405Z";
const MARK_DATE: &str = "20241102T03:04:05Z";
const START_BLOCKED: &str =
    "Start operation for this vm is blocked, clone it if you want to use it.";

pub fn run(lifeboat: &Path, dir: &Path, runs: usize) -> Result<()> {
    let mut vms = String::new();
    for vm in 0..VMS {
        vm_yaml(&mut vms, &format!("vm{vm:03}"), DISK_SIZE, 100, vm);
    }
    let fixture_path = dir.join("dr-scale-pools.yaml");
    std::fs::write(&fixture_path, fixture(&vms, 100 * GIB))?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let runtime = Runtime::new(RuntimeOptions {
        cache: Some(ComponentCache::new(dir.join("dr-scale-cache"))),
        ..RuntimeOptions::default()
    })?;
    // Compiled once here, so that every timed run loads them from the cache, as any run after a
    // host's first does.
    runtime.load_operation("dr-copy", lifeboat_builtins::DR_COPY)?;
    runtime.load_policy("keep-last", lifeboat_builtins::KEEP_LAST, Limits::POLICY)?;
    let runner = Runner {
        runtime: Arc::new(runtime),
        connector: Arc::new(DirectConnector),
    };

    let (mut ours, mut reference) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let sim = SimProcess::start(lifeboat, &fixture_path)?;
        let job = tokio.block_on(Job::prepare(&sim, dir))?;
        ours.push(tokio.block_on(job.through_executor(&runner))?);
        tokio.block_on(count_replicas(&sim))?;
        drop(sim);
        let sim = SimProcess::start(lifeboat, &fixture_path)?;
        let job = tokio.block_on(Job::prepare(&sim, dir))?;
        reference.push(tokio.block_on(job.direct(&sim))?);
        tokio.block_on(count_replicas(&sim))?;
    }
    let (ours, reference) = (median(ours), median(reference));
    let label = format!(
        "dr-scale {VMS} VMs x {} MiB disk, {PARALLEL} at a time",
        DISK_SIZE / MIB
    );
    println!(
        "{label}: lifeboat run (executor + dr-copy)   {ours:>7.2} s  {:>6.1} ms/VM",
        ours * 1e3 / VMS as f64
    );
    println!(
        "{label}: direct client, same calls        {reference:>7.2} s  {:>6.1} ms/VM",
        reference * 1e3 / VMS as f64
    );
    println!(
        "{label}: direct/lifeboat speed = {:.2}x (target >= 0.90)",
        reference / ours
    );
    Ok(())
}

/// One run's pipeline, read as the executor reads it, and what the direct copy marks replicas
/// with (the same job and schedule).
struct Job {
    pipeline: Pipeline,
    secrets: lifeboat_pipeline::Secrets,
    schedule_id: String,
}

impl Job {
    async fn prepare(sim: &SimProcess, dir: &Path) -> Result<Job> {
        let text = pipeline(sim, dir, PARALLEL)?;
        let pipeline = Pipeline::parse(&text, "dr-scale pipeline", lifeboat_builtins::NAMES)?;
        let secrets = lifeboat_pipeline::resolve_secrets(&pipeline)?;
        let schedule_id = schedule_id(&pipeline, None).map_err(anyhow::Error::msg)?;
        Ok(Job {
            pipeline,
            secrets,
            schedule_id,
        })
    }

    /// The job run by the executor; its time in seconds.
    async fn through_executor(&self, runner: &Runner) -> Result<f64> {
        let options = RunOptions {
            schedule: None,
            sink: Arc::new(Discard),
            now_ms: Some(NOW_MS),
        };
        let started = Instant::now();
        let report = runner
            .run(&self.pipeline, &self.secrets, options)
            .await
            .map_err(anyhow::Error::msg)?;
        let seconds = started.elapsed().as_secs_f64();
        let items: Vec<_> = report.steps.iter().flat_map(|step| &step.items).collect();
        if report.status != RunStatus::Success {
            let problem = report
                .steps
                .iter()
                .find_map(|step| step.error.clone())
                .or_else(|| items.iter().find_map(|item| item.error.clone()));
            bail!("the DR job failed: {problem:?}");
        }
        ensure!(items.len() == VMS, "the job copied {} VMs", items.len());
        Ok(seconds)
    }

    /// The same copies with the client alone; their time in seconds.
    async fn direct(&self, sim: &SimProcess) -> Result<f64> {
        let started = Instant::now();
        let source = Client::connect(sim.pool("source")?.options()?).await?;
        let target = Client::connect(sim.pool("target")?.options()?).await?;
        // The VMs to copy, found as the executor finds them.
        let all = source.get_all_records::<Vm>().await?;
        let mut chosen: Vec<&Vm> = all
            .values()
            .filter(|vm| !vm.is_a_template && !vm.is_a_snapshot && !vm.is_control_domain)
            .filter(|vm| vm.tags.iter().any(|tag| tag == SOURCE_TAG))
            .collect();
        chosen.sort_by(|a, b| (&a.name_label, &a.uuid).cmp(&(&b.name_label, &b.uuid)));
        ensure!(chosen.len() == VMS, "found {} VMs to copy", chosen.len());
        stream::iter(chosen)
            .map(|vm| self.copy_one(&source, &target, &vm.uuid))
            .buffer_unordered(PARALLEL)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(started.elapsed().as_secs_f64())
    }

    /// One VM, with the calls dr-copy makes for a halted VM that has no replica yet.
    async fn copy_one(&self, source: &Client, target: &Client, uuid: &str) -> Result<()> {
        let vm_ref = source.get_by_uuid::<Vm>(uuid).await?;
        let vm = source.get_record(&vm_ref).await?;
        let sr = target.get_by_uuid::<Sr>(TARGET_SR).await?;
        target.get_record(&sr).await?;
        // dr-copy lists the target's VMs for the job's earlier replicas (to remove interrupted
        // ones) before the copy, and again for retention after it.
        target.get_all_records::<Vm>().await?;
        let download = source.export_vm(&vm_ref, VmCompression::None).await?;
        let length = download.content_length();
        let (body, export) = download.into_stream();
        let imported = target
            .import_vm(Some(&sr), ImportSource::from_stream(body, length))
            .await?;
        export.wait().await?;
        let replica = imported.first().context("the import created no VM")?;
        self.mark(target, replica, &vm).await?;
        target.get_all_records::<Vm>().await?;
        Ok(())
    }

    /// dr-copy's `mark`: name, marks, start blocked, tag, the disks' marks, `xo:backup:sr` last.
    async fn mark(&self, target: &Client, replica: &Ref<Vm>, source: &Vm) -> Result<()> {
        let record = target.get_record(replica).await?;
        let name = format!(
            "{} - {} - ({NAME_DATE})",
            source.name_label, self.pipeline.name
        );
        target
            .set_field(replica, "name_label", Value::string(name))
            .await?;
        let marks = [
            ("xo:backup:datetime", MARK_DATE),
            ("xo:backup:job", self.pipeline.id.as_str()),
            ("xo:backup:schedule", self.schedule_id.as_str()),
            ("xo:backup:vm", source.uuid.as_str()),
        ];
        for (key, value) in marks {
            target
                .set_map_entry(replica, "other_config", key, value)
                .await?;
        }
        for operation in record
            .blocked_operations
            .keys()
            .filter(|operation| *operation != "start" && *operation != "start_on")
        {
            target
                .remove_map_entry(replica, "blocked_operations", operation)
                .await?;
        }
        for operation in ["start", "start_on"] {
            target
                .set_map_entry(replica, "blocked_operations", operation, START_BLOCKED)
                .await?;
        }
        target.add_tag(replica, REPLICA_TAG).await?;
        for vbd in &record.vbds {
            let vbd = target.get_record(vbd).await?;
            if vbd.vbd_type != VbdType::Disk || vbd.empty {
                continue;
            }
            for (key, value) in marks.iter().chain([&("xo:backup:sr", TARGET_SR)]) {
                target
                    .set_map_entry(&vbd.vdi, "other_config", key, value)
                    .await?;
            }
        }
        target
            .set_map_entry(replica, "other_config", "xo:backup:sr", TARGET_SR)
            .await?;
        Ok(())
    }
}

/// Checks that a run left one complete replica of every VM on the target (untimed).
async fn count_replicas(sim: &SimProcess) -> Result<()> {
    let target = Client::connect(sim.pool("target")?.options()?).await?;
    let replicas = target
        .get_all_records::<Vm>()
        .await?
        .into_values()
        .filter(|vm| vm.tags.iter().any(|tag| tag == REPLICA_TAG))
        .filter(|vm| vm.other_config.get("xo:backup:sr").map(String::as_str) == Some(TARGET_SR))
        .count();
    ensure!(
        replicas == VMS,
        "the target holds {replicas} complete replicas, not {VMS}"
    );
    Ok(())
}

/// The executor's events are not what is measured.
struct Discard;

impl RunSink for Discard {
    fn emit(&self, _: RunEvent) {}
}

fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}
