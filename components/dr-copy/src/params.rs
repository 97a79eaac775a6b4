//! The operation's parameters (the step's `with`) and the settings that apply to a VM and to
//! each of its target SRs, with Xen Orchestra's names and defaults.

use serde::Deserialize;
use serde_json::{Map, Value};

use lifeboat_sdk::settings::Scope;
use lifeboat_sdk::types::{Error, RunContext};
use lifeboat_sdk::xapi::{Compression, VmRecord};

use crate::marks;

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
    /// How the source pool compresses the export (Xen Orchestra's `job.compression`).
    #[serde(default)]
    pub compression: Option<ExportCompression>,
    /// Xen Orchestra's layered settings: `""`, schedule id, VM uuid, SR uuid → settings.
    #[serde(default)]
    pub settings: Map<String, Value>,
}

/// Xen Orchestra's `job.compression`: `native` is its name for gzip.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ExportCompression {
    Native,
    Gzip,
    Zstd,
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

    pub fn compression(&self) -> Compression {
        match self.compression {
            None => Compression::None,
            Some(ExportCompression::Native | ExportCompression::Gzip) => Compression::Gzip,
            Some(ExportCompression::Zstd) => Compression::Zstd,
        }
    }
}

/// The settings of one VM (job ← schedule ← VM), and the VM's tags that stand for some.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSettings {
    /// Snapshots of this job kept on the source VM, per schedule, the new one included.
    #[serde(default)]
    pub snapshot_retention: u32,
    /// Snapshot even when a direct export would do.
    #[serde(default)]
    pub unconditional_snapshot: bool,
    /// Shut a running VM down for the whole copy (and start it again after).
    #[serde(default)]
    pub offline_backup: bool,
    /// Shut a running VM down for its snapshot only.
    #[serde(default)]
    pub offline_snapshot: bool,
    /// Checkpoint (memory included) instead of snapshot.
    #[serde(default)]
    pub checkpoint_snapshot: bool,
}

impl VmSettings {
    /// The VM's settings, with its tags applied as Xen Orchestra applies them
    /// (`xo-memory-backup`, `xo-offline-backup`), checked for what Xen Orchestra refuses.
    pub fn of(
        settings: &Map<String, Value>,
        context: &RunContext,
        vm: &VmRecord,
    ) -> Result<VmSettings, Error> {
        let mut resolved: VmSettings = scope(context, &vm.uuid, "").resolve(settings)?;
        if vm.tags.iter().any(|tag| tag == marks::MEMORY_BACKUP_TAG) {
            resolved.checkpoint_snapshot = true;
        }
        if vm.tags.iter().any(|tag| tag == marks::OFFLINE_BACKUP_TAG) {
            resolved.offline_snapshot = true;
        }
        if resolved.offline_backup && resolved.snapshot_retention != 0 {
            return Err(Error::invalid_input(format!(
                "offlineBackup is not compatible with snapshotRetention ({}): a VM backed up offline is exported halted, not from a snapshot; set one of them to its default",
                resolved.snapshot_retention
            )));
        }
        Ok(resolved)
    }
}

/// The settings of one VM sent to one SR (job ← schedule ← VM ← SR). Other keys of Xen
/// Orchestra's settings are accepted and left to whoever reads them (the retention policy).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SrSettings {
    /// Copies kept on the SR, the new one included. Xen Orchestra skips an SR whose count is
    /// 0; without any setting, one copy is kept, which is what a DR copy step is asked for.
    #[serde(default = "one")]
    pub copy_retention: u32,
    /// Delete the old copies before the transfer (to make room), not after it.
    #[serde(default)]
    pub delete_first: bool,
}

fn one() -> u32 {
    1
}

/// Where settings apply for `vm_uuid` on `target` (an SR's uuid, or `""` for the VM itself).
pub fn scope<'a>(context: &'a RunContext, vm_uuid: &'a str, target: &'a str) -> Scope<'a> {
    Scope {
        schedule: &context.schedule_id,
        vm: vm_uuid,
        target,
    }
}

/// The snapshot retention of the job's snapshots taken on `schedule` (job ← that schedule ←
/// VM), as Xen Orchestra counts each schedule's snapshots with that schedule's settings.
pub fn snapshot_retention(
    settings: &Map<String, Value>,
    schedule: &str,
    vm_uuid: &str,
) -> Result<u32, Error> {
    let resolved: VmSettings = Scope {
        schedule,
        vm: vm_uuid,
        target: "",
    }
    .resolve(settings)?;
    Ok(resolved.snapshot_retention)
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

    fn map(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            unreachable!("the tests pass objects")
        };
        map
    }

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
    fn compression_takes_xen_orchestras_names() {
        for (name, expected) in [
            ("native", Compression::Gzip),
            ("gzip", Compression::Gzip),
            ("zstd", Compression::Zstd),
        ] {
            let params: Params = lifeboat_sdk::params(
                &json!({ "vm": "v", "source": "a", "target": "b", "compression": name })
                    .to_string(),
            )
            .unwrap();
            assert_eq!(params.compression(), expected);
        }
        let error = lifeboat_sdk::params::<Params>(
            &json!({ "vm": "v", "source": "a", "target": "b", "compression": "lz4" }).to_string(),
        )
        .err()
        .unwrap();
        assert!(error.message.contains("compression"), "{}", error.message);
    }

    #[test]
    fn the_policy_reads_one_count() {
        let merged = map(
            json!({ "copyRetention": 5, "snapshotRetention": 2, "exportRetention": 3, "days": 7 }),
        );
        let settings: Value = serde_json::from_str(&copy_retention_settings(&merged, 2)).unwrap();
        assert_eq!(settings, json!({ "copyRetention": 2, "days": 7 }));
        let defaults: SrSettings = lifeboat_sdk::params("{}").unwrap();
        assert_eq!(defaults.copy_retention, 1);
        assert!(!defaults.delete_first);
    }

    #[test]
    fn tags_turn_settings_on_and_offline_backup_keeps_no_snapshot() {
        let context = crate::marks::tests::context();
        let mut vm = crate::marks::tests::vm("web01");
        vm.uuid = "vm-uuid".into();
        vm.tags = vec![
            marks::MEMORY_BACKUP_TAG.into(),
            marks::OFFLINE_BACKUP_TAG.into(),
        ];
        let settings = VmSettings::of(&Map::new(), &context, &vm).unwrap();
        assert!(settings.checkpoint_snapshot && settings.offline_snapshot);
        assert!(!settings.offline_backup);

        let both = map(json!({ "": { "offlineBackup": true, "snapshotRetention": 1 } }));
        let error = VmSettings::of(&both, &context, &vm).err().unwrap();
        assert!(error.message.starts_with("offlineBackup is not compatible"));

        let per_schedule = map(json!({
            "": { "snapshotRetention": 1 },
            "weekly": { "snapshotRetention": 4 },
            "vm-uuid": { "snapshotRetention": 2 },
        }));
        assert_eq!(
            snapshot_retention(&per_schedule, "weekly", "other-vm").unwrap(),
            4
        );
        assert_eq!(
            snapshot_retention(&per_schedule, "weekly", "vm-uuid").unwrap(),
            2
        );
        assert_eq!(
            snapshot_retention(&per_schedule, "daily", "other-vm").unwrap(),
            1
        );
    }
}
