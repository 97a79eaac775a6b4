//! A backup store: the object storage (Swift, S3, Ceph…) where Cinder's backup driver keeps
//! backup data, shared by every cloud whose fixture names it. Objects are addressed by account,
//! container and name; with per-user auth each project is its own account, which is why a record
//! imported into another project cannot reach the data.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::fixture::{BackupStoreSpec, StoreAuth};

type Key = (String, String, String);

/// One store, shared by the clouds that use it.
#[derive(Debug)]
pub struct BackupStore {
    pub name: String,
    pub auth: StoreAuth,
    /// The driver module records name, e.g. `cinder.backup.drivers.swift`.
    pub service: String,
    objects: Mutex<BTreeMap<Key, Arc<[u8]>>>,
}

impl BackupStore {
    pub fn new(spec: &BackupStoreSpec) -> BackupStore {
        BackupStore {
            name: spec.name.clone(),
            auth: spec.auth,
            service: spec.service.clone(),
            objects: Mutex::new(BTreeMap::new()),
        }
    }

    /// The account a project's backups go to.
    pub fn account(&self, project_id: &str) -> String {
        match self.auth {
            StoreAuth::PerUser => format!("AUTH_{project_id}"),
            StoreAuth::SingleUser => "AUTH_cinder".into(),
        }
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Arc<[u8]>>> {
        self.objects
            .lock()
            .expect("the backup store is never poisoned")
    }

    pub fn put(&self, account: &str, container: &str, name: &str, data: Arc<[u8]>) {
        self.objects()
            .insert((account.into(), container.into(), name.into()), data);
    }

    pub fn get(&self, account: &str, container: &str, name: &str) -> Option<Arc<[u8]>> {
        self.objects()
            .get(&(account.into(), container.into(), name.into()))
            .cloned()
    }

    /// The names and contents of the objects whose name starts with `prefix`.
    pub fn list(&self, account: &str, container: &str, prefix: &str) -> Vec<(String, Arc<[u8]>)> {
        let start = (account.to_owned(), container.to_owned(), prefix.to_owned());
        self.objects()
            .range(start..)
            .take_while(|((a, c, n), _)| a == account && c == container && n.starts_with(prefix))
            .map(|((_, _, name), data)| (name.clone(), data.clone()))
            .collect()
    }

    /// Deletes the objects whose name starts with `prefix`; returns how many there were.
    pub fn delete_prefix(&self, account: &str, container: &str, prefix: &str) -> usize {
        let doomed: Vec<Key> = self
            .list(account, container, prefix)
            .into_iter()
            .map(|(name, _)| (account.to_owned(), container.to_owned(), name))
            .collect();
        let mut objects = self.objects();
        for key in &doomed {
            objects.remove(key);
        }
        doomed.len()
    }

    /// Every object: account, container, name and size, for the control endpoint.
    pub fn inventory(&self) -> Vec<(String, String, String, usize)> {
        self.objects()
            .iter()
            .map(|((a, c, n), data)| (a.clone(), c.clone(), n.clone(), data.len()))
            .collect()
    }
}
