//! The task log: the tree of tasks that a run writes, in Xen Orchestra's shape.
//!
//! The host and the components start tasks, record infos and warnings on them, report progress
//! and end them; every change becomes an [`Event`] handed to the run's [`EventSink`] (the CLI
//! turns them into NDJSON or progress bars). Task ids are unique within a [`TaskLog`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value as Json;

/// How a task ended, as Xen Orchestra writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Success,
    Failure,
    Skipped,
    Interrupted,
}

/// One change to the task tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event")]
pub enum Event {
    #[serde(rename = "task.start")]
    Start {
        #[serde(rename = "taskId")]
        task: String,
        #[serde(rename = "parentId", skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<Json>,
        timestamp: u64,
    },
    #[serde(rename = "task.info")]
    Info {
        #[serde(rename = "taskId")]
        task: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<Json>,
        timestamp: u64,
    },
    #[serde(rename = "task.warning")]
    Warning {
        #[serde(rename = "taskId")]
        task: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<Json>,
        timestamp: u64,
    },
    /// Not in Xen Orchestra's log (it keeps progress on live tasks only); consumers that
    /// reproduce that log skip it.
    #[serde(rename = "task.progress")]
    Progress {
        #[serde(rename = "taskId")]
        task: String,
        done: u64,
        total: u64,
        timestamp: u64,
    },
    #[serde(rename = "task.end")]
    End {
        #[serde(rename = "taskId")]
        task: String,
        status: TaskStatus,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<Json>,
        timestamp: u64,
    },
}

/// Where a run's events go.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// An event sink that drops everything.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _: Event) {}
}

/// Hands out task ids and forwards events to a sink.
#[derive(Clone)]
pub struct TaskLog {
    sink: Arc<dyn EventSink>,
    next_id: Arc<AtomicU64>,
    prefix: Arc<str>,
    /// The parent of top-level tasks: the run's id, as Xen Orchestra's VM tasks name their job
    /// run.
    root: Option<Arc<str>>,
}

impl TaskLog {
    /// A log whose task ids start with `prefix` (e.g. the run id), so ids from several runs
    /// never collide.
    pub fn new(prefix: &str, sink: Arc<dyn EventSink>) -> Self {
        TaskLog {
            sink,
            next_id: Arc::new(AtomicU64::new(1)),
            prefix: prefix.into(),
            root: None,
        }
    }

    /// The same log, its top-level tasks children of `root` (a job run's id).
    pub fn under(mut self, root: &str) -> Self {
        self.root = Some(root.into());
        self
    }

    /// Starts a task under `parent` (without one, under the log's root if it has one).
    pub fn start(&self, parent: Option<&Task>, message: &str, data: Option<Json>) -> Task {
        let id = format!(
            "{}.{}",
            self.prefix,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        self.sink.emit(Event::Start {
            task: id.clone(),
            parent: match parent {
                Some(parent) => Some(parent.id.clone()),
                None => self.root.as_deref().map(str::to_owned),
            },
            message: message.to_owned(),
            data,
            timestamp: now_ms(),
        });
        Task {
            id,
            log: self.clone(),
        }
    }
}

impl TaskLog {
    /// Records an information on the log's root (the job run), as Xen Orchestra records the
    /// VMs a run selected.
    pub fn info(&self, message: &str, data: Option<Json>) {
        if let Some(root) = &self.root {
            self.sink.emit(Event::Info {
                task: root.to_string(),
                message: message.to_owned(),
                data,
                timestamp: now_ms(),
            });
        }
    }
}

/// A started task. Ending it is up to its owner; the handle itself can be cloned freely.
#[derive(Clone)]
pub struct Task {
    id: String,
    log: TaskLog,
}

impl Task {
    /// The task's id, as events name it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Starts a subtask.
    pub fn start(&self, message: &str, data: Option<Json>) -> Task {
        self.log.start(Some(self), message, data)
    }

    pub fn info(&self, message: &str, data: Option<Json>) {
        self.log.sink.emit(Event::Info {
            task: self.id.clone(),
            message: message.to_owned(),
            data,
            timestamp: now_ms(),
        });
    }

    pub fn warning(&self, message: &str, data: Option<Json>) {
        self.log.sink.emit(Event::Warning {
            task: self.id.clone(),
            message: message.to_owned(),
            data,
            timestamp: now_ms(),
        });
    }

    pub fn progress(&self, done: u64, total: u64) {
        self.log.sink.emit(Event::Progress {
            task: self.id.clone(),
            done,
            total,
            timestamp: now_ms(),
        });
    }

    pub fn end(&self, status: TaskStatus, result: Option<Json>) {
        self.log.sink.emit(Event::End {
            task: self.id.clone(),
            status,
            result,
            timestamp: now_ms(),
        });
    }
}

/// Milliseconds since the Unix epoch, the unit of every timestamp in the log.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
