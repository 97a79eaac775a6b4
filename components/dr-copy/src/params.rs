//! The operation's parameters (the step's `with`) and the settings that apply per target.

use serde::Deserialize;
use serde_json::{Map, Value};

use lifeboat_sdk::types::Error;

/// The step's `with`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The uuid of the VM to copy.
    pub vm: String,
    /// The connection of the VM's pool.
    pub source: String,
    /// The connection of the pool that receives the copies.
    pub target: String,
    /// The uuid of the SR that receives the copies; or
    #[serde(default)]
    pub sr: Option<String>,
    /// the uuids of several SRs, fed from one export.
    #[serde(default)]
    pub srs: Vec<String>,
    /// Xen Orchestra's layered settings: `""`, schedule id, VM uuid, SR uuid → settings.
    #[serde(default)]
    pub settings: Map<String, Value>,
}

impl Params {
    /// Every target SR, once each.
    pub fn target_srs(&self) -> Result<Vec<String>, Error> {
        let mut srs: Vec<String> = Vec::new();
        for sr in self.sr.iter().chain(&self.srs) {
            if !srs.contains(sr) {
                srs.push(sr.clone());
            }
        }
        if srs.is_empty() {
            return Err(Error::invalid_input(
                "`sr` (or `srs`): name the SR that receives the copies",
            ));
        }
        Ok(srs)
    }
}

/// The settings of one VM sent to one SR, after layering. Other keys of Xen Orchestra's
/// settings are accepted and left to whoever reads them (the retention policy).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Copies kept on the SR, the new one included. Xen Orchestra skips an SR whose count is
    /// 0; without any setting, one copy is kept, which is what a DR copy step is asked for.
    #[serde(default = "one")]
    pub copy_retention: u32,
    /// Delete the old copies before the transfer (to make room), not after it.
    #[serde(default)]
    pub delete_first: bool,
    /// Snapshots of this job kept on the source VM, the new one included.
    #[serde(default)]
    pub snapshot_retention: u32,
}

fn one() -> u32 {
    1
}

/// Settings without the counts that are not about copies: what the retention policy reads.
pub fn copy_retention_settings(merged: &Map<String, Value>, copy_retention: u32) -> String {
    let mut settings = merged.clone();
    settings.remove("snapshotRetention");
    settings.remove("exportRetention");
    settings.insert("copyRetention".into(), copy_retention.into());
    Value::Object(settings).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_come_from_sr_and_srs() {
        let params: Params = lifeboat_sdk::params(
            &json!({ "vm": "v", "source": "a", "target": "b", "sr": "s1", "srs": ["s2", "s1"] })
                .to_string(),
        )
        .unwrap();
        assert_eq!(params.target_srs().unwrap(), ["s1", "s2"]);
        let none: Params =
            lifeboat_sdk::params(&json!({ "vm": "v", "source": "a", "target": "b" }).to_string())
                .unwrap();
        assert!(none.target_srs().unwrap_err().message.contains("`sr`"));
    }

    #[test]
    fn the_policy_reads_one_count() {
        let merged =
            json!({ "copyRetention": 5, "snapshotRetention": 2, "exportRetention": 3, "days": 7 });
        let Value::Object(merged) = merged else {
            unreachable!()
        };
        let settings: Value = serde_json::from_str(&copy_retention_settings(&merged, 2)).unwrap();
        assert_eq!(settings, json!({ "copyRetention": 2, "days": 7 }));
        let defaults: Settings = lifeboat_sdk::params("{}").unwrap();
        assert_eq!(defaults.copy_retention, 1);
        assert!(!defaults.delete_first);
        assert_eq!(defaults.snapshot_retention, 0);
    }
}
