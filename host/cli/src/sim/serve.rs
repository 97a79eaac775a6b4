//! `lifeboat sim serve`: serves simulated pools and OpenStack clouds until interrupted.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use lifeboat_sim::cloud::{CloudFixture, CloudSimulator};
use lifeboat_sim::xapi::{Fixture, SimOptions, Simulator};

/// Serve simulated XCP-ng / XenServer pools and OpenStack clouds over loopback HTTP until Ctrl-C.
///
/// The pool simulator speaks XAPI's real protocol (JSON-RPC on /jsonrpc, XML-RPC on /, the
/// /export and /import data handlers), so Lifeboat and the Python XenAPI client work against it.
/// Each pool of the fixture gets one address per host (the first host is the master; a login on
/// another host answers HOST_IS_SLAVE). Disks are VHD files.
///
/// The cloud simulator serves each cloud of --clouds on its own address, laid out as devstack
/// does: Keystone v3 under /identity, Cinder v3 (volumes, snapshots, backups, transfers) under
/// /volume, Nova v2.1 under /compute, Neutron networks and security groups under /network.
/// openstacksdk and Lifeboat's OpenStack client work against it. Clouds naming the same backup
/// store share it. Its state lives in memory only.
///
/// At start it prints, on standard output, one line per pool (`pool NAME URL username USER
/// password PASSWORD`), one line per host (`  host NAME URL`), one line per cloud (`cloud NAME
/// AUTH_URL region REGION`) followed by one line per user (`  user NAME password PASSWORD`),
/// and last the pools' control endpoint (`control URL`). Ctrl-C (or SIGTERM) stops it; with
/// --state the pools are saved first.
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
           {\"kind\": \"busy\", \"vm\": \"UUID\", \"operation\": \"migrate_send\"}   (listed as running)
  DELETE /pools/NAME/faults                   clear every fault

Cloud control API (JSON, under /_sim on each cloud's address):
  GET    /_sim/state                          projects, volumes (with a sha256 of their bytes),
                                              snapshots, backups, servers, backup store objects
  GET    /_sim/volumes/ID/content             a volume's bytes
  PUT    /_sim/volumes/ID/content?offset=N    write bytes into a volume, as its guest would
  POST   /_sim/clock/advance                  {\"seconds\": 30}: move simulated time on
  POST   /_sim/faults                         arm a fault, one of:
           {\"kind\": \"fail\", \"operation\": \"backup\", \"count\": 1, \"reason\": \"disk full\"}
             (operation: volume_create, snapshot, backup, backup_delete, restore, import,
              server_build)
           {\"kind\": \"backup_service_down\"}   {\"kind\": \"over_quota\", \"count\": 1}
           {\"kind\": \"expire_tokens\"}
  DELETE /_sim/faults                         clear every fault
  POST   /_sim/timings                        {\"backup_ms\": 2000, ...}: how long operations take

Examples:
  lifeboat sim serve
  lifeboat sim serve --fixture examples/sim-pools.yaml --state /tmp/pools --listen 127.0.0.1:8440
  curl -s http://127.0.0.1:PORT/pools/production/objects/VM
  lifeboat sim fixture > my-pools.yaml    # the built-in fixture, to edit
  lifeboat sim serve --clouds examples/openstack-clouds.yaml --cloud-listen 127.0.0.1:8500
  openstack --os-auth-url http://127.0.0.1:8500/identity/v3 --os-username admin \\
    --os-password east-admin-secret --os-project-name production \\
    --os-user-domain-name Default --os-project-domain-name Default volume list")]
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
    /// The YAML fixture describing the OpenStack clouds (see examples/openstack-clouds.yaml)
    /// [default: that example: clouds `east` and `west` sharing a backup store].
    #[arg(long, value_name = "FILE")]
    clouds: Option<PathBuf>,
    /// IP:PORT for the clouds. Port 0 gives each cloud an ephemeral port; another port goes to
    /// the first cloud and counts up for the next ones.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    cloud_listen: SocketAddr,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let fixture = match &args.fixture {
        Some(path) => Fixture::load(path)?,
        None => Fixture::builtin(),
    };
    let clouds = match &args.clouds {
        Some(path) => CloudFixture::load(path)?,
        None => CloudFixture::builtin(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(fixture, clouds, args))
}

async fn serve(fixture: Fixture, clouds: CloudFixture, args: ServeArgs) -> Result<()> {
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
    let cloud_sim = CloudSimulator::start(&clouds, args.cloud_listen)
        .await
        .context("cannot start the cloud simulator")?;
    for (spec, cloud) in clouds.clouds.iter().zip(cloud_sim.clouds()) {
        println!(
            "cloud {} {} region {}",
            cloud.name,
            cloud.auth_url(),
            cloud.region
        );
        for user in &spec.users {
            println!("  user {} password {}", user.name, user.password);
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
    cloud_sim.shutdown();
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
