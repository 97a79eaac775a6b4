//! The `tasks` interface: the component's view of the task log.
//!
//! A component starts tasks under the task the host gave its run (a VM's task for a
//! `for_each` over VMs), records infos and warnings, and ends its tasks. What it writes is
//! bounded (a message to 4 KiB, data to 64 KiB) so a chatty or hostile component cannot flood
//! the log, and data that is not JSON is kept as a string rather than rejected.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value as Json;
use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::tasks::{self, Status};
use crate::task_log::{Task, TaskStatus};

/// Longest message kept; longer ones are cut.
const MAX_MESSAGE: usize = 4 * 1024;
/// Largest data kept; larger data is replaced by a note.
const MAX_DATA: usize = 64 * 1024;

/// A task started by the component.
#[derive(Clone)]
pub struct TaskResource {
    task: Task,
    ended: Arc<AtomicBool>,
}

impl TaskResource {
    /// The log's handle of this task, for host functions that report on it (transfers).
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// Ends the task unless it was ended already.
    fn end_once(&self, status: TaskStatus, result: Option<Json>) {
        if !self.ended.swap(true, Ordering::Relaxed) {
            self.task.end(status, result);
        }
    }
}

/// The tasks a component started, so that the host can end those it left open when its run
/// is over (a component that returns or traps never drops its handles).
#[derive(Default)]
pub struct StartedTasks(Vec<TaskResource>);

impl StartedTasks {
    /// Ends every task still open as `interrupted`.
    pub fn interrupt_open(&self) {
        for task in &self.0 {
            task.end_once(TaskStatus::Interrupted, None);
        }
    }
}

/// What the `tasks` host functions need from a store: its resource table, the run's task and
/// the tasks started so far.
pub struct TasksView<'a> {
    pub table: &'a mut ResourceTable,
    pub root: &'a Task,
    pub started: &'a mut StartedTasks,
}

/// Selects [`TasksView`] as the data the `tasks` bindings work on.
pub struct TasksData;

/// Links the `tasks` interface, through its view of the store's state.
pub(crate) fn link(
    linker: &mut wasmtime::component::Linker<crate::state::StepState>,
) -> wasmtime::Result<()> {
    crate::bindings::tasks::add_to_linker::<_, TasksData>(linker, crate::state::StepState::tasks)
}

impl HasData for TasksData {
    type Data<'a> = TasksView<'a>;
}

impl TasksView<'_> {
    fn start_under(
        &mut self,
        parent: &Task,
        message: String,
        data: Option<String>,
    ) -> wasmtime::Result<Resource<TaskResource>> {
        let resource = TaskResource {
            task: parent.start(&bounded_message(message), bounded_data(data)),
            ended: Arc::new(AtomicBool::new(false)),
        };
        self.started.0.push(resource.clone());
        Ok(self.table.push(resource)?)
    }
}

impl tasks::Host for TasksView<'_> {
    async fn start(
        &mut self,
        message: String,
        data: Option<String>,
    ) -> wasmtime::Result<Resource<TaskResource>> {
        let root = self.root.clone();
        self.start_under(&root, message, data)
    }

    async fn info(&mut self, message: String, data: Option<String>) -> wasmtime::Result<()> {
        self.root
            .info(&bounded_message(message), bounded_data(data));
        Ok(())
    }

    async fn warning(&mut self, message: String, data: Option<String>) -> wasmtime::Result<()> {
        self.root
            .warning(&bounded_message(message), bounded_data(data));
        Ok(())
    }
}

impl tasks::HostTask for TasksView<'_> {
    async fn start(
        &mut self,
        parent: Resource<TaskResource>,
        message: String,
        data: Option<String>,
    ) -> wasmtime::Result<Resource<TaskResource>> {
        let parent = self.table.get(&parent)?.task.clone();
        self.start_under(&parent, message, data)
    }

    async fn info(
        &mut self,
        task: Resource<TaskResource>,
        message: String,
        data: Option<String>,
    ) -> wasmtime::Result<()> {
        let task = &self.table.get(&task)?.task;
        task.info(&bounded_message(message), bounded_data(data));
        Ok(())
    }

    async fn warning(
        &mut self,
        task: Resource<TaskResource>,
        message: String,
        data: Option<String>,
    ) -> wasmtime::Result<()> {
        let task = &self.table.get(&task)?.task;
        task.warning(&bounded_message(message), bounded_data(data));
        Ok(())
    }

    async fn progress(
        &mut self,
        task: Resource<TaskResource>,
        done: u64,
        total: u64,
    ) -> wasmtime::Result<()> {
        self.table.get(&task)?.task.progress(done, total);
        Ok(())
    }

    async fn end(
        &mut self,
        task: Resource<TaskResource>,
        status: Status,
        result: Option<String>,
    ) -> wasmtime::Result<()> {
        self.table
            .get(&task)?
            .end_once(task_status(status), bounded_data(result));
        Ok(())
    }

    async fn drop(&mut self, task: Resource<TaskResource>) -> wasmtime::Result<()> {
        self.table
            .delete(task)?
            .end_once(TaskStatus::Interrupted, None);
        Ok(())
    }
}

fn task_status(status: Status) -> TaskStatus {
    match status {
        Status::Success => TaskStatus::Success,
        Status::Failure => TaskStatus::Failure,
        Status::Skipped => TaskStatus::Skipped,
        Status::Interrupted => TaskStatus::Interrupted,
    }
}

fn bounded_message(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

fn bounded_data(data: Option<String>) -> Option<Json> {
    let data = data?;
    if data.len() > MAX_DATA {
        return Some(Json::String(format!(
            "({} bytes of data left out: more than {MAX_DATA})",
            data.len()
        )));
    }
    Some(serde_json::from_str(&data).unwrap_or(Json::String(data)))
}
