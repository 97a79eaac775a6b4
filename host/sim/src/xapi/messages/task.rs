//! Messages of the task class beyond the generic ones: creation by clients (for HTTP handlers'
//! `task_id`), cancellation and destruction.

use lifeboat_formats::xmlrpc::Value;
use lifeboat_xapi::ApiError;
use lifeboat_xapi::wire::Outcome;

use crate::xapi::dispatch::{Ctx, Method};
use crate::xapi::errors;
use crate::xapi::params::Param::{Float, Str};
use crate::xapi::pool::{Pool, cls};
use crate::xapi::tasks;

pub fn methods() -> Vec<Method> {
    vec![
        Method::new(
            "task.create",
            &[("label", Str), ("description", Str)],
            create,
        ),
        Method::new("task.destroy", &[("self", Str)], destroy),
        Method::new("task.cancel", &[("task", Str)], cancel),
        Method::new(
            "task.set_progress",
            &[("self", Str), ("value", Float)],
            set_progress,
        )
        .sync_only(),
    ]
}

fn create(pool: &Pool, ctx: &Ctx, args: Vec<Value>) -> Outcome {
    let label = args[0].as_str().unwrap_or_default();
    let description = args[1].as_str().unwrap_or_default();
    Ok(Value::String(tasks::create(
        pool,
        label,
        description,
        &ctx.host,
    )))
}

fn destroy(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let task = args[0].as_str().unwrap_or_default();
    if pool.write(|db| db.destroy(cls("task"), task)) {
        Ok(Value::string(""))
    } else {
        Err(errors::handle_invalid("task", task))
    }
}

fn cancel(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let task = args[0].as_str().unwrap_or_default();
    pool.check_ref(cls("task"), task)?;
    if !tasks::is_pending(pool, task) {
        return Err(errors::operation_not_allowed("task is not cancellable"));
    }
    tasks::complete(pool, task, &Err(ApiError::new("TASK_CANCELLED", [task])));
    Ok(Value::string(""))
}

fn set_progress(pool: &Pool, _: &Ctx, args: Vec<Value>) -> Outcome {
    let task = args[0].as_str().unwrap_or_default();
    pool.check_ref(cls("task"), task)?;
    let Value::Double(progress) = args[1] else {
        return Err(errors::field_type_error("value"));
    };
    tasks::set_progress(pool, task, progress);
    Ok(Value::string(""))
}
