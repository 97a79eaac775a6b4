//! The copy engine: one source read once, written to N sinks at the pace of the slowest.
//!
//! The engine knows no backend: a capability (xapi, a remote) provides [`Source`]s and
//! [`Sink`]s. Each sink consumes its own bounded channel of pieces, so memory stays at
//! [`CHUNKS_PER_SINK`] pieces of [`PIECE`] bytes per sink whatever the size of the transfer,
//! and the source is read no faster than the slowest sink writes. A sink that fails is dropped
//! and the others go on. The source's own verdict (for xapi, its export task) comes last: if
//! the source failed, every sink is aborted (imported VMs destroyed, uploads dropped), so that
//! nothing half-copied is left looking complete; otherwise each sink is committed (an upload
//! appears under its name).

mod pump;
#[cfg(test)]
mod tests;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt};
use tokio::sync::mpsc;

use crate::bindings::types::Error;
use crate::host::errors;
use crate::task_log::Task;
use pump::{PumpFailure, pump};

/// Pieces buffered per sink: enough to keep both ends busy, small enough to bound memory.
pub const CHUNKS_PER_SINK: usize = 8;
/// The size of the pieces the source is handed on in.
pub const PIECE: usize = 256 * 1024;
/// How long sinks may take to finish after their source failed (an XVA import of unknown
/// length waits up to a minute for its task) before they are stopped.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(120);

/// Bytes as they arrive.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// A source whose reading has started.
pub struct Reading {
    pub body: ByteStream,
    /// The body's length, when known before the first byte.
    pub length: Option<u64>,
    /// Says, once the body has ended, whether it was complete (xapi's export task): a cut
    /// connection can look like a clean end.
    pub verdict: Option<BoxFuture<'static, Result<(), Error>>>,
    /// Turns a compressed body into its plain bytes, for sinks that need them
    /// ([`Sink::needs_plain`]); `None` when the body is plain.
    pub plain: Option<Box<dyn FnOnce(ByteStream) -> ByteStream + Send>>,
}

impl Reading {
    /// A plain body that is complete when it ends.
    pub fn plain(body: ByteStream, length: Option<u64>) -> Self {
        Reading {
            body,
            length,
            verdict: None,
            plain: None,
        }
    }
}

/// Where bytes come from.
#[async_trait]
pub trait Source: Send + Sync {
    /// What the source is, for messages ("export of VM … from pool").
    fn describe(&self) -> String;
    /// Starts reading.
    async fn open(self: Box<Self>) -> Result<Reading, Error>;
}

/// Where bytes go.
#[async_trait]
pub trait Sink: Send + Sync {
    /// What the sink is, for messages.
    fn describe(&self) -> String;
    /// Whether the sink must receive the source's plain bytes (it edits inside them).
    fn needs_plain(&self) -> bool {
        false
    }
    /// Writes the whole `body` (of `length` bytes, when known). What it returns is committed
    /// or aborted once the source's verdict is known.
    async fn write(
        self: Box<Self>,
        body: ByteStream,
        length: Option<u64>,
    ) -> Result<Box<dyn Written>, Error>;
}

/// What a sink wrote, waiting for the source's verdict.
#[async_trait]
pub trait Written: Send {
    /// What the sink made (VM references, file paths), for the caller.
    fn created(&self) -> Vec<String>;
    /// Makes the result final: the source was complete.
    async fn commit(self: Box<Self>) -> Result<(), Error>;
    /// Undoes the result: the source failed.
    async fn abort(self: Box<Self>);
}

/// What a sink received and made.
#[derive(Debug, PartialEq, Eq)]
pub struct Done {
    pub bytes: u64,
    pub created: Vec<String>,
}

