//! HTTP transfers: VM exports and imports (XVA), and raw or VHD disk exports and imports.
//!
//! Each transfer is bound to a task created beforehand and passed as `task_id`, which xapi
//! completes when the transfer is done: that task, not the end of the HTTP body, is what says a
//! transfer succeeded. (xapi sends exports without a Content-Length and closes the connection
//! at the end, so a connection cut looks like an end; only the task tells them apart.)
//!
//! Uploads always carry a Content-Length, never chunked encoding, which xapi refuses. When the
//! length is unknown (an XVA streamed from another pool's export), the client announces 1 PiB,
//! as Xen Orchestra does, sends the data and waits for the task: xapi recognises the end of an
//! XVA or VHD by its content. Only if the task does not end soon after all data was sent does
//! the client close the connection, which makes xapi fail the import instead of waiting for more.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use reqwest::header::{CONTENT_LENGTH, LOCATION};
use tokio::sync::oneshot;
use url::Url;

use crate::error::{Error, Result};
use crate::records::{Ref, Sr, Task, Vdi, Vm};
use crate::{Value, decode};

use super::Client;

/// What an upload of unknown length announces, as Xen Orchestra does.
const UNKNOWN_LENGTH: u64 = 1 << 50;

/// How long an upload of unknown length waits for the task after sending the last byte before
/// closing the connection.
const END_OF_DATA_GRACE: Duration = Duration::from_secs(60);

/// How many redirects to another host a transfer follows.
const MAX_REDIRECTS: usize = 3;

/// The encoding of a disk transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawFormat {
    /// The whole virtual disk, byte for byte.
    Raw,
    /// A dynamic VHD, or with a base a differencing VHD holding the changed blocks.
    Vhd,
}

impl RawFormat {
    fn as_str(self) -> &'static str {
        match self {
            RawFormat::Raw => "raw",
            RawFormat::Vhd => "vhd",
        }
    }
}

/// Compression of a VM export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmCompression {
    None,
    Gzip,
    Zstd,
}

impl VmCompression {
    fn query_value(self) -> &'static str {
        match self {
            VmCompression::None => "false",
            VmCompression::Gzip => "true",
            VmCompression::Zstd => "zstd",
        }
    }
}

/// A running export: read its body, then call [`Download::finish`] to learn whether it was
/// complete.
pub struct Download {
    client: Client,
    task: Ref<Task>,
    what: String,
    response: reqwest::Response,
    bytes: u64,
}

impl Download {
    /// The task that xapi completes when the export is done.
    pub fn task(&self) -> &Ref<Task> {
        &self.task
    }

    /// The body's length, if the host sent one (xapi does not).
    pub fn content_length(&self) -> Option<u64> {
        self.response.content_length()
    }

    /// Bytes received so far.
    pub fn bytes_received(&self) -> u64 {
        self.bytes
    }

    /// The next piece of the body, `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        match self.response.chunk().await {
            Ok(Some(chunk)) => {
                self.bytes += chunk.len() as u64;
                Ok(Some(chunk))
            }
            Ok(None) => Ok(None),
            Err(error) => Err(Error::Transfer {
                what: self.what.clone(),
                bytes: self.bytes,
                problem: error.without_url().to_string(),
            }),
        }
    }

    /// Waits for the export's task after the body ended; fails if the host failed it (a
    /// truncated body included). Returns the bytes received.
    pub async fn finish(self) -> Result<u64> {
        let pending = PendingTask {
            client: self.client,
            task: self.task,
        };
        pending.wait().await?;
        Ok(self.bytes)
    }

    /// Splits the export into its body, to feed an import, and its task, to check afterwards.
    pub fn into_stream(self) -> (BoxStream<'static, io::Result<Bytes>>, PendingTask) {
        let what = self.what;
        let body = self
            .response
            .bytes_stream()
            .map(move |chunk| {
                chunk.map_err(|e| io::Error::other(format!("{what}: {}", e.without_url())))
            })
            .boxed();
        (
            body,
            PendingTask {
                client: self.client,
                task: self.task,
            },
        )
    }
}

/// The task of a transfer whose body went elsewhere.
pub struct PendingTask {
    client: Client,
    task: Ref<Task>,
}

impl PendingTask {
    /// Waits for the task, destroys it and returns its result.
    pub async fn wait(self) -> Result<Value> {
        let outcome = self.client.wait_task(&self.task).await;
        self.client.destroy_task(&self.task).await;
        outcome
    }
}

/// The body of an upload.
pub struct ImportSource {
    body: BoxStream<'static, io::Result<Bytes>>,
    length: Option<u64>,
}

