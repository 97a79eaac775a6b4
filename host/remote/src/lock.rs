//! Folder locks with a lease, as Xen Orchestra takes them: a `<dir>.lock` entry beside the
//! folder whose modification time its holder renews; an entry not renewed within the lease
//! belongs to a holder that died and may be taken over.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::{RemoteError, Result};
use crate::path::RemotePath;

/// What a backend does to hold a lock entry.
#[async_trait]
pub(crate) trait LockEntry: Send + Sync + 'static {
    /// Creates the entry; `Ok(false)` if it exists already.
    async fn create(&self, path: &RemotePath) -> Result<bool>;
    /// When the entry was last renewed; `None` if it is gone.
    async fn renewed_at(&self, path: &RemotePath) -> Result<Option<SystemTime>>;
    /// Renews the entry's time.
    async fn renew(&self, path: &RemotePath) -> Result<()>;
    /// Removes an entry found stale, so that it can be created again; `Ok(false)` if another
    /// taker removed it first.
    async fn remove_stale(&self, path: &RemotePath) -> Result<bool>;
    /// Removes the entry its holder releases.
    async fn release(&self, path: &RemotePath) -> Result<()>;
}

/// A held lock on a folder. Its lease is renewed in the background until [`release`] or drop.
///
/// [`release`]: FolderLock::release
pub struct FolderLock {
    path: RemotePath,
    entry: Option<Arc<dyn LockEntry>>,
    renewer: tokio::task::JoinHandle<()>,
}

impl FolderLock {
    /// The lock entry's path (`<dir>.lock`).
    pub fn path(&self) -> &RemotePath {
        &self.path
    }

    /// Stops renewing the lease without releasing the lock, as a holder that died would: the
    /// lock is taken over once its lease runs out. For crash tests and a process that hands its
    /// work over to another.
    pub fn abandon(mut self) {
        self.renewer.abort();
        self.entry = None;
    }

    /// Releases the lock now.
    pub async fn release(mut self) -> Result<()> {
        self.renewer.abort();
        match self.entry.take() {
            Some(entry) => entry.release(&self.path).await,
            None => Ok(()),
        }
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        self.renewer.abort();
        if let Some(entry) = self.entry.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let path = self.path.clone();
            runtime.spawn(async move {
                if let Err(error) = entry.release(&path).await {
                    tracing::warn!("releasing the lock {path}: {error}");
                }
            });
        }
    }
}

/// Takes the lock on `dir` through `entry`, or says who holds it.
pub(crate) async fn acquire(
    remote: &str,
    entry: Arc<dyn LockEntry>,
    dir: &RemotePath,
    lease: Duration,
) -> Result<FolderLock> {
    let path = dir.with_suffix(".lock");
    // Two attempts: the second after removing a stale entry.
    for _ in 0..2 {
        if entry.create(&path).await? {
            return Ok(held(entry, path, lease));
        }
        let Some(renewed_at) = entry.renewed_at(&path).await? else {
            continue;
        };
        let age = SystemTime::now()
            .duration_since(renewed_at)
            .unwrap_or_default();
        if age <= lease {
            return Err(RemoteError::Locked {
                remote: remote.to_owned(),
                path: dir.clone(),
                age,
            });
        }
        tracing::warn!(
            "{path} on {remote} was last renewed {}s ago (lease {}s): taking the lock over",
            age.as_secs(),
            lease.as_secs()
        );
        entry.remove_stale(&path).await?;
    }
    Err(RemoteError::Locked {
        remote: remote.to_owned(),
        path: dir.clone(),
        age: Duration::ZERO,
    })
}

fn held(entry: Arc<dyn LockEntry>, path: RemotePath, lease: Duration) -> FolderLock {
    // Renewed three times per lease, so that one slow renewal does not lose the lock.
    let period = (lease / 3).max(Duration::from_millis(10));
    let renewing = entry.clone();
    let renewed = path.clone();
    let renewer = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if let Err(error) = renewing.renew(&renewed).await {
                tracing::warn!("renewing the lock {renewed}: {error}");
            }
        }
    });
    FolderLock {
        path,
        entry: Some(entry),
        renewer,
    }
}
