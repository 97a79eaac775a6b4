//! A DR copy of one VM with a large disk, a quarter of it allocated: `lifeboat run` of a pipeline
//! with the built-in dr-copy (its XVA export streamed into an import on the target pool), against
//! the same work without Lifeboat: one `curl`'s export piped into another's import, from and to
//! the same simulator. Three more references show what sets the pace: `curl` downloading the XVA
//! export into /dev/null, `curl -T` uploading that XVA (saved to a file beforehand) into the
//! target pool's import, and the copy made by Lifeboat's XAPI client alone, with no executor,
//! component or transfer engine.
//!
//! Speeds are ratios of times, reference time / Lifeboat time (above 1: Lifeboat is faster);
//! throughput is the XVA's bytes (what moves), not the disk's virtual size.
//!
//! All are child processes measured alike (wall time, peak resident memory), so the memory figure
//! is Lifeboat's alone: the simulator runs in a process of its own.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use lifeboat_runtime::{Limits, PoolConnection, Runtime, RuntimeOptions};
use lifeboat_xapi::Client;
use lifeboat_xapi::records::{Sr, Vm};

use super::{REPLICA_TAG, SOURCE_TAG, TARGET_SR, fixture, pipeline, vm_yaml};
use crate::measure::{self, Measurement};
use crate::xapi::client::CHILD_FLAG;
use crate::xapi::sim::SimProcess;
use crate::{GIB, MIB, report, sh, warm};

pub fn run(lifeboat: &Path, dir: &Path, size: u64, runs: usize) -> Result<()> {
    let mut vms = String::new();
    vm_yaml(&mut vms, "big", size, 25, 1);
    let fixture_path = dir.join("dr-copy-pools.yaml");
    std::fs::write(&fixture_path, fixture(&vms, size * 4))?;
    let sim = SimProcess::start(lifeboat, &fixture_path)?;
    let pipeline_path = dir.join("dr-copy.yaml");
    std::fs::write(&pipeline_path, pipeline(&sim, dir, 1)?)?;
    prime_cache()?;

    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let urls = tokio.block_on(Urls::of(&sim))?;
    let xva = dir.join("dr-copy.xva");
    let saved = Command::new("curl")
        .args(["-sS", "-f", "-o"])
        .arg(&xva)
        .arg(&urls.export)
        .status()?;
    ensure!(saved.success(), "curl could not save the XVA export");
    warm(&xva)?;
    let mut lifeboat_run = Command::new(lifeboat);
    lifeboat_run
        .args(["run", "--no-progress"])
        .arg(&pipeline_path);
    let mut export = Command::new("curl");
    export.args(["-sS", "-f", "-o", "/dev/null", &urls.export]);
    let mut import = Command::new("curl");
    import
        .args(["-sS", "-f", "-o", "/dev/null", "-T"])
        .arg(&xva)
        .arg(&urls.import);
    // The import handler refuses chunked uploads: the piped upload announces the XVA's length
    // (known from the saved copy) instead.
    let pipe = format!(
        "curl -sS -f {} | curl -sS -f -o /dev/null -T - -H 'Content-Length: {}' -H 'Transfer-Encoding:' {}",
        sh(Path::new(&urls.export)),
        std::fs::metadata(&xva)?.len(),
        sh(Path::new(&urls.import))
    );
    let mut piped = Command::new("bash");
    piped.args(["-o", "pipefail", "-c", &pipe]);
    let source = sim.pool("source")?;
    let target = sim.pool("target")?;
    let mut client = Command::new(std::env::current_exe()?);
    client.arg(CHILD_FLAG).args([
        "copy-vm",
        &source.url,
        &source.username,
        &source.password,
        &urls.vm,
        &target.url,
        &target.username,
        &target.password,
        &urls.sr,
    ]);
    let mut samples: [Vec<Measurement>; 5] = Default::default();
    for _ in 0..runs {
        // Every copy goes into the same empty target.
        samples[0].push(measure::run(&mut lifeboat_run)?);
        tokio.block_on(empty_target(&sim, true))?;
        samples[1].push(measure::run(&mut export)?);
        samples[2].push(measure::run(&mut import)?);
        tokio.block_on(empty_target(&sim, false))?;
        samples[3].push(measure::run(&mut piped)?);
        tokio.block_on(empty_target(&sim, false))?;
        samples[4].push(measure::run(&mut client)?);
        tokio.block_on(empty_target(&sim, false))?;
    }
    let moved = std::fs::metadata(&xva)?.len();
    let _ = std::fs::remove_file(&xva);
    let [ours, export, import, piped, direct] = samples.map(Measurement::median);
    let label = format!("dr-copy 1 VM, {} GiB disk 25% allocated", size / GIB);
    report(&label, "lifeboat run (dr-copy)", &ours, moved);
    report(&label, "curl export | curl -T", &piped, moved);
    report(&label, "curl of the XVA export", &export, moved);
    report(&label, "curl -T of the saved XVA", &import, moved);
    report(&label, "lifeboat-xapi client copy", &direct, moved);
    let (_, sim_peak) = sim.memory_kib()?;
    println!(
        "{label}: speed against the same work (curl export | curl -T time / lifeboat time) = {:.2}x (target >= 0.50); against the export alone = {:.2}x, the upload alone = {:.2}x, the client's copy = {:.2}x; XVA {} MiB; lifeboat peak RSS {} MiB (target < 128), simulator peak RSS {} MiB",
        piped.seconds / ours.seconds,
        export.seconds / ours.seconds,
        import.seconds / ours.seconds,
        direct.seconds / ours.seconds,
        moved / MIB,
        ours.peak_rss_kib / 1024,
        sim_peak / 1024
    );
    Ok(())
}

