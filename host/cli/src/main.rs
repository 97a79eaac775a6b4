//! `lifeboat`: protects virtual machines on XCP-ng / XenServer and OpenStack.
//!
//! Exit codes: 0 success, 1 the operation failed (the message says why and what to do), 2 the
//! command line or the input was wrong; `lifeboat run` adds 3 for a run that partly failed.

mod disk;
mod pipeline;
mod progress;
mod sim;

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
    /// Simulated XCP-ng / XenServer pools: serve them, print the built-in fixture.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Run a pipeline file: its steps, once per selected VM, as sandboxed components.
    Run(pipeline::RunArgs),
    /// Check a pipeline file without running it.
    Validate(pipeline::ValidateArgs),
    /// Print the JSON Schema of pipeline files (for editors and validators).
    Schema,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Disk(command) => disk::run(command),
        Command::Sim(command) => sim::run(command),
        Command::Run(args) => return pipeline::run(args),
        Command::Validate(args) => return pipeline::validate(args),
        Command::Schema => return pipeline::schema(),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lifeboat: error: {}", message(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line. Library errors often repeat their cause in their own
/// message (for callers that print only that), so a cause already said is not said again.
fn message(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message = format!("{message}: {cause}");
        }
    }
    message
}