impl ImportSource {
    /// An upload of bytes in memory.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        ImportSource {
            length: Some(bytes.len() as u64),
            body: stream::once(async move { Ok(bytes) }).boxed(),
        }
    }

    /// An upload streamed from `body`; `length` must be exact when given.
    pub fn from_stream(
        body: impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static,
        length: Option<u64>,
    ) -> Self {
        ImportSource {
            body: body.boxed(),
            length,
        }
    }
}

impl Client {
    /// Exports a VM (halted, or a snapshot) as an XVA.
    pub async fn export_vm(&self, vm: &Ref<Vm>, compression: VmCompression) -> Result<Download> {
        let query = [
            ("ref", vm.as_str().to_owned()),
            ("use_compression", compression.query_value().to_owned()),
        ];
        self.download("export", &query, &format!("export of VM {}", vm))
            .await
    }

    /// Exports a disk; with `base`, a VHD of the blocks changed since that disk.
    pub async fn export_raw_vdi(
        &self,
        vdi: &Ref<Vdi>,
        format: RawFormat,
        base: Option<&Ref<Vdi>>,
    ) -> Result<Download> {
        let mut query = vec![
            ("vdi", vdi.as_str().to_owned()),
            ("format", format.as_str().to_owned()),
        ];
        if let Some(base) = base {
            query.push(("base", base.as_str().to_owned()));
        }
        self.download("export_raw_vdi", &query, &format!("export of VDI {vdi}"))
            .await
    }

    /// Imports an XVA into `sr` (the pool's default SR if `None`); returns the new VMs.
    pub async fn import_vm(
        &self,
        sr: Option<&Ref<Sr>>,
        source: ImportSource,
    ) -> Result<Vec<Ref<Vm>>> {
        let mut query = Vec::new();
        if let Some(sr) = sr {
            query.push(("sr_id", sr.as_str().to_owned()));
        }
        let (result, _) = self
            .upload("import", &query, "import of a VM", source)
            .await?;
        decode::from_value(result).map_err(|e| super::decode_error("VM import result", e))
    }

    /// Writes a disk image into an existing VDI. A VHD writes only its allocated blocks, so a
    /// differencing VHD applied to a clone of its base reproduces the exported disk. Returns the
    /// bytes sent.
    pub async fn import_raw_vdi(
        &self,
        vdi: &Ref<Vdi>,
        format: RawFormat,
        source: ImportSource,
    ) -> Result<u64> {
        if format == RawFormat::Raw && source.length.is_none() {
            return Err(Error::Config(
                "a raw disk import needs its length: raw images do not mark their end".into(),
            ));
        }
        let query = [
            ("vdi", vdi.as_str().to_owned()),
            ("format", format.as_str().to_owned()),
        ];
        let what = format!("import into VDI {vdi}");
        let (_, bytes) = self.upload("import_raw_vdi", &query, &what, source).await?;
        Ok(bytes)
    }