/// Compiles dr-copy and keep-last into the default cache, which `lifeboat run` reads (with the
/// same engine settings), so that no timed run includes a compilation.
fn prime_cache() -> Result<()> {
    let runtime = Runtime::new(RuntimeOptions::default())?;
    runtime.load_operation("dr-copy", lifeboat_builtins::DR_COPY)?;
    runtime.load_policy("keep-last", lifeboat_builtins::KEEP_LAST, Limits::POLICY)?;
    Ok(())
}

/// What the references copy from and to.
struct Urls {
    /// The source VM's XVA export, without compression as dr-copy asks for it, in a session of
    /// its own.
    export: String,
    /// An XVA import into the target SR, in a session of its own.
    import: String,
    /// The source VM's ref.
    vm: String,
    /// The target SR's ref.
    sr: String,
}

impl Urls {
    async fn of(sim: &SimProcess) -> Result<Urls> {
        let source = sim.pool("source")?;
        let client = Client::connect(source.options()?).await.context("login")?;
        let (vm, _) = client
            .get_all_records::<Vm>()
            .await?
            .into_iter()
            .find(|(_, vm)| vm.tags.iter().any(|tag| tag == SOURCE_TAG))
            .context("no VM to copy")?;
        let export = format!(
            "{}export?ref={vm}&use_compression=false&session_id={}",
            source.url,
            client.session().await.expose()
        );
        let target = sim.pool("target")?;
        let client = Client::connect(target.options()?).await.context("login")?;
        let sr = client.get_by_uuid::<Sr>(TARGET_SR).await?;
        let import = format!(
            "{}import?sr_id={sr}&session_id={}",
            target.url,
            client.session().await.expose()
        );
        Ok(Urls {
            export,
            import,
            vm: vm.to_string(),
            sr: sr.to_string(),
        })
    }
}

/// Destroys the VM a copy or an import made on the target, with its disks, after checking there
/// is exactly one (a replica when `replica`).
async fn empty_target(sim: &SimProcess, replica: bool) -> Result<()> {
    let target = PoolConnection {
        name: "target".into(),
        client: Client::connect(sim.pool("target")?.options()?).await?,
    };
    let vms: Vec<_> = target
        .client
        .get_all_records::<Vm>()
        .await?
        .into_iter()
        .filter(|(_, vm)| !vm.is_a_template && !vm.is_a_snapshot && !vm.is_control_domain)
        .collect();
    ensure!(
        vms.len() == 1,
        "the target holds {} VMs after a copy",
        vms.len()
    );
    let (vm, record) = &vms[0];
    ensure!(
        !replica || record.tags.iter().any(|tag| tag == REPLICA_TAG),
        "the copy on the target is not tagged as a replica"
    );
    lifeboat_runtime::host::destroy_vm_with_disks(&target, vm).await?;
    target.client.logout().await?;
    Ok(())
}
