//! `export_raw_vdi` and `import_raw_vdi` of one large VDI: Lifeboat's client against `curl` on
//! the same simulator in the same run, with the peak memory of the client and the simulator.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use lifeboat_xapi::Client;
use lifeboat_xapi::records::{Ref, Vdi};

use super::client::CHILD_FLAG;
use super::sim::{SimPool, SimProcess};
use crate::measure::{Measurement, interleaved};
use crate::{GIB, MIB, report, sparse_raw, warm};

/// The transfer benchmark on a disk of `size` bytes, a quarter of it allocated.
pub fn run(lifeboat: &Path, dir: &Path, size: u64, runs: usize) -> Result<()> {
    let fixture = dir.join("transfer-pool.yaml");
    std::fs::write(
        &fixture,
        format!(
            "pools:
  - name: bench
    password: bench
    hosts: [{{name: bench-host}}]
    srs: [{{name: Local, size: {sr}, default: true}}]
    vms:
      - name: bench
        disks:
          - {{name: source, size: {size}, content: {{fill: 25, seed: 1}}}}
          - {{name: target, size: {size}}}
",
            sr = size * 4,
        ),
    )?;
    let sim = SimProcess::start(lifeboat, &fixture)?;
    let pool = sim.pool("bench")?;
    let (session, source, target) = session_and_disks(pool)?;
    let image = dir.join("import.raw");
    let data = sparse_raw(&image, size, 0.25, 7)?;
    warm(&image)?;

    let exe = std::env::current_exe()?;
    let client = |mode: &str, vdi: &str, last: &str| {
        let mut command = Command::new(&exe);
        command
            .arg(CHILD_FLAG)
            .args([mode, &pool.url, &pool.username, &pool.password, vdi, last]);
        command
    };
    let handler = |name: &str, vdi: &str, format: &str| {
        format!(
            "{}{name}?vdi={vdi}&format={format}&session_id={session}",
            pool.url
        )
    };
    let curl = |args: &[&str]| {
        let mut command = Command::new("curl");
        command.args(["-sS", "-f"]).args(args);
        command
    };
    let nothing = Path::new("/nonexistent/lifeboat-bench-output");
    let label = format!("export_raw_vdi {} GiB, 25% allocated", size / GIB);
    for format in ["raw", "vhd"] {
        let url = handler("export_raw_vdi", &source, format);
        let [ours, reference] = interleaved(
            runs,
            [
                (nothing, client("export", &source, format)),
                (nothing, curl(&["-o", "/dev/null", &url])),
            ],
        )?;
        ratio(
            &format!("{label}, format={format}"),
            "curl",
            &ours,
            &reference,
            size,
        );
    }
    let url = handler("import_raw_vdi", &target, "raw");
    let image_arg = image.to_string_lossy();
    let [ours, reference] = interleaved(
        runs,
        [
            (nothing, client("import", &target, &image_arg)),
            (nothing, curl(&["-T", &image_arg, "-o", "/dev/null", &url])),
        ],
    )?;
    ratio(
        &format!(
            "import_raw_vdi {} GiB raw, {} MiB data",
            size / GIB,
            data / MIB
        ),
        "curl -T",
        &ours,
        &reference,
        size,
    );
    let (_, sim_peak) = sim.memory_kib()?;
    println!(
        "simulator peak RSS over the transfer runs: {} MiB (target < 128)",
        sim_peak / 1024
    );
    let _ = std::fs::remove_file(&image);
    Ok(())
}

fn ratio(label: &str, tool: &str, ours: &Measurement, reference: &Measurement, bytes: u64) {
    report(label, "lifeboat-xapi client", ours, bytes);
    report(label, tool, reference, bytes);
    println!(
        "{label}: client/{tool} speed = {:.2}x (target >= 0.50), client peak RSS {} MiB (target < 128)",
        reference.seconds / ours.seconds,
        ours.peak_rss_kib / 1024
    );
}

/// Logs in (the session is for curl's URLs) and finds the two disks.
fn session_and_disks(pool: &SimPool) -> Result<(String, String, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = Client::connect(pool.options()?).await.context("login")?;
        let vdis = client.get_all_records::<Vdi>().await?;
        let find = |name: &str| -> Result<String> {
            vdis.iter()
                .find(|(_, vdi)| vdi.name_label == name)
                .map(|(reference, _): (&Ref<Vdi>, _)| reference.as_str().to_owned())
                .with_context(|| format!("no VDI {name}"))
        };
        Ok((
            client.session().await.expose().to_owned(),
            find("source")?,
            find("target")?,
        ))
    })
}
