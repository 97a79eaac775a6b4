//! The XAPI pool simulator: pools described by fixtures, served over loopback HTTP with xapi's
//! real wire protocol, each host of a pool on its own address.

mod build;
mod chain;
mod db;
mod dispatch;
mod errors;
pub mod faults;
pub mod fixture;
mod http;
mod messages;
mod operations;
mod params;
mod pool;
mod records;
mod schema;
mod server;
mod storage;
mod tasks;
mod vdi_ops;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use lifeboat_xapi::Secret;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use faults::Fault;
pub use fixture::{Fixture, FixtureError};
pub use pool::Pool;
pub use server::MAX_RPC_BODY;

/// Where and how the simulator runs.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The address to listen on; port 0 gives each host an ephemeral port, another port is
    /// used for the first host and counted up for the next ones.
    pub listen: SocketAddr,
    /// Where pools keep their disks; a temporary folder (removed at shutdown) if `None`.
    pub state_dir: Option<PathBuf>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            state_dir: None,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare the state folder {path}: {source}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Build(#[from] build::BuildError),
}

/// A running pool.
pub struct PoolHandle {
    pub name: String,
    /// The master's URL, what clients connect to.
    pub url: String,
    pub username: String,
    pub password: Secret,
    /// Each host's name and URL, master first.
    pub hosts: Vec<(String, String)>,
    pub pool: Arc<Pool>,
}

/// Running simulated pools; dropping it (or [`Simulator::shutdown`]) stops them.
pub struct Simulator {
    pools: Vec<PoolHandle>,
    shutdown: watch::Sender<bool>,
    _temporary: Option<tempfile::TempDir>,
}

impl Simulator {
    /// Starts every pool of `fixture`.
    pub async fn start(fixture: &Fixture, options: SimOptions) -> Result<Simulator, SimError> {
        let (temporary, root) = match &options.state_dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("lifeboat-sim-")
                    .tempdir()
                    .map_err(|source| SimError::State {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                let path = dir.path().to_owned();
                (Some(dir), path)
            }
        };
        let (shutdown, stop) = watch::channel(false);
        let mut next_port = options.listen.port();
        let mut pools = Vec::new();
        for spec in &fixture.pools {
            let mut listeners = Vec::new();
            for _ in &spec.hosts {
                let address = SocketAddr::new(options.listen.ip(), next_port);
                let listener = TcpListener::bind(address)
                    .await
                    .map_err(|source| SimError::Listen { address, source })?;
                if next_port != 0 {
                    next_port += 1;
                }
                listeners.push(listener);
            }
            let addresses: Vec<String> = listeners
                .iter()
                .map(|l| l.local_addr().map(|a| a.to_string()).unwrap_or_default())
                .collect();
            let storage = root.join(&spec.name);
            std::fs::create_dir_all(&storage).map_err(|source| SimError::State {
                path: storage.clone(),
                source,
            })?;
            let db = build::build(spec, &storage, &addresses)?;
            let pool = Arc::new(Pool::new(
                &spec.name,
                &spec.username,
                Secret::new(spec.password.as_str()),
                &storage,
                db,
            ));
            let host_refs = pool.read(|db| {
                let mut hosts: Vec<(String, String)> = db
                    .references(pool::cls("host"))
                    .map(|r| {
                        (
                            db.get_str(pool::cls("host"), r, "address").to_owned(),
                            r.to_owned(),
                        )
                    })
                    .collect();
                hosts.sort_by_key(|(address, _)| addresses.iter().position(|a| a == address));
                hosts
            });
            for (listener, (_, host)) in listeners.into_iter().zip(&host_refs) {
                tokio::spawn(server::serve(
                    listener,
                    pool.clone(),
                    host.clone(),
                    stop.clone(),
                ));
            }
            let hosts: Vec<(String, String)> = spec
                .hosts
                .iter()
                .zip(&addresses)
                .map(|(h, a)| (h.name.clone(), format!("http://{a}/")))
                .collect();
            pools.push(PoolHandle {
                name: spec.name.clone(),
                url: hosts[0].1.clone(),
                username: spec.username.clone(),
                password: Secret::new(spec.password.as_str()),
                hosts,
                pool,
            });
        }
        Ok(Simulator {
            pools,
            shutdown,
            _temporary: temporary,
        })
    }

    /// The running pools, in fixture order.
    pub fn pools(&self) -> &[PoolHandle] {
        &self.pools
    }

    /// The pool named `name`.
    pub fn pool(&self, name: &str) -> Option<&PoolHandle> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}
