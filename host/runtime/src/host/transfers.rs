//! The `transfers` interface: sources and sinks as plans that each capability makes (a VM
//! export, a remote's file …), and `copy`, which carries them out in the host's copy engine
//! ([`crate::transfer`]).

use wasmtime::component::Resource;

use crate::bindings::transfers::{self as wit, Delivered};
use crate::bindings::types::Error;
use crate::host::tasks::TaskResource;
use crate::state::StepState;
use crate::transfer::{Reading, Sink, Source};

/// Where bytes will come from: a source not yet read, or one that `open` started.
pub enum SourcePlan {
    Planned(Box<dyn Source>),
    /// A source that `open` started: what it was, and its reading.
    Opened {
        what: String,
        reading: Reading,
    },
    /// A source whose `open` failed: every copy of it fails the same way.
    Failed {
        what: String,
        error: Error,
    },
}

/// Where bytes will go.
pub struct SinkPlan(Box<dyn Sink>);

impl SourcePlan {
    pub fn new(source: impl Source + 'static) -> Self {
        SourcePlan::Planned(Box::new(source))
    }

    pub fn describe(&self) -> String {
        match self {
            SourcePlan::Planned(source) => source.describe(),
            SourcePlan::Opened { what, .. } | SourcePlan::Failed { what, .. } => what.clone(),
        }
    }

    /// What the source is, and its reading (started now if it was not).
    async fn start(self) -> (String, Result<Reading, Error>) {
        match self {
            SourcePlan::Planned(source) => (source.describe(), source.open().await),
            SourcePlan::Opened { what, reading } => (what, Ok(reading)),
            SourcePlan::Failed { what, error } => (what, Err(error)),
        }
    }
}

impl SinkPlan {
    pub fn new(sink: impl Sink + 'static) -> Self {
        SinkPlan(Box::new(sink))
    }
}

impl wit::Host for StepState {
    async fn copy(
        &mut self,
        source: Resource<SourcePlan>,
        sinks: Vec<Resource<SinkPlan>>,
        progress: Option<Resource<TaskResource>>,
    ) -> wasmtime::Result<Vec<Result<Delivered, Error>>> {
        let source = self.table.delete(source)?;
        let sinks = sinks
            .into_iter()
            .map(|sink| self.table.delete(sink).map(|plan| plan.0))
            .collect::<Result<Vec<_>, _>>()?;
        let progress = match progress {
            Some(task) => Some(self.table.get(&task)?.task().clone()),
            None => None,
        };
        let (what, reading) = source.start().await;
        let outcomes = crate::transfer::copy(&what, reading, sinks, progress).await;
        Ok(outcomes
            .into_iter()
            .map(|outcome| {
                outcome.map(|done| Delivered {
                    bytes: done.bytes,
                    created: done.created,
                })
            })
            .collect())
    }
}

impl wit::HostSource for StepState {
    async fn describe(&mut self, source: Resource<SourcePlan>) -> wasmtime::Result<String> {
        Ok(self.table.get(&source)?.describe())
    }

    async fn open(&mut self, source: Resource<SourcePlan>) -> wasmtime::Result<Result<(), Error>> {
        let plan = self.table.get_mut(&source)?;
        let what = plan.describe();
        let placeholder = SourcePlan::Failed {
            what: what.clone(),
            error: crate::host::errors::internal("the source is being opened"),
        };
        let started = match std::mem::replace(plan, placeholder) {
            SourcePlan::Planned(planned) => match planned.open().await {
                Ok(reading) => SourcePlan::Opened { what, reading },
                Err(error) => SourcePlan::Failed { what, error },
            },
            already => already,
        };
        let outcome = match &started {
            SourcePlan::Failed { error, .. } => Err(error.clone()),
            _ => Ok(()),
        };
        *self.table.get_mut(&source)? = started;
        Ok(outcome)
    }

    async fn drop(&mut self, source: Resource<SourcePlan>) -> wasmtime::Result<()> {
        self.table.delete(source)?;
        Ok(())
    }
}

impl wit::HostSink for StepState {
    async fn describe(&mut self, sink: Resource<SinkPlan>) -> wasmtime::Result<String> {
        Ok(self.table.get(&sink)?.0.describe())
    }

    async fn drop(&mut self, sink: Resource<SinkPlan>) -> wasmtime::Result<()> {
        self.table.delete(sink)?;
        Ok(())
    }
}
