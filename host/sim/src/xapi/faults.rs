//! Faults injected through the control endpoint: failing calls, latency, cut transfers and a
//! host that stops answering. The XAPI surface itself never offers a way to set them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use lifeboat_xapi::ApiError;
use serde::{Deserialize, Serialize};

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

    pub fn add(&self, fault: Fault) {
        let mut state = self.lock();
        if let Fault::Error { method, .. } = &fault {
            state.calls.remove(method);
        }
        state.faults.push(fault);
    }

    pub fn clear(&self) {
        *self.lock() = State::default();
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
