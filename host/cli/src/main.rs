//! `lifeboat`: protects virtual machines on XCP-ng / XenServer and OpenStack.
//!
//! Exit codes: 0 success, 1 the operation failed (the message says why and what to do), 2 the
//! command line was wrong.

mod disk;
mod progress;

use clap::{Parser, Subcommand};

/// Lifeboat protects virtual machines: disaster-recovery copies, incremental replication, backups
/// in Xen Orchestra's layout, and restores.
#[derive(Parser)]
#[command(name = "lifeboat", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect, check, convert, diff and merge disk images (VHD files, VHD directories, raw, XVA).
    #[command(subcommand)]
    Disk(disk::DiskCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Disk(command) => disk::run(command),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lifeboat: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
