//! `lifeboat sim`: the XAPI pool simulator as a server of its own, to try Lifeboat without a pool
//! and to give other tools (scripts, other languages' clients) a pool to run against.

mod serve;

use clap::Subcommand;
use lifeboat_sim::xapi::fixture::BUILTIN_FIXTURE;

/// The `lifeboat sim` subcommands.
#[derive(Subcommand)]
pub enum SimCommand {
    Serve(serve::ServeArgs),
    /// Print the built-in fixture (the pools served without --fixture), to start a new one from.
    Fixture,
}

/// Runs a `lifeboat sim` subcommand.
pub fn run(command: SimCommand) -> anyhow::Result<()> {
    match command {
        SimCommand::Serve(args) => serve::run(args),
        SimCommand::Fixture => {
            print!("{BUILTIN_FIXTURE}");
            Ok(())
        }
    }
}
