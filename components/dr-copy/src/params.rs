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
        let mut srs: Vec<String> = self.sr.iter().chain(&self.srs).cloned().collect();
        srs.dedup();
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
