//! The copy engine: one source read once, written to N sinks at the pace of the slowest.
//!
//! Each sink consumes its own bounded channel of chunks, so memory stays at a few chunks per
//! sink whatever the size of the transfer. A sink that fails is dropped and the others go on.
//! The source's own verdict (for xapi, its export task) comes last: if the source failed, every
//! sink fails too and what the sinks created is undone (imported VMs destroyed, temporary files
//! removed), so nothing half-copied is left looking complete. Remote files are written under a
//! temporary name and renamed only after that verdict. A VM import that must carry changes
//! from its creation gets them written into the archive's `ova.xml` as it passes
//! ([`crate::host::xapi::ova_changes`]); a compressed export is decompressed once, before the
//! sinks, when one of them needs that.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{BoxStream, StreamExt};
use lifeboat_formats::xva::{OvaXmlEditor, Pushed};
use lifeboat_xapi::records::{Ref, Vm};
use lifeboat_xapi::{ImportSource, PendingTask, RawFormat, VmCompression};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;

use crate::bindings::types::Error;
use crate::bindings::xapi::VmChanges;
use crate::grants::RunObjects;
use crate::host::errors;
use crate::host::transfers::{SinkPlan, SourcePlan};
use crate::task_log::Task;

/// Pieces buffered per sink: enough to keep both ends busy, small enough to bound memory
/// (8 × [`PIECE`] per sink).
const CHUNKS_PER_SINK: usize = 8;
/// The size of the pieces the source is handed on in.
const PIECE: usize = 256 * 1024;
/// Read size for files.
const FILE_CHUNK: usize = 1 << 20;
/// How often progress is reported.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// What a sink received and made.
pub struct Done {
    pub bytes: u64,
    pub created: Vec<String>,
}

/// A source whose reading has started.
pub struct Opened {
    body: BoxStream<'static, io::Result<Bytes>>,
    length: Option<u64>,
    /// The task that says whether an xapi export was complete.
    verdict: Option<PendingTask>,
    /// How a VM export is compressed.
    compression: VmCompression,
}

/// What a sink left to do or undo once the source's verdict is known.
enum Pending {
    /// Nothing: the target confirmed the transfer itself.
    Nothing,
    /// VMs imported: destroyed if the source failed.
    Vms {
        pool: std::sync::Arc<crate::grants::PoolConnection>,
        vms: Vec<Ref<Vm>>,
    },
    /// A file written under a temporary name: renamed on success, removed on failure.
    File {
        temporary: tempfile::TempPath,
        path: PathBuf,
    },
}

