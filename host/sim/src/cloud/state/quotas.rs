//! Per-project quotas of volumes and backups — a count and a total size each — refused with
//! Cinder's 413 and its messages; the `over_quota` fault refuses the next creations whatever
//! the limits.

use super::{CloudState, Fail, Outcome};

/// What a quota limits: volumes (with their gigabytes) or backups (with theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Volumes,
    Backups,
}

impl CloudState {
    /// Refuses one more `kind` of `size` GiB in `project_id` if it would pass a limit (413).
    pub fn check_quota(&mut self, kind: Kind, project_id: &str, size: u64) -> Outcome<()> {
        if self.faults.take_over_quota() {
            let what = match kind {
                Kind::Volumes => "VolumeLimitExceeded: Maximum number of volumes",
                Kind::Backups => "BackupLimitExceeded: Maximum number of backups",
            };
            return Err(Fail::OverLimit(format!(
                "{what} allowed exceeded (injected)."
            )));
        }
        let quotas = self
            .identity
            .project(project_id)
            .map(|p| p.quotas.clone())
            .unwrap_or_default();
        let sizes: Vec<u64> = match kind {
            Kind::Volumes => self
                .volumes
                .values()
                .filter(|v| v.project_id == project_id)
                .map(|v| v.size)
                .collect(),
            Kind::Backups => self
                .backups
                .values()
                .filter(|b| !b.deleted && b.project_id == project_id)
                .map(|b| b.size)
                .collect(),
        };
        let count = sizes.len() as u64;
        let used = sizes
            .iter()
            .fold(0u64, |total, size| total.saturating_add(*size));
        let (count_limit, size_limit) = match kind {
            Kind::Volumes => (quotas.volumes, quotas.gigabytes),
            Kind::Backups => (quotas.backups, quotas.backup_gigabytes),
        };
        if let Some(limit) = count_limit.filter(|limit| count + 1 > *limit) {
            return Err(Fail::OverLimit(match kind {
                Kind::Volumes => format!(
                    "VolumeLimitExceeded: Maximum number of volumes allowed ({limit}) exceeded \
                     for quota 'volumes'."
                ),
                Kind::Backups => {
                    format!(
                        "BackupLimitExceeded: Maximum number of backups allowed ({limit}) exceeded."
                    )
                }
            }));
        }
        if let Some(limit) = size_limit.filter(|limit| used.saturating_add(size) > *limit) {
            return Err(Fail::OverLimit(match kind {
                Kind::Volumes => format!(
                    "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds \
                     allowed gigabytes quota. Requested {size}G, quota is {limit}G and {used}G \
                     has been consumed."
                ),
                Kind::Backups => format!(
                    "VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed \
                     Backup gigabytes quota. Requested {size}G, quota is {limit}G and {used}G \
                     has been consumed."
                ),
            }));
        }
        Ok(())
    }
}
