//! The XAPI pool simulator: pools described by fixtures, served over loopback HTTP with xapi's
//! real wire protocol, each host of a pool on its own address, plus a control endpoint that
//! reads their state and injects faults. With a state folder, pools persist across restarts;
//! `sim://NAME` URLs start them in-process.

mod autosave;
mod build;
mod chain;
mod control;
mod db;
mod dispatch;
mod errors;
pub mod faults;
pub mod fixture;
mod http;
mod messages;
mod operations;
mod params;
mod persist;
mod pool;
mod records;
mod schema;
pub(crate) mod server;
mod sim_url;
mod storage;
mod tasks;
mod vdi_ops;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::Secret;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::error;

use autosave::Autosave;
use db::Database;
pub use faults::Fault;
pub use fixture::{Fixture, FixtureError};
pub use persist::PersistError;
pub use pool::Pool;
use pool::cls;
pub use server::MAX_RPC_BODY;
pub use sim_url::{SimConnection, SimUrlError, resolve_url};

/// Where and how the simulator runs.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The address to listen on; port 0 gives each host an ephemeral port, another port is
    /// used for the first host and counted up for the next ones.
    pub listen: SocketAddr,
    /// Where pools keep their state: `<dir>/<pool>/db.json` and a folder of VHD files per SR.
    /// A pool whose `db.json` exists is loaded from it instead of being built from the fixture,
    /// and changes are saved a second after they happen and at shutdown. A temporary folder,
    /// removed at shutdown, if `None`.
    pub state_dir: Option<PathBuf>,
    /// The address of the control endpoint.
    pub control: SocketAddr,
}

impl Default for SimOptions {
    fn default() -> Self {
        let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        SimOptions {
            listen: loopback,
            state_dir: None,
            control: loopback,
        }
    }
}

/// Why the simulator could not start, or could not save its pools.
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
    #[error(transparent)]
    Persist(#[from] PersistError),
}

/// A running pool.
#[derive(Clone)]
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
    pools: Arc<[PoolHandle]>,
    control_url: String,
    /// One per pool when there is a state folder.
    autosaves: Vec<Arc<Autosave>>,
    shutdown: watch::Sender<bool>,
    _temporary: Option<tempfile::TempDir>,
}

impl Simulator {
    /// Starts every pool of `fixture` (or its saved state) and the control endpoint.
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
        let mut autosaves = Vec::new();
        for spec in &fixture.pools {
            let storage = root.join(&spec.name);
            std::fs::create_dir_all(&storage).map_err(|source| SimError::State {
                path: storage.clone(),
                source,
            })?;
            let db_file = storage.join(persist::DB_FILE);
            let saved = match options.state_dir {
                Some(_) => persist::load(&db_file)?,
                None => None,
            };
            let host_count = match &saved {
                Some(db) if db.count(cls("host")) == 0 => {
                    return Err(PersistError::Invalid {
                        path: db_file,
                        problem: "the pool has no host".into(),
                    }
                    .into());
                }
                Some(db) => db.count(cls("host")),
                None => spec.hosts.len(),
            };
            let mut listeners = Vec::new();
            for _ in 0..host_count {
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
            let db = match saved {
                Some(mut db) => {
                    readdress(&mut db, &addresses);
                    db
                }
                None => build::build(spec, &storage, &addresses)?,
            };
            let pool = Arc::new(Pool::new(
                &spec.name,
                &spec.username,
                Secret::new(spec.password.as_str()),
                &storage,
                db,
            ));
            if options.state_dir.is_some() {
                let autosave = Arc::new(Autosave::new(pool.clone(), db_file));
                autosave.save()?;
                tokio::spawn(autosave.clone().run(stop.clone()));
                autosaves.push(autosave);
            }
            let host_refs = pool.read(|db| {
                let mut hosts: Vec<(String, String)> = db
                    .references(cls("host"))
                    .map(|r| {
                        (
                            db.get_str(cls("host"), r, "address").to_owned(),
                            r.to_owned(),
                        )
                    })
                    .collect();
                hosts.sort_by_key(|(address, _)| addresses.iter().position(|a| a == address));
                hosts
            });
            let mut hosts = Vec::new();
            for (listener, (address, host)) in listeners.into_iter().zip(&host_refs) {
                let name = pool.read(|db| db.get_str(cls("host"), host, "name_label").to_owned());
                hosts.push((name, format!("http://{address}/")));
                tokio::spawn(server::serve(
                    listener,
                    pool.clone(),
                    host.clone(),
                    stop.clone(),
                ));
            }
            pools.push(PoolHandle {
                name: spec.name.clone(),
                url: hosts[0].1.clone(),
                username: spec.username.clone(),
                password: Secret::new(spec.password.as_str()),
                hosts,
                pool,
            });
        }
        let pools: Arc<[PoolHandle]> = pools.into();
        let control =
            TcpListener::bind(options.control)
                .await
                .map_err(|source| SimError::Listen {
                    address: options.control,
                    source,
                })?;
        let control_url = match control.local_addr() {
            Ok(address) => format!("http://{address}/"),
            Err(source) => {
                return Err(SimError::Listen {
                    address: options.control,
                    source,
                });
            }
        };
        tokio::spawn(control::serve(control, pools.clone(), stop));
        Ok(Simulator {
            pools,
            control_url,
            autosaves,
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

    /// The control endpoint's URL (`http://127.0.0.1:PORT/`); see the `control` module.
    pub fn control_url(&self) -> &str {
        &self.control_url
    }

    /// Saves every pool that changed since its last save (nothing without a state folder).
    pub fn save(&self) -> Result<(), SimError> {
        for autosave in &self.autosaves {
            autosave.save()?;
        }
        Ok(())
    }

    /// Stops serving and saves the pools; a failed save is logged ([`Simulator::save`] reports
    /// it).
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        if let Err(error) = self.save() {
            error!(%error, "the simulator's state could not be saved");
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Gives the hosts of a restored pool the addresses they listen on now (`HOST_IS_SLAVE`
/// answers with them): the master gets the first, the others follow by name.
fn readdress(db: &mut Database, addresses: &[String]) {
    let host = cls("host");
    let master = db
        .references(cls("pool"))
        .next()
        .map(|pool| db.get_str(cls("pool"), pool, "master").to_owned())
        .unwrap_or_default();
    let mut hosts: Vec<(bool, String, String)> = db
        .references(host)
        .map(|r| {
            (
                r != master,
                db.get_str(host, r, "name_label").to_owned(),
                r.to_owned(),
            )
        })
        .collect();
    hosts.sort();
    for ((_, _, reference), address) in hosts.iter().zip(addresses) {
        db.set(host, reference, "address", Value::string(address.as_str()));
    }
}
