//! Authentication and the task of a transfer.
//!
//! The session comes from `session_id` (query or cookie); a bad or missing one gets HTTP 401 and
//! fails the `task_id` task, if any, with `SESSION_AUTHENTICATION_FAILED []`. `task_id` binds the
//! work to a task the client created, which the handler completes; without it the handler
//! creates its own and destroys it when done, as xapi does with the tasks of its own contexts.

use std::sync::Arc;

use http::{Response, StatusCode};
use lifeboat_xapi::ApiError;
use lifeboat_xapi::wire::Outcome;

use super::reply;
use super::request::Params;
use crate::xapi::errors;
use crate::xapi::pool::{Pool, cls};
use crate::xapi::server::{Body, plain};
use crate::xapi::tasks;

/// The task of one transfer, completed exactly once: by [`Job::finish`], or with an internal
/// error if the handler is dropped without an outcome.
pub struct Job {
    pool: Arc<Pool>,
    task: String,
    own: bool,
    finished: bool,
}

impl Job {
    /// Authenticates the request and binds its task; the response to send instead on failure.
    pub fn start(
        pool: &Arc<Pool>,
        params: &Params,
        host: &str,
        label: &str,
    ) -> Result<Job, Box<Response<Body>>> {
        authenticate(pool, params)?;
        match params.get("task_id") {
            Some(task) if pool.read(|db| db.exists(cls("task"), task)) => Ok(Job {
                pool: pool.clone(),
                task: task.to_owned(),
                own: false,
                finished: false,
            }),
            Some(task) => Err(Box::new(plain(
                StatusCode::BAD_REQUEST,
                &format!("unknown task {task}"),
            ))),
            None => Ok(Job {
                pool: pool.clone(),
                task: tasks::create(pool, label, "", host),
                own: true,
                finished: false,
            }),
        }
    }

    pub fn task(&self) -> &str {
        &self.task
    }

    /// Completes the task with `outcome`.
    pub fn finish(mut self, outcome: Outcome) {
        self.complete(&outcome);
    }

    /// Fails the task with `error` and answers `status` without a body.
    pub fn refuse(self, status: StatusCode, error: ApiError) -> Response<Body> {
        let response = reply::status(status, Some(&self.task));
        self.finish(Err(error));
        response
    }

    fn complete(&mut self, outcome: &Outcome) {
        if self.finished {
            return;
        }
        self.finished = true;
        tasks::complete(&self.pool, &self.task, outcome);
        if self.own {
            self.pool.write(|db| db.destroy(cls("task"), &self.task));
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.complete(&Err(errors::internal(
            "the transfer ended without an outcome",
        )));
    }
}

/// The answer to Xen Orchestra's probe before an upload, an empty PUT without a task that
/// discovers redirects: only the session is checked. (xapi runs the handler in a task of its own
/// that fails on the empty body and is destroyed at once; nothing of it shows.)
pub fn answer_probe(pool: &Pool, params: &Params, length: Option<u64>) -> Option<Response<Body>> {
    if length != Some(0) || params.get("task_id").is_some() {
        return None;
    }
    Some(match authenticate(pool, params) {
        Ok(()) => reply::status(StatusCode::OK, None),
        Err(response) => *response,
    })
}

/// Checks the session; answers 401 (failing the bound task) when it is not valid.
fn authenticate(pool: &Pool, params: &Params) -> Result<(), Box<Response<Body>>> {
    let session = params.get("session_id").unwrap_or_default();
    if pool.read(|db| db.exists(cls("session"), session)) {
        return Ok(());
    }
    let task = params.get("task_id");
    if let Some(task) = task
        && pool.read(|db| db.exists(cls("task"), task))
    {
        tasks::complete(pool, task, &Err(errors::http_authentication_failed()));
    }
    Err(Box::new(reply::status(StatusCode::UNAUTHORIZED, task)))
}