/// Copies the source `what` (being read through `reading`, or failed to open) into every
/// sink; see the module documentation. One result per sink, in order.
pub async fn copy(
    what: &str,
    reading: Result<Reading, Error>,
    sinks: Vec<Box<dyn Sink>>,
    progress: Option<Task>,
) -> Vec<Result<Done, Error>> {
    let mut reading = match reading {
        Ok(reading) => reading,
        Err(error) => return sinks.iter().map(|_| Err(error.clone())).collect(),
    };
    if sinks.iter().any(|sink| sink.needs_plain())
        && let Some(plain) = reading.plain.take()
    {
        reading.body = plain(reading.body);
        reading.length = None;
    }
    let count = sinks.len();
    let (senders, receivers): (Vec<_>, Vec<_>) = sinks
        .iter()
        .map(|_| mpsc::channel::<io::Result<Bytes>>(CHUNKS_PER_SINK))
        .unzip();
    let length = reading.length;
    // The pump and each writer are tasks of their own, so that pieces pass between the
    // runtime's threads without waking whichever thread polls this future (in the CLI, the
    // main thread) for every one of them.
    let counters: Vec<ByteCounter> = sinks.iter().map(|_| ByteCounter::default()).collect();
    let writers: Vec<_> = sinks
        .into_iter()
        .zip(receivers)
        .zip(&counters)
        .map(|((sink, receiver), counter)| {
            let body = counted(receiver, counter.clone());
            tokio::spawn(sink.write(body, length))
        })
        .collect();
    let pumping = tokio::spawn(pump(reading.body, senders, length, progress));
    // Whatever ends this copy (its end, a failed source, or the run's deadline dropping it)
    // ends its tasks too.
    let _stop = StopOnDrop(
        writers
            .iter()
            .map(|writer| writer.abort_handle())
            .chain([pumping.abort_handle()])
            .collect(),
    );
    let verdict = reading.verdict;
    let source_done = async {
        let pumped = pumping
            .await
            .unwrap_or_else(|error| Err(PumpFailure::Source(format!("the copy stopped: {error}"))));
        match (pumped, verdict) {
            (Err(PumpFailure::Source(error)), _) => {
                Err(errors::transfer(format!("{what}: {error}")))
            }
            // Every sink stopped reading: each that failed says why; one that ended early
            // without failing cannot be trusted (the source's verdict was never reached).
            (Err(PumpFailure::NoSinkLeft), _) => Err(errors::transfer(format!(
                "{what}: every sink stopped reading before its end"
            ))),
            (Ok(_), Some(verdict)) => verdict.await,
            (Ok(_), None) => Ok(()),
        }
    };
    let stop_writers: Vec<_> = writers.iter().map(|writer| writer.abort_handle()).collect();
    let writers = futures_util::future::join_all(writers);
    tokio::pin!(writers, source_done);
    // A source that fails is known only once the pump has ended: its senders are gone (after
    // an error in every channel when reading failed), so every sink's stream has ended too. The
    // sinks are awaited, not cut: an import that received every byte may still make its VM,
    // which must then be destroyed rather than left behind. Only a sink still busy after
    // `SETTLE` is stopped.
    let (verdict, written) = tokio::select! {
        written = &mut writers => (source_done.await, written),
        verdict = &mut source_done => match verdict {
            Ok(()) => (Ok(()), writers.await),
            Err(failure) => match tokio::time::timeout(SETTLE, &mut writers).await {
                Ok(written) => (Err(failure), written),
                Err(_elapsed) => {
                    for writer in &stop_writers {
                        writer.abort();
                    }
                    tracing::warn!("{what}: sinks still busy {SETTLE:?} after the source failed were stopped");
                    (Err(failure), writers.await)
                }
            },
        },
    };
    let mut outcomes = Vec::with_capacity(count);
    for (joined, counter) in written.into_iter().zip(counters) {
        let result = joined
            .unwrap_or_else(|error| Err(errors::internal(format!("a transfer stopped: {error}"))));
        outcomes.push(match (&verdict, result) {
            (Ok(()), Ok(written)) => {
                let created = written.created();
                written.commit().await.map(|()| Done {
                    bytes: counter.load(),
                    created,
                })
            }
            (Err(failure), Ok(written)) => {
                written.abort().await;
                Err(failure.clone())
            }
            (_, Err(error)) => Err(error),
        });
    }
    outcomes
}

/// Aborts the copy's tasks when dropped; aborting a task that has finished does nothing.
struct StopOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A shared byte count.
#[derive(Clone, Default)]
struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    fn add(&self, bytes: u64) {
        self.0.fetch_add(bytes, Ordering::Relaxed);
    }

    fn load(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A sink's channel as a stream, counting the bytes that pass.
fn counted(receiver: mpsc::Receiver<io::Result<Bytes>>, counter: ByteCounter) -> ByteStream {
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
    .inspect(move |chunk| {
        if let Ok(chunk) = chunk {
            counter.add(chunk.len() as u64);
        }
    })
    .boxed()
}
