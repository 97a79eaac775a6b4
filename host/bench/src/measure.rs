//! Running a command as a child process and measuring its wall time and peak resident memory.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Result, bail};

/// One measured run.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    pub seconds: f64,
    pub peak_rss_kib: u64,
}

impl Measurement {
    /// The run with the median time (its own memory figure kept).
    pub fn median(mut runs: Vec<Measurement>) -> Measurement {
        runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        runs[runs.len() / 2]
    }
}

/// First argument that makes this binary a measuring wrapper instead of the benchmark.
pub const WRAPPER_FLAG: &str = "--measure-child";

/// Runs `command` to completion through a small wrapper process (this binary with
/// [`WRAPPER_FLAG`]); fails if it fails. A child's `ru_maxrss` counts the memory of the process it
/// was started from (`posix_spawn` shares it until `exec`), so the benchmark, which holds
/// buffers, must not be that process.
pub fn run(command: &mut Command) -> Result<Measurement> {
    settle()?;
    let output = Command::new(std::env::current_exe()?)
        .arg(WRAPPER_FLAG)
        .arg(command.get_program())
        .args(command.get_args())
        .output()?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace();
    match (fields.next().map(str::parse), fields.next().map(str::parse)) {
        (Some(Ok(seconds)), Some(Ok(peak_rss_kib))) => Ok(Measurement {
            seconds,
            peak_rss_kib,
        }),
        _ => bail!("the measuring wrapper printed {text:?}"),
    }
}

/// Lets the machine settle before a timed run: dirty pages of earlier runs are written out, and a
/// moment passes for the discards of deleted files (the filesystem may be mounted with
/// `discard`) to be issued.
fn settle() -> Result<()> {
    Command::new("sync").status()?;
    std::thread::sleep(std::time::Duration::from_millis(1500));
    Ok(())
}

/// The wrapper's side: runs `program args…`, prints "<seconds> <peak RSS KiB>" and exits with the
/// child's status.
pub fn wrapper_main(program: &str, args: &[String]) -> Result<()> {
    let measured = measure_direct(Command::new(program).args(args))?;
    println!("{} {}", measured.seconds, measured.peak_rss_kib);
    Ok(())
}

fn measure_direct(command: &mut Command) -> Result<Measurement> {
    let start = Instant::now();
    let child = command.stdout(std::process::Stdio::null()).spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; all-zero is a valid value to start from.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `status` and `usage` are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = start.elapsed().as_secs_f64();
    if waited != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{command:?} failed (status {status})");
    }
    Ok(Measurement {
        seconds,
        peak_rss_kib: usage.ru_maxrss as u64,
    })
}

/// Runs each command `runs` times, in rounds (one run of each per round, so that every command
/// sees the machine in the same state), deleting its output before each run; keeps each median.
pub fn interleaved<const N: usize>(
    runs: usize,
    mut commands: [(&Path, Command); N],
) -> Result<[Measurement; N]> {
    let mut samples: [Vec<Measurement>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for _ in 0..runs {
        for ((output, command), samples) in commands.iter_mut().zip(samples.iter_mut()) {
            let _ = std::fs::remove_file(output);
            samples.push(run(command)?);
        }
    }
    Ok(samples.map(Measurement::median))
}
