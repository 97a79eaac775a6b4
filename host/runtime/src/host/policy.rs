//! The `policy` interface: an operation asks the host to run its step's retention policy.

use serde_json::json;

use crate::bindings::policy_host;
use crate::bindings::retention::Candidate;
use crate::bindings::types::Error;
use crate::error::RuntimeError;
use crate::host::errors;
use crate::state::StepState;

impl policy_host::Host for StepState {
    async fn select_expired(
        &mut self,
        candidates: Vec<Candidate>,
        settings: String,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let Some(policy) = self.env.policy.clone() else {
            return Ok(Err(errors::invalid_input(
                "this step names no retention policy",
            )));
        };
        let task = self.env.task.start(
            "retention",
            Some(json!({ "policy": policy.name(), "candidates": candidates.len() })),
        );
        let answer = policy
            .select_expired(&candidates, &settings, self.env.context.now_ms, &task)
            .await;
        match answer {
            Ok(ids) => {
                task.end(
                    crate::task_log::TaskStatus::Success,
                    Some(json!({ "expired": ids })),
                );
                Ok(Ok(ids))
            }
            Err(error) => {
                task.end(
                    crate::task_log::TaskStatus::Failure,
                    Some(json!({ "message": error.to_string() })),
                );
                let refused = matches!(error, RuntimeError::BadOutput { .. });
                Ok(Err(if refused {
                    self.refuse(&error.to_string())
                } else {
                    errors::internal(error.to_string())
                }))
            }
        }
    }
}
