//! Keeps a pool's saved database up to date while the simulator runs: a change is saved a second
//! later, with whatever else changed in that second, so a busy pool is written at most once a
//! second; the simulator saves once more when it stops.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tracing::warn;

use super::persist::{self, PersistError, Snapshot};
use super::pool::Pool;

/// How long changes are gathered before they are saved.
const DELAY: Duration = Duration::from_secs(1);

/// The saving of one pool.
pub struct Autosave {
    pool: Arc<Pool>,
    path: PathBuf,
    /// The generation last written, behind a lock that also keeps two saves from racing (an
    /// older snapshot must never replace a newer one).
    saved: Mutex<Option<u64>>,
}

impl Autosave {
    pub fn new(pool: Arc<Pool>, path: PathBuf) -> Autosave {
        Autosave {
            pool,
            path,
            saved: Mutex::new(None),
        }
    }

    /// Saves the database unless it has not changed since the last save.
    pub fn save(&self) -> Result<(), PersistError> {
        let mut saved = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = self
            .pool
            .read(|db| (Some(db.generation()) != *saved).then(|| Snapshot::of(db)));
        let Some(snapshot) = snapshot else {
            return Ok(());
        };
        persist::save(&snapshot, &self.path)?;
        *saved = Some(snapshot.generation);
        Ok(())
    }

    /// Saves after each burst of changes until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut changes = self.pool.watch_generation();
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = stop.wait_for(|stop| *stop) => return,
            }
            tokio::select! {
                () = tokio::time::sleep(DELAY) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            let this = self.clone();
            match tokio::task::spawn_blocking(move || this.save()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => warn!(pool = %self.pool.name, %error, "saving the pool failed"),
                Err(error) => warn!(pool = %self.pool.name, %error, "saving the pool panicked"),
            }
        }
    }
}
