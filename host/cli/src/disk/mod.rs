//! `lifeboat disk`: tools on disk images for users and scripts.

mod check;
mod convert;
mod diff;
mod format;
mod info;
mod merge;
mod xva;

use clap::Subcommand;

/// The `lifeboat disk` subcommands.
#[derive(Subcommand)]
pub enum DiskCommand {
    Info(info::InfoArgs),
    Check(check::CheckArgs),
    Convert(convert::ConvertArgs),
    Diff(diff::DiffArgs),
    Merge(merge::MergeArgs),
    /// Pack, unpack and check XVA archives (XAPI's VM export format).
    #[command(subcommand)]
    Xva(xva::XvaCommand),
}

/// Runs a `lifeboat disk` subcommand.
pub fn run(command: DiskCommand) -> anyhow::Result<()> {
    match command {
        DiskCommand::Info(args) => info::run(args),
        DiskCommand::Check(args) => check::run(args),
        DiskCommand::Convert(args) => convert::run(args),
        DiskCommand::Diff(args) => diff::run(args),
        DiskCommand::Merge(args) => merge::run(args),
        DiskCommand::Xva(command) => xva::run(command),
    }
}
