//! What a run reports: Xen Orchestra's job log (`job.start`, the task events, `job.end`), for
//! the CLI to write as NDJSON or show as progress.

use std::sync::Arc;

use lifeboat_runtime::{Event, EventSink};
use serde::Serialize;
use serde_json::Value as Json;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every step and item succeeded.
    Success,
    /// Some items failed, in steps that continue on error; the others succeeded.
    Partial,
    /// A step failed, or nothing succeeded.
    Failure,
}

/// One line of the run's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RunEvent {
    Job(JobEvent),
    Task(Event),
}

/// The start and the end of a job run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event")]
pub enum JobEvent {
    #[serde(rename = "job.start")]
    Start {
        #[serde(rename = "runJobId")]
        run_id: String,
        #[serde(rename = "jobId")]
        job_id: String,
        #[serde(rename = "jobName")]
        job_name: String,
        #[serde(rename = "scheduleId")]
        schedule_id: String,
        timestamp: u64,
        data: Json,
    },
    #[serde(rename = "job.end")]
    End {
        #[serde(rename = "runJobId")]
        run_id: String,
        status: RunStatus,
        timestamp: u64,
    },
}

/// Where a run's events go.
pub trait RunSink: Send + Sync {
    fn emit(&self, event: RunEvent);
}

/// Forwards the runtime's task events into a [`RunSink`].
pub(crate) struct TaskEvents(pub Arc<dyn RunSink>);

impl EventSink for TaskEvents {
    fn emit(&self, event: Event) {
        self.0.emit(RunEvent::Task(event));
    }
}
