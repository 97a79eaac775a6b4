//! The xapi capability's sources and sinks for the copy engine: VM and VDI exports, VM and VDI
//! imports. A VM import that must carry changes from its creation gets them written into the
//! archive's `ova.xml` as it passes ([`super::ova_changes`]); it needs the export's plain
//! bytes, so a compressed export is decompressed once, before the sinks.

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::StreamExt;
use lifeboat_formats::xva::{OvaXmlEditor, Pushed};
use lifeboat_xapi::records::{Ref, Sr, Vdi, Vm};
use lifeboat_xapi::{Download, ImportSource, RawFormat, VmCompression};
use tokio_util::io::ReaderStream;

use crate::bindings::types::Error;
use crate::bindings::xapi::VmChanges;
use crate::grants::{PoolConnection, RunObjects};
use crate::host::errors;
use crate::transfer::{ByteStream, PIECE, Reading, Sink, Source, Written};

fn xapi(error: lifeboat_xapi::Error) -> Error {
    errors::from_xapi(&error)
}

/// A VM exported as an XVA.
pub struct VmExport {
    pub pool: Arc<PoolConnection>,
    pub vm: Ref<Vm>,
    pub compression: VmCompression,
}

/// A VDI exported whole or since `base`.
pub struct VdiExport {
    pub pool: Arc<PoolConnection>,
    pub vdi: Ref<Vdi>,
    pub format: RawFormat,
    pub base: Option<Ref<Vdi>>,
}

/// A VM imported into an SR, with the changes it carries from its creation.
pub struct VmImport {
    pub pool: Arc<PoolConnection>,
    pub sr: Ref<Sr>,
    pub changes: Option<VmChanges>,
    /// Where the imported VMs are recorded as this run's.
    pub objects: Arc<RunObjects>,
}

/// Bytes imported into an existing VDI.
pub struct VdiImport {
    pub pool: Arc<PoolConnection>,
    pub vdi: Ref<Vdi>,
    pub format: RawFormat,
}

/// An export's body, confirmed by its task.
fn reading(download: Download, length: Option<u64>, compression: VmCompression) -> Reading {
    let (body, task) = download.into_stream();
    Reading {
        body,
        length,
        verdict: Some(Box::pin(async move {
            task.wait().await.map(drop).map_err(xapi)
        })),
        plain: (compression != VmCompression::None)
            .then(|| Box::new(move |body| decompressed(body, compression)) as _),
    }
}

#[async_trait]
impl Source for VmExport {
    fn describe(&self) -> String {
        format!("export of VM {} from {}", self.vm, self.pool.name)
    }

    async fn open(self: Box<Self>) -> Result<Reading, Error> {
        let download = self
            .pool
            .client
            .export_vm(&self.vm, self.compression)
            .await
            .map_err(xapi)?;
        let length = download.content_length();
        Ok(reading(download, length, self.compression))
    }
}

#[async_trait]
impl Source for VdiExport {
    fn describe(&self) -> String {
        match &self.base {
            Some(base) => format!(
                "export of VDI {} from {} since {base}",
                self.vdi, self.pool.name
            ),
            None => format!("export of VDI {} from {}", self.vdi, self.pool.name),
        }
    }

    async fn open(self: Box<Self>) -> Result<Reading, Error> {
        let client = &self.pool.client;
        // A raw image does not mark its end, so its imports need the length: the whole disk,
        // which is what a raw export without a base holds.
        let disk_length = if self.format == RawFormat::Raw && self.base.is_none() {
            let record = client.get_record(&self.vdi).await.map_err(xapi)?;
            u64::try_from(record.virtual_size).ok()
        } else {
            None
        };
        let download = client
            .export_raw_vdi(&self.vdi, self.format, self.base.as_ref())
            .await
            .map_err(xapi)?;
        let length = download.content_length().or(disk_length);
        Ok(reading(download, length, VmCompression::None))
    }
}

#[async_trait]
impl Sink for VmImport {
    fn describe(&self) -> String {
        format!("import of a VM into SR {} of {}", self.sr, self.pool.name)
    }

    fn needs_plain(&self) -> bool {
        self.changes.is_some()
    }

    async fn write(
        self: Box<Self>,
        body: ByteStream,
        length: Option<u64>,
    ) -> Result<Box<dyn Written>, Error> {
        let VmImport {
            pool,
            sr,
            changes,
            objects,
        } = *self;
        let (archive, length) = match changes {
            Some(changes) => (edited(body, changes), None),
            None => (body, length),
        };
        let vms = pool
            .client
            .import_vm(Some(&sr), ImportSource::from_stream(archive, length))
            .await
            .map_err(xapi)?;
        for vm in &vms {
            objects.record(&pool.name, vm.as_str());
        }
        Ok(Box::new(ImportedVms { pool, vms, objects }))
    }
}

/// VMs imported, destroyed if the source turns out to have failed.
struct ImportedVms {
    pool: Arc<PoolConnection>,
    vms: Vec<Ref<Vm>>,
    objects: Arc<RunObjects>,
}

#[async_trait]
impl Written for ImportedVms {
    fn created(&self) -> Vec<String> {
        self.vms.iter().map(|vm| vm.to_string()).collect()
    }

    async fn commit(self: Box<Self>) -> Result<(), Error> {
        Ok(())
    }

    async fn abort(self: Box<Self>) {
        for vm in &self.vms {
            if let Err(error) = super::destroy_vm_with_disks(&self.pool, vm).await {
                tracing::warn!(%vm, %error, "cannot remove a VM imported from a failed export");
            } else {
                self.objects.forget(&self.pool.name, vm.as_str());
            }
        }
    }
}

#[async_trait]
impl Sink for VdiImport {
    fn describe(&self) -> String {
        format!("import into VDI {} of {}", self.vdi, self.pool.name)
    }

    async fn write(
        self: Box<Self>,
        body: ByteStream,
        length: Option<u64>,
    ) -> Result<Box<dyn Written>, Error> {
        self.pool
            .client
            .import_raw_vdi(
                &self.vdi,
                self.format,
                ImportSource::from_stream(body, length),
            )
            .await
            .map_err(xapi)?;
        Ok(Box::new(ImportedInto(self.vdi.to_string())))
    }
}

/// Bytes written into an existing VDI: xapi confirmed the import itself; nothing to undo.
struct ImportedInto(String);

#[async_trait]
impl Written for ImportedInto {
    fn created(&self) -> Vec<String> {
        vec![self.0.clone()]
    }

    async fn commit(self: Box<Self>) -> Result<(), Error> {
        Ok(())
    }

    async fn abort(self: Box<Self>) {}
}

/// `body` decompressed, in pieces of at most [`PIECE`] bytes whatever the compression ratio.
fn decompressed(body: ByteStream, compression: VmCompression) -> ByteStream {
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
fn edited(archive: ByteStream, changes: VmChanges) -> ByteStream {
    let editor = OvaXmlEditor::new(move |ova: &mut lifeboat_formats::xva::OvaXml| {
        super::ova_changes::apply(ova, &changes)
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
