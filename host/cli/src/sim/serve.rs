//! `lifeboat sim serve`: serves simulated pools until interrupted.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};

/// Serve simulated XCP-ng / XenServer pools over loopback HTTP until Ctrl-C.
///
/// The simulator speaks XAPI's real protocol (JSON-RPC on /jsonrpc, XML-RPC on /, the /export
/// and /import data handlers), so Lifeboat and the Python XenAPI client work against it. Each pool of the fixture gets one address per host (the first
/// host is the master; a login on another host answers HOST_IS_SLAVE). Disks are VHD files.
///
/// At start it prints, on standard output, one line per pool (`pool NAME URL username USER
/// password PASSWORD`), one line per host (`  host NAME URL`) and the control endpoint's
/// address (`control URL`). Ctrl-C (or SIGTERM) stops it; with --state the pools are saved
/// first.
#[derive(Args)]
#[command(after_help = "\
Control API (JSON, on the --control address):
  GET    /pools                               every pool: name, url, username, password, hosts
  GET    /pools/NAME                          one pool
  GET    /pools/NAME/objects[/CLASS[/REF]]    records as xapi's JSON-RPC returns them
  GET    /pools/NAME/faults                   the armed faults
  POST   /pools/NAME/faults                   arm a fault, one of:
           {\"kind\": \"error\", \"method\": \"VM.snapshot\", \"nth\": 1, \"code\": \"SR_FULL\", \"params\": []}
           {\"kind\": \"latency\", \"method\": \"VM.get_record\", \"millis\": 500}   (no method: every call)
           {\"kind\": \"cut_transfer\", \"handler\": \"export_raw_vdi\", \"after_bytes\": 1048576}
           {\"kind\": \"unresponsive\"}
  DELETE /pools/NAME/faults                   clear every fault

Examples:
  lifeboat sim serve
  lifeboat sim serve --fixture examples/sim-pools.yaml --state /tmp/pools --listen 127.0.0.1:8440
  curl -s http://127.0.0.1:PORT/pools/production/objects/VM
  lifeboat sim fixture > my-pools.yaml    # the built-in fixture, to edit")]
pub struct ServeArgs {
    /// The YAML fixture describing the pools (see examples/sim-pools.yaml) [default: the built-in
    /// fixture, printed by `lifeboat sim fixture`: pools `production` and `recovery`].
    #[arg(long, value_name = "FILE")]
    fixture: Option<PathBuf>,
    /// IP:PORT for the hosts. Port 0 gives each host an ephemeral port; another port goes to the
    /// first host of the first pool and counts up for the next hosts.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Keep the pools in DIR: `DIR/<pool>/db.json` and the VHD files. A pool saved there is
    /// loaded instead of being built from the fixture (delete its folder to start afresh);
    /// changes are saved within a second and at exit [default: a temporary folder, removed at
    /// exit].
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// IP:PORT of the control endpoint (port 0: an ephemeral port). It returns passwords: keep
    /// it on loopback.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    control: SocketAddr,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let fixture = match &args.fixture {
        Some(path) => Fixture::load(path)?,
        None => Fixture::builtin(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(fixture, args))
}

async fn serve(fixture: Fixture, args: ServeArgs) -> Result<()> {
    let options = SimOptions {
        listen: args.listen,
        state_dir: args.state.clone(),
        control: args.control,
    };
    let sim = Simulator::start(&fixture, options)
        .await
        .context("cannot start the simulator")?;
    for pool in sim.pools() {
        println!(
            "pool {} {} username {} password {}",
            pool.name,
            pool.url,
            pool.username,
            pool.password.expose()
        );
        for (name, url) in &pool.hosts {
            println!("  host {name} {url}");
        }
    }
    println!("control {}", sim.control_url());
    match &args.state {
        Some(dir) => eprintln!(
            "serving; state in {}; Ctrl-C saves and stops",
            dir.display()
        ),
        None => eprintln!("serving; state is temporary; Ctrl-C stops"),
    }
    stopped().await?;
    sim.shutdown();
    // The shutdown saved already; saving again reports an error it could only log.
    sim.save().context("cannot save the pools")?;
    eprintln!("stopped");
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
async fn stopped() -> Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot watch for Ctrl-C"),
        _ = terminate.recv() => Ok(()),
    }
}
