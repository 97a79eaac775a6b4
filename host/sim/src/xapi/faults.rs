//! Faults injected through the control endpoint: failing calls, latency, cut transfers, a
//! host that stops answering and VMs busy with an operation. The XAPI surface itself never
//! offers a way to set them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;
use serde::{Deserialize, Serialize};

use super::db::Database;
use super::operations::VM_OPERATIONS;
use super::pool::{Pool, cls};

/// One fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The `nth` call (1-based, counted from when the fault is set) of `method` fails with
    /// `code` and `params`.
    Error {
        method: String,
        #[serde(default = "first")]
        nth: u64,
        code: String,
        #[serde(default)]
        params: Vec<String>,
    },
    /// Every call of `method` (every call if absent) waits `millis` before it is handled.
    Latency {
        #[serde(default)]
        method: Option<String>,
        millis: u64,
    },
    /// The next transfer of `handler` (`export`, `import`, `export_raw_vdi`, `import_raw_vdi`)
    /// breaks its connection after `after_bytes` bytes.
    CutTransfer { handler: String, after_bytes: u64 },
    /// The host accepts connections but answers nothing until the fault is cleared.
    Unresponsive,
    /// The VM `vm` (a uuid or a reference) lists `operation` among its `current_operations`
    /// until the fault is cleared, as if another client were running it (a migration, say).
    Busy { vm: String, operation: String },
}

fn first() -> u64 {
    1
}

/// The faults of one pool and the call counters they need.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    faults: Vec<Fault>,
    calls: HashMap<String, u64>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, fault: Fault) {
        let mut state = self.lock();
        if let Fault::Error { method, .. } = &fault {
            state.calls.remove(method);
        }
        state.faults.push(fault);
    }

    fn clear(&self) -> Vec<Fault> {
        std::mem::take(&mut *self.lock()).faults
    }

    pub fn list(&self) -> Vec<Fault> {
        self.lock().faults.clone()
    }

    /// Counts a call of `method` and returns the error it must fail with, if any.
    pub fn error_for_call(&self, method: &str) -> Option<ApiError> {
        let mut state = self.lock();
        let count = {
            let counter = state.calls.entry(method.to_owned()).or_insert(0);
            *counter += 1;
            *counter
        };
        let position = state.faults.iter().position(|fault| {
            matches!(fault, Fault::Error { method: m, nth, .. } if m == method && *nth == count)
        })?;
        match state.faults.remove(position) {
            Fault::Error { code, params, .. } => Some(ApiError { code, params }),
            _ => None,
        }
    }

    /// The delay to apply before handling `method`.
    pub fn latency_for(&self, method: &str) -> Option<Duration> {
        self.lock().faults.iter().find_map(|fault| match fault {
            Fault::Latency { method: m, millis } if m.as_deref().is_none_or(|m| m == method) => {
                Some(Duration::from_millis(*millis))
            }
            _ => None,
        })
    }

    /// Takes the cut armed for `handler`, if any.
    pub fn take_cut(&self, handler: &str) -> Option<u64> {
        let mut state = self.lock();
        let position = state.faults.iter().position(
            |fault| matches!(fault, Fault::CutTransfer { handler: h, .. } if h == handler),
        )?;
        match state.faults.remove(position) {
            Fault::CutTransfer { after_bytes, .. } => Some(after_bytes),
            _ => None,
        }
    }

    /// Whether the host must not answer.
    pub fn unresponsive(&self) -> bool {
        self.lock()
            .faults
            .iter()
            .any(|fault| matches!(fault, Fault::Unresponsive))
    }
}

impl Pool {
    /// Arms `fault`. A `Busy` fault marks its VM at once; a VM or an operation that does not
    /// exist is refused with the reason.
    pub fn arm(&self, fault: Fault) -> Result<(), String> {
        if let Fault::Busy { vm, operation } = &fault {
            if !VM_OPERATIONS.contains(&operation.as_str()) {
                return Err(format!("{operation:?} is not a VM operation"));
            }
            self.write(|db| {
                let reference = find_vm(db, vm).ok_or_else(|| format!("no VM {vm}"))?;
                set_busy(db, &reference, operation, true);
                Ok::<_, String>(())
            })?;
        }
        self.faults.add(fault);
        Ok(())
    }

    /// Clears every fault and call counter; busy VMs are freed.
    pub fn clear_faults(&self) {
        for fault in self.faults.clear() {
            if let Fault::Busy { vm, operation } = fault {
                self.write(|db| {
                    if let Some(reference) = find_vm(db, &vm) {
                        set_busy(db, &reference, &operation, false);
                    }
                });
            }
        }
    }
}

/// The key under which a `Busy` fault lists its operation, in place of a task reference.
const BUSY_TASK: &str = "OpaqueRef:simulated-busy";

fn find_vm(db: &Database, vm: &str) -> Option<String> {
    let class = cls("VM");
    if db.exists(class, vm) {
        return Some(vm.to_owned());
    }
    db.by_uuid(class, vm).map(str::to_owned)
}

fn set_busy(db: &mut Database, vm: &str, operation: &str, busy: bool) {
    let class = cls("VM");
    let Some(Value::Struct(mut running)) = db.get(class, vm, "current_operations").cloned() else {
        return;
    };
    running.retain(|(task, op)| !(task == BUSY_TASK && op.as_str() == Some(operation)));
    if busy {
        running.push((BUSY_TASK.to_owned(), Value::string(operation)));
    }
    db.set(class, vm, "current_operations", Value::Struct(running));
}
