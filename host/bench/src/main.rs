//! `lifeboat-bench`: Lifeboat's disk operations measured side by side with reference tools in the
//! same run, printed as ratios, with the peak resident memory of each process. Every speed
//! ratio is the reference's time divided by Lifeboat's (above 1: Lifeboat is faster), and every
//! throughput is computed from the bytes that actually move.
//!
//! - raw → dynamic VHD of a sparse disk with 25 % random data, against `cp --sparse=always` of the
//!   same file and `qemu-img convert -O vpc`;
//! - merging a chain of one full disk and five deltas (10 % of the blocks changed in each), against
//!   `cp` of a file as large as the bytes the merge writes;
//! - XAPI transfers of a VDI through Lifeboat's client against `curl` on the same simulator, and a
//!   5,000-VM pool's record and event dumps ([`xapi`]);
//! - what the sandbox costs: a no-op step against a plain call, a 200-VM DR job through the
//!   executor against the same calls made directly, and a DR copy of a large VM against the same
//!   work done by `curl` (its export piped into an import) ([`dr`]).
//!
//! Commands run as child processes (their time is wall-clock from spawn to exit, their memory the
//! child's `ru_maxrss`); each is run several times and the median is kept. Inputs are read once
//! before timing so that every tool starts from the same warm page cache. The step overhead and
//! the 200-VM job are timed inside this process, their references beside them.

mod chain;
mod dr;
mod measure;
mod xapi;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Parser;
use measure::{Measurement, interleaved};
use rand::{Rng, RngCore, SeedableRng, rngs::StdRng};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// Benchmarks Lifeboat's VHD conversion and merge against cp and qemu-img, its XAPI client
/// against curl on the pool simulator, and its sandboxed DR copies against the same work done
/// without a sandbox.
#[derive(Parser)]
struct Args {
    /// Size of the virtual disks, in GiB.
    #[arg(long, default_value_t = 4)]
    size_gib: u64,
    /// Runs of each command; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Scratch folder (needs about 4 × the disk size free). Default: a new folder in the temp dir.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The `lifeboat` binary. Default: the one built beside this benchmark.
    #[arg(long)]
    lifeboat: Option<PathBuf>,
    /// Run only this benchmark.
    #[arg(long, value_enum)]
    only: Option<Benchmark>,
}

/// The benchmarks.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Benchmark {
    /// raw -> dynamic VHD.
    Convert,
    /// Merge of a chain.
    Merge,
    /// XAPI export_raw_vdi / import_raw_vdi through the client against curl.
    Transfer,
    /// A 5,000-VM simulated pool: get_all_records, event.from, memory per VM.
    Scale,
    /// A no-op operation step against a plain async call.
    Overhead,
    /// A 200-VM DR job through the executor against the same calls made directly.
    DrScale,
    /// A DR copy of one large VM by `lifeboat run` against the same copy by curl (its export
    /// piped into an import).
    DrCopy,
}

