//! The task log: start a task, record infos, warnings and progress on it, end it.
//!
//! [`run`] and [`Task::run`] wrap a piece of work in a task that ends by itself: `success`
//! with the work's value as its result, or `failure` with the error, as Xen Orchestra's
//! `Task.run` does.

pub use crate::bindings::tasks::{Status, Task, info, start, warning};
use crate::types::Error;
use serde::Serialize;
use serde_json::Value;

/// Runs `body` in a new task under the step's task, named `message` and carrying `data`.
///
/// The task ends `success` with `body`'s value as its result (none for `()`), or `failure`
/// with the error as JSON (`{"message": …, "code": …}`, see [`Error::to_json`]); the value
/// or the error is then returned. A panic traps the component and the host ends the task.
pub fn run<T: Serialize>(
    message: &str,
    data: Option<Value>,
    body: impl FnOnce(&Task) -> Result<T, Error>,
) -> Result<T, Error> {
    let task = start(message, data.map(|data| data.to_string()).as_deref());
    finish(&task, body(&task))
}

impl Task {
    /// Runs `body` in a new subtask of this task, as [`run`] does under the step's task.
    pub fn run<T: Serialize>(
        &self,
        message: &str,
        data: Option<Value>,
        body: impl FnOnce(&Task) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let task = self.start(message, data.map(|data| data.to_string()).as_deref());
        finish(&task, body(&task))
    }
}

/// Ends `task` as `outcome` says and hands the outcome back.
fn finish<T: Serialize>(task: &Task, outcome: Result<T, Error>) -> Result<T, Error> {
    match &outcome {
        Ok(value) => match serde_json::to_value(value) {
            Ok(Value::Null) => task.end(Status::Success, None),
            Ok(result) => task.end(Status::Success, Some(&result.to_string())),
            Err(error) => {
                task.warning(
                    &format!("the task's result cannot be recorded: {error}"),
                    None,
                );
                task.end(Status::Success, None);
            }
        },
        Err(error) => task.end(Status::Failure, Some(&error.to_json().to_string())),
    }
    outcome
}
