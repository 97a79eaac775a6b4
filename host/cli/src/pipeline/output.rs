//! Where a run's events go: NDJSON lines (Xen Orchestra's job-log shape) to standard output or
//! a file, progress bars on a terminal, and nothing a secret could leak through: every line is
//! masked before it is written.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lifeboat_executor::{RunEvent, RunSink};
use lifeboat_pipeline::Masker;
use lifeboat_runtime::{Event, TaskStatus};

/// The run's event sink.
pub struct Output {
    ndjson: Option<Mutex<Box<dyn Write + Send>>>,
    masker: Masker,
    progress: Option<Progress>,
}

impl Output {
    pub fn new(ndjson: Option<Box<dyn Write + Send>>, masker: Masker, progress: bool) -> Self {
        Output {
            ndjson: ndjson.map(Mutex::new),
            masker,
            progress: progress.then(Progress::new),
        }
    }

    pub fn mask<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        self.masker.mask(text)
    }

    /// Flushes the NDJSON output.
    pub fn flush(&self) -> std::io::Result<()> {
        if let Some(out) = &self.ndjson {
            out.lock().unwrap_or_else(|p| p.into_inner()).flush()?;
        }
        Ok(())
    }
}

impl RunSink for Output {
    fn emit(&self, event: RunEvent) {
        if let Some(out) = &self.ndjson
            && let Ok(line) = serde_json::to_string(&event)
        {
            let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
            // A closed pipe must not stop the run: the events are a report, not the work.
            let _ = writeln!(out, "{}", self.masker.mask(&line));
        }
        if let (Some(progress), RunEvent::Task(event)) = (&self.progress, &event) {
            progress.show(event, &self.masker);
        }
    }
}

/// One bar per top-level task (a VM of a step), moved by the progress of its subtasks.
struct Progress {
    bars: MultiProgress,
    state: Mutex<ProgressState>,
}

#[derive(Default)]
struct ProgressState {
    /// Each task's top-level ancestor.
    top: HashMap<String, String>,
    bars: HashMap<String, ProgressBar>,
}

impl Progress {
    fn new() -> Self {
        Progress {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            state: Mutex::default(),
        }
    }

    fn show(&self, event: &Event, masker: &Masker) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Start {
                task,
                parent,
                message,
                data,
                ..
            } => {
                let top = parent.as_ref().and_then(|p| state.top.get(p).cloned());
                match top {
                    Some(top) => {
                        state.top.insert(task.clone(), top.clone());
                        if let Some(bar) = state.bars.get(&top) {
                            bar.set_message(format!("{}: {message}", label(data, message)));
                        }
                    }
                    None => {
                        state.top.insert(task.clone(), task.clone());
                        let bar = self.bars.add(ProgressBar::new(0));
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{prefix:>24} [{bar:30}] {bytes:>10}/{total_bytes:<10} {msg}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        bar.set_prefix(masker.mask(&label(data, message)).into_owned());
                        bar.set_message(message.clone());
                        state.bars.insert(task.clone(), bar);
                    }
                }
            }
            Event::Progress {
                task, done, total, ..
            } => {
                if let Some(bar) = state.top.get(task).and_then(|top| state.bars.get(top)) {
                    bar.set_length((*total).max(*done));
                    bar.set_position(*done);
                }
            }
            Event::End { task, status, .. } => {
                if let Some(bar) = state.bars.remove(task) {
                    let outcome = match status {
                        TaskStatus::Success => "done",
                        TaskStatus::Failure => "FAILED",
                        TaskStatus::Skipped => "skipped",
                        TaskStatus::Interrupted => "interrupted",
                    };
                    bar.finish_with_message(outcome);
                }
            }
            Event::Info { .. } | Event::Warning { .. } => {}
        }
    }
}

/// A task's name for people: its VM's name, else its message.
fn label(data: &Option<serde_json::Value>, message: &str) -> String {
    data.as_ref()
        .and_then(|d| d.get("name_label"))
        .and_then(|n| n.as_str())
        .map_or_else(|| message.to_owned(), str::to_owned)
}
