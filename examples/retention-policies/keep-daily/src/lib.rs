//! `keep-daily`, an example retention policy: keeps the newest copy of each of the last N UTC
//! days (`{"days": N}`, N at least 1), counting the run's day as the first, and never deletes
//! the newest candidate, however old. Everything else expires.

mod daily;

use lifeboat_sdk::retention::{Candidate, RetentionPolicy};
use serde::Deserialize;

/// The policy, exported as the component's `retention` interface.
struct KeepDaily;

/// The policy's settings; other keys of the step's settings are ignored.
#[derive(Deserialize)]
struct Settings {
    days: Option<u64>,
}

impl RetentionPolicy for KeepDaily {
    fn select_expired(
        candidates: Vec<Candidate>,
        settings: String,
        now_ms: u64,
    ) -> Result<Vec<String>, String> {
        let settings: Settings = lifeboat_sdk::params(&settings)?;
        match settings.days {
            Some(days @ 1..) => Ok(daily::expired(&candidates, days, now_ms)),
            Some(0) => Err("keep-daily: `days` must be at least 1".into()),
            None => Err("keep-daily needs `days`, the number of days to keep a copy of".into()),
        }
    }
}

lifeboat_sdk::export_policy!(KeepDaily);
