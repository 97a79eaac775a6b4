//! The OpenStack cloud simulator: clouds described by fixtures, each served over loopback HTTP
//! on its own address with devstack's layout (Keystone, Cinder with backups, Nova, a little
//! Neutron), faithful to the rules of reference/openstack.md §2 so that `openstacksdk` and
//! Lifeboat's own client work against it unchanged. Clouds that name the same backup store share
//! it, so records exported from one can be imported into another. Time is simulated (statuses
//! move on as it passes, and a test can jump it forward); volumes hold real block contents; the
//! control plane under `/_sim` injects faults and shows the state.

mod api;
mod build;
pub mod clock;
pub mod content;
pub mod fixture;
pub mod microversion;
pub mod state;
pub mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::listener::serve_connections;
pub use fixture::{BUILTIN_CLOUD_FIXTURE, CloudFixture};
use state::{CloudState, Fail, Fault};
use store::BackupStore;

/// A running cloud.
pub struct Cloud {
    pub name: String,
    pub region: String,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    state: Mutex<CloudState>,
}

impl Cloud {
    /// Keystone's v3 URL, what clients are given as `auth_url`.
    pub fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.base_url)
    }

    /// Runs `work` on the state, after completing the transitions that are due.
    pub fn with<R>(&self, work: impl FnOnce(&mut CloudState) -> R) -> R {
        let mut state = self
            .state
            .lock()
            .expect("a cloud's state is never poisoned");
        state.settle();
        work(&mut state)
    }

    /// Moves the cloud's simulated time forward (and completes what is then due).
    pub fn advance(&self, by: Duration) {
        self.with(|state| {
            state.clock.advance(by);
            state.settle();
        });
    }

    /// Arms a fault (see [`Fault`]; a count of zero arms nothing).
    pub fn arm(&self, fault: &Fault) {
        self.with(|state| match fault {
            Fault::ExpireTokens => state.identity.revoke_all(),
            other => state.faults.arm(other),
        });
    }

    /// A volume's bytes, up to its last non-zero block.
    pub fn volume_content(&self, id: &str) -> Result<Vec<u8>, Fail> {
        self.with(|state| {
            state
                .volumes
                .get(id)
                .map(|v| v.content.read_all())
                .ok_or_else(|| state::volumes::not_found("Volume", id))
        })
    }

    /// Writes `bytes` at `offset` of a volume, as its guest would.
    pub fn write_volume(&self, id: &str, offset: u64, bytes: &[u8]) -> Result<(), Fail> {
        self.with(|state| {
            let volume = state
                .volumes
                .get_mut(id)
                .ok_or_else(|| state::volumes::not_found("Volume", id))?;
            let capacity = volume.capacity();
            volume
                .content
                .write(offset, bytes, capacity)
                .map_err(Fail::BadRequest)
        })
    }

    /// A cloud of `fixture` that is not served: its requests are answered in-process by
    /// [`Cloud::answer`] (the fuzz target does this). `None` if the fixture has no such cloud.
    pub fn offline(fixture: &CloudFixture, name: &str) -> Option<Cloud> {
        let spec = fixture.clouds.iter().find(|c| c.name == name)?;
        let store = spec.backup_store.as_ref().and_then(|store| {
            let spec = fixture.backup_stores.iter().find(|s| &s.name == store)?;
            Some(Arc::new(BackupStore::new(spec)))
        });
        Some(Cloud::new(spec, store, "http://cloud.invalid".into()))
    }

    /// The cloud `spec` describes, reached at `base_url`.
    fn new(spec: &fixture::CloudSpec, store: Option<Arc<BackupStore>>, base_url: String) -> Cloud {
        Cloud {
            name: spec.name.clone(),
            region: spec.region.clone(),
            base_url,
            state: Mutex::new(build::build(spec, store, Arc::new(clock::Clock::new()))),
        }
    }

    /// Answers one request in-process, as the server would.
    pub fn answer(
        &self,
        method: http::Method,
        uri: &http::Uri,
        headers: http::HeaderMap,
        body: bytes::Bytes,
    ) -> http::Response<crate::listener::Body> {
        api::answer(self, method, uri, headers, body)
    }

    /// What `GET /_sim/state` shows.
    pub fn state_json(&self) -> Value {
        self.with(|state| api::control_state(state))
    }

    /// The id of the project named `name`.
    pub fn project_id(&self, name: &str) -> Option<String> {
        self.with(|s| s.identity.project_named(name).map(|p| p.id.clone()))
    }

    /// The id of the volume named `name`.
    pub fn volume_id(&self, name: &str) -> Option<String> {
        self.with(|s| {
            s.volumes
                .values()
                .find(|v| v.name.as_deref() == Some(name))
                .map(|v| v.id.clone())
        })
    }

    /// The id of the server named `name`.
    pub fn server_id(&self, name: &str) -> Option<String> {
        self.with(|s| {
            s.servers
                .values()
                .find(|v| v.name == name)
                .map(|v| v.id.clone())
        })
    }
}

/// Why the cloud simulator could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address}: {source}")]
pub struct ListenError {
    pub address: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Running simulated clouds; dropping it (or [`CloudSimulator::shutdown`]) stops them.
pub struct CloudSimulator {
    clouds: Vec<Arc<Cloud>>,
    shutdown: watch::Sender<bool>,
}

impl CloudSimulator {
    /// Starts every cloud of `fixture`, each on its own port of `listen`'s address (port 0:
    /// ephemeral ports; another port is used for the first cloud and counted up).
    pub async fn start(
        fixture: &CloudFixture,
        listen: SocketAddr,
    ) -> Result<CloudSimulator, ListenError> {
        let stores: BTreeMap<&str, Arc<BackupStore>> = fixture
            .backup_stores
            .iter()
            .map(|spec| (spec.name.as_str(), Arc::new(BackupStore::new(spec))))
            .collect();
        let (shutdown, stop) = watch::channel(false);
        let mut clouds = Vec::new();
        let mut port = listen.port();
        for spec in &fixture.clouds {
            let address = SocketAddr::new(listen.ip(), port);
            let listener = TcpListener::bind(address)
                .await
                .map_err(|source| ListenError { address, source })?;
            if port != 0 {
                port += 1;
            }
            let bound = listener
                .local_addr()
                .map_err(|source| ListenError { address, source })?;
            let store = spec
                .backup_store
                .as_deref()
                .and_then(|name| stores.get(name).cloned());
            let cloud = Arc::new(Cloud::new(spec, store, format!("http://{bound}")));
            let serving = cloud.clone();
            tokio::spawn(serve_connections(listener, stop.clone(), move |request| {
                api::handle(serving.clone(), request)
            }));
            clouds.push(cloud);
        }
        Ok(CloudSimulator { clouds, shutdown })
    }

    /// The running clouds, in fixture order.
    pub fn clouds(&self) -> &[Arc<Cloud>] {
        &self.clouds
    }

    /// The cloud named `name`.
    pub fn cloud(&self, name: &str) -> Option<&Arc<Cloud>> {
        self.clouds.iter().find(|c| c.name == name)
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for CloudSimulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}
