//! Folder locks with a lease, as Xen Orchestra takes them: a `<dir>.lock` entry beside the
//! folder whose modification time its holder renews; an entry not renewed within the lease
//! belongs to a holder that died and may be taken over.
//!
//! Each holder writes a random token into the entry and renews or releases it only while the
//! entry still holds that token, and a stale entry is taken over atomically (a rename aside
//! that only one taker wins, or a conditional write), so two holders never both believe they
//! hold one lock. A holder whose entry was taken over learns it from [`FolderLock::is_held`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::{RemoteError, Result};
use crate::path::RemotePath;

/// Who holds a lock entry, and when it was last renewed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub token: String,
    pub renewed_at: SystemTime,
    /// The entry's version where the storage has one (an S3 ETag), for conditional writes.
    pub version: Option<String>,
}

/// What a backend does to hold a lock entry.
#[async_trait]
pub(crate) trait LockEntry: Send + Sync + 'static {
    /// Creates the entry holding `token`; `Ok(false)` if it exists already.
    async fn create(&self, path: &RemotePath, token: &str) -> Result<bool>;
    /// The entry's holder; `None` if there is no entry.
    async fn holder(&self, path: &RemotePath) -> Result<Option<Holder>>;
    /// Renews the entry if it still holds `token`; `Ok(false)` if another holder has it.
    async fn renew(&self, path: &RemotePath, token: &str) -> Result<bool>;
    /// Replaces the entry of the stale holder `stale` with one holding `token`, atomically;
    /// `Ok(false)` if the entry changed meanwhile (another taker, or a late renewal).
    async fn take_over(&self, path: &RemotePath, stale: &Holder, token: &str) -> Result<bool>;
    /// Removes the entry if it still holds `token`.
    async fn release(&self, path: &RemotePath, token: &str) -> Result<()>;
}

/// A held lock on a folder. Its lease is renewed in the background until [`release`], drop, or
/// another holder took it over (see [`is_held`]).
///
/// [`release`]: FolderLock::release
/// [`is_held`]: FolderLock::is_held
pub struct FolderLock {
    path: RemotePath,
    token: String,
    entry: Option<Arc<dyn LockEntry>>,
    held: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
}

impl FolderLock {
    /// The lock entry's path (`<dir>.lock`).
    pub fn path(&self) -> &RemotePath {
        &self.path
    }

    /// Whether the lock is still this holder's: false once a renewal found the entry taken
    /// over (this holder stalled longer than its lease).
    pub fn is_held(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }

    /// Stops renewing the lease without releasing the lock, as a holder that died would: the
    /// lock is taken over once its lease runs out. For crash tests and a process that hands its
    /// work over to another.
    pub fn abandon(mut self) {
        self.renewer.abort();
        self.entry = None;
    }

    /// Releases the lock now, once no renewal is in flight.
    pub async fn release(mut self) -> Result<()> {
        self.renewer.abort();
        let renewer = std::mem::replace(&mut self.renewer, tokio::spawn(async {}));
        let _ = renewer.await;
        match self.entry.take() {
            Some(entry) => entry.release(&self.path, &self.token).await,
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
            // Released in the background: a drop cannot wait. A renewal still in flight cannot
            // resurrect the entry, since renewals write only over this holder's own entry.
            let (path, token) = (self.path.clone(), self.token.clone());
            runtime.spawn(async move {
                if let Err(error) = entry.release(&path, &token).await {
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
    let token = format!("{:032x}", rand::random::<u128>());
    let locked = |age| RemoteError::Locked {
        remote: remote.to_owned(),
        path: dir.clone(),
        age,
    };
    // Three attempts: an entry may vanish or be taken over between two steps.
    for _ in 0..3 {
        if entry.create(&path, &token).await? {
            return Ok(held(entry, path, token, lease));
        }
        let Some(holder) = entry.holder(&path).await? else {
            continue;
        };
        let age = SystemTime::now()
            .duration_since(holder.renewed_at)
            .unwrap_or_default();
        if age <= lease {
            return Err(locked(age));
        }
        tracing::warn!(
            "{path} on {remote} was last renewed {}s ago (lease {}s): taking the lock over",
            age.as_secs(),
            lease.as_secs()
        );
        if entry.take_over(&path, &holder, &token).await? {
            return Ok(held(entry, path, token, lease));
        }
    }
    Err(locked(Duration::ZERO))
}

fn held(entry: Arc<dyn LockEntry>, path: RemotePath, token: String, lease: Duration) -> FolderLock {
    // Renewed three times per lease, so that one slow renewal does not lose the lock.
    let period = (lease / 3).max(Duration::from_millis(10));
    let held = Arc::new(AtomicBool::new(true));
    let (renewing, renewed, mine, still) =
        (entry.clone(), path.clone(), token.clone(), held.clone());
    let renewer = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match renewing.renew(&renewed, &mine).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("the lock {renewed} was taken over by another holder");
                    still.store(false, Ordering::SeqCst);
                    return;
                }
                Err(error) => tracing::warn!("renewing the lock {renewed}: {error}"),
            }
        }
    });
    FolderLock {
        path,
        token,
        entry: Some(entry),
        held,
        renewer,
    }
}

/// The ownership rules every backend's lock entries keep, checked on each backend.
#[cfg(test)]
pub(crate) async fn check_ownership(entry: Arc<dyn LockEntry>) {
    let path = RemotePath::parse("xo-vm-backups/vm.lock").unwrap();
    assert!(entry.create(&path, "A").await.unwrap());
    assert!(
        !entry.create(&path, "B").await.unwrap(),
        "one entry at a time"
    );
    let a = entry.holder(&path).await.unwrap().unwrap();
    assert_eq!(a.token, "A");
    assert!(entry.renew(&path, "A").await.unwrap());
    // B takes the entry over from A (as if A's lease had run out).
    let a = entry.holder(&path).await.unwrap().unwrap();
    assert!(entry.take_over(&path, &a, "B").await.unwrap());
    // A second taker that saw A's entry loses: the entry is B's now.
    assert!(!entry.take_over(&path, &a, "C").await.unwrap());
    // A learns that it lost the lock, and its release leaves B's entry alone.
    assert!(!entry.renew(&path, "A").await.unwrap());
    entry.release(&path, "A").await.unwrap();
    assert_eq!(entry.holder(&path).await.unwrap().unwrap().token, "B");
    assert!(entry.renew(&path, "B").await.unwrap());
    entry.release(&path, "B").await.unwrap();
    assert_eq!(entry.holder(&path).await.unwrap(), None);
}