/// Copies `source` into every sink; see the module documentation.
pub async fn copy(
    source: SourcePlan,
    sinks: Vec<SinkPlan>,
    progress: Option<Task>,
    objects: Arc<RunObjects>,
) -> Vec<Result<Done, Error>> {
    let what = source.describe();
    let opened = match source {
        SourcePlan::Opened { opened, .. } => Ok(opened),
        SourcePlan::Failed { error, .. } => Err(error),
        plan => open(plan).await,
    };
    let mut opened = match opened {
        Ok(opened) => opened,
        Err(error) => return sinks.iter().map(|_| Err(error.clone())).collect(),
    };
    let edits_archive = sinks.iter().any(|sink| {
        matches!(
            sink,
            SinkPlan::VmImport {
                changes: Some(_),
                ..
            }
        )
    });
    if edits_archive && opened.compression != VmCompression::None {
        opened.body = decompressed(opened.body, opened.compression);
        opened.length = None;
    }
    let count = sinks.len();
    let (senders, receivers): (Vec<_>, Vec<_>) = sinks
        .iter()
        .map(|_| mpsc::channel::<io::Result<Bytes>>(CHUNKS_PER_SINK))
        .unzip();
    let length = opened.length;
    // The pump and each writer are tasks of their own, so that chunks pass between the
    // runtime's threads without waking whichever thread polls this future (in the CLI, the
    // main thread) for every one of them.
    let writers: Vec<_> = sinks
        .into_iter()
        .zip(receivers)
        .map(|(sink, receiver)| tokio::spawn(write(sink, receiver, length, objects.clone())))
        .collect();
    let pumping = tokio::spawn(pump(opened.body, senders, length, progress));
    // Whatever ends this copy — its end, a failed source, or the run's deadline dropping it —
    // ends its tasks too.
    let _stop = StopOnDrop(
        writers
            .iter()
            .map(|w| w.abort_handle())
            .chain([pumping.abort_handle()])
            .collect(),
    );
    let source_done = async {
        let pumped = pumping
            .await
            .unwrap_or_else(|error| Err(PumpFailure::Source(format!("the copy stopped: {error}"))));
        match (pumped, opened.verdict) {
            (Err(PumpFailure::Source(error)), _) => {
                Err(errors::transfer(format!("{what}: {error}")))
            }
            // Each sink says why it failed; the source was only stopped for want of one.
            (Err(PumpFailure::NoSinkLeft), _) => Ok(()),
            (Ok(_), Some(task)) => task
                .wait()
                .await
                .map(drop)
                .map_err(|error| errors::from_xapi(&error)),
            (Ok(_), None) => Ok(()),
        }
    };
    let writers = futures_util::future::join_all(writers);
    tokio::pin!(writers, source_done);
    // A source that fails stops the sinks at once: a cut export can look like a clean end
    // to them (xapi's exports end when the connection closes), and an import of unknown
    // length would otherwise wait for data that never comes.
    let (verdict, written) = tokio::select! {
        written = &mut writers => (source_done.await, written),
        verdict = &mut source_done => match verdict {
            Ok(()) => (Ok(()), writers.await),
            Err(failure) => {
                // The sinks are stopped mid-transfer (by `_stop`): their connections close, so
                // the targets fail their imports and keep nothing, and temporary files are
                // removed.
                return (0..count).map(|_| Err(failure.clone())).collect();
            }
        },
    };
    let written = written.into_iter().map(|joined| {
        joined.unwrap_or_else(|error| Err(errors::internal(format!("a transfer stopped: {error}"))))
    });
    let mut outcomes = Vec::with_capacity(count);
    for result in written {
        outcomes.push(match (&verdict, result) {
            (Ok(()), Ok((done, pending))) => settle(pending).await.map(|()| done),
            (Err(failure), Ok((_, pending))) => {
                undo(pending, &objects).await;
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

/// Starts reading `source`.
pub async fn open(source: SourcePlan) -> Result<Opened, Error> {
    let xapi = |error: lifeboat_xapi::Error| errors::from_xapi(&error);
    match source {
        SourcePlan::VmExport {
            pool,
            vm,
            compression,
        } => {
            let download = pool
                .client
                .export_vm(&vm, compression)
                .await
                .map_err(xapi)?;
            let length = download.content_length();
            let (body, task) = download.into_stream();
            Ok(Opened {
                body,
                length,
                verdict: Some(task),
                compression,
            })
        }
        SourcePlan::VdiExport {
            pool,
            vdi,
            format,
            base,
        } => {
            // A raw image does not mark its end, so its imports need the length: the whole
            // disk, which is what a raw export without a base holds.
            let disk_length = if format == RawFormat::Raw && base.is_none() {
                let record = pool.client.get_record(&vdi).await.map_err(xapi)?;
                u64::try_from(record.virtual_size).ok()
            } else {
                None
            };
            let download = pool
                .client
                .export_raw_vdi(&vdi, format, base.as_ref())
                .await
                .map_err(xapi)?;
            let length = download.content_length().or(disk_length);
            let (body, task) = download.into_stream();
            Ok(Opened {
                body,
                length,
                verdict: Some(task),
                compression: VmCompression::None,
            })
        }
        SourcePlan::RemoteFile { remote, path } => {
            let file = tokio::fs::File::open(&path).await.map_err(|error| {
                errors::not_found(format!("{} of {}: {error}", path.display(), remote.name))
            })?;
            let length = file.metadata().await.ok().map(|meta| meta.len());
            Ok(Opened {
                body: ReaderStream::with_capacity(file, FILE_CHUNK).boxed(),
                length,
                verdict: None,
                compression: VmCompression::None,
            })
        }
        SourcePlan::Opened { opened, .. } => Ok(opened),
        SourcePlan::Failed { error, .. } => Err(error),
    }
}

/// `body` decompressed, in pieces of at most [`PIECE`] bytes whatever the compression ratio.
fn decompressed(
    body: BoxStream<'static, io::Result<Bytes>>,
    compression: VmCompression,
) -> BoxStream<'static, io::Result<Bytes>> {
    use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
    let compressed = tokio_util::io::StreamReader::new(body);
    match compression {
        VmCompression::None => ReaderStream::with_capacity(compressed, PIECE).boxed(),
        VmCompression::Gzip => {
            let mut decoder = GzipDecoder::new(compressed);
            decoder.multiple_members(true);
            ReaderStream::with_capacity(decoder, PIECE).boxed()
        }
        VmCompression::Zstd => {
            let mut decoder = ZstdDecoder::new(compressed);
            decoder.multiple_members(true);
            ReaderStream::with_capacity(decoder, PIECE).boxed()
        }
    }
}

/// `archive` (a plain XVA) with `changes` written into its VM's record in `ova.xml`. A failure
/// to edit ends the stream with an error, which fails the import it feeds.
fn edited(
    archive: BoxStream<'static, io::Result<Bytes>>,
    changes: VmChanges,
) -> BoxStream<'static, io::Result<Bytes>> {
    let editor = OvaXmlEditor::new(move |ova: &mut lifeboat_formats::xva::OvaXml| {
        crate::host::xapi::ova_changes::apply(ova, &changes)
    });
    let failed = |error| Some((Err(io::Error::other(error)), None));
    futures_util::stream::unfold(Some((archive, editor)), move |state| async move {
        let (mut archive, mut editor) = state?;
        loop {
            match archive.next().await {
                Some(Ok(chunk)) => match editor.push(&chunk) {
                    Ok(Pushed::Held) => {}
                    Ok(Pushed::Emit(bytes)) => {
                        return Some((Ok(Bytes::from(bytes)), Some((archive, editor))));
                    }
                    Ok(Pushed::Pass) => return Some((Ok(chunk), Some((archive, editor)))),
                    Err(error) => return failed(error),
                },
                Some(Err(error)) => return Some((Err(error), None)),
                None => return editor.finish().err().and_then(failed),
            }
        }
    })
    .boxed()
}

/// Why the pump stopped before the source's end.
enum PumpFailure {
    /// Reading the source failed.
    Source(String),
    /// Every sink failed (each with its own error), so nothing was left to read for.
    NoSinkLeft,
}

/// Reads the source once and hands every piece of it to every live sink; returns the bytes
/// read. Small reads (hyper delivers 8 KiB at a time) are gathered into pieces of
/// [`PIECE`] so that the channels carry few, large messages.
async fn pump(
    mut body: BoxStream<'static, io::Result<Bytes>>,
    mut senders: Vec<mpsc::Sender<io::Result<Bytes>>>,
    length: Option<u64>,
    progress: Option<Task>,
) -> Result<u64, PumpFailure> {
    let mut read = 0u64;
    let mut reported = Instant::now();
    let mut piece = BytesMut::new();
    loop {
        let next = body.next().await;
        let ended = match next {
            Some(Ok(chunk)) => {
                read += chunk.len() as u64;
                if piece.is_empty() && chunk.len() >= PIECE {
                    piece = BytesMut::from(&chunk[..]);
                } else {
                    piece.extend_from_slice(&chunk);
                }
                false
            }
            Some(Err(error)) => {
                let problem = error.to_string();
                for sender in &senders {
                    let _ = sender.send(Err(io::Error::other(problem.clone()))).await;
                }
                return Err(PumpFailure::Source(problem));
            }
            None => true,
        };
        if piece.len() >= PIECE || (ended && !piece.is_empty()) {
            let ready = piece.split().freeze();
            let mut live = Vec::with_capacity(senders.len());
            for sender in senders {
                // A sink whose receiver is gone has failed; it reports that itself.
                if sender.send(Ok(ready.clone())).await.is_ok() {
                    live.push(sender);
                }
            }
            senders = live;
            if senders.is_empty() {
                return Err(PumpFailure::NoSinkLeft);
            }
        }
        if ended {
            break;
        }
        if let Some(task) = &progress
            && reported.elapsed() >= PROGRESS_INTERVAL
        {
            task.progress(read, length.unwrap_or(0));
            reported = Instant::now();
        }
    }
    if let Some(task) = &progress {
        task.progress(read, length.unwrap_or(read));
    }
    Ok(read)
}

/// Feeds one sink from its channel until the source ends.
async fn write(
    sink: SinkPlan,
    receiver: mpsc::Receiver<io::Result<Bytes>>,
    length: Option<u64>,
    objects: Arc<RunObjects>,
) -> Result<(Done, Pending), Error> {
    let xapi = |error: lifeboat_xapi::Error| errors::from_xapi(&error);
    let counted = CountedReceiver::new(receiver);
    let received = counted.counter();
    match sink {
        SinkPlan::VmImport { pool, sr, changes } => {
            let (archive, length) = match changes {
                Some(changes) => (edited(counted.into_stream(), changes), None),
                None => (counted.into_stream(), length),
            };
            let source = ImportSource::from_stream(archive, length);
            let vms = pool
                .client
                .import_vm(Some(&sr), source)
                .await
                .map_err(xapi)?;
            for vm in &vms {
                objects.record(&pool.name, vm.as_str());
            }
            let done = Done {
                bytes: received.load(),
                created: vms.iter().map(|vm| vm.to_string()).collect(),
            };
            Ok((done, Pending::Vms { pool, vms }))
        }
        SinkPlan::VdiImport { pool, vdi, format } => {
            let source = ImportSource::from_stream(counted.into_stream(), length);
            let bytes = pool
                .client
                .import_raw_vdi(&vdi, format, source)
                .await
                .map_err(xapi)?;
            let done = Done {
                bytes,
                created: vec![vdi.to_string()],
            };
            Ok((done, Pending::Nothing))
        }
        SinkPlan::RemoteFile { remote, path } => {
            let temporary = write_temporary(&path, counted.into_stream())
                .await
                .map_err(|error| {
                    errors::transfer(format!("{} of {}: {error}", path.display(), remote.name))
                })?;
            let done = Done {
                bytes: received.load(),
                created: vec![path.display().to_string()],
            };
            Ok((done, Pending::File { temporary, path }))
        }
    }
}

/// Writes a stream into a temporary file beside `path`.
async fn write_temporary(
    path: &Path,
    mut body: BoxStream<'static, io::Result<Bytes>>,
) -> io::Result<tempfile::TempPath> {
    let dir = path.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir).await?;
    let temporary = tempfile::Builder::new()
        .prefix(".lifeboat-")
        .tempfile_in(dir)?
        .into_temp_path();
    let mut file = tokio::fs::File::create(&temporary).await?;
    while let Some(chunk) = body.next().await {
        file.write_all(&chunk?).await?;
    }
    file.sync_all().await?;
    Ok(temporary)
}

/// Completes a sink after the source's success.
async fn settle(pending: Pending) -> Result<(), Error> {
    match pending {
        Pending::Nothing | Pending::Vms { .. } => Ok(()),
        Pending::File { temporary, path } => temporary
            .persist(&path)
            .map_err(|error| errors::transfer(format!("{}: {}", path.display(), error.error))),
    }
}

/// Undoes a sink after the source's failure.
async fn undo(pending: Pending, objects: &RunObjects) {
    match pending {
        Pending::Nothing => {}
        Pending::File { temporary, .. } => drop(temporary),
        Pending::Vms { pool, vms } => {
            for vm in vms {
                if let Err(error) = crate::host::destroy_vm_with_disks(&pool, &vm).await {
                    tracing::warn!(%vm, %error, "cannot remove a VM imported from a failed export");
                } else {
                    objects.forget(&pool.name, vm.as_str());
                }
            }
        }
    }
}

/// A channel receiver as a stream, counting the bytes that pass.
struct CountedReceiver {
    receiver: mpsc::Receiver<io::Result<Bytes>>,
    counter: ByteCounter,
}

/// A shared byte count.
#[derive(Clone, Default)]
struct ByteCounter(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl ByteCounter {
    fn add(&self, bytes: u64) {
        self.0
            .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    fn load(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl CountedReceiver {
    fn new(receiver: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        CountedReceiver {
            receiver,
            counter: ByteCounter::default(),
        }
    }

    fn counter(&self) -> ByteCounter {
        self.counter.clone()
    }

    fn into_stream(self) -> BoxStream<'static, io::Result<Bytes>> {
        let counter = self.counter;
        futures_util::stream::unfold(self.receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (chunk, receiver))
        })
        .inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                counter.add(chunk.len() as u64);
            }
        })
        .boxed()
    }
}
