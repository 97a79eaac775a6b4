//! One simulated pool: its database, credentials, storage root and injected faults.
//!
//! The database sits behind a mutex that handlers hold only for metadata changes; disk data moves
//! outside it. Every write publishes the new generation on a watch channel, which is what
//! blocked `event.from` calls wait on.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::{ApiError, Secret};
use tokio::sync::watch;

use super::db::Database;
use super::errors;
use super::faults::Faults;
use super::schema::{ClassDef, class};

/// A simulated pool.
pub struct Pool {
    pub name: String,
    pub username: String,
    pub password: Secret,
    /// Where the SRs keep their VHD files.
    pub storage_root: PathBuf,
    pub faults: Faults,
    db: Mutex<Database>,
    generation: watch::Sender<u64>,
}

/// The class `name`, which the simulator's own code names correctly.
pub fn cls(name: &str) -> &'static ClassDef {
    class(name).unwrap_or_else(|| panic!("the simulator names an unknown class {name}"))
}

impl Pool {
    pub fn new(
        name: &str,
        username: &str,
        password: Secret,
        storage_root: &Path,
        db: Database,
    ) -> Pool {
        let (generation, _) = watch::channel(db.generation());
        Pool {
            name: name.to_owned(),
            username: username.to_owned(),
            password,
            storage_root: storage_root.to_owned(),
            faults: Faults::default(),
            db: Mutex::new(db),
            generation,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Database> {
        // A handler that panicked mid-write leaves the database as it was at the panic; the
        // simulator keeps serving rather than failing every later call.
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the database.
    pub fn read<R>(&self, f: impl FnOnce(&Database) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the database and wakes event waiters.
    pub fn write<R>(&self, f: impl FnOnce(&mut Database) -> R) -> R {
        let mut db = self.lock();
        let result = f(&mut db);
        let generation = db.generation();
        drop(db);
        self.generation.send_if_modified(|current| {
            let changed = *current != generation;
            *current = generation;
            changed
        });
        result
    }

    /// A receiver that sees every new generation.
    pub fn watch_generation(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// The pool object's reference.
    pub fn pool_ref(&self) -> String {
        self.read(|db| {
            db.references(cls("pool"))
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    }

    /// The master host's reference.
    pub fn master_ref(&self) -> String {
        let pool = self.pool_ref();
        self.read(|db| db.get_str(cls("pool"), &pool, "master").to_owned())
    }

    /// Checks that `reference` names an existing object of `class`.
    pub fn check_ref(&self, class: &ClassDef, reference: &str) -> Result<(), ApiError> {
        if self.read(|db| db.exists(class, reference)) {
            Ok(())
        } else {
            Err(errors::handle_invalid(class.name, reference))
        }
    }

    /// A field's value as the API returns it.
    pub fn field(&self, class: &ClassDef, reference: &str, field: &str) -> Option<Value> {
        self.read(|db| db.field_value(class, reference, field))
    }
}
