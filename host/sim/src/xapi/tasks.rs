//! Tasks: the records that `Async.` calls and HTTP handlers report through.
//!
//! A task is created `pending` with progress 0 and `allowed_operations = [cancel]`; on completion
//! it gets progress 1, `finished`, no allowed operations, and then its status with either
//! `result` (the return value as an XML-RPC `<value>` fragment) or `error_info`
//! (`[code, params…]`). Each change is a database write, so clients watching events see it.

use std::sync::Arc;

use lifeboat_formats::xmlrpc::{Value, xapi_now};
use lifeboat_xapi::wire::Outcome;

use super::dispatch::{Ctx, Method, execute};
use super::pool::{Pool, cls};

/// Creates a pending task labelled `label`.
pub fn create(pool: &Pool, label: &str, description: &str, host: &str) -> String {
    let task = cls("task");
    pool.write(|db| {
        db.create(
            task,
            vec![
                ("name_label", Value::string(label)),
                ("name_description", Value::string(description)),
                (
                    "allowed_operations",
                    Value::Array(vec![Value::string("cancel")]),
                ),
                ("created", Value::DateTime(xapi_now())),
                ("status", Value::string("pending")),
                ("resident_on", Value::string(host)),
                ("type", Value::string("<none/>")),
            ],
        )
    })
}

/// Whether `task` exists and is still pending.
pub fn is_pending(pool: &Pool, task: &str) -> bool {
    pool.read(|db| db.get_str(cls("task"), task, "status") == "pending")
}

/// Sets a pending task's progress (0 to 1).
pub fn set_progress(pool: &Pool, task: &str, progress: f64) {
    pool.write(|db| db.set(cls("task"), task, "progress", Value::Double(progress)));
}

/// Completes a task with `outcome`; on success `result` holds the value encoded as an XML-RPC
/// fragment.
pub fn complete(pool: &Pool, task: &str, outcome: &Outcome) {
    let result = match outcome {
        Ok(value) => {
            let mut xml = Vec::new();
            value
                .write_xml(&mut xml)
                .expect("writing XML into memory cannot fail");
            String::from_utf8(xml).expect("the encoder writes UTF-8")
        }
        Err(_) => String::new(),
    };
    finish(pool, task, outcome, result);
}

fn finish(pool: &Pool, task: &str, outcome: &Outcome, result: String) {
    let class = cls("task");
    pool.write(|db| {
        if db.get_str(class, task, "status") != "pending" {
            return;
        }
        db.set(class, task, "progress", Value::Double(1.0));
        db.set(class, task, "finished", Value::DateTime(xapi_now()));
        db.set(class, task, "allowed_operations", Value::Array(Vec::new()));
        match outcome {
            Ok(_) => {
                db.set(class, task, "result", Value::String(result));
                db.set(class, task, "status", Value::string("success"));
            }
            Err(error) => {
                let info = std::iter::once(&error.code)
                    .chain(&error.params)
                    .map(|part| Value::string(part.as_str()))
                    .collect();
                db.set(class, task, "error_info", Value::Array(info));
                let status = if error.code == "TASK_CANCELLED" {
                    "cancelled"
                } else {
                    "failure"
                };
                db.set(class, task, "status", Value::string(status));
            }
        }
    });
}

/// Runs `method` as a task and returns the task's reference at once.
pub fn spawn(pool: &Arc<Pool>, mut ctx: Ctx, method: &'static Method, args: Vec<Value>) -> String {
    let task = create(pool, &format!("Async.{}", method.name), "", &ctx.host);
    ctx.task = Some(task.clone());
    let pool = pool.clone();
    let reference = task.clone();
    tokio::spawn(async move {
        let outcome = execute(&pool, ctx, method, args).await;
        complete(&pool, &task, &outcome);
    });
    reference
}
