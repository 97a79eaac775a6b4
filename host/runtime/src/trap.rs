//! Turns the error of a failed component call into what happened: the memory cap, the
//! deadline, or a crash with what the component wrote before it.

use std::time::{Duration, Instant};

use crate::error::RuntimeError;
use crate::limits::MemoryLimiter;
use crate::sandbox::CapturedOutput;

pub fn classify(
    component: &str,
    error: wasmtime::Error,
    limiter: &MemoryLimiter,
    deadline_at: Instant,
    deadline: Duration,
    stderr: &CapturedOutput,
) -> RuntimeError {
    if limiter.hit() {
        return RuntimeError::MemoryLimit {
            component: component.to_owned(),
            limit: limiter.limit(),
        };
    }
    let interrupted = matches!(
        error.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::Interrupt)
    );
    if interrupted || Instant::now() >= deadline_at {
        return RuntimeError::Deadline {
            component: component.to_owned(),
            deadline,
        };
    }
    let message = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    RuntimeError::Trap {
        component: component.to_owned(),
        message,
        stderr: stderr.text(),
    }
}
