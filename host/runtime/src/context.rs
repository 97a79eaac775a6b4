//! Who runs a step and when: the values every run of a component receives.

use crate::bindings::types;

/// The identity and time of one run of a step, passed to the component as WIT's
/// `run-context`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    /// The job's id: what `xo:backup:job` holds on the objects the job creates, and what the
    /// guards compare against.
    pub job_id: String,
    pub job_name: String,
    pub schedule_id: String,
    pub run_id: String,
    pub step_id: String,
    /// The run's start, in milliseconds since the Unix epoch.
    pub now_ms: u64,
}

impl RunContext {
    pub(crate) fn to_wit(&self) -> types::RunContext {
        types::RunContext {
            job_id: self.job_id.clone(),
            job_name: self.job_name.clone(),
            schedule_id: self.schedule_id.clone(),
            run_id: self.run_id.clone(),
            step_id: self.step_id.clone(),
            now_ms: self.now_ms,
        }
    }
}
