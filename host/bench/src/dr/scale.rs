//! A DR job over 200 halted VMs with one small disk each: the whole job through the executor
//! (`Runner`, the built-in dr-copy, 4 VMs at a time), against the same work done directly with
//! Lifeboat's client and no component: each VM's XVA export streamed into an import on the
//! target SR, 4 at a time, with the XAPI calls dr-copy makes around it (its lookups, the
//! migration block, the reads of the VM's disks and snapshots, the replica listings it makes
//! for names, cleaning and retention, the replica's name, tag, block and marks written into the
//! archive, and the marks after the import).
//!
//! Both sides run in this process on the same async runtime, each against a fresh simulator
//! process started from the same fixture, so that both find the same pools and do the same work.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use lifeboat_executor::{
    DirectConnector, RunEvent, RunOptions, RunSink, RunStatus, Runner, schedule_id,
};
use lifeboat_formats::xva::{OvaXml, OvaXmlEditor, Pushed};
use lifeboat_pipeline::Pipeline;
use lifeboat_runtime::{ComponentCache, Limits, Runtime, RuntimeOptions};
use lifeboat_xapi::records::{Ref, Sr, VbdType, Vdi, Vm};
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
const MIGRATION_BLOCKED: &str = "VM migration is blocked during backup";
const MIGRATIONS: [&str; 2] = ["migrate_send", "pool_migrate"];

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
        "{label}: speed (direct client time / lifeboat time) = {:.2}x (target >= 0.90)",
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

    /// One VM, with the calls dr-copy makes for a halted VM that has no replica yet (its own
    /// calls; the host's guards add a few reads of their own, which are part of what is
    /// measured).
    async fn copy_one(&self, source: &Client, target: &Client, uuid: &str) -> Result<()> {
        let vm_ref = source.get_by_uuid::<Vm>(uuid).await?;
        let vm = source.get_record(&vm_ref).await?;
        let sr = target.get_by_uuid::<Sr>(TARGET_SR).await?;
        target.get_record(&sr).await?;
        // The VM's migration is blocked for the length of the copy.
        for operation in MIGRATIONS {
            source
                .set_map_entry(&vm_ref, "blocked_operations", operation, MIGRATION_BLOCKED)
                .await?;
        }
        source.vm_update_allowed_operations(&vm_ref).await?;
        // Its disks (for the job's snapshots, the marks to reset and the disks left out), then
        // the seconds the job's copies hold.
        disks(source, &vm).await?;
        target.get_all_records::<Vm>().await?;
        source.get_record(&vm_ref).await?;
        let download = source.export_vm(&vm_ref, VmCompression::None).await?;
        // The interrupted copies to clean, once the export has started.
        target.get_all_records::<Vm>().await?;
        let (body, export) = download.into_stream();
        let imported = target
            .import_vm(
                Some(&sr),
                ImportSource::from_stream(self.born_as_replica(body, &vm), None),
            )
            .await?;
        export.wait().await?;
        let replica = imported.first().context("the import created no VM")?;
        self.complete(target, replica, &vm).await?;
        // The old copies to remove.
        target.get_all_records::<Vm>().await?;
        // Snapshot retention again, and the migration block lifted.
        let vm = source.get_record(&vm_ref).await?;
        disks(source, &vm).await?;
        source.get_record(&vm_ref).await?;
        for operation in MIGRATIONS {
            source
                .remove_map_entry(&vm_ref, "blocked_operations", operation)
                .await?;
        }
        source.vm_update_allowed_operations(&vm_ref).await?;
        Ok(())
    }

    /// The export with the replica's name, tag, start block and marks written into its
    /// `ova.xml`, as dr-copy's import has the host do.
    fn born_as_replica(
        &self,
        body: BoxStream<'static, std::io::Result<Bytes>>,
        source: &Vm,
    ) -> BoxStream<'static, std::io::Result<Bytes>> {
        let name = format!(
            "{} - {} - ({NAME_DATE})",
            source.name_label, self.pipeline.name
        );
        let marks = self.marks(source);
        let mut editor = OvaXmlEditor::new(move |ova: &mut OvaXml| {
            for object in ova.objects.iter_mut().filter(|o| o.class == "VM") {
                let record = &mut object.snapshot;
                record.set("name_label", Value::string(&name));
                record.set("tags", Value::Array(vec![Value::string(REPLICA_TAG)]));
                let blocks = ["start", "start_on"]
                    .map(|operation| (operation, Value::string(START_BLOCKED)));
                record.set("blocked_operations", Value::record(blocks));
                let mut other_config = record
                    .get("other_config")
                    .cloned()
                    .unwrap_or(Value::record([]));
                for (key, value) in &marks {
                    other_config.set(key, Value::string(value));
                }
                record.set("other_config", other_config);
            }
            Ok(())
        });
        body.filter_map(move |chunk| {
            let edited = chunk.and_then(|chunk| match editor.push(&chunk) {
                Ok(Pushed::Held) => Ok(None),
                Ok(Pushed::Emit(bytes)) => Ok(Some(Bytes::from(bytes))),
                Ok(Pushed::Pass) => Ok(Some(chunk)),
                Err(error) => Err(std::io::Error::other(error)),
            });
            std::future::ready(edited.transpose())
        })
        .boxed()
    }

    fn marks(&self, source: &Vm) -> [(&'static str, String); 4] {
        [
            ("xo:backup:datetime", MARK_DATE.to_owned()),
            ("xo:backup:job", self.pipeline.id.clone()),
            ("xo:backup:schedule", self.schedule_id.clone()),
            ("xo:backup:vm", source.uuid.clone()),
        ]
    }

    /// dr-copy's completion of a replica: the marks and `xo:backup:sr` on its disks, then
    /// `xo:backup:sr` on the VM.
    async fn complete(&self, target: &Client, replica: &Ref<Vm>, source: &Vm) -> Result<()> {
        let record = target.get_record(replica).await?;
        let marks = self.marks(source);
        for disk in disks(target, &record).await? {
            for (key, value) in marks
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .chain([("xo:backup:sr", TARGET_SR)])
            {
                target
                    .set_map_entry(&disk, "other_config", key, value)
                    .await?;
            }
        }
        target
            .set_map_entry(replica, "other_config", "xo:backup:sr", TARGET_SR)
            .await?;
        Ok(())
    }
}

/// The disks of `vm`, read as dr-copy reads them: each VBD, and the VDI of each disk.
async fn disks(pool: &Client, vm: &Vm) -> Result<Vec<Ref<Vdi>>> {
    let mut disks = Vec::new();
    for vbd in &vm.vbds {
        let vbd = pool.get_record(vbd).await?;
        if vbd.vbd_type == VbdType::Disk && !vbd.empty {
            pool.get_record(&vbd.vdi).await?;
            disks.push(vbd.vdi);
        }
    }
    Ok(disks)
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