    /// The URL of an HTTP handler with its query, the session and (optionally) a task.
    async fn handler_url(
        &self,
        path: &str,
        query: &[(&str, String)],
        task: Option<&Ref<Task>>,
    ) -> Result<Url> {
        let mut url = self
            .base_url()
            .await
            .join(path)
            .map_err(|e| Error::Config(format!("cannot build the URL of /{path}: {e}")))?;
        let session = self.session().await;
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
            pairs.append_pair("session_id", session.expose());
            if let Some(task) = task {
                pairs.append_pair("task_id", task.as_str());
            }
        }
        Ok(url)
    }

    async fn download(&self, path: &str, query: &[(&str, String)], what: &str) -> Result<Download> {
        let task = self.create_task(what).await?;
        match self.start_download(path, query, what, &task).await {
            Ok(response) => Ok(Download {
                client: self.clone(),
                task,
                what: what.to_owned(),
                response,
                bytes: 0,
            }),
            // The task's own error says more than the HTTP status, when the host set one.
            Err(error @ Error::Http { .. }) => Err(self.task_error_or(&task, error).await),
            Err(error) => {
                self.destroy_task(&task).await;
                Err(error)
            }
        }
    }

    /// Sends the GET of a download bound to `task`, following redirects; the response once its
    /// status says the data follows.
    async fn start_download(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        task: &Ref<Task>,
    ) -> Result<reqwest::Response> {
        let mut url = self.handler_url(path, query, Some(task)).await?;
        let mut redirects = 0;
        let response = loop {
            let response = self
                .http()
                .get(url.clone())
                .send()
                .await
                .map_err(|e| transport(what, e))?;
            match redirect_target(&response, &url)? {
                Some(target) if redirects < MAX_REDIRECTS => {
                    redirects += 1;
                    url = target;
                }
                _ => break response,
            }
        };
        expect_success(what, response.status().as_u16())?;
        Ok(response)
    }

    /// Uploads `source` to a handler; returns the task's result and the bytes sent.
    async fn upload(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        source: ImportSource,
    ) -> Result<(Value, u64)> {
        let task = self.create_task(what).await?;
        let outcome = self
            .upload_with_task(path, query, what, source, &task)
            .await;
        self.destroy_task(&task).await;
        outcome
    }

    async fn upload_with_task(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        source: ImportSource,
        task: &Ref<Task>,
    ) -> Result<(Value, u64)> {
        let target = self.probe_upload_target(path, query, what).await?;
        let mut url = target;
        url.query_pairs_mut().append_pair("task_id", task.as_str());

        let sent = Arc::new(AtomicU64::new(0));
        let (finished_tx, finished_rx) = oneshot::channel::<()>();
        let (abort_tx, abort_rx) = oneshot::channel::<()>();
        let body = counted_body(source.body, sent.clone(), finished_tx, abort_rx);
        let length = source.length.unwrap_or(UNKNOWN_LENGTH);
        let response = self
            .http()
            .put(url)
            .header(CONTENT_LENGTH, length)
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await
            .map_err(|e| Error::Transfer {
                what: what.to_owned(),
                bytes: sent.load(Ordering::Relaxed),
                problem: e.without_url().to_string(),
            })?;
        if let Err(error) = expect_success(what, response.status().as_u16()) {
            return Err(self.task_error_or(task, error).await);
        }

        // The host answers before it reads the body; the task ends when the data is in.
        let result = tokio::select! {
            result = self.wait_task(task) => Some(result),
            _ = finished_rx => None,
        };
        let result = match result {
            Some(result) => result,
            None if source.length.is_some() => self.wait_task(task).await,
            None => match self.wait_task_until(task, END_OF_DATA_GRACE).await? {
                Some(result) => Ok(result),
                None => {
                    drop(abort_tx);
                    self.wait_task(task).await
                }
            },
        };
        drop(response);
        // A failed task stays an `Error::Task`: its API error (`VDI_IO_ERROR`, `IMPORT_ERROR_*`)
        // is what callers act on.
        result.map(|value| (value, sent.load(Ordering::Relaxed)))
    }

    /// Where an upload must go: a zero-length PUT without a task, as Xen Orchestra sends, shows
    /// whether another host serves the data (a redirect) before the body is committed.
    async fn probe_upload_target(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Url> {
        let mut url = self.handler_url(path, query, None).await?;
        for _ in 0..MAX_REDIRECTS {
            let response = self
                .http()
                .put(url.clone())
                .header(CONTENT_LENGTH, 0)
                .send()
                .await
                .map_err(|e| transport(what, e))?;
            match redirect_target(&response, &url)? {
                Some(target) => url = target,
                None => break,
            }
        }
        Ok(url)
    }

    /// The task's own error if the host already failed it, else `fallback`.
    async fn task_error_or(&self, task: &Ref<Task>, fallback: Error) -> Error {
        let error = match self.get_record(task).await {
            Ok(record) if !record.error_info.is_empty() => {
                let mut info = record.error_info.into_iter();
                Error::Task {
                    task: task.to_string(),
                    label: record.name_label,
                    status: "failure".into(),
                    source: crate::ApiError {
                        code: info.next().unwrap_or_default(),
                        params: info.collect(),
                    },
                }
            }
            _ => fallback,
        };
        self.destroy_task(task).await;
        error
    }
}

/// Wraps an upload body: counts bytes, signals when the data is exhausted, then keeps the
/// request open until `abort` fires (or is dropped), and fails it then so the connection closes.
fn counted_body(
    body: BoxStream<'static, io::Result<Bytes>>,
    sent: Arc<AtomicU64>,
    finished: oneshot::Sender<()>,
    abort: oneshot::Receiver<()>,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static {
    let counted = body.map(move |chunk| {
        if let Ok(chunk) = &chunk {
            sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        chunk
    });
    let tail = stream::once(async move {
        let _ = finished.send(());
        let _ = abort.await;
        Err(io::Error::other("upload closed after the end of its data"))
    });
    counted.chain(tail)
}

/// The target of a redirect response, resolved against the request URL.
fn redirect_target(response: &reqwest::Response, url: &Url) -> Result<Option<Url>> {
    if !response.status().is_redirection() {
        return Ok(None);
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| Error::Http {
            what: url.path().to_owned(),
            status: response.status().as_u16(),
            detail: "redirect without a Location".into(),
        })?;
    url.join(location).map(Some).map_err(|e| Error::Http {
        what: url.path().to_owned(),
        status: response.status().as_u16(),
        detail: format!("redirect to an invalid Location: {e}"),
    })
}

fn expect_success(what: &str, status: u16) -> Result<()> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(Error::Http {
            what: what.to_owned(),
            status,
            detail: String::new(),
        })
    }
}

fn transport(what: &str, error: reqwest::Error) -> Error {
    Error::Transport {
        what: what.to_owned(),
        source: error.without_url(),
    }
}
