//! Faults a test arms through the control endpoint: make the next operations of a kind fail the
//! way OpenStack's do (a backup ending in `error` with its `fail_reason`, a restore leaving the
//! volume in `error_restoring`, a server in `ERROR`), take the backup service down, or refuse
//! everything with an over-quota answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The asynchronous operations a fault can make fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    VolumeCreate,
    Snapshot,
    Backup,
    BackupDelete,
    Restore,
    Import,
    ServerBuild,
}

/// A fault, as the control endpoint takes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The next `count` operations of this kind end in their error status with `reason`.
    Fail {
        operation: Operation,
        #[serde(default = "one")]
        count: u32,
        #[serde(default = "default_reason")]
        reason: String,
    },
    /// Backup calls answer 503 until the faults are cleared.
    BackupServiceDown,
    /// The next `count` creations (volumes, backups, restores) answer 413.
    OverQuota {
        #[serde(default = "one")]
        count: u32,
    },
    /// Every token issued so far stops working: the next call gets 401 and must log in again.
    ExpireTokens,
}

impl Fault {
    /// Why the fault cannot be armed, if it cannot: a count of zero.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Fault::Fail { count: 0, .. } | Fault::OverQuota { count: 0 } => {
                Err("a fault's count must be at least 1".into())
            }
            _ => Ok(()),
        }
    }
}

fn one() -> u32 {
    1
}

fn default_reason() -> String {
    "injected by the simulator".into()
}

/// The armed faults of one cloud.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Faults {
    pub failures: BTreeMap<Operation, (u32, String)>,
    pub backup_service_down: bool,
    pub over_quota: u32,
}

impl Faults {
    /// Arms `fault`; [`Fault::ExpireTokens`] is carried out by the caller. A count of zero
    /// arms nothing (the control endpoint refuses it: see [`Fault::check`]).
    pub fn arm(&mut self, fault: &Fault) {
        if fault.check().is_err() {
            return;
        }
        match fault {
            Fault::Fail {
                operation,
                count,
                reason,
            } => {
                self.failures.insert(*operation, (*count, reason.clone()));
            }
            Fault::BackupServiceDown => self.backup_service_down = true,
            Fault::OverQuota { count } => self.over_quota = *count,
            Fault::ExpireTokens => {}
        }
    }

    /// Whether this operation must fail, and why; counts the use.
    pub fn take_failure(&mut self, operation: Operation) -> Option<String> {
        let (count, reason) = self.failures.get_mut(&operation)?;
        let reason = reason.clone();
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.failures.remove(&operation);
        }
        Some(reason)
    }

    /// Whether this creation must be refused as over quota; counts the use.
    pub fn take_over_quota(&mut self) -> bool {
        if self.over_quota == 0 {
            return false;
        }
        self.over_quota -= 1;
        true
    }

    pub fn clear(&mut self) {
        *self = Faults::default();
    }
}
