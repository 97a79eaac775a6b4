//! The summary printed at the end of a run: each step, each VM, how it went.

use std::fmt::Write;

use lifeboat_executor::{RunReport, StepStatus};
use lifeboat_pipeline::Pipeline;
use lifeboat_runtime::TaskStatus;

pub fn render(pipeline: &Pipeline, report: &RunReport) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "job {:?} run {}: {}",
        pipeline.name,
        report.run_id,
        serde_json::to_value(report.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    for step in &report.steps {
        let status = match step.status {
            StepStatus::Success => "ok",
            StepStatus::Partial => "partly failed",
            StepStatus::Failure => "FAILED",
            StepStatus::Skipped => "skipped",
        };
        let _ = writeln!(text, "  step {}: {status}", step.id);
        if let Some(error) = &step.error {
            let _ = writeln!(text, "    {error}");
        }
        for item in &step.items {
            let what = item.vm.as_ref().map_or_else(
                || step.id.clone(),
                |vm| format!("{} ({})", vm.name_label, vm.uuid),
            );
            let status = match item.status {
                TaskStatus::Success => "ok",
                TaskStatus::Failure => "FAILED",
                TaskStatus::Skipped => "skipped",
                TaskStatus::Interrupted => "interrupted",
            };
            let retries = if item.attempts > 1 {
                format!(", {} attempts", item.attempts)
            } else {
                String::new()
            };
            let _ = writeln!(
                text,
                "    {what}: {status} in {:.1} s{retries}",
                item.duration.as_secs_f64()
            );
            if let Some(error) = &item.error {
                let _ = writeln!(text, "      {error}");
            }
            if let Some(outputs) = &item.outputs {
                describe_outputs(&mut text, outputs);
            }
        }
    }
    text
}

/// The outputs people read: the replicas made and removed, when an operation reports them.
fn describe_outputs(text: &mut String, outputs: &serde_json::Value) {
    if let Some(replicas) = outputs.get("replicas").and_then(|r| r.as_array()) {
        for replica in replicas {
            if let Some(name) = replica.get("name_label").and_then(|n| n.as_str()) {
                let _ = writeln!(text, "      replica: {name}");
            }
        }
    }
    if let Some(removed) = outputs.get("removed").and_then(|r| r.as_array())
        && !removed.is_empty()
    {
        let copies = if removed.len() == 1 { "copy" } else { "copies" };
        let _ = writeln!(text, "      removed {} old {copies}", removed.len());
    }
}
