//! `keep-last`, Lifeboat's built-in retention policy: keeps the newest N candidates and
//! expires the others, as Xen Orchestra's `copyRetention` and `exportRetention` do.
//!
//! Settings: the count N (at least 1) under exactly one of `retention`, `copyRetention`,
//! `exportRetention` or `snapshotRetention`; other keys are ignored, so the step can pass its
//! merged settings as they are. Naming two counts is refused rather than guessed between.
//!
//! The host passes every existing copy, the one this run just made included, so N copies
//! remain afterwards. The policy does not filter by schedule or VM: the operation chooses the
//! candidates.

mod keep;

use lifeboat_sdk::retention::{Candidate, RetentionPolicy};

/// The policy, exported as the component's `retention` interface.
struct KeepLast;

impl RetentionPolicy for KeepLast {
    fn select_expired(
        candidates: Vec<Candidate>,
        settings: String,
        _now_ms: u64,
    ) -> Result<Vec<String>, String> {
        let count = keep::count(&settings)?;
        Ok(keep::expired(&candidates, count))
    }
}

lifeboat_sdk::export_policy!(KeepLast);
