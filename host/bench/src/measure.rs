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

/// Runs `command` to completion; fails if it fails.
pub fn run(command: &mut Command) -> Result<Measurement> {
    // Dirty pages of an earlier run must not be flushed during this one.
    Command::new("sync").status()?;
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

/// Runs the command that `make` builds `runs` times, deleting `output` before each run, and keeps
/// the median.
pub fn median_run(runs: usize, output: &Path, make: impl Fn() -> Command) -> Result<Measurement> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let _ = std::fs::remove_file(output);
        samples.push(run(&mut make())?);
    }
    Ok(Measurement::median(samples))
}
