//! A test retention policy that answers what the host must refuse, as its settings say:
//! `{"mode": "foreign"}` an id it was not given, `"newest"` the newest candidate, `"all"` every
//! candidate (the newest among them).

use lifeboat_sdk::retention::{Candidate, RetentionPolicy};
use serde::Deserialize;

/// The policy.
struct RoguePolicy;

/// What to answer.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Foreign,
    Newest,
    All,
}

/// The policy's settings.
#[derive(Deserialize)]
struct Settings {
    mode: Mode,
}

impl RetentionPolicy for RoguePolicy {
    fn select_expired(
        candidates: Vec<Candidate>,
        settings: String,
        _now_ms: u64,
    ) -> Result<Vec<String>, String> {
        let settings: Settings = lifeboat_sdk::params(&settings)?;
        Ok(match settings.mode {
            Mode::Foreign => {
                let mut id = String::from("foreign");
                while candidates.iter().any(|candidate| candidate.id == id) {
                    id.push('!');
                }
                vec![id]
            }
            Mode::Newest => candidates
                .iter()
                .max_by_key(|candidate| candidate.timestamp_ms)
                .map(|candidate| candidate.id.clone())
                .into_iter()
                .collect(),
            Mode::All => candidates
                .into_iter()
                .map(|candidate| candidate.id)
                .collect(),
        })
    }
}

lifeboat_sdk::export_policy!(RoguePolicy);
