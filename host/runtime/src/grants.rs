//! What a step may reach: the connections its pipeline grants, and what its run created.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A connection to a pool, shared by every step and item that is granted it.
pub struct PoolConnection {
    /// The connection's name in the pipeline.
    pub name: String,
    pub client: lifeboat_xapi::Client,
}

/// A remote (a backup repository), shared by every step and item that is granted it.
pub struct RemoteConnection {
    /// The connection's name in the pipeline.
    pub name: String,
    pub backend: Arc<dyn lifeboat_remote::Backend>,
}

impl RemoteConnection {
    /// The remote `name` in the local folder `root`, which must exist.
    pub fn local(name: &str, root: &Path) -> Result<Self, lifeboat_remote::RemoteError> {
        Ok(RemoteConnection {
            name: name.to_owned(),
            backend: Arc::new(lifeboat_remote::LocalFolder::open(name, root)?),
        })
    }
}

/// A project of an OpenStack cloud, shared by every step and item that is granted it.
pub struct CloudConnection {
    /// The connection's name in the pipeline.
    pub name: String,
    pub cloud: lifeboat_cloud::Cloud,
}

/// The connections one step may use, by name.
#[derive(Clone, Default)]
pub struct Grants {
    pools: BTreeMap<String, Arc<PoolConnection>>,
    remotes: BTreeMap<String, Arc<RemoteConnection>>,
    clouds: BTreeMap<String, Arc<CloudConnection>>,
}

impl Grants {
    pub fn grant_pool(&mut self, connection: Arc<PoolConnection>) {
        self.pools.insert(connection.name.clone(), connection);
    }

    pub fn grant_remote(&mut self, connection: Arc<RemoteConnection>) {
        self.remotes.insert(connection.name.clone(), connection);
    }

    pub fn grant_cloud(&mut self, connection: Arc<CloudConnection>) {
        self.clouds.insert(connection.name.clone(), connection);
    }

    pub fn pool(&self, name: &str) -> Option<&Arc<PoolConnection>> {
        self.pools.get(name)
    }

    pub fn remote(&self, name: &str) -> Option<&Arc<RemoteConnection>> {
        self.remotes.get(name)
    }

    pub fn cloud(&self, name: &str) -> Option<&Arc<CloudConnection>> {
        self.clouds.get(name)
    }
}

/// The objects a run created, per connection (a pool, a cloud): what the guards let its steps destroy and rewrite even
/// before they carry the job's mark (a snapshot just taken, a VM being imported).
#[derive(Default)]
pub struct RunObjects {
    created: Mutex<HashSet<(String, String)>>,
}

impl RunObjects {
    pub fn record(&self, pool: &str, object: &str) {
        self.lock().insert((pool.to_owned(), object.to_owned()));
    }

    pub fn contains(&self, pool: &str, object: &str) -> bool {
        self.lock().contains(&(pool.to_owned(), object.to_owned()))
    }

    pub fn forget(&self, pool: &str, object: &str) {
        self.lock().remove(&(pool.to_owned(), object.to_owned()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        // The set stays consistent even if a holder panicked: every change is one insert or
        // remove.
        self.created
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
