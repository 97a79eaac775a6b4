//! `keep-gfs`, Lifeboat's built-in long-term retention policy (grandfather-father-son): keeps
//! the newest N backups and, per period, the oldest backup of each of the last daily, weekly,
//! monthly and yearly buckets, as Xen Orchestra's `longTermRetention` does, so that a remote
//! that both tools prune keeps the same backups.
//!
//! Settings ([`settings`]): `exportRetention` (or `retention`), `longTermRetention`,
//! `timezone`. The buckets a backup falls in ([`buckets`]) are also what Xen Orchestra writes
//! into a backup's tags (`daily=2024-09-02`, `weekly=2024-36`).

mod buckets;
mod select;
mod settings;

use lifeboat_sdk::retention::{Candidate, RetentionPolicy};

/// The policy, exported as the component's `retention` interface.
struct KeepGfs;

impl RetentionPolicy for KeepGfs {
    fn select_expired(
        candidates: Vec<Candidate>,
        settings: String,
        _now_ms: u64,
    ) -> Result<Vec<String>, String> {
        let policy = settings::read(&settings)?;
        let entries: Vec<select::Entry> = candidates
            .iter()
            .map(|candidate| select::Entry {
                id: &candidate.id,
                timestamp_ms: candidate.timestamp_ms,
            })
            .collect();
        Ok(select::expired(&entries, &policy))
    }
}

lifeboat_sdk::export_policy!(KeepGfs);