fn main() -> Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(measure::WRAPPER_FLAG) {
        let Some(program) = argv.get(2) else {
            bail!("{} needs a command", measure::WRAPPER_FLAG)
        };
        return measure::wrapper_main(program, &argv[3..]);
    }
    if argv.get(1).map(String::as_str) == Some(xapi::client::CHILD_FLAG) {
        return xapi::client::main(&argv[2..]);
    }
    let args = Args::parse();
    let lifeboat = match args.lifeboat {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("lifeboat"),
    };
    if !lifeboat.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p lifeboat-cli)",
            lifeboat.display()
        );
    }
    let scratch = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            tempfile_dir(dir)?
        }
        None => tempfile_dir(&std::env::temp_dir())?,
    };
    let size = args.size_gib * GIB;
    let result = run_all(&lifeboat, &scratch, size, args.runs, args.only);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn tempfile_dir(parent: &Path) -> Result<PathBuf> {
    let dir = parent.join(format!("lifeboat-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn run_all(
    lifeboat: &Path,
    dir: &Path,
    size: u64,
    runs: usize,
    only: Option<Benchmark>,
) -> Result<()> {
    println!(
        "# lifeboat-bench: {} GiB disks, median of {runs} runs, {}",
        size / GIB,
        dir.display()
    );
    if only.is_none_or(|b| b == Benchmark::Convert) {
        convert_benchmark(lifeboat, dir, size, runs)?;
    }
    if only.is_none_or(|b| b == Benchmark::Merge) {
        merge_benchmark(lifeboat, dir, size, runs)?;
    }
    if only.is_none_or(|b| b == Benchmark::Transfer) {
        xapi::transfer::run(lifeboat, dir, size, runs)?;
    }
    if only.is_none_or(|b| b == Benchmark::Scale) {
        xapi::scale::run(lifeboat, dir)?;
    }
    if only.is_none_or(|b| b == Benchmark::Overhead) {
        dr::overhead::run(dir)?;
    }
    if only.is_none_or(|b| b == Benchmark::DrScale) {
        dr::scale::run(lifeboat, dir, runs)?;
    }
    if only.is_none_or(|b| b == Benchmark::DrCopy) {
        dr::copy::run(lifeboat, dir, size, runs)?;
    }
    Ok(())
}

/// raw → dynamic VHD against `cp --sparse=always` and `qemu-img convert -O vpc`.
fn convert_benchmark(lifeboat: &Path, dir: &Path, size: u64, runs: usize) -> Result<()> {
    let input = dir.join("input.raw");
    let data = sparse_raw(&input, size, 0.25, 1)?;
    warm(&input)?;
    let out_raw = dir.join("copy.raw");
    let out_qemu = dir.join("qemu.vhd");
    let out_ours = dir.join("lifeboat.vhd");
    let qemu_args = [
        "convert",
        "-f",
        "raw",
        "-O",
        "vpc",
        "-o",
        "subformat=dynamic",
    ];
    let mut qemu_args: Vec<&OsStr> = qemu_args.iter().map(|a| a.as_ref()).collect();
    qemu_args.extend([input.as_os_str(), out_qemu.as_os_str()]);
    let cp_synced = format!(
        "cp --sparse=always {} {} && sync -d {}",
        sh(&input),
        sh(&out_raw),
        sh(&out_raw)
    );
    let [ours, cp, cp_sync, qemu] = interleaved(
        runs,
        [
            (
                &out_ours,
                command(
                    lifeboat,
                    &[
                        "disk".as_ref(),
                        "convert".as_ref(),
                        input.as_ref(),
                        out_ours.as_ref(),
                    ],
                ),
            ),
            (
                &out_raw,
                command(
                    "cp",
                    &["--sparse=always".as_ref(), input.as_ref(), out_raw.as_ref()],
                ),
            ),
            (
                &out_raw,
                command("sh", &["-c".as_ref(), cp_synced.as_ref()]),
            ),
            (&out_qemu, command("qemu-img", &qemu_args)),
        ],
    )?;
    let label = format!("raw->vhd {} GiB, {} MiB data", size / GIB, data / MIB);
    report(&label, "lifeboat disk convert", &ours, data);
    report(&label, "cp --sparse=always", &cp, data);
    report(&label, "cp --sparse=always + fsync", &cp_sync, data);
    report(&label, "qemu-img convert -O vpc", &qemu, data);
    println!(
        "{label}: lifeboat/cp speed = {:.2}x (target >= 0.80), lifeboat/(cp+fsync) = {:.2}x, lifeboat/qemu-img speed = {:.2}x (target > 1), lifeboat peak RSS {} MiB (target < 64)",
        cp.seconds / ours.seconds,
        cp_sync.seconds / ours.seconds,
        qemu.seconds / ours.seconds,
        ours.peak_rss_kib / 1024
    );
    for path in [&input, &out_raw, &out_qemu, &out_ours] {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Merge of one full disk and five deltas against `cp` of the bytes the merge writes.
fn merge_benchmark(lifeboat: &Path, dir: &Path, size: u64, runs: usize) -> Result<()> {
    let template = dir.join("chain");
    std::fs::create_dir_all(&template)?;
    let plan = chain::build(&template, size, 5, 0.10, 2)?;
    let reference = dir.join("changed.bin");
    write_random(&reference, plan.merged_bytes, 3)?;
    warm(&reference)?;
    let copy = dir.join("changed.copy");
    let work = dir.join("work");
    let newest = work.join(&plan.newest);
    let (mut ours, mut cp, mut cp_sync) = (Vec::new(), Vec::new(), Vec::new());
    let cp_synced = format!(
        "cp {} {} && sync -d {}",
        sh(&reference),
        sh(&copy),
        sh(&copy)
    );
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work)?;
        for entry in std::fs::read_dir(&template)? {
            let entry = entry?;
            std::fs::copy(entry.path(), work.join(entry.file_name()))?;
            warm(&work.join(entry.file_name()))?;
        }
        ours.push(measure::run(&mut command(
            lifeboat,
            &["disk".as_ref(), "merge".as_ref(), newest.as_ref()],
        ))?);
        let _ = std::fs::remove_file(&copy);
        cp.push(measure::run(&mut command(
            "cp",
            &[reference.as_ref(), copy.as_ref()],
        ))?);
        let _ = std::fs::remove_file(&copy);
        cp_sync.push(measure::run(&mut command(
            "sh",
            &["-c".as_ref(), cp_synced.as_ref()],
        ))?);
    }
    let (ours, cp, cp_sync) = (
        Measurement::median(ours),
        Measurement::median(cp),
        Measurement::median(cp_sync),
    );
    let label = format!(
        "merge 1 full + 5 deltas ({} GiB, 10% changed each, {} MiB merged)",
        size / GIB,
        plan.merged_bytes / MIB
    );
    report(&label, "lifeboat disk merge", &ours, plan.merged_bytes);
    report(&label, "cp of the merged bytes", &cp, plan.merged_bytes);
    report(
        &label,
        "cp + fsync of the same",
        &cp_sync,
        plan.merged_bytes,
    );
    println!(
        "{label}: lifeboat/cp speed = {:.2}x (target >= 0.80), lifeboat/(cp+fsync) = {:.2}x, lifeboat peak RSS {} MiB (target < 64)",
        cp.seconds / ours.seconds,
        cp_sync.seconds / ours.seconds,
        ours.peak_rss_kib / 1024
    );
    Ok(())
}

fn command(program: impl AsRef<OsStr>, args: &[&OsStr]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

/// `path` quoted for `sh -c`.
fn sh(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

fn report(label: &str, tool: &str, m: &Measurement, bytes: u64) {
    println!(
        "{label}: {tool:<26} {:>7.3} s  {:>8.1} MiB/s  peak RSS {:>6} KiB",
        m.seconds,
        bytes as f64 / MIB as f64 / m.seconds,
        m.peak_rss_kib
    );
}

/// A sparse raw image of `size` bytes with random data over about `fraction` of it, in runs of
/// 4 MiB at random 64 KiB-aligned offsets (runs may straddle 2 MiB blocks, as a filesystem's
/// writes do). Returns the bytes of data written.
fn sparse_raw(path: &Path, size: u64, fraction: f64, seed: u64) -> Result<u64> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::create(path)?;
    file.set_len(size)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let run = 4 * MIB;
    let slots = (size - run) / (64 * 1024);
    let mut chosen: Vec<u64> = Vec::new();
    let target = (size as f64 * fraction) as u64;
    let mut covered = 0;
    let mut buf = vec![0u8; run as usize];
    while covered < target {
        let offset = rng.random_range(0..slots) * 64 * 1024;
        if chosen.iter().any(|&o| o < offset + run && offset < o + run) {
            continue;
        }
        chosen.push(offset);
        rng.fill_bytes(&mut buf);
        file.write_all_at(&buf, offset)?;
        covered += run;
    }
    file.sync_all()?;
    Ok(covered)
}

fn write_random(path: &Path, len: u64, seed: u64) -> Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut buf = vec![0u8; 4 * MIB as usize];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill_bytes(&mut buf[..n]);
        file.write_all(&buf[..n])?;
        left -= n as u64;
    }
    file.into_inner()?.sync_all()?;
    Ok(())
}

/// Reads a file once so that its data is in the page cache for every tool alike.
fn warm(path: &Path) -> Result<()> {
    let status = Command::new("cat")
        .arg(path)
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        bail!("cannot read {}", path.display());
    }
    Ok(())
}
