//! Asynchronous calls: `Async.*` methods return a task at once, and the client watches the task
//! through `event.from` until it ends, as Xen Orchestra does (polling `task.get_record` would
//! add load and latency).

use std::time::Duration;

use crate::error::{ApiError, Error, Result};
use crate::records::{Ref, Task, TaskStatus};
use crate::{Value, decode};

use super::Client;
use super::events::Operation;

/// How long one `event.from` waits before the client asks again.
const EVENT_POLL_SECONDS: f64 = 30.0;

impl Client {
    /// Starts `Async.<method>` and returns its task.
    pub async fn call_async(&self, method: &str, params: Vec<Value>) -> Result<Ref<Task>> {
        let value = self.call(&format!("Async.{method}"), params).await?;
        decode::from_value(value).map_err(|e| super::decode_error(method, e))
    }

    /// Runs `method` as a task, waits for it, destroys it and returns its result.
    pub async fn run_async(&self, method: &str, params: Vec<Value>) -> Result<Value> {
        let task = self.call_async(method, params).await?;
        let outcome = self.wait_task(&task).await;
        self.destroy_task(&task).await;
        outcome
    }

    /// Creates a task that an HTTP handler will complete (`task_id=`).
    pub async fn create_task(&self, label: &str) -> Result<Ref<Task>> {
        let value = self
            .call("task.create", vec![Value::string(label), Value::string("")])
            .await?;
        decode::from_value(value).map_err(|e| super::decode_error("task.create", e))
    }

    /// Destroys a finished task; failures are ignored (the task may already be gone, and xapi
    /// garbage-collects tasks anyway).
    pub async fn destroy_task(&self, task: &Ref<Task>) {
        if let Err(error) = self
            .call("task.destroy", vec![Value::string(task.as_str())])
            .await
        {
            tracing::debug!(%task, %error, "task.destroy failed");
        }
    }

    /// Waits until `task` ends; its result on success (decoded from the XML-RPC fragment in
    /// `task.result`), its `error_info` as an [`Error::Task`] otherwise.
    pub async fn wait_task(&self, task: &Ref<Task>) -> Result<Value> {
        let record = self.wait_task_record(task).await?;
        finished_task_result(task, record)
    }

    /// Waits for `task` to end, or until `deadline` passes (then `Ok(None)`).
    pub(crate) async fn wait_task_until(
        &self,
        task: &Ref<Task>,
        deadline: Duration,
    ) -> Result<Option<Value>> {
        match tokio::time::timeout(deadline, self.wait_task_record(task)).await {
            Ok(record) => finished_task_result(task, record?).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The task's final record, watched through events on that one task.
    async fn wait_task_record(&self, task: &Ref<Task>) -> Result<Task> {
        let mut events = self.subscribe(&[&format!("task/{task}")]);
        events.set_timeout(EVENT_POLL_SECONDS);
        loop {
            for event in events.next().await? {
                match (event.operation, event.snapshot) {
                    (Operation::Del, _) | (_, None) => {
                        return Err(Error::Task {
                            task: task.to_string(),
                            label: String::new(),
                            status: "vanished".into(),
                            source: ApiError::new("HANDLE_INVALID", ["task", task.as_str()]),
                        });
                    }
                    (_, Some(snapshot)) => {
                        let record: Task = decode::from_value(snapshot)
                            .map_err(|e| super::decode_error("task record", e))?;
                        if record.status.is_final() {
                            return Ok(record);
                        }
                    }
                }
            }
        }
    }
}

/// The outcome a final task record stands for.
fn finished_task_result(task: &Ref<Task>, record: Task) -> Result<Value> {
    match record.status {
        TaskStatus::Success => parse_task_result(&record.result).ok_or_else(|| Error::Decode {
            what: format!("result of task {task} ({})", record.name_label),
            problem: format!("not an XML-RPC value: {:?}", record.result),
        }),
        status => {
            let mut info = record.error_info.into_iter();
            let code = info.next().unwrap_or_else(|| match status {
                TaskStatus::Cancelled => "TASK_CANCELLED".into(),
                _ => "INTERNAL_ERROR".into(),
            });
            Err(Error::Task {
                task: task.to_string(),
                label: record.name_label,
                status: format!("{status:?}").to_lowercase(),
                source: ApiError {
                    code,
                    params: info.collect(),
                },
            })
        }
    }
}

/// `task.result` is an XML-RPC `<value>` fragment, or empty for handlers that return nothing.
fn parse_task_result(result: &str) -> Option<Value> {
    if result.trim().is_empty() {
        return Some(Value::string(""));
    }
    Value::parse_xml(result.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_results_decode() {
        assert_eq!(parse_task_result(""), Some(Value::string("")));
        assert_eq!(
            parse_task_result("<value>OpaqueRef:a</value>"),
            Some(Value::string("OpaqueRef:a"))
        );
        assert_eq!(
            parse_task_result(
                "<value><array><data><value>OpaqueRef:a</value></data></array></value>"
            ),
            Some(Value::Array(vec![Value::string("OpaqueRef:a")]))
        );
        assert_eq!(parse_task_result("<value>"), None);
    }

    #[test]
    fn failed_tasks_carry_their_error_info() {
        let task = Ref::new("OpaqueRef:t");
        let record = Task {
            name_label: "Async.VM.snapshot".into(),
            status: TaskStatus::Failure,
            error_info: vec!["VM_BAD_POWER_STATE".into(), "OpaqueRef:v".into()],
            ..Task::default()
        };
        let error = finished_task_result(&task, record).expect_err("failed task");
        assert!(error.is_api("VM_BAD_POWER_STATE"), "{error}");
        let cancelled = Task {
            status: TaskStatus::Cancelled,
            ..Task::default()
        };
        let error = finished_task_result(&task, cancelled).expect_err("cancelled task");
        assert!(error.is_api("TASK_CANCELLED"), "{error}");
    }
}
